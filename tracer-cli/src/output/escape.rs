//! Strings from the traced system (comm, argv, file names) are attacker
//! controlled: printed raw they could move the cursor, rewrite earlier lines
//! or change the terminal's title. Tables show them escaped.

use std::fmt::Write as _;

/// Escapes bytes for a terminal: printable UTF-8 stays as it is, control
/// characters and invalid bytes become `\xNN`, a backslash becomes `\\`.
/// Stops at the first NUL (kernel strings are NUL-padded).
pub fn for_terminal(bytes: &[u8]) -> String {
    let bytes = until_nul(bytes);
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// The text for JSON output: the string as the kernel had it (up to the NUL);
/// JSON escaping of control characters is serde_json's job. Bytes that are
/// not UTF-8 become U+FFFD, as JSON strings must be Unicode.
pub fn for_json(bytes: &[u8]) -> String {
    String::from_utf8_lossy(until_nul(bytes)).into_owned()
}

/// The bytes before the first NUL (kernel strings are NUL-padded).
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_neutralised() {
        assert_eq!(for_terminal(b"evil\x1b[2J\x07"), "evil\\x1b[2J\\x07");
        assert_eq!(for_terminal(b"a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
        // C1 controls (here CSI, U+009B) are escaped too.
        assert_eq!(for_terminal("x\u{9b}y".as_bytes()), "x\\xc2\\x9by");
    }

    #[test]
    fn printable_text_and_nul_padding() {
        assert_eq!(for_terminal(b"bash\0\0\0\0"), "bash");
        assert_eq!(for_terminal("käse-φ".as_bytes()), "käse-φ");
        assert_eq!(for_terminal(b"back\\slash"), "back\\\\slash");
        assert_eq!(for_terminal(b"bad\xffbyte"), "bad\\xffbyte");
    }

    #[test]
    fn json_keeps_the_text_for_serde_to_escape() {
        assert_eq!(for_json(b"a\x1bb\0pad"), "a\x1bb");
        let encoded = serde_json::to_string(&for_json(b"a\x1bb")).unwrap();
        assert_eq!(encoded, "\"a\\u001bb\"");
    }
}
