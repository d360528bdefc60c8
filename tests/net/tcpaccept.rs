//! `tracer tcpaccept` against tracer-connects (20 connections accepted by a
//! known server in a network namespace of the test's own) and
//! tracer-sockcalls (one connection accepted through accept(2), not accept4).

use std::collections::BTreeSet;

use serde_json::Value;
use tracer_tests::*;

const CONNECTS: usize = 20;

/// A tracer-connects server listening in `netns`, waiting for CONNECTS clients.
struct Server {
    waiting: Waiting,
    family: &'static str,
    port: u16,
}

impl Server {
    fn start(netns: &NetNs, family: &'static str) -> Self {
        let mut command = netns.command(workload_bin("tracer-connects"));
        command.args(["server", family, "0", &CONNECTS.to_string()]);
        let mut waiting = Waiting::spawn(command);
        let port = waiting.line().strip_prefix("port ").unwrap().parse().unwrap();
        Self { waiting, family, port }
    }

    fn address(&self) -> &'static str {
        if self.family == "v6" { "::1" } else { "127.0.0.1" }
    }

    /// Connects CONNECTS times from a client in `netns`; the client's
    /// source ports, once the server has accepted them all.
    fn serve(self, netns: &NetNs) -> Served {
        let out = netns.run(
            workload_bin("tracer-connects").to_str().unwrap(),
            &["client", self.address(), &self.port.to_string(), &CONNECTS.to_string()],
        );
        let ports: BTreeSet<u64> = out
            .lines()
            .find_map(|line| line.strip_prefix("ports "))
            .unwrap()
            .split(',')
            .map(|port| port.parse().unwrap())
            .collect();
        let pid = self.waiting.pid();
        let address = self.address();
        let lines = self.waiting.finish();
        assert_eq!(lines, [format!("accepted {CONNECTS}")]);
        Served { pid, port: self.port, address, client_ports: ports }
    }
}

struct Served {
    pid: u32,
    port: u16,
    address: &'static str,
    client_ports: BTreeSet<u64>,
}

fn accepts(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "accept").collect()
}

/// Exactly the server's CONNECTS accepts, with its PID and COMM, its port
/// and the client's source ports.
fn check_served(records: &[Value], served: &Served) {
    let mine: Vec<&Value> = records.iter().filter(|r| r["pid"] == served.pid).collect();
    assert_eq!(mine.len(), CONNECTS, "{mine:?}");
    let family = if served.address.contains(':') { 6 } else { 4 };
    for record in &mine {
        assert_eq!(record["comm"], "conn-server", "{record}");
        assert_eq!(record["lport"], served.port, "{record}");
        assert_eq!((record["laddr"].as_str(), record["raddr"].as_str()), (Some(served.address), Some(served.address)));
        assert_eq!(record["family"], family, "{record}");
        assert_eq!(record["tool"], "tcpaccept");
    }
    let ports: BTreeSet<u64> = mine.iter().map(|r| r["rport"].as_u64().unwrap()).collect();
    assert_eq!(ports, served.client_ports);
}

#[test]
fn ipv4_accepts_are_the_servers() {
    let netns = NetNs::new("tcpaccept4");
    let server = Server::start(&netns, "v4");
    let (stdout, stderr, served) = trace_during(&["tcpaccept", "--json"], || server.serve(&netns));
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(stderr.contains("sys_exit_accept4"), "--verbose names the hooks: {stderr}");
    check_served(&accepts(&stdout), &served);
}

#[test]
fn ipv6_accepts_are_the_servers() {
    let netns = NetNs::new("tcpaccept6");
    let server = Server::start(&netns, "v6");
    let (stdout, _, served) = trace_during(&["tcpaccept", "--json"], || server.serve(&netns));
    check_served(&accepts(&stdout), &served);
}

#[test]
fn pid_filter_is_exact() {
    let netns = NetNs::new("tcpacceptp");
    let (traced, other) = (Server::start(&netns, "v4"), Server::start(&netns, "v4"));
    let pid = traced.waiting.pid().to_string();
    let (stdout, _, (served, other)) =
        trace_during(&["tcpaccept", "--json", "-p", &pid], || (traced.serve(&netns), other.serve(&netns)));
    let records = accepts(&stdout);
    // Nothing but the traced server: not the other one, not the host's.
    assert_eq!(records.len(), CONNECTS, "{records:?}");
    check_served(&records, &served);
    assert!(records.iter().all(|r| r["pid"] != other.pid));
}

#[test]
fn port_filter_is_exact() {
    let netns = NetNs::new("tcpacceptport");
    let (traced, other) = (Server::start(&netns, "v4"), Server::start(&netns, "v6"));
    let port = traced.port.to_string();
    let (stdout, _, (served, other)) =
        trace_during(&["tcpaccept", "--json", "-P", &port], || (traced.serve(&netns), other.serve(&netns)));
    let records = accepts(&stdout);
    assert!(records.iter().all(|r| r["lport"] == served.port), "{records:?}");
    check_served(&records, &served);
    assert!(records.iter().all(|r| r["pid"] != other.pid));
}

#[test]
fn family_filters_are_exact() {
    for (flag, family) in [("-6", 6), ("-4", 4)] {
        let netns = NetNs::new("tcpacceptfam");
        let (v4, v6) = (Server::start(&netns, "v4"), Server::start(&netns, "v6"));
        let (stdout, _, (v4, v6)) =
            trace_during(&["tcpaccept", "--json", flag], || (v4.serve(&netns), v6.serve(&netns)));
        let records = accepts(&stdout);
        assert!(records.iter().all(|r| r["family"] == family), "{flag}: {records:?}");
        let (kept, hidden) = if family == 6 { (v6, v4) } else { (v4, v6) };
        check_served(&records, &kept);
        assert!(records.iter().all(|r| r["pid"] != hidden.pid), "{flag}");
    }
}

#[test]
fn plain_accept_syscall_and_text_columns() {
    let netns = NetNs::new("tcpaccepttext");
    let mut command = netns.command(workload_bin("tracer-sockcalls"));
    command.args(["v6", "5"]);
    let mut workload = Waiting::spawn(command);
    let pid = workload.pid();
    let (stdout, _, lines) = trace_during(&["tcpaccept", "-T", "-p", &pid.to_string()], || {
        workload.go();
        workload.finish()
    });
    let value = |key: &str| lines.iter().find_map(|l| l.strip_prefix(&format!("{key} "))).unwrap().to_owned();
    let text = String::from_utf8(stdout).unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT"]);
    let rows: Vec<Vec<&str>> = rows.map(|row| row.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 1, "{text}");
    let pid = pid.to_string();
    let (peer, port) = (value("peer"), value("tcp"));
    assert_eq!(rows[0][1..], [pid.as_str(), "sockcalls", "6", "::1", peer.as_str(), "::1", port.as_str()]);
}

#[test]
fn bad_input_is_refused_with_a_remedy() {
    let too_many = (1..=17).map(|port: u16| port.to_string()).collect::<Vec<_>>().join(",");
    let no_such_pid = (i32::MAX - 1).to_string();
    for args in [
        ["tcpaccept", "-P", "http"],
        ["tcpaccept", "-4", "-6"],
        ["tcpaccept", "-P", &too_many],
        ["tcpaccept", "-p", &no_such_pid],
    ] {
        let output = run_tracer(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_no_programs_left("tcpaccept_");
}
