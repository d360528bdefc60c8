//! `tracer bindsnoop` against tracer-sockcalls in a network namespace of the
//! test's own: a TCP bind to port 0 with SO_REUSEADDR (the kernel picks P),
//! a second TCP bind of P that fails with EADDRINUSE, a UDP bind to port 0.

use serde_json::Value;
use tracer_tests::*;

const EADDRINUSE: i64 = 98;

struct Calls {
    pid: u32,
    tcp: u16,
    udp: u16,
}

/// Runs tracer-sockcalls (`family`: v4 or v6; its listener on `port`, 0:
/// the kernel's choice) under `tracer bindsnoop ARGS -p PID`.
fn traced(tag: &str, family: &str, port: u16, args: &[&str]) -> (Vec<Value>, String, Calls) {
    let netns = NetNs::new(tag);
    let mut command = netns.command(workload_bin("tracer-sockcalls"));
    command.args([family, "7", &port.to_string()]);
    let mut workload = Waiting::spawn(command);
    let pid = workload.pid();
    let pid_text = pid.to_string();
    let mut all = vec!["bindsnoop", "--json", "-p", &pid_text];
    all.extend_from_slice(args);
    let (stdout, stderr, lines) = trace_during(&all, || {
        workload.go();
        workload.finish()
    });
    let value = |key: &str| lines.iter().find_map(|l| l.strip_prefix(&format!("{key} "))).unwrap().to_owned();
    assert_eq!(value("eaddrinuse"), "1", "the second bind must fail with EADDRINUSE: {lines:?}");
    let calls = Calls { pid, tcp: value("tcp").parse().unwrap(), udp: value("udp").parse().unwrap() };
    let records = json_lines(&stdout).into_iter().filter(|r| r["type"] == "bind").collect();
    (records, stderr, calls)
}

/// (ret, protocol, opts, port) of each record, in order.
fn summary(records: &[Value]) -> Vec<(i64, &str, &str, u64)> {
    records
        .iter()
        .map(|r| {
            (
                r["ret"].as_i64().unwrap(),
                r["protocol"].as_str().unwrap(),
                r["opts"].as_str().unwrap(),
                r["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn check_identity(records: &[Value], calls: &Calls, address: &str) {
    for record in records {
        assert_eq!((record["pid"].as_u64(), record["comm"].as_str()), (Some(u64::from(calls.pid)), Some("sockcalls")));
        assert_eq!(record["addr"], address, "{record}");
        assert_eq!(record["bound_dev_if"], 0, "{record}");
    }
}

#[test]
fn ipv4_binds_with_the_failed_one() {
    let (records, stderr, calls) = traced("bindsnoop4", "v4", 0, &["-x"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    let (tcp, udp) = (u64::from(calls.tcp), u64::from(calls.udp));
    assert_eq!(
        summary(&records),
        [(0, "TCP", "...R.", tcp), (-EADDRINUSE, "TCP", ".....", tcp), (0, "UDP", ".....", udp),]
    );
    check_identity(&records, &calls, "127.0.0.1");
}

#[test]
fn ipv6_binds_and_failures_hidden_without_x() {
    let (records, _, calls) = traced("bindsnoop6", "v6", 0, &[]);
    let (tcp, udp) = (u64::from(calls.tcp), u64::from(calls.udp));
    assert_eq!(summary(&records), [(0, "TCP", "...R.", tcp), (0, "UDP", ".....", udp)]);
    check_identity(&records, &calls, "::1");
}

#[test]
fn port_filter_is_exact() {
    // The listener on a fixed port (free: the namespace is the test's own);
    // the UDP socket's kernel-picked port is left out.
    let (records, _, calls) = traced("bindsnoopport", "v4", 4242, &["-x", "-P", "4242"]);
    assert_eq!(calls.tcp, 4242);
    assert_eq!(summary(&records), [(0, "TCP", "...R.", 4242), (-EADDRINUSE, "TCP", ".....", 4242),]);
    let (records, _, _) = traced("bindsnoopport", "v4", 4242, &["-x", "-P", "4243"]);
    assert!(records.is_empty(), "{records:?}");
}

#[test]
fn text_columns() {
    let netns = NetNs::new("bindsnooptext");
    let mut command = netns.command(workload_bin("tracer-sockcalls"));
    command.args(["v4", "7"]);
    let mut workload = Waiting::spawn(command);
    let pid = workload.pid().to_string();
    let (stdout, _, lines) = trace_during(&["bindsnoop", "-x", "-p", &pid], || {
        workload.go();
        workload.finish()
    });
    let tcp = lines.iter().find_map(|l| l.strip_prefix("tcp ")).unwrap().to_owned();
    let text = String::from_utf8(stdout).unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["PID", "COMM", "RET", "PROTO", "OPTS", "IF", "PORT", "ADDR"]);
    let first: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(first, [pid.as_str(), "sockcalls", "0", "TCP", "...R.", "0", tcp.as_str(), "127.0.0.1"]);
    let second: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(second, [pid.as_str(), "sockcalls", "-98", "TCP", ".....", "0", tcp.as_str(), "127.0.0.1"]);
}

#[test]
fn bad_input_is_refused_with_a_remedy() {
    for args in [["bindsnoop", "-P", "0"], ["bindsnoop", "-c", "/no/such/cgroup"], ["bindsnoop", "-p", "2147483646"]] {
        let output = run_tracer(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_no_programs_left("bindsnoop_");
}
