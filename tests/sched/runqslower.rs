//! `tracer runqslower` against CPU hogs pinned to one CPU: more busy
//! threads than that CPU can run, so each waits behind the others, with
//! pids, tids and names the test knows.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

const MIN_US: u64 = 1000;

/// Runs `tracer -v runqslower ARGS` for two seconds and ends it with Ctrl-C.
fn trace(args: &[&str]) -> (Vec<u8>, String) {
    let mut full = vec!["runqslower"];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    std::thread::sleep(Duration::from_secs(2));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{args:?}: {status} {stderr}");
    (stdout, stderr)
}

fn waits(stdout: &[u8]) -> Vec<Value> {
    let records = json_lines(stdout);
    for record in &records {
        assert_eq!(record["tool"], "runqslower", "{record}");
    }
    records.into_iter().filter(|r| r["type"] == "runq").collect()
}

fn tid(record: &Value) -> u32 {
    record["tid"].as_u64().unwrap() as u32
}

/// Every reported wait is above the threshold, in both units.
fn assert_all_slow(records: &[Value], min_us: u64) {
    for record in records {
        let us = record["latency_us"].as_u64().unwrap();
        let ns = record["latency_ns"].as_u64().unwrap();
        assert!(us > min_us && ns / 1000 == us, "wait at or under {min_us} us reported: {record}");
    }
}

#[test]
fn pinned_hogs_are_reported_each_above_the_threshold() {
    let hogs = burn_pinned(3, 30, "rqs-hog", 0);
    let hog_tids: BTreeSet<u32> = tids_of(hogs.pid).into_iter().filter(|&t| t != hogs.pid).collect();
    assert_eq!(hog_tids.len(), 3);
    let (stdout, stderr) = trace(&[&MIN_US.to_string(), "--json"]);
    assert!(stderr.contains("attached via tp_btf"), "this kernel supports tp_btf: {stderr}");
    let records = waits(&stdout);
    assert_all_slow(&records, MIN_US);
    let seen: BTreeSet<u32> = records.iter().map(tid).filter(|t| hog_tids.contains(t)).collect();
    assert_eq!(seen, hog_tids, "every hog thread waits more than {MIN_US} us behind the other two: {records:?}");
    for record in records.iter().filter(|r| hog_tids.contains(&tid(r))) {
        assert_eq!(record["comm"], "rqs-hog", "{record}");
    }
    assert_no_programs_left("runqslower_");
}

#[test]
fn pid_filter_reports_only_that_process() {
    let target = burn_pinned(2, 30, "rqs-target", 0);
    let other = burn_pinned(2, 30, "rqs-other", 0);
    let (stdout, _) = trace(&["-p", &target.pid.to_string(), &MIN_US.to_string(), "--json"]);
    let records = waits(&stdout);
    assert!(!records.is_empty(), "no waits for pid {}", target.pid);
    assert_all_slow(&records, MIN_US);
    let target_tids = tids_of(target.pid);
    for record in &records {
        assert!(target_tids.contains(&tid(record)), "not a thread of {}: {record}", target.pid);
        assert_eq!(record["comm"], "rqs-target");
    }
    assert!(records.iter().all(|r| !tids_of(other.pid).contains(&tid(r))));
}

#[test]
fn tid_filter_reports_only_that_thread_on_every_hook() {
    let hogs = burn_pinned(3, 30, "rqs-thread", 0);
    let one = tids_of(hogs.pid).into_iter().find(|&t| t != hogs.pid).unwrap();
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let (stdout, stderr) = trace(&["-t", &one.to_string(), "--hook", hook, &MIN_US.to_string(), "--json"]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = waits(&stdout);
        assert!(!records.is_empty(), "{hook}: no waits for tid {one}");
        assert_all_slow(&records, MIN_US);
        for record in &records {
            assert_eq!((tid(record), &record["comm"]), (one, &"rqs-thread".into()), "{hook}: {record}");
        }
    }
    assert_no_programs_left("runqslower_");
}

#[test]
fn comm_prefix_filter_on_the_classic_tracepoint() {
    let hogs = burn_pinned(3, 30, "rqs-prefix-q7", 0);
    let (stdout, _) = trace(&["-c", "rqs-pre", "--hook", "tracepoint", &MIN_US.to_string(), "--json"]);
    let records = waits(&stdout);
    assert!(!records.is_empty(), "no waits for the rqs-pre* hogs");
    let hog_tids = tids_of(hogs.pid);
    for record in &records {
        assert_eq!(record["comm"], "rqs-prefix-q7", "{record}");
        assert!(hog_tids.contains(&tid(record)), "{record}");
    }
}

#[test]
fn previous_task_columns_name_the_hog_that_ran_before() {
    let hogs = burn_pinned(3, 30, "rqs-prev", 0);
    let hog_tids = tids_of(hogs.pid);
    let (stdout, _) = trace(&["-P", &MIN_US.to_string()]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(format!("Tracing run queue latency higher than {MIN_US} us").as_str()));
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        format!("{:<8} {:<16} {:<6} {:>14} {:<16} {:<6}", "TIME", "COMM", "TID", "LAT(us)", "PREV COMM", "PREV TID")
    );
    // TIME COMM TID LAT PREV-COMM PREV-TID (comms here have no spaces).
    let rows: Vec<Vec<&str>> =
        lines.map(|l| l.split_whitespace().collect()).filter(|f: &Vec<&str>| f.len() == 6).collect();
    let hog_after_hog = rows.iter().any(|f| {
        let (tid, prev): (u32, u32) = (f[2].parse().unwrap(), f[5].parse().unwrap());
        f[1] == "rqs-prev" && f[4] == "rqs-prev" && hog_tids.contains(&tid) && hog_tids.contains(&prev) && tid != prev
    });
    assert!(hog_after_hog, "a hog switched in after another hog, both named:\n{text}");
    for row in &rows {
        assert!(row[3].parse::<u64>().unwrap() > MIN_US, "{row:?}");
    }
}

#[test]
fn bad_runqslower_input_is_refused_in_one_line_with_status_2() {
    let missing = (4_000_000..4_100_000).find(|pid| !PathBuf::from(format!("/proc/{pid}")).exists()).unwrap();
    let thread = burn(2, 10, "rqs-bad");
    let a_thread = tids_of(thread.pid).into_iter().find(|&tid| tid != thread.pid).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-5".into()], "is not a latency in microseconds"),
        (vec!["soon".into()], "is not a latency in microseconds"),
        (vec!["1".into(), "2".into()], "unexpected argument"),
        (vec!["-p".into(), missing.to_string()], "no process with PID"),
        (vec!["-p".into(), a_thread.to_string()], "is a thread of process"),
        (vec!["-t".into(), missing.to_string()], "no thread with TID"),
        (vec!["-c".into(), "a-name-of-16-byt".into()], "is not a command name prefix"),
        (
            vec!["--hook".into(), "tracepoint".into(), "-p".into(), thread.pid.to_string()],
            "use --hook tp_btf or raw_tp",
        ),
        (vec!["--hook".into(), "kprobe".into()], "invalid value"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["runqslower".to_string()];
        full.extend(args.iter().cloned());
        let output = run_tracer(&full.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line please: {stderr:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
