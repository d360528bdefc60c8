//! The BPF objects as the binary carries them: each DEFLATE-compressed by
//! build.rs (a quarter of its size: BTF and instructions compress well), and
//! inflated only when its tool loads it. That keeps the static binary inside
//! its size budget as tools are added, for well under a millisecond at start.

use std::io::Read;

use anyhow::{Context, Result};

/// One compressed object (`embed!` names it in [`super::objects`]).
pub struct Embedded {
    name: &'static str,
    deflated: &'static [u8],
}

/// Embeds OUT_DIR/`name`.deflate, which build.rs wrote.
macro_rules! embed {
    ($name:literal) => {
        &$crate::bpf::embedded::Embedded::new($name, include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".deflate")))
    };
}
pub(crate) use embed;

impl Embedded {
    pub const fn new(name: &'static str, deflated: &'static [u8]) -> Self {
        Self { name, deflated }
    }

    /// The ELF object, in a buffer aligned for its headers (the ELF parser
    /// reads them in place, as `include_bytes_aligned!` used to guarantee).
    pub fn inflate(&self) -> Result<ElfBytes> {
        let mut elf = Vec::with_capacity(self.deflated.len() * 5);
        flate2::read::DeflateDecoder::new(self.deflated)
            .read_to_end(&mut elf)
            .with_context(|| format!("the embedded BPF object {} is corrupt", self.name))?;
        Ok(ElfBytes::aligned_copy(&elf))
    }
}

/// Bytes stored in u64 words, so that they start 8-byte aligned.
pub struct ElfBytes {
    words: Vec<u64>,
    len: usize,
}

impl ElfBytes {
    fn aligned_copy(bytes: &[u8]) -> Self {
        let words = bytes
            .chunks(8)
            .map(|chunk| {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                u64::from_ne_bytes(word)
            })
            .collect();
        Self { words, len: bytes.len() }
    }
}

impl std::ops::Deref for ElfBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the words own at least `len` initialised bytes, and any
        // bytes are valid u8s; the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflates_what_deflate_wrote_into_aligned_bytes() {
        let original: Vec<u8> = (0..1000u32).flat_map(|i| (i % 7).to_le_bytes()).chain([1, 2, 3]).collect();
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &original).unwrap();
        let deflated: &'static [u8] = encoder.finish().unwrap().leak();
        let bytes = Embedded::new("sample", deflated).inflate().unwrap();
        assert_eq!(&*bytes, &original[..]);
        assert_eq!(bytes.as_ptr() as usize % 8, 0);
    }

    #[test]
    fn corrupt_data_names_the_object() {
        let err = Embedded::new("broken", b"\xff\xff not deflate").inflate().err().expect("corrupt");
        assert!(err.to_string().contains("broken"), "{err:#}");
    }
}
