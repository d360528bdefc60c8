//! `tracer vfsstat` against a program that does a known number of each VFS
//! operation (workloads/vfsops.rs): every count must be at least that.

use std::path::PathBuf;

use serde_json::Value;
use tracer_tests::*;

const ROUNDS: u64 = 300;

/// Runs the workload in a fresh directory on the root file system while
/// `tracer vfsstat ARGS` runs; returns (stdout, stderr).
fn count_during(args: &[&str]) -> (Vec<u8>, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}", unique("vfsops")));
    std::fs::create_dir(&dir).unwrap();
    let mut workload = Waiting::start("tracer-vfsops", &[dir.to_str().unwrap(), &ROUNDS.to_string()]);
    let started = start_tracer(args);
    workload.go();
    assert_eq!(workload.line(), "done");
    std::thread::sleep(std::time::Duration::from_millis(200));
    signal(&started.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    std::fs::remove_dir(&dir).unwrap();
    (stdout, stderr)
}

#[test]
fn every_operation_is_counted_at_least_as_often_as_the_program_did_it() {
    let (stdout, stderr) = count_during(&["vfsstat", "--json", "1"]);
    assert!(stderr.contains("attached via tracepoint"), "only the syscall path works on this kernel: {stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "vfsstat").collect();
    assert!(!records.is_empty());
    let total = |field: &str| records.iter().map(|r| r[field].as_u64().unwrap()).sum::<u64>();
    for (field, per_round) in
        [("read", 1), ("write", 1), ("fsync", 1), ("open", 2), ("create", 1), ("unlink", 1), ("mkdir", 1), ("rmdir", 1)]
    {
        assert!(total(field) >= per_round * ROUNDS, "{field}: {} < {}: {records:#?}", total(field), per_round * ROUNDS);
    }
    // Nothing else on this machine makes hundreds of directories a second.
    assert!(total("mkdir") < ROUNDS * 2, "{records:#?}");
    assert_eq!(records[0]["interval_s"], 1);
}

#[test]
fn text_has_libbpf_tools_header_and_per_second_rows() {
    let (stdout, _) = count_during(&["vfsstat", "1"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s UNLINK/s  MKDIR/s  RMDIR/s"),
        "{text}"
    );
    let mkdirs: u64 = lines
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .inspect(|fields| assert!(fields.len() == 9 && fields[0].ends_with(':'), "{fields:?}"))
        .map(|fields| fields[7].parse::<u64>().unwrap())
        .sum();
    assert!(mkdirs >= ROUNDS, "{text}");
}

#[test]
fn hooks_this_kernel_lacks_are_refused_in_one_line() {
    for hook in ["fentry", "kprobe"] {
        let output = run_tracer(&["vfsstat", "--hook", hook, "1", "1"]);
        assert_eq!(output.status.code(), Some(2), "{hook}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("could not attach"), "{stderr}");
    }
}
