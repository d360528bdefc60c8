//! `tracer statsnoop` against a workload that makes stat-family calls on
//! uniquely named files (present and missing, absolute and relative, by
//! name and on open descriptors, a pipe) and prints what each returned.

use std::path::PathBuf;

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

/// One call as the workload saw it.
#[derive(Debug)]
struct Call {
    syscall: String,
    path: String,
    ret: i64,
    errno: i64,
}

/// A fresh directory for the workload's files, removed when dropped.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `tracer statsnoop -p PID ARGS` around one run of the workload (in
/// `mode`: "" or "deep"); returns (stdout, stderr, the workload's calls in
/// order).
fn snoop_mode(mode: &str, args: &[&str]) -> (Vec<u8>, String, Vec<Call>) {
    let dir = Dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}", unique("stats"))));
    let mut workload = Waiting::start("tracer-stats", &[dir.0.to_str().unwrap(), mode]);
    let pid = workload.pid().to_string();
    let mut full = vec!["statsnoop", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    workload.go();
    let mut calls = Vec::new();
    loop {
        let line = workload.line();
        if line == "done" {
            break;
        }
        let cells: Vec<&str> = line.split(' ').collect();
        assert_eq!((cells[0], cells.len()), ("call", 5), "{line:?}");
        calls.push(Call {
            syscall: cells[1].into(),
            path: cells[2].into(),
            ret: cells[3].parse().unwrap(),
            errno: cells[4].parse().unwrap(),
        });
    }
    // Events wait ~20 ms to be put in order; leave slack.
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    (stdout, stderr, calls)
}

fn snoop(args: &[&str]) -> (Vec<u8>, String, Vec<Call>) {
    snoop_mode("", args)
}

#[test]
fn every_stat_call_is_reported_with_the_file_it_referred_to() {
    let (stdout, stderr, calls) = snoop(&["--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(!stderr.contains("lost") && !stderr.contains("cut short"), "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "stat").collect();
    assert_eq!(records.len(), calls.len(), "exactly the workload's calls: {records:#?}");
    for (call, record) in calls.iter().zip(&records) {
        assert_eq!(record["syscall"], call.syscall.as_str(), "{record}");
        // Descriptors (fstat, statx with AT_EMPTY_PATH) and relative names
        // resolve to the real path, with no trailing slash.
        assert_eq!(record["path"], call.path.as_str(), "{record}");
        let (ret, err) = if call.ret < 0 { (-1, call.errno) } else { (0, 0) };
        assert_eq!((record["ret"].as_i64(), record["err"].as_i64()), (Some(ret), Some(err)), "{record}");
        assert_eq!(record["comm"], "tracer-stats");
        assert_eq!(record["truncated"], false);
    }
    // The missing file: ENOENT, and reported as the name it was given.
    let missing: Vec<&Value> = records.iter().filter(|r| r["err"] == 2).collect();
    assert!(missing.len() >= 2, "{records:#?}");
    assert!(missing.iter().all(|r| r["path"].as_str().unwrap().ends_with("/missing")));
    // fstat carries the descriptor and no name; statx on it an empty name.
    let fstat = records.iter().find(|r| r["syscall"] == "newfstat").unwrap();
    assert!(fstat["fd"].as_i64().unwrap() >= 3 && fstat["name"].is_null(), "{fstat}");
    let statx = records.iter().find(|r| r["syscall"] == "statx").unwrap();
    assert_eq!((&statx["fd"], &statx["name"]), (&fstat["fd"], &Value::from("")), "{statx}");
    let relative = records.iter().find(|r| r["syscall"] == "newfstatat").unwrap();
    assert_eq!((&relative["name"], &relative["fd"]), (&Value::from("present"), &Value::Null), "{relative}");
}

#[test]
fn failed_only_shows_just_the_failures_in_libbpf_tools_columns() {
    let (stdout, _, calls) = snoop(&["-x", "-s"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("{:<7} {:<20} {:<4} {:<4} {:<10} PATH", "PID", "COMM", "RET", "ERR", "SYSCALL")
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split_whitespace().collect()).collect();
    let failed: Vec<&Call> = calls.iter().filter(|call| call.ret < 0).collect();
    assert!(!failed.is_empty() && failed.len() < calls.len(), "{calls:?}");
    assert_eq!(rows.len(), failed.len(), "-x shows only the failures:\n{text}");
    for (call, row) in failed.iter().zip(&rows) {
        assert_eq!(&row[1..], ["tracer-stats", "-1", &call.errno.to_string(), &call.syscall, &call.path], "{text}");
    }
}

#[test]
fn a_path_deeper_than_the_walk_is_marked_cut_and_counted() {
    let (stdout, stderr, calls) = snoop_mode("deep", &["--json"]);
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "stat").collect();
    assert_eq!((records.len(), calls.len()), (1, 1), "{records:?}");
    let (record, call) = (&records[0], &calls[0]);
    assert_eq!(record["truncated"], true, "{record}");
    // The innermost components are kept; the cut walk has no leading /.
    let path = record["path"].as_str().unwrap();
    assert!(!path.starts_with('/') && path.ends_with("/d/d/bottom") && call.path.ends_with(path), "{path}");
    assert!(stderr.contains("statsnoop: 1 path(s) cut short"), "{stderr}");
}
