//! `tracer tcptop` against one known TCP transfer inside a network
//! namespace the test makes, between two sockets bound to a 127/8 address
//! unique to the test run: its two ends top the list with the bytes each
//! side sent and received, on every hook kind this host offers.

use serde_json::Value;
use tracer_tests::*;

const SEND: u64 = 32 << 20;
const RECV: u64 = 1 << 20;

fn test_address(salt: u32) -> String {
    let id = std::process::id() ^ (salt << 20);
    format!("127.{}.{}.{}", 100 + (id >> 16) % 100, (id >> 8) & 0xff, 1 + (id & 0xff) % 250)
}

fn flow(ns: &NetNs, address: &str) -> Waiting {
    let mut command = ns.command(workload_bin("tracer-tcpflow"));
    command.args([address, &SEND.to_string(), &RECV.to_string()]);
    let mut flow = Waiting::spawn(command);
    let _port = flow.line();
    flow
}

fn run_flow(mut flow: Waiting) {
    flow.go();
    let lines = flow.finish();
    assert_eq!(lines.last().map(String::as_str), Some("done"), "{lines:?}");
}

fn stop(started: Started) -> (Vec<Value>, String) {
    signal(&started.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    (json_lines(&stdout).into_iter().filter(|r| r["type"] == "tcptop").collect(), stderr)
}

fn within_1_percent(got: &Value, want: u64) -> bool {
    (got.as_u64().unwrap() as f64 - want as f64).abs() <= want as f64 * 0.01
}

#[test]
fn the_transfer_tops_the_list_with_its_bytes_on_every_hook() {
    let ns = NetNs::new("top");
    let address = test_address(1);
    let flow = flow(&ns, &address);
    let pid = flow.pid();
    // One long interval, ended by Ctrl-C: the transfer is all in it.
    let tracers: Vec<(&str, Started)> = ["tp_btf", "raw_tp", "tracepoint"]
        .into_iter()
        .map(|hook| (hook, start_tracer(&["tcptop", "--json", "-C", "60", "--hook", hook])))
        .collect();
    run_flow(flow);
    let stopped: Vec<(&str, (Vec<Value>, String))> = tracers.into_iter().map(|(hook, t)| (hook, stop(t))).collect();
    for (hook, (rows, stderr)) in stopped {
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        assert!(rows.len() >= 2, "{hook}: {rows:?}");
        let top: Vec<&Value> = rows.iter().take(2).collect();
        for row in &top {
            assert_eq!(row["pid"], pid, "{hook}: our flow is not on top: {rows:?}");
            assert_eq!((row["laddr"].as_str(), row["raddr"].as_str()), (Some(&*address), Some(&*address)));
        }
        let client = top.iter().find(|r| r["comm"] == "flow-client").expect("client row");
        let server = top.iter().find(|r| r["comm"] == "flow-server").expect("server row");
        assert!(
            within_1_percent(&client["tx_bytes"], SEND) && within_1_percent(&client["rx_bytes"], RECV),
            "{hook}: {client}"
        );
        assert!(
            within_1_percent(&server["rx_bytes"], SEND) && within_1_percent(&server["tx_bytes"], RECV),
            "{hook}: {server}"
        );
        assert_eq!(client["lport"], server["rport"]);
    }
}

#[test]
fn pid_filter_and_text_columns() {
    let ns = NetNs::new("top-text");
    let address = test_address(2);
    let flow = flow(&ns, &address);
    let pid_number = flow.pid();
    let pid = pid_number.to_string();
    let json = start_tracer(&["tcptop", "--json", "-C", "60", "-p", &pid]);
    let text = start_tracer(&["tcptop", "-C", "-S", "60", "-r", "2", "-p", &pid]);
    run_flow(flow);
    let (rows, _) = stop(json);
    assert!(rows.len() == 2 && rows.iter().all(|r| r["pid"] == pid_number), "{rows:?}");
    signal(&text.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = text.finish();
    assert!(status.success(), "{stderr}");
    let stdout = String::from_utf8(stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("Tracing..."), "{stdout}");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"]);
    let client = lines.iter().find(|l| l.contains("flow-client")).unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = client.split_whitespace().collect();
    assert_eq!(cells[0], pid);
    assert!(cells[2].starts_with(&format!("{address}:")), "{client}");
    assert_eq!(
        (cells[4], cells[5]),
        ((RECV / 1024).to_string().as_str(), (SEND / 1024).to_string().as_str()),
        "{client}"
    );
}

#[test]
fn function_hooks_are_refused_here_in_one_line() {
    // This host has no kprobes and refuses fentry.
    for hook in ["fentry", "kprobe"] {
        let output = run_tracer(&["tcptop", "--hook", hook]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{hook}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    }
    let output = run_tracer(&["tcptop", "-r", "0"]);
    assert_eq!(output.status.code(), Some(2));
}
