//! `tracer sigsnoop` and `tracer killsnoop` against tracer-sigs: a sender
//! (`sigs-sender`) signalling its child (`sigs-target`) by kill (delivered,
//! then ignored), kill of a PID nobody has (ESRCH), tgkill and sigqueue, and
//! the kernel's SIGCHLD when the child exits.

use serde_json::Value;
use tracer_tests::*;

/// What tracer-sigs said: the sender's, target's and missing PIDs, SIGRTMIN.
struct Sigs {
    sender: u32,
    target: u32,
    missing: i64,
    rtmin: i64,
}

fn value(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{key}: {lines:?}"))
        .to_owned()
}

/// Runs tracer-sigs under `tracer ARGS` (`{sender}` in ARGS is replaced by
/// the sender's PID); stdout, stderr and what the workload said.
fn traced(args: &[&str]) -> (Vec<u8>, String, Sigs) {
    let mut workload = Waiting::start("tracer-sigs", &[]);
    let sender = workload.pid();
    let target: u32 = workload.line().strip_prefix("target ").expect("target line").parse().unwrap();
    let missing: i64 = workload.line().strip_prefix("missing ").expect("missing line").parse().unwrap();
    let args: Vec<String> = args.iter().map(|arg| arg.replace("{sender}", &sender.to_string())).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (stdout, stderr, lines) = trace_during(&args, || {
        workload.go();
        workload.finish()
    });
    assert_eq!(lines.last().map(String::as_str), Some("done"), "{lines:?}");
    let rtmin = value(&lines, "rtmin").parse().unwrap();
    (stdout, stderr, Sigs { sender, target, missing, rtmin })
}

/// The test thread: the sender's parent, which the kernel signals at its exit.
fn this_thread() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

fn signals(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "signal").collect()
}

/// (source, sig, tpid, result) of each record.
fn summary(records: &[Value]) -> Vec<(String, i64, i64, i64)> {
    records
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_owned(),
                r["sig"].as_i64().unwrap(),
                r["tpid"].as_i64().unwrap(),
                r["result"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn g(sig: i64, tpid: u32, result: i64) -> (String, i64, i64, i64) {
    ("signal_generate".into(), sig, i64::from(tpid), result)
}

#[test]
fn every_signal_sent_with_sender_target_and_result_on_each_hook() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let (stdout, stderr, sigs) = traced(&["sigsnoop", "--json", "-p", "{sender}", "--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = signals(&stdout);
        // SIGUSR1 delivered, SIGUSR2 ignored by the target, tgkill's and
        // sigqueue's real-time signals; the kill of a missing PID generates
        // none. Last, the sender's own exit: SIGCHLD to this test's thread, which
        // leaves it at its default (ignored).
        assert_eq!(
            summary(&records),
            [
                g(10, sigs.target, 0),
                g(12, sigs.target, 1),
                g(sigs.rtmin + 1, sigs.target, 0),
                g(sigs.rtmin + 2, sigs.target, 0),
                g(17, this_thread(), 1)
            ],
            "{hook}: {records:?}"
        );
        for record in &records[..4] {
            assert_eq!(
                (&record["pid"], &record["comm"], &record["tcomm"]),
                (&sigs.sender.into(), &"sigs-sender".into(), &"sigs-target".into()),
                "{record}"
            );
        }
        assert_eq!((&records[0]["signal"], &records[1]["result_name"]), (&"SIGUSR1".into(), &"ignored".into()));
    }
    assert_no_programs_left("sigsnoop_");
}

#[test]
fn failed_and_signal_filters() {
    // The ignored SIGUSR2, and the SIGCHLD of the sender's exit, which this
    // test ignores.
    let (stdout, _, sigs) = traced(&["sigsnoop", "--json", "-x", "-p", "{sender}"]);
    assert_eq!(summary(&signals(&stdout)), [g(12, sigs.target, 1), g(17, this_thread(), 1)]);
    let (stdout, _, sigs) = traced(&["sigsnoop", "--json", "-s", "USR1", "-p", "{sender}"]);
    assert_eq!(summary(&signals(&stdout)), [g(10, sigs.target, 0)]);
    let (stdout, _, sigs) = traced(&["sigsnoop", "--json", "-s", "SIGUSR2,1", "-p", "{sender}"]);
    assert_eq!(summary(&signals(&stdout)), [g(12, sigs.target, 1)]);
}

#[test]
fn kernel_generated_sigchld_and_the_comm_filter() {
    // Only the target's comm: its exit's SIGCHLD to the sender, nothing else.
    let (stdout, _, sigs) = traced(&["sigsnoop", "--json", "--comm", "sigs-target"]);
    let records = signals(&stdout);
    assert!(records.iter().all(|r| r["comm"] == "sigs-target"), "{records:?}");
    let mine: Vec<&Value> = records.iter().filter(|r| r["pid"] == sigs.target).collect();
    assert_eq!(mine.len(), 1, "{records:?}");
    assert_eq!(
        (&mine[0]["sig"], &mine[0]["tpid"], &mine[0]["tcomm"]),
        (&17.into(), &sigs.sender.into(), &"sigs-sender".into())
    );
}

#[test]
fn kill_mode_shows_the_kill_syscalls_and_their_returns() {
    let (stdout, stderr, sigs) = traced(&["sigsnoop", "-k", "--json", "-p", "{sender}"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    let records = signals(&stdout);
    let sys = |source: &str, sig: i64, tpid: i64, ret: i64| (source.to_owned(), sig, tpid, ret);
    let target = i64::from(sigs.target);
    // kill, kill, kill of the missing PID, tgkill (as libbpf-tools' -k); not sigqueue.
    assert_eq!(
        summary(&records),
        [
            sys("kill", 10, target, 0),
            sys("kill", 12, target, 0),
            sys("kill", 10, sigs.missing, -3),
            sys("tgkill", sigs.rtmin + 1, target, 0)
        ],
        "{records:?}"
    );
    let tcomms: Vec<&Value> = records.iter().map(|r| &r["tcomm"]).collect();
    assert_eq!(tcomms, [&"sigs-target".into(), &"sigs-target".into(), &Value::Null, &"sigs-target".into()]);
    let (stdout, _, sigs) = traced(&["sigsnoop", "-k", "-x", "--json", "-p", "{sender}"]);
    assert_eq!(summary(&signals(&stdout)), [sys("kill", 10, sigs.missing, -3)]);
    assert_no_programs_left("sigsnoop_");
}

#[test]
fn killsnoop_shows_only_kill_calls() {
    let (stdout, stderr, sigs) = traced(&["killsnoop", "--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    let records = signals(&stdout);
    assert!(records.iter().all(|r| r["source"] == "kill"), "{records:?}");
    // Neither tgkill, nor sigqueue, nor the kernel's SIGCHLD from the target.
    assert!(!records.iter().any(|r| r["pid"] == sigs.target), "{records:?}");
    let mine: Vec<&Value> = records.iter().filter(|r| r["pid"] == sigs.sender).collect();
    let target = i64::from(sigs.target);
    let k = |sig: i64, tpid: i64, ret: i64| ("kill".to_owned(), sig, tpid, ret);
    let mine: Vec<Value> = mine.into_iter().cloned().collect();
    assert_eq!(summary(&mine), [k(10, target, 0), k(12, target, 0), k(10, sigs.missing, -3)]);
    let (stdout, _, sigs) = traced(&["killsnoop", "--json", "-x", "-p", "{sender}"]);
    assert_eq!(summary(&signals(&stdout)), [k(10, sigs.missing, -3)]);
    let (stdout, _, sigs) = traced(&["killsnoop", "--json", "-p", "{sender}", "-s", "USR2,9"]);
    assert_eq!(summary(&signals(&stdout)), [k(12, i64::from(sigs.target), 0)]);
    assert_no_programs_left("sigsnoop_");
}

#[test]
fn text_columns() {
    let (stdout, _, sigs) = traced(&["sigsnoop", "-n", "-s", "USR1", "-p", "{sender}"]);
    let text = String::from_utf8(stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|row| row.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["TIME", "PID", "COMM", "SIG", "TPID", "TCOMM", "RESULT"]);
    let (sender, target) = (sigs.sender.to_string(), sigs.target.to_string());
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[1][1..], [sender.as_str(), "sigs-sender", "SIGUSR1", target.as_str(), "sigs-target", "0"]);
    assert_eq!(rows[1][0].len(), 8, "HH:MM:SS: {text}");

    let (stdout, _, sigs) = traced(&["killsnoop", "-x", "-p", "{sender}"]);
    let text = String::from_utf8(stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|row| row.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["TIME", "PID", "COMM", "SIG", "TPID", "RESULT"]);
    let (sender, missing) = (sigs.sender.to_string(), sigs.missing.to_string());
    assert_eq!(rows[1..], [vec![rows[1][0], sender.as_str(), "sigs-sender", "10", missing.as_str(), "-3"]], "{text}");
}

#[test]
fn bad_input_is_refused_with_a_remedy() {
    for args in [
        &["sigsnoop", "-p", "2147483646"][..],
        &["sigsnoop", "-s", "65"],
        &["sigsnoop", "-s", "USR3"],
        &["sigsnoop", "--comm", "a-name-too-long-for-comm"],
        &["sigsnoop", "--hook", "kprobe"],
        &["killsnoop", "-T", "0"],
        &["killsnoop", "-p", "pid"],
    ] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_no_programs_left("sigsnoop_");
}
