//! `tracer syncsnoop` against a workload that makes exactly 5 fsyncs, 1
//! syncfs, 1 fdatasync, 1 sync_file_range and 1 msync on a uniquely named
//! file, timing each itself.

use std::path::PathBuf;

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

/// One call as the workload saw it: (syscall, ret, nanoseconds around it).
type Call = (String, i64, u64);

/// Runs `tracer syncsnoop -p PID ARGS` around one run of the workload;
/// returns (stdout, stderr, the workload's calls, its file, its mapping).
fn snoop(args: &[&str]) -> (Vec<u8>, String, Vec<Call>, PathBuf, u64) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.dat", unique("syncs")));
    let mut workload = Waiting::start("tracer-syncs", &[file.to_str().unwrap()]);
    let pid = workload.pid().to_string();
    let mut full = vec!["syncsnoop", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    workload.go();
    let (mut calls, mut mapping) = (Vec::new(), 0);
    loop {
        let line = workload.line();
        let cells: Vec<&str> = line.split(' ').collect();
        match cells[0] {
            "done" => break,
            "call" => calls.push((cells[1].to_owned(), cells[2].parse().unwrap(), cells[3].parse().unwrap())),
            "mapping" => mapping = u64::from_str_radix(cells[1].trim_start_matches("0x"), 16).unwrap(),
            _ => panic!("{line:?}"),
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    let file = file.canonicalize().unwrap();
    let _ = std::fs::remove_file(&file);
    (stdout, stderr, calls, file, mapping)
}

#[test]
fn exactly_the_workloads_syncs_with_their_file_and_latency() {
    let (stdout, stderr, calls, file, mapping) = snoop(&["--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(!stderr.contains("lost") && !stderr.contains("cut short"), "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "sync").collect();
    let count = |syscall: &str| records.iter().filter(|r| r["syscall"] == syscall).count();
    assert_eq!((count("fsync"), count("syncfs")), (5, 1), "{records:#?}");
    assert_eq!(records.len(), calls.len(), "and nothing else: {records:#?}");
    for ((syscall, ret, ns), record) in calls.iter().zip(&records) {
        assert_eq!((record["syscall"].as_str(), record["ret"].as_i64()), (Some(syscall.as_str()), Some(*ret)));
        assert_eq!(record["comm"], "tracer-syncs");
        // Timed inside the workload's own clock readings.
        let latency = record["latency_ns"].as_u64().unwrap();
        assert!(latency > 0 && latency <= *ns, "{syscall}: traced {latency} ns, the workload measured {ns} ns");
        if syscall == "msync" {
            assert_eq!((record["addr"].as_u64(), record["len"].as_u64()), (Some(mapping), Some(4096)), "{record}");
            assert!(record["file"].is_null() && record["fd"].is_null(), "{record}");
        } else {
            assert_eq!(record["file"], file.to_str().unwrap(), "{record}");
            assert!(record["fd"].as_i64().unwrap() >= 3, "{record}");
        }
    }
}

#[test]
fn text_rows_name_the_call_and_the_file() {
    let (stdout, _, calls, file, _) = snoop(&[]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME(s)", "PID", "COMM", "CALL", "LAT(ms)", "ERR", "FILE"]);
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), calls.len(), "{text}");
    let fsyncs: Vec<&Vec<&str>> = rows.iter().filter(|row| row[3] == "fsync").collect();
    assert_eq!(fsyncs.len(), 5, "{text}");
    assert!(fsyncs.iter().all(|row| row[2] == "tracer-syncs" && row[5] == "0" && row[6] == file.to_str().unwrap()));
    // TIME(s) is seconds since boot, as /proc/uptime counts them (CLOCK_MONOTONIC here, with no suspend).
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let time: f64 = fsyncs[0][0].parse().unwrap();
    assert!(time <= uptime && uptime - time < 30.0, "TIME(s) {time}, uptime {uptime}");
}
