//! `tracer runqlat` against the real scheduler, with busy threads whose pids,
//! tids and names we know, checked against the kernel's own accounting.

use std::{collections::BTreeSet, fs, path::PathBuf, time::Duration};

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

const MS: u64 = 1_000_000;

fn histograms(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["type"] == "histogram").collect()
}

fn total_count(records: &[Value]) -> u64 {
    histograms(records).iter().map(|r| r["count"].as_u64().unwrap()).sum()
}

#[test]
fn saturated_cpus_show_a_millisecond_tail_and_count_every_switch() {
    let busy = burn(online_cpus() * 2, 30, "burn-sat");
    let started = start_tracer(&["runqlat", "1", "3", "--json"]);
    let switches_before = context_switches();
    let (stdout, stderr, status) = started.finish();
    let switches = context_switches() - switches_before;
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("attached via tp_btf"), "this kernel supports tp_btf: {stderr}");

    let records = json_lines(&stdout);
    let intervals = histograms(&records);
    assert_eq!(intervals.len(), 3, "one histogram per interval: {records:?}");
    for (index, record) in intervals.iter().enumerate() {
        assert_eq!(record["tool"], "runqlat");
        assert_eq!(record["interval"], index as u64 + 1);
        let p99 = record["p99_ns"].as_u64().unwrap();
        assert!(p99 >= MS, "interval {index}: p99 {p99} ns < 1 ms with {} busy threads", online_cpus() * 2);
    }
    // Every switch to a non-idle task is one sample; with the CPUs saturated
    // the idle task hardly runs, so the kernel's own count must match.
    let counted = total_count(&records);
    let ratio = counted as f64 / switches as f64;
    assert!((0.9..=1.05).contains(&ratio), "runqlat counted {counted}, the kernel switched {switches} times");
    drop(busy);
    assert_no_programs_left("runqlat_");
}

#[test]
fn idle_machine_has_a_sub_millisecond_median() {
    // Light activity so there is something to measure: short sleeps, each
    // ending in a wakeup that finds an idle CPU.
    let sleeper = std::thread::spawn(|| {
        for _ in 0..1500 {
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let output = run_tracer(&["runqlat", "1", "3", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = json_lines(&output.stdout);
    for record in histograms(&records) {
        let count = record["count"].as_u64().unwrap();
        let p50 = record["p50_ns"].as_u64().unwrap();
        assert!(count > 100, "too few samples: {record}");
        assert!(p50 < MS, "p50 {p50} ns on an idle machine");
    }
    sleeper.join().unwrap();
}

#[test]
fn pid_filter_reports_only_that_process() {
    let target = burn(online_cpus(), 30, "burn-target");
    let other = burn(online_cpus(), 30, "burn-other");
    let target_tids = tids_of(target.pid);
    let started = start_tracer(&["runqlat", "-p", &target.pid.to_string(), "-L", "1", "2", "--json"]);
    let switches_before = switches_of(target.pid);
    let (stdout, stderr, status) = started.finish();
    let switches = switches_of(target.pid) - switches_before;
    assert!(status.success(), "{stderr}");

    let records = json_lines(&stdout);
    let seen: BTreeSet<u32> = histograms(&records).iter().map(|r| r["tid"].as_u64().unwrap() as u32).collect();
    assert!(!seen.is_empty(), "no samples for pid {}", target.pid);
    assert!(seen.is_subset(&target_tids), "tids {seen:?} are not all threads of {} ({target_tids:?})", target.pid);
    assert!(seen.is_disjoint(&tids_of(other.pid)));
    for record in histograms(&records) {
        assert_eq!(record["comm"], "burn-target");
    }
    let counted = total_count(&records);
    let ratio = counted as f64 / switches as f64;
    assert!((0.85..=1.1).contains(&ratio), "counted {counted} samples, the threads switched {switches} times");
}

#[test]
fn per_process_histograms_carry_each_process_pid_and_comm() {
    let alpha = burn(online_cpus(), 30, "burn-alpha");
    let beta = burn(online_cpus(), 30, "burn-beta");
    let output = run_tracer(&["runqlat", "-P", "1", "2", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = json_lines(&output.stdout);
    for (workload, comm) in [(&alpha, "burn-alpha"), (&beta, "burn-beta")] {
        let mine: Vec<&Value> = histograms(&records).into_iter().filter(|r| r["pid"] == workload.pid).collect();
        assert_eq!(mine.len(), 2, "one histogram per interval for pid {}: {records:?}", workload.pid);
        for record in mine {
            assert_eq!(record["comm"], comm);
            assert!(record["count"].as_u64().unwrap() > 0);
            assert!(record["p99_ns"].as_u64().unwrap() >= MS, "saturated: {record}");
        }
    }
    // Nothing else claims to be one of them.
    for record in histograms(&records) {
        if record["comm"] == "burn-alpha" || record["comm"] == "burn-beta" {
            assert!(record["pid"] == alpha.pid || record["pid"] == beta.pid, "{record}");
        }
    }
}

#[test]
fn per_thread_text_output_names_each_thread() {
    let busy = burn(2, 30, "burn-text");
    let output = run_tracer(&["runqlat", "-L", "-T", "-m", "1", "1"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("Tracing run queue latency... Hit Ctrl-C to end.\n"), "{text}");
    // -T: a HH:MM:SS line; -m: milliseconds table.
    assert!(text.lines().any(|l| l.len() == 8 && l.as_bytes()[2] == b':' && l.as_bytes()[5] == b':'), "{text}");
    assert!(text.contains("msecs               : count    distribution"), "{text}");
    for tid in tids_of(busy.pid).into_iter().filter(|&tid| tid != busy.pid) {
        assert!(text.contains(&format!("tid = {tid} burn-text")), "tid {tid} missing:\n{text}");
    }
    assert!(text.contains("±6.25%"), "{text}");
}

#[test]
fn pid_namespace_histograms_are_keyed_by_namespace_inode() {
    let inside = burn_in_new_pid_namespace(online_cpus() * 2, 30, "burn-ns");
    let namespace = fs::metadata(format!("/proc/{}/ns/pid_for_children", inside.pid)).unwrap();
    let host = fs::metadata("/proc/self/ns/pid_for_children").unwrap();
    assert_ne!(std::os::unix::fs::MetadataExt::ino(&namespace), std::os::unix::fs::MetadataExt::ino(&host));
    let output = run_tracer(&["runqlat", "--pidnss", "1", "1", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = json_lines(&output.stdout);
    let keys: BTreeSet<u64> = histograms(&records).iter().map(|r| r["pidns"].as_u64().unwrap()).collect();
    let ino = std::os::unix::fs::MetadataExt::ino;
    assert!(keys.contains(&ino(&namespace)), "new namespace {} missing from {keys:?}", ino(&namespace));
    assert!(keys.contains(&ino(&host)), "host namespace {} missing from {keys:?}", ino(&host));
    let ours = histograms(&records).into_iter().find(|r| r["pidns"] == ino(&namespace)).unwrap();
    assert!(ours["p99_ns"].as_u64().unwrap() >= MS, "the namespace's burner saturates the CPUs: {ours}");
}

/// A cgroup v2 directory made for one test and removed afterwards.
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(name: &str) -> Self {
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
        let root = mounts
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(fields[1]))
            })
            .expect("a cgroup v2 mount");
        let dir = root.join(format!("{name}-{}", std::process::id()));
        fs::create_dir(&dir).unwrap();
        Self(dir)
    }

    fn adopt(&self, pid: u32) {
        fs::write(self.0.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Move any survivors out, then remove the directory.
        let parent = self.0.parent().unwrap().join("cgroup.procs");
        for pid in fs::read_to_string(self.0.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = fs::write(&parent, pid);
        }
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
fn cgroup_filter_reports_only_tasks_in_that_cgroup() {
    let cgroup = TestCgroup::new("tracer-test");
    let inside = burn(online_cpus(), 30, "burn-in-cg");
    let outside = burn(online_cpus(), 30, "burn-out-cg");
    cgroup.adopt(inside.pid);
    let output = run_tracer(&["runqlat", "-c", cgroup.0.to_str().unwrap(), "-L", "1", "2", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = json_lines(&output.stdout);
    let seen: BTreeSet<u32> = histograms(&records).iter().map(|r| r["tid"].as_u64().unwrap() as u32).collect();
    assert!(!seen.is_empty(), "no samples from the cgroup");
    assert!(seen.is_subset(&tids_of(inside.pid)), "{seen:?} not all in the cgroup");
    assert!(seen.is_disjoint(&tids_of(outside.pid)));
    drop(inside);
}

#[test]
fn raw_and_classic_tracepoint_hooks_work_too() {
    let busy = burn(online_cpus() * 2, 30, "burn-hooks");
    let busy_tids = tids_of(busy.pid);
    for hook in ["raw_tp", "tracepoint"] {
        let started = start_tracer(&["runqlat", "--hook", hook, "-L", "1", "2", "--json"]);
        let (stdout, stderr, status) = started.finish();
        assert!(status.success(), "{hook}: {stderr}");
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = json_lines(&stdout);
        let mine: Vec<&Value> = histograms(&records)
            .into_iter()
            .filter(|r| busy_tids.contains(&(r["tid"].as_u64().unwrap() as u32)))
            .collect();
        assert!(!mine.is_empty(), "{hook}: no samples for the busy threads");
        for record in &mine {
            assert_eq!(record["comm"], "burn-hooks", "{hook}");
        }
        let p99 = mine.iter().map(|r| r["p99_ns"].as_u64().unwrap()).max().unwrap();
        assert!(p99 >= MS, "{hook}: saturated p99 {p99}");
    }
    assert_no_programs_left("runqlat_");
}

#[test]
fn ctrl_c_prints_the_partial_interval_and_detaches() {
    let _busy = burn(online_cpus(), 30, "burn-sigint");
    let started = start_tracer(&["runqlat"]);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "exit after Ctrl-C: {status} {stderr}");
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.contains("usecs               : count    distribution"), "{text}");
    assert!(text.contains("p99.9"), "{text}");
    assert_no_programs_left("runqlat_");
}

#[test]
fn sigterm_ends_an_interval_run_cleanly() {
    let started = start_tracer(&["runqlat", "1", "--json"]);
    std::thread::sleep(Duration::from_millis(2500));
    signal(&started.child, Signal::SIGTERM);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{status} {stderr}");
    let records = json_lines(&stdout);
    // Two full intervals plus the partial one at the signal.
    assert!(histograms(&records).len() >= 3, "{records:?}");
    assert_no_programs_left("runqlat_");
}

#[test]
fn a_signal_right_after_attaching_is_not_lost() {
    // No interval: only a signal ends this run. Sent the moment the programs
    // are attached, it must still end it, with the report printed.
    let started = start_tracer(&["runqlat", "--json"]);
    signal(&started.child, Signal::SIGTERM);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{status} {stderr}");
    assert_eq!(histograms(&json_lines(&stdout)).len(), 1);
    assert_no_programs_left("runqlat_");
}

#[test]
fn bad_runqlat_input_is_refused_in_one_line_with_status_2() {
    let missing_pid = (4_000_000..4_100_000).find(|pid| !PathBuf::from(format!("/proc/{pid}")).exists()).unwrap();
    let thread = burn(2, 10, "burn-thread");
    let a_thread = tids_of(thread.pid).into_iter().find(|&tid| tid != thread.pid).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["0".into()], "interval must be at least 1"),
        (vec!["-5".into()], "interval must be at least 1"),
        (vec!["soon".into()], "interval must be a whole number of seconds"),
        (vec!["1".into(), "0".into()], "count must be at least 1"),
        (vec!["-p".into(), missing_pid.to_string()], "no process with PID"),
        (vec!["-p".into(), a_thread.to_string()], "is a thread of process"),
        (vec!["-c".into(), "/no/such/cgroup".into()], "does not exist"),
        (vec!["-c".into(), "/tmp".into()], "not on a cgroup v2 file system"),
        (vec!["-P".into(), "-L".into()], "cannot be used with"),
        (vec!["--hook".into(), "tracepoint".into(), "-P".into()], "use --hook tp_btf or raw_tp"),
        (vec!["--btf".into(), "/no/such/btf".into()], "cannot use --btf /no/such/btf"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["runqlat".to_string()];
        full.extend(args.iter().cloned());
        let output = run_tracer(&full.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line please: {stderr:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
