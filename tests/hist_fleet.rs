//! Histograms for fleets: `--save` logs from several runs merge into one
//! report whose counts are the sums and whose percentiles are exact;
//! `--openmetrics` prints well-formed OpenMetrics text.

use std::{collections::BTreeMap, path::PathBuf};

use serde_json::Value;
use tracer_tests::*;

/// A temporary file path, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> Self {
        Self(std::env::temp_dir().join(format!("{}.hlog", unique(tag))))
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ok_json(args: &[&str]) -> Vec<Value> {
    let output = run_tracer(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    json_lines(&output.stdout).into_iter().filter(|r| r["type"] == "histogram").collect()
}

const PERCENTILES: [&str; 6] = ["count", "p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "max_ns"];

#[test]
fn saved_runs_merge_into_one_report_with_the_summed_counts() {
    let _busy = burn(online_cpus() * 2, 30, "burn-merge");
    let (a, b) = (TempPath::new("a"), TempPath::new("b"));
    let run_a = ok_json(&["runqlat", "--save", a.arg(), "--json", "1", "2"]);
    let run_b = ok_json(&["runqlat", "--save", b.arg(), "--json", "1", "1"]);
    assert_eq!((run_a.len(), run_b.len()), (2, 1));
    let expected: u64 = run_a.iter().chain(&run_b).map(|r| r["count"].as_u64().unwrap()).sum();
    assert!(expected > 100, "the burners should queue: {expected} samples");

    let merged = ok_json(&["merge", "--json", a.arg(), b.arg()]);
    assert_eq!(merged.len(), 1, "{merged:?}");
    assert_eq!(merged[0]["tool"], "runqlat");
    assert_eq!(merged[0]["count"].as_u64(), Some(expected));
    let rows: u64 = merged[0]["buckets"].as_array().unwrap().iter().map(|row| row["count"].as_u64().unwrap()).sum();
    assert_eq!(rows, expected);

    // Text: the tool's table and percentile line, and what was merged.
    let output = run_tracer(&["merge", a.arg(), b.arg()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.starts_with("Merged 3 runqlat histograms from 2 files.\n"), "{text}");
    assert!(text.contains("usecs               : count    distribution"), "{text}");
    assert!(text.contains(&format!("({expected} samples,")), "{text}");

    // One interval merged alone reports exactly what the run reported.
    let single = ok_json(&["merge", "--json", b.arg()]);
    for field in PERCENTILES {
        assert_eq!(single[0][field], run_b[0][field], "{field}: merged {} vs run {}", single[0], run_b[0]);
    }
}

#[test]
fn per_process_histograms_merge_per_owner() {
    let busy = burn(online_cpus() * 2, 30, "burn-owners");
    let log = TempPath::new("owners");
    let pid = busy.pid.to_string();
    let run = ok_json(&["runqlat", "-P", "-p", &pid, "--save", log.arg(), "--json", "1", "1"]);
    let merged = ok_json(&["merge", "--json", log.arg(), log.arg()]);
    let by_pid = |records: &[Value]| -> BTreeMap<u64, Value> {
        records.iter().map(|r| (r["pid"].as_u64().expect("pid"), r.clone())).collect()
    };
    let (run, merged) = (by_pid(&run), by_pid(&merged));
    assert_eq!(run.keys().collect::<Vec<_>>(), vec![&(busy.pid as u64)]);
    assert_eq!(run.keys().collect::<Vec<_>>(), merged.keys().collect::<Vec<_>>());
    for (pid, record) in &run {
        // The same log twice: every count doubles, every percentile stays.
        assert_eq!(merged[pid]["count"].as_u64().unwrap(), 2 * record["count"].as_u64().unwrap());
        for field in &PERCENTILES[1..] {
            assert_eq!(merged[pid][*field], record[*field], "{field} of pid {pid}");
        }
    }
}

/// Checks one exposition line by line; returns its series' counts by labels.
fn check_exposition(text: &str) -> BTreeMap<String, u64> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
    let mut counts = BTreeMap::new();
    let mut last_bucket: Option<(String, f64, u64)> = None;
    for line in &lines {
        if let Some(comment) = line.strip_prefix("# ") {
            let word = comment.split(' ').next().unwrap();
            assert!(["TYPE", "UNIT", "HELP", "EOF"].contains(&word), "{line}");
            continue;
        }
        // name{labels} value
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"))),
            None => (series, ""),
        };
        assert!(name.starts_with("tracer_runqlat_seconds_"), "{line}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (key, quoted) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label {pair}: {line}"));
            pairs.push((key, quoted.trim_end_matches('"')));
        }
        let others: String = pairs.iter().filter(|(k, _)| *k != "le").map(|(k, v)| format!("{k}={v},")).collect();
        match name.rsplit('_').next().unwrap() {
            "bucket" => {
                let le = pairs.iter().find(|(k, _)| *k == "le").expect("le label").1;
                let le: f64 = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                let count = value as u64;
                if let Some((series, previous_le, previous)) = &last_bucket
                    && *series == others
                {
                    assert!(le > *previous_le && count >= *previous, "not cumulative: {line}");
                }
                last_bucket = Some((others, le, count));
            }
            "count" => {
                let (series, le, inf) = last_bucket.clone().expect("buckets before count");
                assert!(series == others && le.is_infinite() && inf == value as u64, "+Inf != count: {line}");
                counts.insert(others, value as u64);
            }
            "sum" => assert!(value >= 0.0, "{line}"),
            other => panic!("unexpected series {other}: {line}"),
        }
    }
    counts
}

#[test]
fn openmetrics_output_is_well_formed_and_cumulative() {
    let busy = burn(online_cpus() * 2, 30, "burn-metrics");
    let output = run_tracer(&["runqlat", "--openmetrics", "1", "2"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let expositions: Vec<String> = text.split_inclusive("# EOF\n").map(str::to_owned).collect();
    assert_eq!(expositions.len(), 2, "{text}");
    let first = check_exposition(&expositions[0]);
    let second = check_exposition(&expositions[1]);
    assert!(first[""] > 0 && second[""] >= first[""], "counts since the start: {first:?} then {second:?}");

    let pid = busy.pid.to_string();
    let output = run_tracer(&["runqlat", "-P", "-p", &pid, "--openmetrics", "1", "1"]);
    let text = String::from_utf8(output.stdout).unwrap();
    let series = check_exposition(&text);
    assert_eq!(series.keys().collect::<Vec<_>>(), vec![&format!("pid={pid},comm=burn-metrics,")], "{text}");
}

#[test]
fn bad_fleet_input_is_refused_in_one_line_with_status_2() {
    let (runqlat, cpudist, junk) = (TempPath::new("rq"), TempPath::new("cd"), TempPath::new("junk"));
    ok_json(&["runqlat", "--save", runqlat.arg(), "--json", "1", "1"]);
    ok_json(&["cpudist", "--save", cpudist.arg(), "--json", "1", "1"]);
    std::fs::write(&junk.0, "not a log\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["merge", "/no/such.hlog"], "cannot read /no/such.hlog"),
        (vec!["merge", junk.arg()], "is not an HdrHistogram interval log"),
        (vec!["merge", runqlat.arg(), cpudist.arg()], "cannot merge cpudist histograms"),
        (vec!["merge"], "required"),
        (vec!["runqlat", "--save", "/proc/no/such/file", "1", "1"], "cannot create /proc/no/such/file"),
        (vec!["runqlat", "--json", "--openmetrics"], "cannot be used with"),
    ];
    for (args, wanted) in cases {
        let output = run_tracer(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
}
