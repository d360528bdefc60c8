//! Timestamps: local wall-clock time for tables (`-T`), UTC for JSON.

use jiff::{Timestamp, Zoned};

/// `HH:MM:SS` in local time, as BCC's `-T` prints it.
pub fn local_hms() -> String {
    Zoned::now().strftime("%H:%M:%S").to_string()
}

/// RFC 3339 UTC with microseconds, e.g. `2026-11-21T23:59:01.123456Z`.
pub fn utc_now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let hms = local_hms();
        assert_eq!(hms.len(), 8);
        assert_eq!(hms.as_bytes()[2], b':');
        let utc = utc_now();
        assert_eq!(utc.len(), "2026-11-21T23:59:01.123456Z".len(), "{utc}");
        assert!(utc.ends_with('Z'));
    }
}
