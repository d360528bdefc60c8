//! Soak: execsnoop and runqlat kept under continuous load for most of a
//! minute. Their memory must stay flat once warmed up, and every event the
//! workload caused must be either reported or counted as lost.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;
use tracer_tests::*;

const SOAK: Duration = Duration::from_secs(45);

/// Resident memory of a process now, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|line| line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap()
}

/// RSS samples every 5 s while `running`; the first two (warm-up) are the baseline.
fn watch_memory(pid: u32, duration: Duration) -> Vec<u64> {
    let mut samples = Vec::new();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        thread::sleep(Duration::from_secs(5));
        samples.push(rss_kib(pid));
    }
    samples
}

fn assert_flat(tool: &str, samples: &[u64]) {
    let baseline = samples[..2].iter().copied().max().unwrap();
    let last = *samples.last().unwrap();
    // Allocator slack is fine; growth with the number of events is not.
    assert!(last <= baseline + 2048, "{tool} grew from {baseline} KiB to {last} KiB: {samples:?}");
}

/// Starts `tracer -v ARGS` writing to files in `dir` (a pipe would fill
/// while the test watches memory), once it says it attached.
fn start_to_files(args: &[&str], dir: &std::path::Path) -> std::process::Child {
    std::fs::create_dir_all(dir).unwrap();
    let err = dir.join("stderr");
    let child = tracer()
        .arg("-v")
        .args(args)
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&err).unwrap().contains("attached via") {
        assert!(Instant::now() < deadline, "tracer did not attach: {}", std::fs::read_to_string(&err).unwrap());
        thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn execsnoop_keeps_memory_flat_and_accounts_for_every_exec() {
    let tag = unique("soak");
    let dir = std::env::temp_dir().join(unique("soak-execsnoop"));
    let child = start_to_files(&["execsnoop", "--json"], &dir);
    let stop = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicU64::new(0));
    let storm = {
        let (stop, spawned, tag) = (Arc::clone(&stop), Arc::clone(&spawned), tag.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = spawned.fetch_add(1, Ordering::Relaxed);
                Command::new("/bin/true").arg(&tag).arg(n.to_string()).status().unwrap();
            }
        })
    };
    let samples = watch_memory(child.id(), SOAK);
    stop.store(true, Ordering::Relaxed);
    storm.join().unwrap();
    thread::sleep(Duration::from_millis(200));
    signal(&child, Signal::SIGINT);
    let output = wait_with_timeout(child, Duration::from_secs(30));
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(output.status.success(), "{stderr}");
    let records = json_lines(&std::fs::read(dir.join("stdout")).unwrap());
    let seen = records
        .iter()
        .filter(|r| r["type"] == "exec" && r["args"].as_array().is_some_and(|a| a.iter().any(|v| v == tag.as_str())))
        .count() as u64;
    let lost: u64 = records.iter().filter(|r| r["type"] == "lost").map(|r| r["count"].as_u64().unwrap()).sum();
    let spawned = spawned.load(Ordering::Relaxed);
    assert!(spawned > 5000, "the storm only managed {spawned} execs");
    assert!(seen <= spawned && seen + lost >= spawned, "{spawned} execs: {seen} reported, {lost} reported lost");
    assert_flat("execsnoop", &samples);
    assert_no_programs_left("execsnoop_");
    std::fs::remove_dir_all(dir).unwrap();
    eprintln!("soak: {spawned} execs, {seen} reported, {lost} lost; RSS KiB {samples:?}");
}

#[test]
fn runqlat_keeps_memory_flat_over_many_intervals() {
    let _busy = burn(online_cpus() * 2, 60, "burn-soak");
    // A file, not a pipe: -P prints a record per process per second, more
    // than a pipe holds while the test is busy watching memory.
    let dir = std::env::temp_dir().join(unique("soak-runqlat"));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let seconds = SOAK.as_secs().to_string();
    let child = tracer()
        .args(["runqlat", "-P", "--json", "1", &seconds])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let samples = watch_memory(child.id(), SOAK - Duration::from_secs(3));
    let output = wait_with_timeout(child, Duration::from_secs(30));
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(output.status.success(), "{stderr}");
    let records = json_lines(&std::fs::read(&out).unwrap());
    let intervals = records.iter().filter_map(|r| r["interval"].as_u64()).max().unwrap_or(0);
    assert_eq!(intervals, SOAK.as_secs(), "one report per second");
    let lost: Vec<_> = records.iter().filter(|r| r["type"] == "lost").collect();
    assert!(lost.is_empty(), "runqlat lost samples: {lost:?}");
    assert_flat("runqlat", &samples);
    std::fs::remove_dir_all(dir).unwrap();
}
