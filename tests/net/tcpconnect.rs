//! `tracer tcpconnect` against a known number of connects between two named
//! processes inside a network namespace the test makes.

use std::{collections::BTreeSet, process::Stdio};

use serde_json::Value;
use tracer_tests::*;

const CONNECTS: usize = 20;

/// A server accepting `CONNECTS` connections inside `ns`.
struct Server {
    waiting: Waiting,
    port: u16,
}

fn server(ns: &NetNs, family: &str) -> Server {
    let mut command = ns.command(workload_bin("tracer-connects"));
    command.args(["server", family, "0", &CONNECTS.to_string()]);
    let mut waiting = Waiting::spawn(command);
    let port = waiting.line().strip_prefix("port ").expect("port line").parse().expect("port number");
    Server { waiting, port }
}

/// What the client did: its pid and the source ports the kernel gave it.
struct Client {
    pid: u32,
    ports: BTreeSet<u16>,
}

/// Connects `CONNECTS` times to `server` from inside `ns`.
fn client(ns: &NetNs, address: &str, server: Server) -> Client {
    let child = ns
        .command(workload_bin("tracer-connects"))
        .args(["client", address, &server.port.to_string(), &CONNECTS.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn client");
    let pid = child.id();
    let output = child.wait_with_output().expect("client");
    assert!(output.status.success(), "client failed");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let ports = stdout
        .lines()
        .find_map(|line| line.strip_prefix("ports "))
        .expect("ports line")
        .split(',')
        .map(|port| port.parse().unwrap())
        .collect();
    let lines = server.waiting.finish();
    assert!(lines.iter().any(|line| *line == format!("accepted {CONNECTS}")), "{lines:?}");
    Client { pid, ports }
}

fn connects(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "connect").collect()
}

fn to_port(records: &[Value], port: u16) -> Vec<&Value> {
    records.iter().filter(|r| r["dport"] == port).collect()
}

/// Exactly the client's connects, with its pid, comm, addresses and ports.
fn check(records: &[Value], port: u16, client: &Client, address: &str, family: u64) {
    let ours = to_port(records, port);
    assert_eq!(ours.len(), CONNECTS, "connects to port {port}: {ours:?}");
    for record in &ours {
        assert_eq!(record["pid"], client.pid, "{record}");
        assert_eq!(record["comm"], "conn-client", "{record}");
        assert_eq!(record["family"], family, "{record}");
        assert_eq!((record["saddr"].as_str(), record["daddr"].as_str()), (Some(address), Some(address)), "{record}");
        assert_eq!(record["ret"], 0, "{record}");
        assert_eq!(record["uid"], 0, "{record}");
    }
    let lports: BTreeSet<u16> = ours.iter().map(|r| r["lport"].as_u64().unwrap() as u16).collect();
    assert_eq!(lports, client.ports, "source ports");
}

fn twenty_connects(family: &str, address: &str, version: u64, hook: &[&str]) {
    let ns = NetNs::new(&format!("tcpconnect-{family}"));
    let server = server(&ns, family);
    let port = server.port;
    let mut args = vec!["tcpconnect", "--json"];
    args.extend_from_slice(hook);
    let (stdout, stderr, client) = trace_during(&args, || client(&ns, address, server));
    assert!(stderr.contains("attached via"), "{stderr}");
    check(&connects(&stdout), port, &client, address, version);
}

#[test]
fn ipv4_connects_are_each_reported_once_with_the_client() {
    let ns = NetNs::new("tcpconnect-v4");
    let server = server(&ns, "v4");
    let port = server.port;
    let (stdout, stderr, client) = trace_during(&["tcpconnect", "--json"], || client(&ns, "127.0.0.1", server));
    // This host has no kprobes and refuses fentry: the syscall path serves.
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(stderr.contains("sys_exit_connect"), "--verbose names the hooks: {stderr}");
    check(&connects(&stdout), port, &client, "127.0.0.1", 4);
}

#[test]
fn ipv6_connects_are_each_reported_once_with_the_client() {
    twenty_connects("v6", "::1", 6, &[]);
}

#[test]
fn forced_tracepoint_hook() {
    twenty_connects("v4", "127.0.0.1", 4, &["--hook", "tracepoint"]);
}

#[test]
fn port_filter_is_exact() {
    let ns = NetNs::new("tcpconnect-port");
    // Two servers, one client each: -P names one of them.
    let (wanted, other) = (server(&ns, "v4"), server(&ns, "v4"));
    let (wanted_port, other_port) = (wanted.port, other.port);
    let (stdout, _, (first, second)) = trace_during(&["tcpconnect", "--json", "-P", &wanted_port.to_string()], || {
        (client(&ns, "127.0.0.1", wanted), client(&ns, "127.0.0.1", other))
    });
    let records = connects(&stdout);
    check(&records, wanted_port, &first, "127.0.0.1", 4);
    assert!(records.iter().all(|r| r["dport"] == wanted_port), "-P let others through: {records:?}");
    assert!(to_port(&records, other_port).is_empty() && records.iter().all(|r| r["pid"] != second.pid));
}

/// A client that exists before the tracer starts (for -p and -c): a shell
/// that waits for a line, then execs the client (the pid stays).
struct HeldClient {
    shell: std::process::Child,
    /// Kept open: the client prints its ports when done.
    stdout: std::io::BufReader<std::process::ChildStdout>,
    pid: u32,
}

fn held_client(ns: &NetNs, port: u16) -> HeldClient {
    let program = workload_bin("tracer-connects");
    let script = format!("echo ready $$; read go; exec {} client 127.0.0.1 {port} {CONNECTS}", program.display());
    let mut shell =
        ns.command("sh").args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let pid = shell.id();
    let mut stdout = std::io::BufReader::new(shell.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), format!("ready {pid}"));
    HeldClient { shell, stdout, pid }
}

impl HeldClient {
    fn go(mut self, server: Server) {
        std::io::Write::write_all(self.shell.stdin.as_mut().unwrap(), b"go\n").unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        assert!(self.shell.wait().unwrap().success(), "{rest}");
        let lines = server.waiting.finish();
        assert!(lines.iter().any(|line| *line == format!("accepted {CONNECTS}")), "{lines:?}");
    }
}

#[test]
fn pid_filter_is_exact() {
    let ns = NetNs::new("tcpconnect-pid");
    let (wanted, other) = (server(&ns, "v4"), server(&ns, "v4"));
    let (wanted_port, other_port) = (wanted.port, other.port);
    let held = held_client(&ns, wanted_port);
    let pid = held.pid;
    // Another client connects meanwhile; -p hides it.
    let (stdout, _, ()) = trace_during(&["tcpconnect", "--json", "-p", &pid.to_string()], || {
        held.go(wanted);
        client(&ns, "127.0.0.1", other);
    });
    let records = connects(&stdout);
    assert_eq!(records.len(), CONNECTS, "{records:?}");
    assert!(records.iter().all(|r| r["pid"] == pid && r["dport"] == wanted_port && r["comm"] == "conn-client"));
    assert!(to_port(&records, other_port).is_empty());
}

#[test]
fn cgroup_filter_is_exact() {
    let ns = NetNs::new("tcpconnect-cgroup");
    let cgroup = TestCgroup::new("tracer-tcpconnect");
    let (inside, outside) = (server(&ns, "v4"), server(&ns, "v4"));
    let (inside_port, outside_port) = (inside.port, outside.port);
    let held = held_client(&ns, inside_port);
    cgroup.adopt(held.pid);
    let pid = held.pid;
    let (stdout, _, ()) = trace_during(&["tcpconnect", "--json", "-c", cgroup.path()], || {
        held.go(inside);
        client(&ns, "127.0.0.1", outside);
    });
    let records = connects(&stdout);
    assert_eq!(records.len(), CONNECTS, "{records:?}");
    assert!(records.iter().all(|r| r["pid"] == pid && r["dport"] == inside_port));
    assert!(to_port(&records, outside_port).is_empty());
}

#[test]
fn count_mode_counts_in_the_kernel() {
    let ns = NetNs::new("tcpconnect-count");
    let first = server(&ns, "v4");
    let port = first.port;
    let (stdout, _, _) = trace_during(&["tcpconnect", "--count", "--json"], || client(&ns, "127.0.0.1", first));
    let counts: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "count").collect();
    let ours: Vec<&Value> = counts.iter().filter(|r| r["dport"] == port).collect();
    assert_eq!(ours.len(), 1, "{counts:?}");
    assert_eq!(ours[0]["connects"], CONNECTS as u64);
    assert_eq!((ours[0]["saddr"].as_str(), ours[0]["daddr"].as_str()), (Some("127.0.0.1"), Some("127.0.0.1")));

    let second = server(&ns, "v6");
    let port = second.port;
    let (stdout, _, _) = trace_during(&["tcpconnect", "--count"], || client(&ns, "::1", second));
    let text = String::from_utf8(stdout).unwrap();
    let header = text.lines().find(|line| line.starts_with("LADDR")).expect("count header");
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["LADDR", "RADDR", "RPORT", "CONNECTS"]);
    let row = text.lines().find(|line| line.split_whitespace().nth(2) == Some(&port.to_string())).expect("our row");
    assert_eq!(row.split_whitespace().collect::<Vec<_>>(), ["::1", "::1", &port.to_string(), &CONNECTS.to_string()]);
}

#[test]
fn text_columns() {
    let ns = NetNs::new("tcpconnect-text");
    let listener = server(&ns, "v4");
    let port = listener.port.to_string();
    let (stdout, _, client) = trace_during(&["tcpconnect", "-t", "-U", "-L"], || client(&ns, "127.0.0.1", listener));
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME(s)", "UID", "PID", "COMM", "IP", "SADDR", "LPORT", "DADDR", "DPORT"]);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.last() == Some(&port.as_str()))
        .collect();
    assert_eq!(rows.len(), CONNECTS, "{text}");
    for cells in rows {
        assert_eq!(&cells[1..6], ["0", &client.pid.to_string(), "conn-client", "4", "127.0.0.1"]);
        assert!(client.ports.contains(&cells[6].parse().unwrap()));
    }
}

#[test]
fn uid_and_family_filters() {
    let ns = NetNs::new("tcpconnect-uid");
    // Everything here runs as root: -u 1 shows none of it, -u 0 all of it.
    let server_a = server(&ns, "v4");
    let port = server_a.port;
    let (stdout, _, _) = trace_during(&["tcpconnect", "--json", "-u", "1"], || client(&ns, "127.0.0.1", server_a));
    assert!(to_port(&connects(&stdout), port).is_empty(), "-u 1 showed root's connects");
    let server_b = server(&ns, "v4");
    let port = server_b.port;
    let (stdout, _, _) = trace_during(&["tcpconnect", "--json", "-u", "0"], || client(&ns, "127.0.0.1", server_b));
    assert_eq!(to_port(&connects(&stdout), port).len(), CONNECTS);
    // -6 hides IPv4 and shows IPv6.
    let (v4, v6) = (server(&ns, "v4"), server(&ns, "v6"));
    let (v4_port, v6_port) = (v4.port, v6.port);
    let (stdout, _, _) = trace_during(&["tcpconnect", "--json", "-6"], || {
        client(&ns, "127.0.0.1", v4);
        client(&ns, "::1", v6)
    });
    let records = connects(&stdout);
    assert!(to_port(&records, v4_port).is_empty(), "-6 showed IPv4 connects");
    assert_eq!(to_port(&records, v6_port).len(), CONNECTS);
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    for (args, says) in [
        (&["tcpconnect", "-P", "0"][..], "not a port"),
        (&["tcpconnect", "-p", "999999999"][..], ""),
        (&["tcpconnect", "-c", "/no/such/cgroup"][..], "does not exist"),
        (&["tcpconnect", "-P", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"][..], "at most 16"),
    ] {
        let output = run_tracer(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_refused_connect_is_reported_with_its_error() {
    // Nothing listens on this port inside the namespace: the SYN is answered
    // by a reset, and the socket is disconnected before connect() returns.
    let ns = NetNs::new("tcpconnect-refused");
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let (stdout, _, pid) = trace_during(&["tcpconnect", "--json", "-L"], || {
        let child = ns
            .command("bash")
            .args(["-c", &format!("exec 3<>/dev/tcp/127.0.0.1/{port}")])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!child.wait_with_output().unwrap().status.success(), "a connect to a closed port succeeded");
        pid
    });
    let records = connects(&stdout);
    let ours = to_port(&records, port);
    assert_eq!(ours.len(), 1, "{records:?}");
    assert_eq!((&ours[0]["pid"], &ours[0]["comm"]), (&pid.into(), &"bash".into()), "{}", ours[0]);
    assert_eq!(ours[0]["ret"], -111, "ECONNREFUSED: {}", ours[0]);
    assert_eq!((ours[0]["saddr"].as_str(), ours[0]["daddr"].as_str()), (Some("127.0.0.1"), Some("127.0.0.1")));
    assert_ne!(ours[0]["lport"], 0, "{}", ours[0]);
}
