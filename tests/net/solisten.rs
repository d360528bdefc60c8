//! `tracer solisten` against tracer-sockcalls in a network namespace of the
//! test's own: a listen with a known backlog on a TCP socket bound to a
//! port the kernel picked, and a refused one (EOPNOTSUPP) on a UDP socket.

use serde_json::Value;
use tracer_tests::*;

/// What tracer-sockcalls printed: the TCP listener's and the UDP socket's
/// ports, and the errno of the UDP socket's listen.
struct Calls {
    pid: u32,
    tcp: u16,
    udp: u16,
    udp_errno: i64,
}

fn value(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{key}: {lines:?}"))
        .to_owned()
}

/// Runs tracer-sockcalls (`family`: v4 or v6, listen backlog `backlog`)
/// under `tracer solisten ARGS`; its records, stderr and calls.
fn traced(tag: &str, family: &str, backlog: u32, args: &[&str]) -> (Vec<Value>, String, Calls) {
    let netns = NetNs::new(tag);
    let mut command = netns.command(workload_bin("tracer-sockcalls"));
    command.args([family, &backlog.to_string()]);
    let mut workload = Waiting::spawn(command);
    let pid = workload.pid();
    let (stdout, stderr, lines) = trace_during(args, || {
        workload.go();
        workload.finish()
    });
    let calls = Calls {
        pid,
        tcp: value(&lines, "tcp").parse().unwrap(),
        udp: value(&lines, "udp").parse().unwrap(),
        udp_errno: value(&lines, "udp_listen").parse().unwrap(),
    };
    let records = json_lines(&stdout).into_iter().filter(|r| r["type"] == "listen").collect();
    (records, stderr, calls)
}

/// Exactly the workload's two listens, in order: TCP (0) and UDP (-errno).
fn check(records: &[Value], calls: &Calls, backlog: u32, version: u8, address: &str) {
    assert_eq!(calls.udp_errno, 95, "a UDP socket's listen fails with EOPNOTSUPP");
    let mine: Vec<&Value> = records.iter().filter(|r| r["pid"] == calls.pid).collect();
    assert_eq!(mine.len(), 2, "two listens: {mine:?}");
    for (record, (ret, protocol, port)) in mine
        .iter()
        .zip([(0, format!("TCPv{version}"), calls.tcp), (-calls.udp_errno, format!("UDPv{version}"), calls.udp)])
    {
        assert_eq!(record["comm"], "sockcalls");
        assert_eq!(record["ret"], ret, "{record}");
        assert_eq!(record["backlog"], backlog, "{record}");
        assert_eq!(record["protocol"], protocol.as_str(), "{record}");
        assert_eq!(record["port"], port, "{record}");
        assert_eq!(record["addr"], address, "{record}");
    }
}

#[test]
fn ipv4_listen_with_its_backlog_and_port() {
    let (records, stderr, calls) = traced("solisten4", "v4", 7, &["solisten", "--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    check(&records, &calls, 7, 4, "127.0.0.1");
}

#[test]
fn ipv6_listen_and_the_pid_filter() {
    // -p names a process that exists but does not listen: nothing.
    let (records, _, _) = traced("solistenp", "v6", 3, &["solisten", "--json", "-p", "1"]);
    assert!(records.is_empty(), "{records:?}");
    let (records, _, calls) = traced("solisten6", "v6", 3, &["solisten", "--json"]);
    check(&records, &calls, 3, 6, "::1");
}

#[test]
fn text_columns() {
    let netns = NetNs::new("solistentext");
    let mut command = netns.command(workload_bin("tracer-sockcalls"));
    command.args(["v4", "11"]);
    let mut workload = Waiting::spawn(command);
    let pid = workload.pid().to_string();
    let (stdout, _, lines) = trace_during(&["solisten", "-p", &pid], || {
        workload.go();
        workload.finish()
    });
    let (tcp, udp) = (value(&lines, "tcp"), value(&lines, "udp"));
    let text = String::from_utf8(stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|row| row.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["PID", "COMM", "RET", "BACKLOG", "PROTO", "PORT", "ADDR"]);
    assert_eq!(
        rows[1..],
        [
            vec![pid.as_str(), "sockcalls", "0", "11", "TCPv4", tcp.as_str(), "127.0.0.1"],
            vec![pid.as_str(), "sockcalls", "-95", "11", "UDPv4", udp.as_str(), "127.0.0.1"]
        ]
    );
    assert_no_programs_left("solisten_");
}

#[test]
fn bad_input_is_refused_with_a_remedy() {
    for args in [&["solisten", "-p", "2147483646"][..], &["solisten", "-p", "pid"]] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_no_programs_left("solisten_");
}
