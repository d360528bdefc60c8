//! `tracer tcpstates` against one TCP connection inside a network namespace
//! the test creates: its client socket's state changes in order, with
//! durations adding up to the connection's lifetime as the client measured it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
};

use serde_json::Value;
use tracer_tests::*;

const CLIENT_SENDS: usize = 100_000;
const SERVER_SENDS: usize = 50_000;
const HOLD_MS: usize = 300;

/// A tracer-tcp server listening in the namespace, waiting for one client.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(ns: &NetNs, family: &str) -> Self {
        let mut child = ns
            .command(workload_bin("tracer-tcp"))
            .args(["server", family, &CLIENT_SENDS.to_string(), &SERVER_SENDS.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
        Self { child, port }
    }
}

struct Connection {
    client_pid: u32,
    server_pid: u32,
    port: u16,
    /// connect() to close, as the client measured it.
    lifetime_ms: f64,
}

/// One connection to `server`, from a client in the same namespace.
fn connect(ns: &NetNs, mut server: Server, address: &str) -> Connection {
    let client = ns
        .command(workload_bin("tracer-tcp"))
        .args(["client", address, &server.port.to_string(), &CLIENT_SENDS.to_string()])
        .args([SERVER_SENDS.to_string(), HOLD_MS.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let client_pid = client.id();
    let output = client.wait_with_output().unwrap();
    assert!(output.status.success());
    let lifetime_ms =
        String::from_utf8_lossy(&output.stdout).trim().strip_prefix("duration_ms ").unwrap().parse().unwrap();
    assert!(server.child.wait().unwrap().success());
    Connection { client_pid, server_pid: server.child.id(), port: server.port, lifetime_ms }
}

fn changes(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "state").collect()
}

/// The client socket's changes: from its connect (CLOSE -> SYN_SENT by the
/// client process, to the server's port) to its first CLOSE.
fn client_socket<'a>(records: &'a [Value], c: &Connection) -> Vec<&'a Value> {
    let start = records
        .iter()
        .position(|r| r["newstate"] == "SYN_SENT" && r["rport"] == c.port && r["pid"] == c.client_pid)
        .unwrap_or_else(|| panic!("no SYN_SENT by the client to port {}: {records:#?}", c.port));
    let skaddr = &records[start]["skaddr"];
    let mut socket = Vec::new();
    for record in records[start..].iter().filter(|r| &r["skaddr"] == skaddr) {
        socket.push(record);
        if record["newstate"] == "CLOSE" {
            break;
        }
    }
    socket
}

fn check_client_socket(records: &[Value], c: &Connection, address: &str) {
    let socket = client_socket(records, c);
    let transitions: Vec<(&str, &str)> =
        socket.iter().map(|r| (r["oldstate"].as_str().unwrap(), r["newstate"].as_str().unwrap())).collect();
    assert_eq!(
        transitions[..3],
        [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"), ("ESTABLISHED", "FIN_WAIT1")],
        "{transitions:?}"
    );
    assert_eq!(transitions.last().unwrap().1, "CLOSE", "{transitions:?}");
    assert!(transitions.windows(2).all(|w| w[0].1 == w[1].0), "changes do not chain: {transitions:?}");
    // connect() and shutdown() run in the client's context.
    for index in [0, 2] {
        assert_eq!(
            (socket[index]["pid"].as_u64(), socket[index]["comm"].as_str()),
            (Some(c.client_pid.into()), Some("tcp-client"))
        );
    }
    for record in &socket[1..] {
        assert_eq!((record["laddr"].as_str(), record["raddr"].as_str()), (Some(address), Some(address)), "{record}");
        assert_eq!(record["rport"], c.port);
    }
    // The socket existed (in CLOSE) before connect: that time is not known.
    assert_eq!(socket[0]["ms"], Value::Null);
    let total: f64 = socket[1..].iter().map(|r| r["ms"].as_f64().expect("a known duration")).sum();
    assert!(total >= HOLD_MS as f64, "{total} ms");
    assert!(
        (total - c.lifetime_ms).abs() <= 0.1 * c.lifetime_ms,
        "durations add up to {total:.3} ms, the client measured {:.3} ms: {transitions:?}",
        c.lifetime_ms
    );
}

fn traced_connection(args: &[&str], family: &str) -> (Vec<Value>, String, Connection) {
    let ns = NetNs::new("tcpstates");
    let server = Server::start(&ns, family);
    let address = if family == "v6" { "::1" } else { "127.0.0.1" };
    let (stdout, stderr, connection) = trace_during(args, || connect(&ns, server, address));
    (changes(&stdout), stderr, connection)
}

#[test]
fn one_connection_goes_through_its_states_in_order_with_its_lifetime() {
    let (records, stderr, c) = traced_connection(&["tcpstates", "--json"], "v4");
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    check_client_socket(&records, &c, "127.0.0.1");
    // The server's accepted socket is there too, on the server's port.
    assert!(records.iter().any(|r| r["lport"] == c.port && r["newstate"] == "LAST_ACK" && r["pid"] == c.server_pid));
}

#[test]
fn ipv6_connection() {
    let (records, _, c) = traced_connection(&["tcpstates", "--json", "-6"], "v6");
    check_client_socket(&records, &c, "::1");
    assert!(records.iter().all(|r| r["family"] == 6));
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    for hook in ["raw_tp", "tracepoint"] {
        let (records, stderr, c) = traced_connection(&["tcpstates", "--json", "--hook", hook], "v4");
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        check_client_socket(&records, &c, "127.0.0.1");
    }
    assert_no_programs_left("tcpstates_");
}

#[test]
fn local_and_remote_port_and_family_filters() {
    // The kernel picks the server's port, so the server listens first.
    let ns = NetNs::new("tcpstates-ports");
    let server = Server::start(&ns, "v4");
    let port = server.port.to_string();
    let (stdout, _, c) = trace_during(&["tcpstates", "--json", "-D", &port], || connect(&ns, server, "127.0.0.1"));
    let records = changes(&stdout);
    assert!(records.iter().all(|r| r["rport"] == c.port), "{records:#?}");
    // Every change of the client socket passes -D, the first included.
    assert_eq!(client_socket(&records, &c).first().unwrap()["oldstate"], "CLOSE");

    let server = Server::start(&ns, "v4");
    let port = server.port.to_string();
    let (stdout, _, c) = trace_during(&["tcpstates", "--json", "-L", &port], || connect(&ns, server, "127.0.0.1"));
    let records = changes(&stdout);
    assert!(records.iter().all(|r| r["lport"] == c.port), "{records:#?}");
    assert!(records.iter().any(|r| r["newstate"] == "LAST_ACK" && r["pid"] == c.server_pid), "{records:#?}");

    let server = Server::start(&ns, "v4");
    let (stdout, _, _) = trace_during(&["tcpstates", "--json", "-6"], || connect(&ns, server, "127.0.0.1"));
    assert!(changes(&stdout).iter().all(|r| r["family"] == 6), "-6 hides IPv4 sockets");
}

#[test]
fn text_columns() {
    let (stdout, _, c) = {
        let ns = NetNs::new("tcpstates-text");
        let server = Server::start(&ns, "v4");
        trace_during(&["tcpstates", "-T"], || connect(&ns, server, "127.0.0.1"))
    };
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["TIME", "SKADDR", "C-PID", "C-COMM", "LADDR", "LPORT", "RADDR", "RPORT", "OLDSTATE", "->", "NEWSTATE", "MS"]
    );
    let established = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 12 && f[7] == c.port.to_string() && f[8] == "SYN_SENT" && f[10] == "ESTABLISHED")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(u64::from_str_radix(established[1], 16).is_ok(), "{established:?}");
    assert!(established[11].parse::<f64>().is_ok(), "{established:?}");
}

#[test]
fn too_many_ports_is_a_one_line_error() {
    let output = run_tracer(&["tcpstates", "-L", "1,2,3,4,5,6,7,8,9"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("at most 8 ports"), "{stderr}");
}
