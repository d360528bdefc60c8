//! `tracer fsdist` / `ext4dist` against a program that writes 64 one-MiB
//! chunks to a new file on the ext4 root file system, fsyncs it (timing
//! the fsync by its own clock), reopens it, stats it once through the fd
//! and reads it back: 2 opens, 64 writes, 1 fsync, 1 getattr, 65 reads
//! (the last one at end of file).

use std::{collections::BTreeMap, path::PathBuf, process::Command};

use serde_json::Value;
use tracer_tests::*;

const MIB: u64 = 64;

/// The interval's histograms by operation name.
fn by_operation(stdout: &[u8]) -> BTreeMap<String, Value> {
    json_lines(stdout)
        .into_iter()
        .filter(|r| r["type"] == "histogram")
        .map(|r| (r["operation"].as_str().expect("operation").to_owned(), r))
        .collect()
}

#[test]
fn each_operation_is_counted_and_the_fsync_agrees_with_the_programs_clock() {
    let io = FsIo::start("fsdist", MIB);
    let pid = io.pid.to_string();
    let (stdout, stderr, fsync_ms) = trace_during(&["fsdist", "-t", "ext4", "-p", &pid, "--json"], || io.go());
    assert!(stderr.contains("attached via tracepoint"), "only the syscall path works on this kernel: {stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    let ops = by_operation(&stdout);
    let count = |op: &str| ops.get(op).map_or(0, |r| r["count"].as_u64().unwrap());
    assert_eq!(
        [count("open"), count("write"), count("fsync"), count("getattr"), count("read")],
        [2, MIB, 1, 1, MIB + 1],
        "{ops:#?}"
    );
    let fsync = &ops["fsync"];
    assert_eq!((fsync["tool"].as_str(), fsync["interval"].as_u64()), (Some("fsdist"), Some(1)));
    // One sample: its exact sum is the fsync's latency.
    let traced_ms = fsync["sum_ns"].as_u64().unwrap() as f64 / 1e6;
    assert!(
        (traced_ms - fsync_ms).abs() <= fsync_ms * 0.1,
        "fsync took {fsync_ms} ms by the program's clock, {traced_ms} ms by fsdist's"
    );
    // The percentiles of one sample are that sample, within the bucket error.
    let p50_ms = fsync["p50_ns"].as_u64().unwrap() as f64 / 1e6;
    assert!((p50_ms - traced_ms).abs() <= traced_ms / 16.0, "p50 {p50_ms} ms, sample {traced_ms} ms");
    assert_no_programs_left("fsdist_");
}

#[test]
fn ext4dist_prints_one_table_per_operation_as_libbpf_tools() {
    let io = FsIo::start("ext4dist", 4);
    let pid = io.pid.to_string();
    let (stdout, _, _) = trace_during(&["ext4dist", "-p", &pid, "-m"], || io.go());
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.starts_with("Tracing ext4 operation latency... Hit Ctrl-C to end.\n"), "{text}");
    let headers: Vec<&str> = text.lines().filter(|line| line.starts_with("operation = ")).collect();
    assert_eq!(
        headers,
        [
            "operation = 'read'",
            "operation = 'write'",
            "operation = 'open'",
            "operation = 'fsync'",
            "operation = 'getattr'"
        ],
        "{text}"
    );
    assert_eq!(text.matches("     msecs               : count    distribution").count(), 5, "{text}");
    assert!(text.contains("(5 samples,"), "5 reads of a 4 MiB file:\n{text}");
}

#[test]
fn a_pid_filter_hides_other_processes_and_another_type_ignores_ext4() {
    let mut idle = Command::new("sleep").arg("30").spawn().unwrap();
    let idle_pid = idle.id().to_string();
    let io = FsIo::start("fsdist-pid", 4);
    let (stdout, _, _) = trace_during(&["fsdist", "-t", "ext4", "-p", &idle_pid, "--json"], || io.go());
    assert!(by_operation(&stdout).is_empty(), "sleep did no ext4 I/O: {}", String::from_utf8_lossy(&stdout));
    let _ = idle.kill();
    let _ = idle.wait();

    let io = FsIo::start("fsdist-xfs", 4);
    let pid = io.pid.to_string();
    let (stdout, stderr, _) = trace_during(&["xfsdist", "-p", &pid, "--json"], || io.go());
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(by_operation(&stdout).is_empty(), "an ext4 file is not an xfs file");
}

#[test]
fn saved_histograms_merge_back_per_operation() {
    let log = std::env::temp_dir().join(format!("{}.hlog", unique("fsdist-save")));
    let io = FsIo::start("fsdist-save", 4);
    let pid = io.pid.to_string();
    let args = ["fsdist", "-t", "ext4", "-p", &pid, "--json", "--save", log.to_str().unwrap()];
    let (stdout, _, _) = trace_during(&args, || io.go());
    let run = by_operation(&stdout);
    let merged = run_tracer(&["merge", "--json", log.to_str().unwrap()]);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let merged = by_operation(&merged.stdout);
    assert_eq!(run.keys().collect::<Vec<_>>(), merged.keys().collect::<Vec<_>>());
    for (op, record) in &run {
        assert_eq!(merged[op]["count"], record["count"], "{op}");
        assert_eq!(merged[op]["tool"], "fsdist");
    }
    std::fs::remove_file(PathBuf::from(&log)).unwrap();
}

#[test]
fn hooks_this_kernel_lacks_are_refused_in_one_line() {
    let output = run_tracer(&["fsdist", "-t", "ext4", "--hook", "fentry"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("could not attach") && stderr.contains("tracer doctor"), "{stderr}");
}
