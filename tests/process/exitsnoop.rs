//! `tracer exitsnoop` against children whose ends we choose.

use std::{
    os::unix::process::CommandExt,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use tracer_tests::*;

fn exits(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "exit").collect()
}

/// Children that exit with code 3, are killed by SIGKILL, and dump core on
/// SIGSEGV (core limit raised, in a scratch directory). Returns their pids
/// and how long the code-3 child lived.
fn endings(core_dir: &std::path::Path) -> (u32, u32, u32, Duration) {
    let started = Instant::now();
    let mut three = Command::new("sh").args(["-c", "sleep 0.3; exit 3"]).spawn().unwrap();
    let code_three = three.id();
    assert_eq!(three.wait().unwrap().code(), Some(3));
    let lived = started.elapsed();

    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let killed = sleeper.id();
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();

    let mut segv = Command::new("sh");
    segv.args(["-c", "kill -SEGV $$"]).current_dir(core_dir);
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        segv.pre_exec(|| {
            let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
            libc::setrlimit(libc::RLIMIT_CORE, &unlimited);
            Ok(())
        });
    }
    let mut segv = segv.stdout(Stdio::null()).spawn().unwrap();
    let dumped = segv.id();
    let status = segv.wait().unwrap();
    assert!(std::os::unix::process::ExitStatusExt::core_dumped(&status), "the kernel did not dump core: {status:?}");
    (code_three, killed, dumped, lived)
}

#[test]
fn exit_codes_signals_and_core_dumps_are_reported() {
    let core_dir = std::env::temp_dir().join(unique("cores"));
    std::fs::create_dir_all(&core_dir).unwrap();
    let (stdout, _, (code_three, killed, dumped, lived)) =
        trace_during(&["exitsnoop", "--json"], || endings(&core_dir));
    std::fs::remove_dir_all(&core_dir).unwrap();
    let records = exits(&stdout);
    let find =
        |pid: u32| records.iter().find(|r| r["pid"] == pid).unwrap_or_else(|| panic!("pid {pid} missing: {records:?}"));

    let three = find(code_three);
    assert_eq!((three["exit_code"].as_u64(), three["signal"].as_u64()), (Some(3), None));
    assert_eq!(three["ppid"], std::process::id());
    assert_eq!(three["tid"], code_three);
    assert_eq!(three["comm"], "sh");
    let age = three["age_ns"].as_u64().unwrap() as f64 / 1e9;
    assert!((age - lived.as_secs_f64()).abs() < 0.1, "age {age}s, lived {lived:?}");

    let kill = find(killed);
    assert_eq!((kill["exit_code"].as_u64(), kill["signal"].as_u64()), (None, Some(9)));
    assert_eq!(kill["core_dumped"], false);
    assert_eq!(kill["ppid"], std::process::id());

    let segv = find(dumped);
    assert_eq!(segv["signal"], 11);
    assert_eq!(segv["core_dumped"], true);
    assert_eq!(segv["ppid"], std::process::id());
}

#[test]
fn text_output_names_codes_and_signals() {
    let core_dir = std::env::temp_dir().join(unique("cores-text"));
    std::fs::create_dir_all(&core_dir).unwrap();
    let (stdout, _, (code_three, killed, dumped, _)) = trace_during(&["exitsnoop", "-t"], || endings(&core_dir));
    std::fs::remove_dir_all(&core_dir).unwrap();
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"]);
    let line_of = |pid: u32| {
        text.lines()
            .find(|l| l.split_whitespace().nth(2) == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("pid {pid} missing:\n{text}"))
    };
    assert!(line_of(code_three).ends_with(" code 3"), "{}", line_of(code_three));
    assert!(line_of(killed).ends_with(" signal 9 (KILL)"), "{}", line_of(killed));
    assert!(line_of(dumped).ends_with(" signal 11 (SEGV), core dumped"), "{}", line_of(dumped));
}

#[test]
fn failed_only_and_pid_filters() {
    let (stdout, _, (ok, failed)) = trace_during(&["exitsnoop", "-x", "--json"], || {
        let mut ok = Command::new("true").spawn().unwrap();
        let mut failed = Command::new("false").spawn().unwrap();
        ok.wait().unwrap();
        failed.wait().unwrap();
        (ok.id(), failed.id())
    });
    let pids: Vec<u64> = exits(&stdout).iter().map(|r| r["pid"].as_u64().unwrap()).collect();
    assert!(pids.contains(&(failed as u64)), "{pids:?}");
    assert!(!pids.contains(&(ok as u64)), "-x must hide exit(0): {pids:?}");

    let target = burn(1, 1, "burn-exit");
    let (stdout, _, ()) = trace_during(&["exitsnoop", "-p", &target.pid.to_string(), "--json"], || {
        std::thread::sleep(Duration::from_millis(1300));
        Command::new("true").status().unwrap();
    });
    let reported: Vec<u64> = exits(&stdout).iter().map(|r| r["pid"].as_u64().unwrap()).collect();
    assert_eq!(reported, vec![target.pid as u64]);
}

#[test]
fn threads_are_reported_only_with_capital_t() {
    let (stdout, _, pid) = trace_during(&["exitsnoop", "-T", "--json"], || {
        let mut child = Command::new(workload_bin("tracer-burn"))
            .args(["3", "0.2", "burn-threads"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    });
    let ours: Vec<Value> = exits(&stdout).into_iter().filter(|r| r["pid"] == pid).collect();
    assert_eq!(ours.len(), 4, "three workers and the main thread: {ours:?}");
    assert!(ours.iter().all(|r| r["comm"] == "burn-threads"));
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    for hook in ["raw_tp", "tracepoint"] {
        let (stdout, stderr, pid) = trace_during(&["exitsnoop", "--hook", hook, "--json"], || {
            let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
            child.wait().unwrap();
            child.id()
        });
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = exits(&stdout);
        let ours = records.iter().find(|r| r["pid"] == pid).unwrap_or_else(|| panic!("{hook}: {records:?}"));
        assert_eq!(ours["exit_code"], 7);
    }
    assert_no_programs_left("exitsnoop_");
}
