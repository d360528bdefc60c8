//! `tracer tcplife` against loopback sessions with known byte counts, ports,
//! owners and durations.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::Value;
use tracer_tests::*;

const CLIENT_SENDS: usize = 300_000;
const SERVER_SENDS: usize = 120_000;
const HOLD_MS: usize = 300;

struct Session {
    server_pid: u32,
    client_pid: u32,
    server_port: u16,
    client_ms: f64,
}

/// A listening server process, waiting for one client.
struct Server {
    child: std::process::Child,
    family: &'static str,
    port: u16,
}

impl Server {
    fn start(family: &'static str) -> Self {
        let mut child = Command::new(workload_bin("tracer-tcp"))
            .args(["server", family, &CLIENT_SENDS.to_string(), &SERVER_SENDS.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Self { child, family, port }
    }

    /// Runs a client against the server; both exchange known byte counts.
    fn serve_one_client(mut self) -> Session {
        let address = if self.family == "v6" { "::1" } else { "127.0.0.1" };
        let client = Command::new(workload_bin("tracer-tcp"))
            .args(["client", address, &self.port.to_string(), &CLIENT_SENDS.to_string()])
            .args([SERVER_SENDS.to_string(), HOLD_MS.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let client_pid = client.id();
        let output = client.wait_with_output().unwrap();
        assert!(output.status.success());
        let client_ms: f64 =
            String::from_utf8_lossy(&output.stdout).trim().strip_prefix("duration_ms ").unwrap().parse().unwrap();
        assert!(self.child.wait().unwrap().success());
        Session { server_pid: self.child.id(), client_pid, server_port: self.port, client_ms }
    }
}

/// One loopback session with known byte counts.
fn session(family: &'static str) -> Session {
    Server::start(family).serve_one_client()
}

fn sessions(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "tcp").collect()
}

fn within_a_kib(got: &Value, want: usize) -> bool {
    (got.as_u64().unwrap() as i64 - want as i64).abs() <= 1024
}

fn check_both_sides(records: &[Value], s: &Session, address: &str) {
    let client = records
        .iter()
        .find(|r| r["rport"] == s.server_port && r["pid"] == s.client_pid)
        .unwrap_or_else(|| panic!("client side missing: {records:?}"));
    assert_eq!(client["comm"], "tcp-client");
    assert_eq!((client["laddr"].as_str(), client["raddr"].as_str()), (Some(address), Some(address)));
    assert!(
        within_a_kib(&client["tx_bytes"], CLIENT_SENDS) && within_a_kib(&client["rx_bytes"], SERVER_SENDS),
        "{client}"
    );
    let duration = client["duration_ms"].as_f64().unwrap();
    assert!(
        (duration - s.client_ms).abs() < 30.0,
        "tcplife says {duration} ms, the client measured {} ms",
        s.client_ms
    );

    let server = records
        .iter()
        .find(|r| r["lport"] == s.server_port && r["pid"] == s.server_pid)
        .unwrap_or_else(|| panic!("server side (accepted socket) missing or misattributed: {records:?}"));
    assert_eq!(server["comm"], "tcp-server");
    assert_eq!(server["rport"], client["lport"]);
    assert!(
        within_a_kib(&server["tx_bytes"], SERVER_SENDS) && within_a_kib(&server["rx_bytes"], CLIENT_SENDS),
        "{server}"
    );
    assert!(server["duration_ms"].as_f64().unwrap() >= HOLD_MS as f64);
}

#[test]
fn ipv4_sessions_have_both_sides_right() {
    let (stdout, stderr, s) = trace_during(&["tcplife", "--json"], || session("v4"));
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    check_both_sides(&sessions(&stdout), &s, "127.0.0.1");
}

#[test]
fn ipv6_sessions_have_both_sides_right() {
    let (stdout, _, s) = trace_during(&["tcplife", "--json"], || session("v6"));
    check_both_sides(&sessions(&stdout), &s, "::1");
}

#[test]
fn local_and_remote_port_filters() {
    // The kernel picks the server's port, so the server listens first.
    let server = Server::start("v4");
    let port = server.port.to_string();
    let (stdout, _, s) = trace_during(&["tcplife", "--json", "-L", &port], || server.serve_one_client());
    let records = sessions(&stdout);
    assert!(
        !records.is_empty() && records.iter().all(|r| r["lport"] == s.server_port && r["pid"] == s.server_pid),
        "{records:?}"
    );

    let server = Server::start("v4");
    let port = server.port.to_string();
    let (stdout, _, s) = trace_during(&["tcplife", "--json", "-D", &port], || server.serve_one_client());
    let records = sessions(&stdout);
    assert!(
        !records.is_empty() && records.iter().all(|r| r["rport"] == s.server_port && r["pid"] == s.client_pid),
        "{records:?}"
    );

    let (stdout, _, _) = trace_during(&["tcplife", "--json", "-6"], || session("v4"));
    assert!(sessions(&stdout).iter().all(|r| r["family"] == 6), "-6 hides IPv4 sessions");
}

#[test]
fn text_columns() {
    let (stdout, _, s) = trace_during(&["tcplife", "-T"], || session("v4"));
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS"]);
    let client = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(&s.client_pid.to_string()))
        .unwrap_or_else(|| panic!("{text}"));
    let fields: Vec<&str> = client.split_whitespace().collect();
    assert_eq!(fields[2], "tcp-client");
    assert_eq!(fields[6], s.server_port.to_string());
    assert_eq!(fields[7], (CLIENT_SENDS / 1024).to_string());
    assert_eq!(fields[8], (SERVER_SENDS / 1024).to_string());
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    for hook in ["raw_tp", "tracepoint"] {
        let (stdout, stderr, s) = trace_during(&["tcplife", "--hook", hook, "--json"], || session("v4"));
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        check_both_sides(&sessions(&stdout), &s, "127.0.0.1");
    }
    assert_no_programs_left("tcplife_");
}
