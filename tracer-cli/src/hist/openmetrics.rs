//! `--openmetrics`: histograms as OpenMetrics text, for scrapers and for
//! node_exporter's textfile collector (which reads it as Prometheus text:
//! the `# UNIT` and `# EOF` lines are comments there).
//!
//! One metric family per tool, `tracer_<tool>_seconds`, with a `_bucket`
//! series per bound (cumulative: samples shorter than `le`), `_count` and
//! `_sum`. Bounds are powers of two nanoseconds, which are bucket edges of
//! our log-linear scheme, so each count is exact: `le="1.024e-06"` counts
//! the samples below 1024 ns. Owners become labels (`pid`, `comm`, `disk`).

use std::fmt::Write as _;

use tracer_common::hist::bucket_bounds;

use super::Counts;

/// Bounds from 2^10 ns (~1 us) to 2^35 ns (~34 s), then +Inf.
const BOUNDS_LOG2: std::ops::RangeInclusive<u32> = 10..=35;
/// Size histograms (`tracer_<tool>_bytes`): 2^9 bytes (a sector) to 2^26 (64 MiB).
const BYTE_BOUNDS_LOG2: std::ops::RangeInclusive<u32> = 9..=26;

/// One histogram to expose: its labels (name, unescaped value) and counts.
pub struct Series<'a> {
    pub labels: Vec<(&'a str, String)>,
    pub counts: &'a Counts,
}

/// A complete exposition (ending in `# EOF`) of `series`, all of `tool`:
/// latencies in seconds, or sizes in bytes when `bytes` (bitesize).
pub fn render(tool: &str, help: &str, series: &[Series<'_>], bytes: bool) -> String {
    let (unit, bounds, value): (&str, _, fn(u64) -> String) =
        if bytes { ("bytes", BYTE_BOUNDS_LOG2, |b| b.to_string()) } else { ("seconds", BOUNDS_LOG2, seconds) };
    let name = format!("tracer_{tool}_{unit}");
    let mut out = String::new();
    let mut line = |text: std::fmt::Arguments<'_>| {
        out.write_fmt(text).expect("writing to a String");
        out.push('\n');
    };
    line(format_args!("# TYPE {name} histogram"));
    line(format_args!("# UNIT {name} {unit}"));
    line(format_args!("# HELP {name} {}", escape_help(help)));
    for one in series {
        let labels = |extra: Option<String>| {
            let mut pairs: Vec<String> =
                one.labels.iter().map(|(key, value)| format!("{key}=\"{}\"", escape_label(value))).collect();
            pairs.extend(extra);
            if pairs.is_empty() { String::new() } else { format!("{{{}}}", pairs.join(",")) }
        };
        for log2 in bounds.clone() {
            let below = 1u64 << log2;
            let count: u64 = one
                .counts
                .buckets
                .iter()
                .enumerate()
                .take_while(|(bucket, _)| bucket_bounds(*bucket).1 <= below)
                .map(|(_, count)| count)
                .sum();
            line(format_args!("{name}_bucket{} {count}", labels(Some(format!("le=\"{}\"", value(below))))));
        }
        let total = one.counts.total();
        line(format_args!("{name}_bucket{} {total}", labels(Some("le=\"+Inf\"".to_string()))));
        line(format_args!("{name}_count{} {total}", labels(None)));
        line(format_args!("{name}_sum{} {}", labels(None), value(one.counts.sum)));
    }
    line(format_args!("# EOF"));
    out
}

/// Nanoseconds as seconds, exactly (shortest decimal that round-trips).
fn seconds(nanos: u64) -> String {
    let value = nanos as f64 / 1e9;
    format!("{value:e}").replace("e0", "")
}

/// Label values: backslash, double quote and newline escaped.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::bucket_of;

    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_count_sum_and_eof() {
        let mut counts = Counts::default();
        for value in [500, 1_023, 1_024, 5_000, 5_000, 3_000_000] {
            counts.buckets[bucket_of(value)] += 1;
            counts.sum += value;
        }
        let text = render(
            "runqlat",
            "Run queue latency",
            &[Series { labels: vec![("pid", "42".into()), ("comm", "a\"b\\c\nd".into())], counts: &counts }],
            false,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# TYPE tracer_runqlat_seconds histogram");
        assert_eq!(lines[1], "# UNIT tracer_runqlat_seconds seconds");
        assert_eq!(*lines.last().unwrap(), "# EOF");
        let labels = r#"pid="42",comm="a\"b\\c\nd""#;
        assert!(text.contains(&format!("tracer_runqlat_seconds_bucket{{{labels},le=\"1.024e-6\"}} 2\n")), "{text}");
        assert!(text.contains(&format!("tracer_runqlat_seconds_bucket{{{labels},le=\"2.048e-6\"}} 3\n")), "{text}");
        assert!(text.contains(&format!("tracer_runqlat_seconds_bucket{{{labels},le=\"+Inf\"}} 6\n")), "{text}");
        assert!(text.contains(&format!("tracer_runqlat_seconds_count{{{labels}}} 6\n")), "{text}");
        assert!(text.contains(&format!("tracer_runqlat_seconds_sum{{{labels}}} 3.012547e-3\n")), "{text}");
    }

    #[test]
    fn size_histograms_are_in_bytes() {
        let mut counts = Counts::default();
        for value in [4096, 4096, 65536] {
            counts.buckets[bucket_of(value)] += 1;
            counts.sum += value;
        }
        let text =
            render("bitesize", "sizes", &[Series { labels: vec![("comm", "dd".into())], counts: &counts }], true);
        assert!(
            text.starts_with("# TYPE tracer_bitesize_bytes histogram\n# UNIT tracer_bitesize_bytes bytes\n"),
            "{text}"
        );
        assert!(text.contains("tracer_bitesize_bytes_bucket{comm=\"dd\",le=\"4096\"} 0\n"), "{text}");
        assert!(text.contains("tracer_bitesize_bytes_bucket{comm=\"dd\",le=\"8192\"} 2\n"), "{text}");
        assert!(text.contains("tracer_bitesize_bytes_bucket{comm=\"dd\",le=\"131072\"} 3\n"), "{text}");
        assert!(text.contains("tracer_bitesize_bytes_sum{comm=\"dd\"} 73728\n"), "{text}");
    }

    #[test]
    fn a_whole_system_histogram_has_no_labels_but_le() {
        let text = render("cpudist", "x", &[Series { labels: vec![], counts: &Counts::default() }], false);
        assert!(text.contains("tracer_cpudist_seconds_bucket{le=\"+Inf\"} 0\n"), "{text}");
        assert!(text.contains("tracer_cpudist_seconds_count 0\n"), "{text}");
        assert!(text.contains("tracer_cpudist_seconds_sum 0\n"), "{text}");
    }
}
