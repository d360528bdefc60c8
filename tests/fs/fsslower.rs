//! `tracer ext4slower` / `fsslower` against a program writing, syncing and
//! reading back a file of known size on the ext4 root file system.

use std::path::PathBuf;

use serde_json::Value;
use tracer_tests::*;

const MIB: u64 = 64;

fn operations(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "fs").collect()
}

#[test]
fn writes_fsync_and_reads_of_a_64_mib_file_are_all_seen() {
    let io = FsIo::start("fsio", MIB);
    let (pid, name) = (io.pid, io.name());
    let (stdout, stderr, fsync_ms) = trace_during(&["ext4slower", "-m", "0", "--json"], || io.go());
    assert!(stderr.contains("attached via tracepoint"), "only the syscall path works on this kernel: {stderr}");
    let records = operations(&stdout);
    let ours: Vec<&Value> = records.iter().filter(|r| r["pid"] == pid && r["file"] == name.as_str()).collect();
    for record in &ours {
        assert_eq!(record["comm"], "tracer-fsio");
    }
    let of = |op: &str| ours.iter().filter(|r| r["op"] == op).collect::<Vec<_>>();
    let total = |op: &str| of(op).iter().map(|r| r["bytes"].as_i64().unwrap()).sum::<i64>();
    assert_eq!(of("O").len(), 2, "create, then open to read back: {ours:?}");
    assert_eq!(total("W"), (MIB << 20) as i64, "write bytes");
    assert_eq!(total("R"), (MIB << 20) as i64, "read bytes");
    let offsets: Vec<i64> = of("W").iter().map(|r| r["offset"].as_i64().unwrap()).collect();
    assert_eq!(offsets, (0..MIB as i64).map(|i| i << 20).collect::<Vec<_>>(), "write offsets");
    let fsync = of("F");
    assert_eq!(fsync.len(), 1);
    let traced_ms = fsync[0]["latency_ns"].as_u64().unwrap() as f64 / 1e6;
    assert!(
        (traced_ms - fsync_ms).abs() <= 2.0 + fsync_ms * 0.1,
        "fsync took {fsync_ms} ms by the program's clock, {traced_ms} ms by ext4slower's"
    );
}

#[test]
fn a_threshold_above_every_latency_shows_nothing() {
    let io = FsIo::start("fsio-threshold", MIB);
    let pid = io.pid;
    let (stdout, _, _) = trace_during(&["ext4slower", "-m", "100000", "--json"], || io.go());
    assert!(operations(&stdout).iter().all(|r| r["pid"] != pid), "nothing takes 100 s");
}

#[test]
fn pid_filter_and_text_columns() {
    let io = FsIo::start("fsio-pid", MIB);
    let pid = io.pid;
    let (stdout, _, _) = trace_during(&["ext4slower", "-m", "0", "-p", &pid.to_string()], move || {
        // Someone else's I/O, which -p must hide.
        let other = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.dat", unique("other")));
        std::fs::write(&other, b"x").unwrap();
        std::fs::remove_file(&other).unwrap();
        io.go()
    });
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Tracing ext4 operations... Hit Ctrl-C to end."));
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "COMM", "PID", "T", "BYTES", "OFF_KB", "LAT(ms)", "FILENAME"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|row| row[2] == pid.to_string()), "-p {pid}:\n{text}");
    assert!(rows.iter().any(|row| row[3] == "F" && row[4] == "-"), "{text}");
}

#[test]
fn fsslower_with_another_file_system_type_ignores_ext4() {
    let io = FsIo::start("fsio-xfs", MIB);
    let pid = io.pid;
    let (stdout, stderr, _) = trace_during(&["fsslower", "-t", "xfs", "-m", "0", "--json"], || io.go());
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(operations(&stdout).iter().all(|r| r["pid"] != pid), "an ext4 file is not an xfs file");
    assert_no_programs_left("fsslower_");
}
