//! `tracer filelife` against files this test creates and deletes itself,
//! with unique names and known lifetimes.

use std::{
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

/// A directory of the test's own under target/.
fn scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target").canonicalize().unwrap().join(unique("life"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `tracer filelife -p <this test> ARGS` around `work`; returns
/// (stdout, stderr).
fn snoop(args: &[&str], work: impl FnOnce()) -> (Vec<u8>, String) {
    let pid = std::process::id().to_string();
    let mut full = vec!["filelife", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    work();
    std::thread::sleep(Duration::from_millis(300));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    (stdout, stderr)
}

/// Creates `path` (O_CREAT | O_EXCL), waits `life`, deletes it; returns how
/// long it really lived, as this process measured it.
fn short_lived(path: &Path, life: Duration) -> Duration {
    let started = Instant::now();
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    std::thread::sleep(life);
    std::fs::remove_file(path).unwrap();
    started.elapsed()
}

#[test]
fn a_file_deleted_300_ms_after_its_creation_is_reported_with_its_age() {
    let dir = scratch_dir();
    let file = dir.join("short-lived.tmp");
    let kept = dir.join("kept.tmp");
    let mut lived = Duration::ZERO;
    let (stdout, stderr) = snoop(&["--json"], || {
        std::fs::write(&kept, b"stays").unwrap();
        lived = short_lived(&file, Duration::from_millis(300));
    });
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(stderr.contains("fentry failed") && stderr.contains("kprobe failed"), "tried best first: {stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "file").collect();
    assert_eq!(records.len(), 1, "only the deleted file: {records:#?}");
    let record = &records[0];
    assert_eq!(
        (&record["file"], &record["pid"]),
        (&Value::from(file.to_str().unwrap()), &Value::from(std::process::id()))
    );
    assert_eq!((&record["created_by"], &record["deleted_by"]), (&Value::from("openat"), &Value::from("unlink")));
    let age = record["age_ns"].as_u64().unwrap();
    assert!(age >= 300_000_000 && age <= lived.as_nanos() as u64, "age {age} ns, lived {lived:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_rows_name_the_file_and_its_age_in_seconds() {
    let dir = scratch_dir();
    let (stdout, _) = snoop(&[], || {
        short_lived(&dir.join("first.tmp"), Duration::from_millis(300));
        // Deleted by a name relative to a directory descriptor, which the
        // kernel walks to pair it with the creation's full path.
        std::fs::write(dir.join("second.tmp"), b"x").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let dir_fd = std::fs::File::open(&dir).unwrap();
        let name = std::ffi::CString::new("second.tmp").unwrap();
        // SAFETY: an open directory descriptor and a NUL-terminated name.
        assert_eq!(unsafe { libc::unlinkat(std::os::fd::AsRawFd::as_raw_fd(&dir_fd), name.as_ptr(), 0) }, 0);
    });
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PID", "COMM", "AGE(s)", "FILE"]);
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(
        (rows[0][1], rows[0][4], rows[1][4]),
        (std::process::id().to_string().as_str(), "first.tmp", "second.tmp")
    );
    let ages: Vec<f64> = rows.iter().map(|row| row[3].parse().unwrap()).collect();
    assert!((0.30..0.40).contains(&ages[0]) && (0.10..0.20).contains(&ages[1]), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_renamed_file_is_reported_once_under_the_name_it_was_deleted_by() {
    let dir = scratch_dir();
    let (first, last) = (dir.join(unique("life-first")), dir.join(unique("life-last")));
    let started = Instant::now();
    let mut lived = Duration::ZERO;
    let (stdout, stderr) = snoop(&["--json"], || {
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&first).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::rename(&first, &last).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        std::fs::remove_file(&last).unwrap();
        lived = started.elapsed();
    });
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "file").collect();
    assert_eq!(records.len(), 1, "one file, reported once: {records:#?}\n{stderr}");
    let record = &records[0];
    assert_eq!(record["file"], Value::from(last.to_str().unwrap()));
    assert_eq!((&record["created_by"], &record["deleted_by"]), (&Value::from("openat"), &Value::from("unlink")));
    let age = record["age_ns"].as_u64().unwrap();
    assert!(age >= 300_000_000 && age <= lived.as_nanos() as u64, "age {age} ns from its creation, lived {lived:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rename_over_a_file_created_in_the_run_ends_that_file() {
    let dir = scratch_dir();
    let (replaced, renamed) = (dir.join(unique("life-replaced")), dir.join(unique("life-renamed")));
    let (stdout, stderr) = snoop(&["--json"], || {
        std::fs::write(&replaced, b"old").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        std::fs::write(&renamed, b"new").unwrap();
        std::fs::rename(&renamed, &replaced).unwrap();
    });
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "file").collect();
    assert_eq!(records.len(), 1, "{records:#?}\n{stderr}");
    let record = &records[0];
    assert_eq!(record["file"], Value::from(replaced.to_str().unwrap()));
    assert_eq!(record["deleted_by"], Value::from("rename"));
    let age = record["age_ns"].as_u64().unwrap();
    assert!((200_000_000..1_000_000_000).contains(&age), "aged from the replaced file's creation: {age} ns");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_file_opened_with_o_creat_then_deleted_is_not_reported() {
    let dir = scratch_dir();
    let (reopened, old) = (dir.join(unique("life-reopened")), dir.join(unique("life-old")));
    // Both exist before the run.
    std::fs::write(&reopened, b"before").unwrap();
    std::fs::write(&old, b"before").unwrap();
    let control = dir.join(unique("life-control"));
    let (stdout, stderr) = snoop(&["--json"], || {
        // O_CREAT | O_TRUNC (File::create) and plain O_CREAT on existing files.
        std::fs::File::create(&reopened).unwrap();
        std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&reopened).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        std::fs::remove_file(&reopened).unwrap();
        std::fs::remove_file(&old).unwrap();
        // A file that this run sees created: the tool was listening.
        short_lived(&control, Duration::from_millis(100));
    });
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "file").collect();
    let files: Vec<&str> = records.iter().filter_map(|r| r["file"].as_str()).collect();
    assert_eq!(files, [control.to_str().unwrap()], "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// This host refuses fentry (EPERM) and has no kprobes: forcing either is
/// refused in one line naming the hook and why, exit 2, and leaves nothing
/// loaded.
#[test]
fn forced_fentry_and_kprobe_are_refused_in_one_line_on_this_host() {
    for (hook, why) in [("fentry", "fentry vfs_create"), ("kprobe", "kprobe vfs_create")] {
        let output = run_tracer(&["filelife", "--hook", hook]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "--hook {hook}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("could not attach") && stderr.contains(why), "--hook {hook}: {stderr}");
        assert!(output.stdout.is_empty(), "no header without a hook: {:?}", String::from_utf8_lossy(&output.stdout));
        assert_no_programs_left("filelife_");
    }
}
