//! The log2 histogram table of BCC and libbpf-tools, which operators read at
//! a glance:
//!
//! ```text
//!      usecs               : count    distribution
//!          0 -> 1          : 12       |****                                    |
//!          2 -> 3          : 103      |****************************************|
//! ```
//!
//! Rows are powers of two of the display unit. They are built from the
//! kernel's finer log-linear buckets by each bucket's midpoint, so a row
//! boundary is exact to within a sixteenth.

use std::fmt::Write as _;

use super::{Counts, TableUnit, hdr::representative};

/// Count per log2 row: row 0 holds values 0..=1 in `unit`, row k holds 2^k..2^(k+1)-1.
pub fn rows(counts: &Counts, unit: TableUnit) -> Vec<u64> {
    let mut rows = vec![0u64; 64];
    for (bucket, &count) in counts.buckets.iter().enumerate().filter(|(_, c)| **c > 0) {
        let value = representative(bucket) / unit.nanos();
        let row = if value == 0 { 0 } else { 63 - value.leading_zeros() as usize };
        rows[row] += count;
    }
    let used = rows.iter().rposition(|&c| c > 0).map_or(0, |last| last + 1);
    rows.truncate(used);
    rows
}

/// Value range `[low, high]` of row `index`.
pub fn row_bounds(index: usize) -> (u64, u64) {
    let high = ((1u128 << (index + 1)) - 1) as u64;
    let low = if index == 0 { 0 } else { 1u64 << index };
    (low, high)
}

/// Renders the table; empty when there are no samples (as libbpf-tools prints nothing).
pub fn render(rows: &[u64], unit_name: &str) -> String {
    let Some(last) = rows.iter().rposition(|&c| c > 0) else { return String::new() };
    let max = rows.iter().copied().max().unwrap_or(1).max(1);
    // Wide values need wider columns and leave room for only half the stars.
    let (pad, label_width, value_width, bar_width) = if last <= 32 { (5, 19, 10, 40) } else { (15, 29, 20, 20) };
    let mut out = String::new();
    let _ = writeln!(out, "{:pad$}{unit_name:<label_width$} : count    distribution", "");
    for (index, &count) in rows.iter().enumerate().take(last + 1) {
        let (low, high) = row_bounds(index);
        let stars = (count.min(max) * bar_width / max) as usize;
        let _ = writeln!(
            out,
            "{low:>value_width$} -> {high:<value_width$} : {count:<8} |{}{}|",
            "*".repeat(stars),
            " ".repeat(bar_width as usize - stars)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::bucket_of;

    use super::*;

    fn counts_of(values_ns: &[u64]) -> Counts {
        let mut counts = Counts::default();
        for &v in values_ns {
            counts.buckets[bucket_of(v)] += 1;
            counts.sum += v;
        }
        counts
    }

    #[test]
    fn rows_follow_libbpf_tools_slots() {
        // 0.5us -> row 0, 1us -> row 0, 3us -> row 1, 5us -> row 2, 1000us -> row 9.
        let counts = counts_of(&[500, 1_000, 3_000, 3_100, 5_000, 1_000_000]);
        let rows = rows(&counts, TableUnit::Usecs);
        assert_eq!(rows.len(), 10);
        assert_eq!(&rows[..3], &[2, 2, 1]);
        assert_eq!(rows[9], 1);
        assert_eq!(row_bounds(0), (0, 1));
        assert_eq!(row_bounds(1), (2, 3));
        assert_eq!(row_bounds(9), (512, 1023));
    }

    #[test]
    fn renders_the_familiar_table() {
        let table = render(&[1, 4, 0, 2], "usecs");
        let expected = "     usecs               : count    distribution
         0 -> 1          : 1        |**********                              |
         2 -> 3          : 4        |****************************************|
         4 -> 7          : 0        |                                        |
         8 -> 15         : 2        |********************                    |
";
        assert_eq!(table, expected);
        assert_eq!(render(&[], "usecs"), "");
        assert_eq!(render(&[0, 0], "usecs"), "");
    }

    #[test]
    fn wide_tables_use_wide_columns() {
        let mut rows = vec![0; 40];
        rows[39] = 3;
        let table = render(&rows, "nsecs");
        let last = table.lines().last().unwrap();
        assert!(last.starts_with(&format!("{:>20} -> {:<20} : 3", 549755813888u64, 1099511627775u64)), "{last}");
        assert!(last.ends_with("|********************|"), "{last}");
    }
}
