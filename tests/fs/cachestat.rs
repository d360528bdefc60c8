//! `tracer cachestat` against a program that reads a 16 MiB file whose
//! pages it dropped from the page cache (a cold read: every page a miss).
//! This kernel has neither fentry nor kprobes, so hits cannot be counted:
//! the tool must say so and show `-`, and still count the misses. (The
//! kernel matrix checks hits where fentry and kprobes work.)

use std::path::PathBuf;

use serde_json::Value;
use tracer_tests::*;

const MIB: u64 = 16;
const PAGES: u64 = MIB << 8;
/// The counters are the whole host's, and BCC's arithmetic takes pages other
/// writers dirty (without adding any) off the misses: a busy build next to
/// the test was seen to take one page off. A cold read must still show
/// nearly all of its pages.
const COLD_MISSES_AT_LEAST: u64 = PAGES * 95 / 100;

fn cold_read_during(args: &[&str]) -> (Vec<u8>, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.dat", unique("pagecache")));
    let mut workload = Waiting::start("tracer-pagecache", &[path.to_str().unwrap(), &MIB.to_string()]);
    assert_eq!(workload.line(), "resident 0", "the file's pages must be out of the cache before the read");
    let started = start_tracer(args);
    workload.go();
    assert_eq!(workload.line(), "read");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    signal(&started.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    std::fs::remove_file(&path).unwrap();
    (stdout, stderr)
}

#[test]
fn a_cold_read_shows_its_misses_and_hits_are_said_to_be_uncountable() {
    let (stdout, stderr) = cold_read_during(&["cachestat", "--json", "1"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert_eq!(stderr.matches("page cache hits cannot be counted on this kernel").count(), 1, "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "cachestat").collect();
    let misses: u64 = records.iter().map(|r| r["misses"].as_u64().unwrap()).sum();
    assert!(misses >= COLD_MISSES_AT_LEAST, "{PAGES} pages read cold, {misses} misses: {records:#?}");
    for record in &records {
        assert!(record["hits"].is_null() && record["hit_ratio"].is_null(), "{record}");
        assert!(record["cached_mb"].as_u64().unwrap() > 0, "{record}");
    }
}

#[test]
fn text_shows_a_dash_for_what_it_cannot_count() {
    let (stdout, _) = cold_read_during(&["cachestat", "-T", "1"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "HITS", "MISSES", "DIRTIES", "HITRATIO", "BUFFERS_MB", "CACHED_MB"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!((row.len(), row[1], row[4]), (7, "-", "-"), "{text}");
    }
    let misses: u64 = rows.iter().map(|row| row[2].parse::<u64>().unwrap()).sum();
    assert!(misses >= COLD_MISSES_AT_LEAST, "{PAGES} pages read cold: {text}");
}
