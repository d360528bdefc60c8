//! Rendering one histogram for one interval, the same way for every
//! histogram tool: the log2 table plus a percentile line, or a JSON record.

use std::fmt::Write as _;

use serde::Serialize;
use tracer_common::hist::RELATIVE_ERROR;

use super::{Counts, TableUnit, log2};
use crate::output::escape;

/// Whose histogram this is, when a tool splits them (`pid = 42 nginx`).
pub struct Owner {
    /// Field name in text and JSON: `pid`, `tid`, `pidns`, `disk`, ...
    pub field: &'static str,
    pub id: serde_json::Value,
    /// Raw command name from the kernel, when known.
    pub comm: Option<Vec<u8>>,
}

/// Owner fields whose names the BCC tools print in quotes.
const QUOTED_OWNERS: &[&str] = &["operation"];
impl Owner {
    /// Whether two owners are labelled alike (and so are one histogram).
    pub fn same(&self, other: &Self) -> bool {
        self.field == other.field && self.id == other.id && self.comm == other.comm
    }
}

pub struct HistogramReport {
    pub owner: Option<Owner>,
    pub counts: Counts,
    pub unit: TableUnit,
}

impl HistogramReport {
    /// The text block: optional owner line, log2 table, percentile line.
    /// Empty when there were no samples.
    pub fn text(&self) -> String {
        let body = self.body();
        if body.is_empty() {
            return body;
        }
        let mut out = String::new();
        if let Some(owner) = &self.owner {
            let id = match &owner.id {
                // fsdist's `operation = 'read'`, as libbpf-tools prints it.
                serde_json::Value::String(text) if QUOTED_OWNERS.contains(&owner.field) => {
                    format!("'{}'", escape::for_terminal(text.as_bytes()))
                }
                serde_json::Value::String(text) => escape::for_terminal(text.as_bytes()),
                other => other.to_string(),
            };
            // libbpf-tools' words where they differ from the JSON field.
            let field = if owner.field == "comm" { "Process Name" } else { owner.field };
            match owner.comm.as_deref() {
                // An owner of several fields (tcpsynbl's port and limit): each by name.
                _ if owner.id.is_object() => writeln!(out, "\n{}", compound_owner(&owner.id)),
                Some(comm) => writeln!(out, "\n{field} = {id} {}", escape::for_terminal(comm)),
                None => writeln!(out, "\n{field} = {id}"),
            }
            .expect("writing to a String");
        }
        out.push_str(&body);
        out
    }

    /// The log2 table and percentile line without the owner line (for a
    /// tool that writes its own heading); empty when there were no samples.
    pub fn body(&self) -> String {
        let rows = log2::rows(&self.counts, self.unit);
        let table = log2::render(&rows, self.unit.name());
        if table.is_empty() {
            return table;
        }
        table + &percentile_line(&self.counts, self.unit)
    }

    /// The JSON fields (the caller adds tool, host and timestamp), in a
    /// fixed order: type, interval, owner, then the numbers.
    pub fn json(&self, interval: u64) -> serde_json::Value {
        let summary = self.counts.summary();
        let buckets: Vec<JsonRow> = log2::rows(&self.counts, self.unit)
            .iter()
            .enumerate()
            .map(|(index, &count)| {
                let (low, high) = log2::row_bounds(index);
                JsonRow { low, high, count }
            })
            .collect();
        let mut object = serde_json::Map::new();
        object.insert("type".into(), "histogram".into());
        object.insert("interval".into(), interval.into());
        if let Some(owner) = &self.owner {
            match &owner.id {
                serde_json::Value::Object(fields) => object.extend(fields.clone()),
                id => {
                    object.insert(owner.field.into(), id.clone());
                }
            }
            if let Some(comm) = &owner.comm {
                object.insert("comm".into(), escape::for_json(comm).into());
            }
        }
        let numbers = JsonNumbers {
            count: summary.count,
            sum_ns: summary.sum,
            mean_ns: summary.mean,
            p50_ns: summary.p50,
            p90_ns: summary.p90,
            p99_ns: summary.p99,
            p99_9_ns: summary.p999,
            max_ns: summary.max,
            relative_error: RELATIVE_ERROR,
            unit: self.unit.name(),
            buckets,
        };
        if let serde_json::Value::Object(fields) = serde_json::to_value(numbers).expect("histogram serializes") {
            // Size histograms say so in their field names: `sum_bytes`, `p50_bytes`, ...
            // and counts (tcpsynbl's backlog) in none: `sum`, `p50`, ...
            let (bytes, count) = (self.unit.is_bytes(), self.unit.is_count());
            object.extend(fields.into_iter().map(|(key, value)| match key.strip_suffix("_ns") {
                Some(stem) if bytes => (format!("{stem}_bytes"), value),
                Some(stem) if count => (stem.to_owned(), value),
                _ => (key, value),
            }));
        }
        serde_json::Value::Object(object)
    }
}

/// `backlog_max = 4, port = 8080`: the fields of an owner made of several.
fn compound_owner(id: &serde_json::Value) -> String {
    let fields = id.as_object().into_iter().flatten();
    let pairs: Vec<String> = fields
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => format!("{name} = {}", escape::for_terminal(text.as_bytes())),
            other => format!("{name} = {other}"),
        })
        .collect();
    pairs.join(", ")
}

/// `p50 3.20us  p90 15.0us  p99 1.10ms  p99.9 4.00ms  max 4.20ms  (1234 samples, mean 52.1us, ±6.25%)`
fn percentile_line(counts: &Counts, unit: TableUnit) -> String {
    let s = counts.summary();
    let human_nanos = |value| unit.human(value);
    format!(
        "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} sample{}, mean {}, ±{:.2}%)\n",
        human_nanos(s.p50),
        human_nanos(s.p90),
        human_nanos(s.p99),
        human_nanos(s.p999),
        human_nanos(s.max),
        s.count,
        if s.count == 1 { "" } else { "s" },
        human_nanos(s.mean),
        RELATIVE_ERROR * 100.0
    )
}

#[derive(Serialize)]
struct JsonNumbers {
    count: u64,
    sum_ns: u64,
    mean_ns: u64,
    p50_ns: u64,
    p90_ns: u64,
    p99_ns: u64,
    p99_9_ns: u64,
    max_ns: u64,
    relative_error: f64,
    /// Unit of the log2 buckets' bounds.
    unit: &'static str,
    buckets: Vec<JsonRow>,
}

#[derive(Serialize)]
struct JsonRow {
    low: u64,
    high: u64,
    count: u64,
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::bucket_of;

    use super::*;

    fn counts(values: &[u64]) -> Counts {
        let mut counts = Counts::default();
        for &v in values {
            counts.buckets[bucket_of(v)] += 1;
            counts.sum += v;
        }
        counts
    }

    #[test]
    fn text_has_owner_table_and_percentiles() {
        let counts = counts(&[2_000, 3_000, 40_000]);
        let report = HistogramReport {
            owner: Some(Owner { field: "pid", id: 42.into(), comm: Some(b"evil\x1b]0;x\x07\0\0".to_vec()) }),
            counts,
            unit: TableUnit::Usecs,
        };
        let text = report.text();
        assert!(text.starts_with("\npid = 42 evil\\x1b]0;x\\x07\n"), "{text}");
        assert!(text.contains("usecs               : count    distribution"));
        assert!(text.contains("(3 samples, mean 15.0us, ±6.25%)"), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn size_histograms_speak_bytes() {
        let counts = counts(&[4096, 4096, 65536]);
        let report = HistogramReport {
            owner: Some(Owner { field: "comm", id: "dd".into(), comm: None }),
            counts,
            unit: TableUnit::Kbytes,
        };
        let text = report.text();
        assert!(text.starts_with("\nProcess Name = dd\n"), "{text}");
        assert!(text.contains("Kbytes              : count    distribution"), "{text}");
        assert!(text.contains("         4 -> 7          : 2 "), "{text}");
        assert!(text.contains("        64 -> 127        : 1 "), "{text}");
        assert!(text.contains("(3 samples, mean 24.0KiB, ±6.25%)"), "{text}");
        let json = report.json(1);
        assert_eq!(json["comm"], "dd");
        assert_eq!(json["sum_bytes"], 4096 * 2 + 65536);
        assert!(json.get("sum_ns").is_none() && json["p50_bytes"].is_u64());
        assert_eq!(json["unit"], "Kbytes");
    }

    #[test]
    fn empty_interval_prints_nothing_but_json_says_zero() {
        let empty = Counts::default();
        let report = HistogramReport { owner: None, counts: empty, unit: TableUnit::Msecs };
        assert_eq!(report.text(), "");
        let json = report.json(3);
        assert_eq!(json["count"], 0);
        assert_eq!(json["interval"], 3);
        assert_eq!(json["unit"], "msecs");
    }

    #[test]
    fn json_has_summary_buckets_and_owner() {
        let counts = counts(&[1_500, 1_500, 9_000]);
        let report = HistogramReport {
            owner: Some(Owner { field: "tid", id: 7.into(), comm: Some(b"worker\0".to_vec()) }),
            counts,
            unit: TableUnit::Usecs,
        };
        let json = report.json(1);
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).take(5).collect();
        assert_eq!(keys, ["type", "interval", "tid", "comm", "count"]);
        assert_eq!(json["type"], "histogram");
        assert_eq!(json["tid"], 7);
        assert_eq!(json["comm"], "worker");
        assert_eq!(json["count"], 3);
        assert_eq!(json["sum_ns"], 12_000);
        let buckets = json["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 4);
        assert_eq!(buckets[0]["count"], 2);
        assert_eq!(buckets[3]["low"], 8);
        assert_eq!(buckets[3]["count"], 1);
    }
}
