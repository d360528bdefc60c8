//! `tracer opensnoop` against a workload that opens 50 uniquely named
//! files (a third of them missing) through open, openat and openat2, with
//! absolute names and names relative to its cwd and to a directory fd, and
//! prints what each open returned.

use std::{collections::BTreeMap, path::PathBuf};

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

const FILES: usize = 50;

/// One open as the workload saw it.
#[derive(Debug)]
struct Seen {
    full_path: String,
    fd: i64,
    errno: i64,
}

/// A fresh directory for the workload's files, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        Self(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}", unique("opens"))))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `tracer opensnoop -p PID ARGS` around one run of the workload;
/// returns (stdout, stderr, the workload's opens by the name it passed).
fn snoop(args: &[&str]) -> (Vec<u8>, String, BTreeMap<String, Seen>) {
    let dir = Dir::new();
    let mut workload = Waiting::start("tracer-opens", &[dir.0.to_str().unwrap(), &FILES.to_string()]);
    let pid = workload.pid().to_string();
    let mut full = vec!["opensnoop", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    workload.go();
    let mut opens = BTreeMap::new();
    loop {
        let line = workload.line();
        if line == "done" {
            break;
        }
        let cells: Vec<&str> = line.splitn(5, ' ').collect();
        assert_eq!(cells[0], "open", "{line:?}");
        let seen = Seen { full_path: cells[2].into(), fd: cells[3].parse().unwrap(), errno: cells[4].parse().unwrap() };
        opens.insert(cells[1].to_owned(), seen);
    }
    // Events wait ~20 ms to be put in order; leave slack.
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    assert_eq!(opens.len(), FILES);
    (stdout, stderr, opens)
}

#[test]
fn every_open_is_reported_with_its_fd_or_errno() {
    let (stdout, stderr, opens) = snoop(&["-F", "--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    let missing = opens.values().filter(|seen| seen.fd < 0).count();
    assert!((10..FILES - 10).contains(&missing), "a mix of present and missing files: {opens:?}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "open").collect();
    for (name, seen) in &opens {
        let matching: Vec<&Value> = records.iter().filter(|r| r["path"] == name.as_str()).collect();
        assert_eq!(matching.len(), 1, "{name}: {matching:?}");
        let record = matching[0];
        if seen.fd >= 0 {
            assert_eq!((record["fd"].as_i64(), record["err"].as_i64()), (Some(seen.fd), Some(0)), "{name}: {record}");
        } else {
            assert_eq!(
                (record["fd"].as_i64(), record["err"].as_i64()),
                (Some(-1), Some(seen.errno)),
                "{name}: {record}"
            );
        }
        // -F: relative names (to the cwd or to a directory fd) made whole.
        assert_eq!(record["full_path"], seen.full_path.as_str(), "{record}");
        assert_eq!(record["comm"], "tracer-opens");
        assert_eq!(record["uid"], 0);
    }
    // The created files carry their mode and O_CREAT.
    let created: Vec<&Value> = records.iter().filter(|r| r["flags"].as_u64().unwrap() & 0o100 != 0).collect();
    assert_eq!(created.len(), (0..FILES).filter(|i| i % 6 == 4).count(), "{created:?}");
    assert!(created.iter().all(|r| r["mode"] == 0o640), "{created:?}");
}

#[test]
fn failed_only_text_output_escapes_names() {
    let (stdout, _, opens) = snoop(&["-x"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), format!("{:<6} {:<16} {:>3} {:>3} PATH", "PID", "COMM", "FD", "ERR"));
    let rows: Vec<&str> = lines.collect();
    for (name, seen) in &opens {
        let row = rows.iter().find(|row| row.ends_with(&format!(" {name}")));
        if seen.fd >= 0 {
            assert!(row.is_none(), "-x shows only failures: {row:?}");
            continue;
        }
        let cells: Vec<&str> = row.unwrap_or_else(|| panic!("{name} missing:\n{text}")).split_whitespace().collect();
        assert_eq!(cells[1], "tracer-opens");
        assert_eq!((cells[2], cells[3]), ("-1", seen.errno.to_string().as_str()), "{name}");
    }
    assert_eq!(rows.len(), opens.values().filter(|seen| seen.fd < 0).count(), "{text}");
    assert!(!text.contains('\x1b'), "names are escaped");

    let (stdout, _, _) = snoop(&["-T", "-U", "-e"]);
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.starts_with("TIME     UID     PID    COMM              FD ERR FLAGS    MODE  PATH\n"), "{text}");
    assert!(text.contains(" f-7-\\x1b[2J\n"), "escaped ESC: {text}");
    assert!(!text.contains('\x1b'));
}
