//! `tracer tcpsynbl` against a listener with backlog 4 that never accepts,
//! hit by 10 connects from known source ports inside a namespace the test
//! makes: the kernel completes 5 handshakes (the queue takes up to its
//! limit), at backlog lengths 0, 1, 2, 3 and 4.

use serde_json::Value;
use tracer_tests::*;

const PORT: u16 = 47_511;
const SPORT: u16 = 47_611;
const BACKLOG: u32 = 4;
const CONNECTS: u32 = 10;

/// Runs tracer with `args` while 10 clients connect to a fresh listener;
/// returns tracer's output and how many connects completed.
fn backlog_during(tag: &str, address: &str, args: &[&str]) -> (Vec<u8>, String, u32) {
    let ns = NetNs::new(tag);
    let mut listen = ns.command(workload_bin("tracer-backlog"));
    listen.args(["listen", address, &PORT.to_string(), &BACKLOG.to_string()]);
    let _listener = Waiting::spawn(listen);
    let mut connect = ns.command(workload_bin("tracer-backlog"));
    connect.args(["connect", address, &PORT.to_string(), &CONNECTS.to_string(), &SPORT.to_string(), "1000"]);
    let mut client = Waiting::spawn(connect);
    let (stdout, stderr, lines) = trace_during(args, || {
        client.go();
        client.finish()
    });
    let connected = lines.iter().find_map(|l| l.strip_prefix("connected ")).and_then(|n| n.parse().ok()).unwrap();
    (stdout, stderr, connected)
}

fn ours(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "histogram" && r["port"] == PORT).collect()
}

fn check_up_to_the_limit(records: &[Value], connected: u32) {
    // The queue holds limit + 1 (the kernel refuses only above the limit).
    assert_eq!(connected, BACKLOG + 1, "the kernel completed an unexpected number of handshakes");
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["backlog_max"], BACKLOG, "{record}");
    assert_eq!(record["count"], connected, "one sample per completed handshake: {record}");
    assert_eq!(record["max"], BACKLOG, "lengths reach the limit: {record}");
    assert_eq!(record["sum"], 1 + 2 + 3 + 4, "lengths 0, 1, 2, 3, 4: {record}");
    assert_eq!(record["unit"], "backlog", "{record}");
}

#[test]
fn backlog_lengths_reach_the_listeners_limit() {
    let (stdout, stderr, connected) = backlog_during("synbl4", "127.0.0.1", &["tcpsynbl", "--json"]);
    assert!(stderr.contains("attached via tp_btf"), "no kprobes or fentry here: {stderr}");
    check_up_to_the_limit(&ours(&stdout), connected);
}

#[test]
fn ipv6_listeners_and_the_family_filters() {
    let (stdout, _, connected) = backlog_during("synbl6", "::1", &["tcpsynbl", "--json", "-6"]);
    check_up_to_the_limit(&ours(&stdout), connected);
    let (stdout, _, _) = backlog_during("synbl6f", "::1", &["tcpsynbl", "--json", "-4"]);
    assert!(ours(&stdout).is_empty(), "-4 hides IPv6 listeners");
}

#[test]
fn raw_and_classic_tracepoint_paths() {
    for hook in ["raw_tp", "tracepoint"] {
        let (stdout, stderr, connected) =
            backlog_during(&format!("synbl{hook}"), "127.0.0.1", &["tcpsynbl", "--json", "--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        check_up_to_the_limit(&ours(&stdout), connected);
    }
    assert_no_programs_left("tcpsynbl_");
}

#[test]
fn text_histogram_per_listener() {
    let (stdout, _, _) = backlog_during("synbltext", "127.0.0.1", &["tcpsynbl"]);
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.starts_with("Tracing SYN backlog size. Ctrl-C to end.\n"), "{text}");
    let at = text.find(&format!("port = {PORT}, backlog_max = {BACKLOG}\n")).unwrap_or_else(|| panic!("{text}"));
    let block: Vec<&str> = text[at..].lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(block[0].split_whitespace().collect::<Vec<_>>(), ["backlog", ":", "count", "distribution"]);
    let rows: Vec<(String, u64)> = block[1..]
        .iter()
        .filter(|l| l.contains('|'))
        .map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (format!("{} {} {}", fields[0], fields[1], fields[2]), fields[4].parse().unwrap())
        })
        .collect();
    assert_eq!(rows, [("0 -> 1".into(), 2), ("2 -> 3".into(), 2), ("4 -> 7".into(), 1)], "{text}");
}

#[test]
fn bad_command_lines_are_one_line_errors() {
    for args in [["tcpsynbl", "-4", "-6"].as_slice(), &["tcpsynbl", "--hook", "perf_event"], &["tcpsynbl", "0"]] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    }
}
