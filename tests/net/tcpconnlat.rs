//! `tracer tcpconnlat` against connects with a known delay on the path
//! (tracer-netdelay holding each packet to the server's port for 30 ms, as
//! this kernel has no netem), inside a network namespace the test makes.

use std::process::Stdio;

use serde_json::Value;
use tracer_tests::*;

const CONNECTS: usize = 20;
const DELAY_MS: u32 = 30;

/// Runs a server and a client making `CONNECTS` connects inside `ns`;
/// returns the client's pid.
fn connects(ns: &NetNs, family: &str, address: &str, port: u16) -> u32 {
    let mut command = ns.command(workload_bin("tracer-connects"));
    command.args(["server", family, &port.to_string(), &CONNECTS.to_string()]);
    let server = Waiting::spawn(command);
    let child = ns
        .command(workload_bin("tracer-connects"))
        .args(["client", address, &port.to_string(), &CONNECTS.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn client");
    let pid = child.id();
    assert!(child.wait_with_output().unwrap().status.success());
    let lines = server.finish();
    assert!(lines.iter().any(|line| *line == format!("accepted {CONNECTS}")), "{lines:?}");
    pid
}

/// A port for this test alone (the server binds it inside the namespace,
/// where nothing else listens).
fn port(offset: u16) -> u16 {
    20_000 + (std::process::id() % 20_000) as u16 + offset
}

fn latencies(stdout: &[u8], port: u16) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "connect" && r["dport"] == port).collect()
}

fn delayed(family: &str, address: &str, version: u64, offset: u16, extra: &[&str]) {
    let ns = NetNs::new(&format!("tcpconnlat-{family}"));
    let port = port(offset);
    let _delayer = ns.delay_to_port(port, DELAY_MS);
    let mut args = vec!["tcpconnlat", "--json"];
    args.extend_from_slice(extra);
    let (stdout, stderr, pid) = trace_during(&args, || connects(&ns, family, address, port));
    assert!(stderr.contains("attached via"), "{stderr}");
    let records = latencies(&stdout, port);
    assert_eq!(records.len(), CONNECTS, "{records:?}");
    for record in &records {
        let ms = record["latency_ms"].as_f64().unwrap();
        assert!((30.0..=45.0).contains(&ms), "a connect through {DELAY_MS} ms of delay took {ms} ms: {record}");
        assert_eq!(record["pid"], pid, "{record}");
        assert_eq!(record["comm"], "conn-client", "{record}");
        assert_eq!(record["family"], version);
        assert_eq!((record["saddr"].as_str(), record["daddr"].as_str()), (Some(address), Some(address)));
    }
}

#[test]
fn ipv4_connects_take_the_delay() {
    delayed("v4", "127.0.0.1", 4, 0, &[]);
}

#[test]
fn ipv6_connects_take_the_delay() {
    delayed("v6", "::1", 6, 1, &[]);
}

#[test]
fn every_tracepoint_kind_measures_the_delay() {
    for (offset, kind) in [(2, "tp_btf"), (3, "raw_tp"), (4, "tracepoint")] {
        delayed("v4", "127.0.0.1", 4, offset, &["--hook", kind]);
    }
}

#[test]
fn min_latency_and_pid_filters() {
    let ns = NetNs::new("tcpconnlat-min");
    let (slow, fast) = (port(5), port(6));
    let _delayer = ns.delay_to_port(slow, DELAY_MS);
    // -m 20: the delayed connects only; on plain loopback a connect takes
    // microseconds.
    let (stdout, _, _) = trace_during(&["tcpconnlat", "--json", "-m", "20"], || {
        connects(&ns, "v4", "127.0.0.1", slow);
        connects(&ns, "v4", "127.0.0.1", fast);
    });
    assert_eq!(latencies(&stdout, slow).len(), CONNECTS);
    assert!(latencies(&stdout, fast).is_empty(), "-m 20 showed fast connects");
    // The positional form, as libbpf-tools.
    let (stdout, _, _) = trace_during(&["tcpconnlat", "--json", "20"], || connects(&ns, "v4", "127.0.0.1", fast));
    assert!(latencies(&stdout, fast).is_empty(), "20 showed fast connects");
    // -p: the tracer's parent (this test) connects nowhere.
    let me = std::process::id().to_string();
    let (stdout, _, _) = trace_during(&["tcpconnlat", "--json", "-p", &me], || connects(&ns, "v4", "127.0.0.1", fast));
    assert!(latencies(&stdout, fast).is_empty(), "-p showed another process");
}

#[test]
fn text_columns() {
    let ns = NetNs::new("tcpconnlat-text");
    let port = port(7);
    let (stdout, _, pid) = trace_during(&["tcpconnlat", "-t", "-L"], || connects(&ns, "v4", "127.0.0.1", port));
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME(s)", "PID", "COMM", "IP", "SADDR", "LPORT", "DADDR", "DPORT", "LAT(ms)"]);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.get(7) == Some(&port.to_string().as_str()))
        .collect();
    assert_eq!(rows.len(), CONNECTS, "{text}");
    for cells in rows {
        assert_eq!(&cells[1..6], [pid.to_string().as_str(), "conn-client", "4", "127.0.0.1", cells[5]]);
        assert_eq!(cells[6], "127.0.0.1");
        assert!(cells[8].parse::<f64>().unwrap() < 30.0, "plain loopback took {} ms", cells[8]);
    }
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    for args in [&["tcpconnlat", "-m", "-1"][..], &["tcpconnlat", "fast"][..], &["tcpconnlat", "1", "2"][..]] {
        let output = run_tracer(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr).trim().lines().count(), 1, "{args:?}");
    }
}
