//! `tracer tcprtt` against one known TCP connection inside a network
//! namespace the test makes, on a 127/8 address unique to the test run
//! (both ends bind it, so `-a` keeps only this connection's sockets): with
//! 20 ms of delay on the path (tracer-netdelay, NFQUEUE: this kernel has no
//! netem) and on plain loopback, where the count of samples is checked
//! against the namespace's own count of segments sent (Tcp OutSegs).

use serde_json::Value;
use tracer_tests::*;

/// A loopback address of this test process's own (127.x.y.z).
fn test_address(salt: u32) -> String {
    let id = std::process::id() ^ (salt << 20);
    format!("127.{}.{}.{}", 100 + (id >> 16) % 100, (id >> 8) & 0xff, 1 + (id & 0xff) % 250)
}

/// The connection's workload in `ns`, listening and waiting for `go`.
fn flow(ns: &NetNs, address: &str, send: usize, recv: usize) -> (Waiting, u16) {
    let mut command = ns.command(workload_bin("tracer-tcpflow"));
    command.args([address, &send.to_string(), &recv.to_string()]);
    let mut flow = Waiting::spawn(command);
    let port = flow.line().strip_prefix("port ").expect("port line").parse().expect("a port");
    (flow, port)
}

/// Runs the flow to its end; returns the client's port.
fn run_flow(mut flow: Waiting) -> u16 {
    flow.go();
    let lines = flow.finish();
    assert_eq!(lines.last().map(String::as_str), Some("done"), "{lines:?}");
    lines.iter().find_map(|l| l.strip_prefix("client_port ")).expect("client port").parse().unwrap()
}

fn histograms(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "histogram").collect()
}

/// Samples over every interval's histogram.
fn total_count(records: &[Value]) -> u64 {
    records.iter().map(|r| r["count"].as_u64().unwrap()).sum()
}

/// Stops a started tracer with Ctrl-C and returns its histograms.
fn stop(started: Started) -> (Vec<Value>, String) {
    signal(&started.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    (histograms(&stdout), stderr)
}

#[test]
fn with_20ms_of_delay_the_median_is_20_to_25ms() {
    let ns = NetNs::new("rtt-delay");
    let address = test_address(1);
    let (flow, port) = flow(&ns, &address, 1 << 20, 100_000);
    let _delayer = ns.delay_to_port(port, 20);
    // -P: the client's socket, whose every segment to the server waits 20 ms.
    let tracer = start_tracer(&["tcprtt", "--json", "-m", "-a", &address, "-P", &port.to_string()]);
    run_flow(flow);
    let (records, _) = stop(tracer);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert!(record["count"].as_u64().unwrap() > 10, "{record}");
    let p50 = record["p50_ns"].as_u64().unwrap();
    assert!((20_000_000..=25_000_000).contains(&p50), "p50 {p50} ns: {record}");
    assert_eq!(record["unit"], "msecs");
}

#[test]
fn on_loopback_every_sample_is_below_1ms_and_each_received_segment_counts_on_every_hook() {
    let ns = NetNs::new("rtt-lo");
    let address = test_address(2);
    // Every ACK at once (the route's quickack): an RTT is then the kernel's
    // own turnaround, not how soon a process on this busy host got to run
    // and answer with a piggybacked ACK.
    ns.run("ip", &["route", "add", "local", &format!("{address}/32"), "dev", "lo", "table", "local", "quickack", "1"]);
    // Request and response, one segment in flight each way: no segments
    // are merged in a socket's backlog, so each one sent is one sample.
    let mut command = ns.command(workload_bin("tracer-tcpflow"));
    command.args([address.as_str(), "pingpong", "300", "1000"]);
    let mut flow = Waiting::spawn(command);
    let _port = flow.line();
    // Every hook kind this host has, side by side on the same connection.
    let tracers: Vec<(&str, Started)> = ["tp_btf", "raw_tp", "tracepoint"]
        .into_iter()
        .map(|hook| (hook, start_tracer(&["tcprtt", "--json", "-a", &address, "--hook", hook])))
        .collect();
    let before = ns.snmp("Tcp", "OutSegs");
    run_flow(flow);
    let sent = ns.snmp("Tcp", "OutSegs") - before;
    assert!(sent > 100, "only {sent} segments");
    // Every tracer is stopped before anything is asserted.
    let stopped: Vec<(&str, (Vec<Value>, String))> = tracers.into_iter().map(|(hook, t)| (hook, stop(t))).collect();
    for (hook, (records, stderr)) in stopped {
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let count = total_count(&records);
        // Each segment sent is received by the other end; those that reach
        // a socket that is not established (handshake, the close) are not
        // samples, a handful of the whole.
        let gap = (count as f64 - sent as f64).abs() / sent as f64;
        assert!(gap <= 0.10, "{hook}: {count} samples for {sent} segments sent");
        for record in &records {
            let max = record["max_ns"].as_u64().unwrap();
            assert!(max < 1_000_000, "{hook}: a sample of {max} ns on loopback: {record}");
        }
    }
}

#[test]
fn port_filters_split_the_connection_and_address_histograms_name_the_address() {
    let ns = NetNs::new("rtt-split");
    let address = test_address(3);
    let (flow, port) = flow(&ns, &address, 2 << 20, 1 << 20);
    let port_text = port.to_string();
    let all = start_tracer(&["tcprtt", "--json", "-a", &address]);
    // The server's socket has local port PORT, the client's remote port PORT.
    let local = start_tracer(&["tcprtt", "--json", "-a", &address, "-p", &port_text]);
    let remote = start_tracer(&["tcprtt", "--json", "-A", &address, "-P", &port_text]);
    let by_local = start_tracer(&["tcprtt", "--json", "-a", &address, "-b"]);
    let text = start_tracer(&["tcprtt", "-B", "-e", "-a", &address]);
    run_flow(flow);
    let (all, _) = stop(all);
    let (local, _) = stop(local);
    let (remote, _) = stop(remote);
    let (total, server, client) = (total_count(&all), total_count(&local), total_count(&remote));
    assert!(server > 0 && client > 0, "server {server}, client {client}");
    assert_eq!(server + client, total, "the two ends' samples are all the samples");

    let (by_local, _) = stop(by_local);
    assert_eq!(by_local.len(), 1, "{by_local:?}");
    assert_eq!(by_local[0]["laddr"], address.as_str());
    assert_eq!(by_local[0]["count"].as_u64().unwrap(), total);

    signal(&text.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = text.finish();
    assert!(status.success(), "{stderr}");
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(stdout.starts_with("Tracing TCP RTT... Hit Ctrl-C to end.\n"), "{stdout}");
    let heading = stdout.lines().find(|l| l.starts_with("Remote Address = ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(heading.starts_with(&format!("Remote Address = {address} [AVG ")), "{heading}");
    assert!(stdout.contains("     usecs               : count    distribution"), "{stdout}");
    assert!(stdout.contains(&format!("({total} samples, mean ")), "{stdout}");
}

#[test]
fn ipv6_connections_are_sampled() {
    let ns = NetNs::new("rtt-v6");
    let (flow, port) = flow(&ns, "::1", 1 << 20, 1 << 16);
    let tracer = start_tracer(&["tcprtt", "--json", "-6", "-B", "-P", &port.to_string()]);
    run_flow(flow);
    let (records, _) = stop(tracer);
    let ours: Vec<&Value> = records.iter().filter(|r| r["raddr"] == "::1").collect();
    assert!(!ours.is_empty() && ours[0]["count"].as_u64().unwrap() > 0, "{records:?}");
    assert!(records.iter().all(|r| r["raddr"].as_str().unwrap().contains(':')), "-6 let IPv4 in: {records:?}");
}

#[test]
fn bad_filters_are_one_line_errors() {
    for args in [
        ["tcprtt", "-a", "10.0.0.1", "-A", "::1"].as_slice(),
        &["tcprtt", "-A", "::1", "-4"],
        &["tcprtt", "-p", "0"],
        &["tcprtt", "-a", "not-an-address"],
        &["tcprtt", "-b", "-B"],
        &["tcprtt", "-i", "1", "2"],
    ] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    }
}
