//! Timestamps: local wall-clock time for tables (`-T`), UTC for JSON.

use jiff::{Timestamp, Zoned};

/// `HH:MM:SS` in local time, as BCC's `-T` prints it.
pub fn local_hms() -> String {
    Zoned::now().strftime("%H:%M:%S").to_string()
}

/// RFC 3339 UTC with microseconds, e.g. `2026-11-21T23:59:01.123456Z`.
pub fn utc(when: Timestamp) -> String {
    when.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `HH:MM:SS` local time of `when`.
pub fn local_hms_of(when: Timestamp) -> String {
    when.to_zoned(jiff::tz::TimeZone::system()).strftime("%H:%M:%S").to_string()
}

/// The optional time columns of event tools: `-T` wall clock (`TIME`,
/// HH:MM:SS) and `-t` seconds since the tool started (`TIME(s)`).
#[derive(Clone, Copy, Debug)]
pub struct TimeColumns {
    pub clock: bool,
    pub since_start: bool,
    pub start_ns: u64,
}

impl TimeColumns {
    pub fn header(&self) -> String {
        let mut out = String::new();
        if self.clock {
            out.push_str(&format!("{:<9}", "TIME"));
        }
        if self.since_start {
            out.push_str(&format!("{:<9}", "TIME(s)"));
        }
        out
    }

    /// The cells for an event stamped `event_ns` (CLOCK_MONOTONIC).
    pub fn cells(&self, event_ns: u64) -> String {
        let mut out = String::new();
        if self.clock {
            out.push_str(&format!("{:<8} ", local_hms_of(crate::events::wall_time(event_ns))));
        }
        if self.since_start {
            let seconds = event_ns.saturating_sub(self.start_ns) as f64 / 1e9;
            out.push_str(&format!("{seconds:<8.3} "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let hms = local_hms();
        assert_eq!(hms.len(), 8);
        assert_eq!(hms.as_bytes()[2], b':');
        let utc = utc(Timestamp::now());
        assert_eq!(local_hms_of(Timestamp::now()).len(), 8);
        assert_eq!(utc.len(), "2026-11-21T23:59:01.123456Z".len(), "{utc}");
        assert!(utc.ends_with('Z'));
    }
}
