//! Histograms in userspace: summing the kernel's per-CPU log-linear buckets,
//! turning cumulative counters into intervals, percentiles (via hdrhistogram),
//! and the familiar log2 table.

pub mod hdr;
pub mod hdr_log;
pub mod log2;
pub mod openmetrics;
pub mod report;
pub mod sparse;

use serde::Serialize;
use tracer_common::hist::{BUCKETS, Histogram};

/// Bucket counts and the exact sum of the recorded values, summed over CPUs.
/// Kernel counters are cumulative; `since` turns two snapshots into an interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub buckets: Vec<u64>,
    pub sum: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Self { buckets: vec![0; BUCKETS], sum: 0 }
    }
}

impl Counts {
    /// Adds one CPU's histogram.
    pub fn add_cpu(&mut self, cpu: &Histogram) {
        for (total, count) in self.buckets.iter_mut().zip(cpu.counts.iter()) {
            *total += count;
        }
        self.sum += cpu.sum;
    }

    /// What was recorded after `earlier` (a previous snapshot of the same counters).
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            buckets: self.buckets.iter().zip(&earlier.buckets).map(|(now, then)| now.saturating_sub(*then)).collect(),
            sum: self.sum.saturating_sub(earlier.sum),
        }
    }

    /// Adds another histogram's counts (intervals, hosts).
    pub fn add(&mut self, other: &Self) {
        for (total, count) in self.buckets.iter_mut().zip(&other.buckets) {
            *total += count;
        }
        self.sum += other.sum;
    }

    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Count, mean and percentiles in nanoseconds (or the recorded unit).
    pub fn summary(&self) -> Summary {
        // 3 significant digits: hdrhistogram's own rounding (0.1%) stays far
        // below the 1/16 width of our buckets.
        let hdr = hdr::from_counts(self);
        let count = self.total();
        // Bucket 0 holds exactly 0, which HdrHistogram (values from 1)
        // keeps as 1: a quantile whose rank falls in it is 0 (tcpsynbl's
        // empty accept queues; for times, a zero-length interval).
        let zeros = self.buckets.first().copied().unwrap_or(0);
        let at = |q: f64| {
            let rank = (q * count as f64).ceil() as u64;
            if count == 0 || rank <= zeros { 0 } else { hdr.value_at_quantile(q) }
        };
        Summary {
            count,
            sum: self.sum,
            mean: self.sum.checked_div(count).unwrap_or(0),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: if count == zeros { 0 } else { hdr.max() },
        }
    }
}

/// A histogram's headline numbers, all in the recorded unit (nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub sum: u64,
    pub mean: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// The unit of the log2 table's rows. Time histograms record nanoseconds;
/// size histograms (bitesize) record bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableUnit {
    /// hardirqs' and softirqs' `-N`.
    Nsecs,
    Usecs,
    Msecs,
    /// Sizes, in rows of KiB (libbpf-tools' "Kbytes").
    Kbytes,
    /// Queue lengths (tcpsynbl's "backlog"): plain counts, rows of 1.
    Backlog,
}

impl TableUnit {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Nsecs => "nsecs",
            Self::Usecs => "usecs",
            Self::Msecs => "msecs",
            Self::Kbytes => "Kbytes",
            Self::Backlog => "backlog",
        }
    }

    /// Recorded values (nanoseconds or bytes) per unit of the rows.
    pub const fn nanos(self) -> u64 {
        match self {
            Self::Nsecs => 1,
            Self::Usecs => 1_000,
            Self::Msecs => 1_000_000,
            Self::Kbytes => 1024,
            Self::Backlog => 1,
        }
    }

    /// Whether the recorded values are bytes rather than nanoseconds.
    pub const fn is_bytes(self) -> bool {
        matches!(self, Self::Kbytes)
    }

    /// Whether the recorded values are plain counts (no unit).
    pub const fn is_count(self) -> bool {
        matches!(self, Self::Backlog)
    }

    /// A recorded value for people: `12.4us`, `64.0KiB` or `4`.
    pub fn human(self, value: u64) -> String {
        if self.is_count() {
            value.to_string()
        } else if self.is_bytes() {
            human_bytes(value)
        } else {
            human_nanos(value)
        }
    }
}

/// Formats bytes with a binary unit chosen for readability: `512B`, `4.00KiB`, `1.50MiB`.
pub fn human_bytes(bytes: u64) -> String {
    let value = bytes as f64;
    let (scaled, unit) = match bytes {
        0..1024 => return format!("{bytes}B"),
        1024..1_048_576 => (value / 1024.0, "KiB"),
        1_048_576..1_073_741_824 => (value / 1_048_576.0, "MiB"),
        _ => (value / 1_073_741_824.0, "GiB"),
    };
    let precision = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.precision$}{unit}")
}

/// Formats nanoseconds with a unit chosen for readability: `830ns`, `12.4us`, `3.10ms`, `1.25s`.
pub fn human_nanos(ns: u64) -> String {
    let value = ns as f64;
    let (scaled, unit) = match ns {
        0..1_000 => return format!("{ns}ns"),
        1_000..1_000_000 => (value / 1e3, "us"),
        1_000_000..1_000_000_000 => (value / 1e6, "ms"),
        _ => (value / 1e9, "s"),
    };
    let precision = if scaled >= 100.0 {
        0
    } else if scaled >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.precision$}{unit}")
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::{RELATIVE_ERROR, bucket_of};

    use super::*;

    #[test]
    fn percentiles_are_within_the_error_bound() {
        let mut counts = Counts::default();
        let values: Vec<u64> = (1..=10_000).map(|i| i * 997).collect();
        for &v in &values {
            counts.buckets[bucket_of(v)] += 1;
            counts.sum += v;
        }
        let summary = counts.summary();
        assert_eq!(summary.count, 10_000);
        assert_eq!(summary.mean, values.iter().sum::<u64>() / 10_000);
        for (got, q) in [(summary.p50, 0.50), (summary.p90, 0.90), (summary.p99, 0.99), (summary.p999, 0.999)] {
            let exact = values[((q * 10_000.0) as usize).saturating_sub(1)] as f64;
            let error = (got as f64 - exact).abs() / exact;
            assert!(error <= RELATIVE_ERROR, "q{q}: got {got}, exact {exact}, error {error}");
        }
        let max_error = (summary.max as f64 - 9_970_000.0).abs() / 9_970_000.0;
        assert!(max_error <= RELATIVE_ERROR);
    }

    #[test]
    fn zeros_are_reported_as_zero() {
        // tcpsynbl: three empty queues and one of 4.
        let mut counts = Counts::default();
        counts.buckets[bucket_of(0)] = 3;
        assert_eq!(counts.summary().max, 0);
        counts.buckets[bucket_of(4)] = 1;
        counts.sum = 4;
        let summary = counts.summary();
        assert_eq!((summary.p50, summary.p90, summary.max), (0, 4, 4));
        assert_eq!(TableUnit::Backlog.human(0), "0");
    }

    #[test]
    fn since_subtracts_snapshots() {
        let mut before = Counts::default();
        before.buckets[3] = 5;
        before.sum = 15;
        let mut after = before.clone();
        after.buckets[3] = 7;
        after.buckets[40] = 1;
        after.sum = 15 + 6 + 100;
        let interval = after.since(&before);
        assert_eq!(interval.total(), 3);
        assert_eq!(interval.sum, 106);
        assert_eq!(Counts::default().summary(), Summary::default());
    }

    #[test]
    fn human_units() {
        assert_eq!(human_nanos(830), "830ns");
        assert_eq!(human_nanos(12_400), "12.4us");
        assert_eq!(human_nanos(3_100_000), "3.10ms");
        assert_eq!(human_nanos(1_250_000_000), "1.25s");
        assert_eq!(human_nanos(250_000), "250us");
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(4096), "4.00KiB");
        assert_eq!(human_bytes(65536 + 4096), "68.0KiB");
        assert_eq!(human_bytes(3 << 20), "3.00MiB");
        assert_eq!(TableUnit::Kbytes.human(4096), "4.00KiB");
        assert_eq!(TableUnit::Usecs.human(4096), "4.10us");
    }
}
