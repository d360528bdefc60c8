//! `tracer cpudist` against a thread that spins 5 ms then sleeps 5 ms, over
//! and over: its on-CPU and its off-CPU times both peak near 5 ms.

use serde_json::Value;
use tracer_tests::*;

const MS: u64 = 1_000_000;

/// One 2-second histogram of the duty-cycle workload, `-p` its pid.
fn histogram_of_duty_cycle(args: &[&str]) -> (Value, String) {
    let mut workload = Waiting::start("tracer-duty", &["5", "5", "4"]);
    let pid = workload.pid().to_string();
    let mut full = vec!["cpudist", "-p", &pid, "--json"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["2", "1"]);
    let started = start_tracer(&full);
    workload.go();
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "histogram").collect();
    assert_eq!(records.len(), 1, "{records:?}");
    (records.into_iter().next().unwrap(), stderr)
}

/// The log2 row (in usecs) holding the most samples.
fn peak_row(record: &Value) -> (u64, u64) {
    let buckets = record["buckets"].as_array().unwrap();
    let peak = buckets.iter().max_by_key(|b| b["count"].as_u64().unwrap()).unwrap();
    (peak["low"].as_u64().unwrap(), peak["high"].as_u64().unwrap())
}

#[test]
fn on_cpu_time_of_a_5ms_duty_cycle_peaks_near_5ms() {
    let (record, stderr) = histogram_of_duty_cycle(&[]);
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    // 2 s of 10 ms cycles: about 200 runs, each one sample.
    let count = record["count"].as_u64().unwrap();
    assert!((150..=260).contains(&count), "{record}");
    assert_eq!(peak_row(&record), (4096, 8191), "{record}");
    let p50 = record["p50_ns"].as_u64().unwrap();
    assert!((4 * MS..=7 * MS).contains(&p50), "p50 {p50} ns: {record}");
}

#[test]
fn off_cpu_time_of_a_5ms_duty_cycle_peaks_near_5ms() {
    let (record, _) = histogram_of_duty_cycle(&["-O"]);
    let count = record["count"].as_u64().unwrap();
    assert!((150..=260).contains(&count), "{record}");
    assert_eq!(peak_row(&record), (4096, 8191), "{record}");
    let p50 = record["p50_ns"].as_u64().unwrap();
    assert!((4 * MS..=7 * MS).contains(&p50), "p50 {p50} ns: {record}");
}

#[test]
fn every_hook_kind_and_split_sees_the_same_thread() {
    for hook in ["raw_tp", "tracepoint"] {
        let (record, stderr) = histogram_of_duty_cycle(&["-L", "--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        assert_eq!(record["comm"], "tracer-duty", "{record}");
        assert_eq!(peak_row(&record), (4096, 8191), "{hook}: {record}");
    }
    let (record, _) = histogram_of_duty_cycle(&["-P", "-m"]);
    assert_eq!(record["unit"], "msecs");
    assert_eq!(record["comm"], "tracer-duty", "{record}");
    assert_eq!(peak_row(&record), (4, 7), "{record}");
}

#[test]
fn idle_cpus_are_never_counted() {
    // Whole system, nearly idle: the idle tasks run most of the time; were
    // they timed, multi-millisecond samples would dominate.
    let output = run_tracer(&["cpudist", "-L", "--json", "1", "1"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for record in json_lines(&output.stdout).iter().filter(|r| r["type"] == "histogram") {
        assert_ne!(record["tid"], 0, "the idle task was timed: {record}");
    }
}
