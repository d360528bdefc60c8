//! `tracer tcpdrop` against packets an iptables DROP rule drops inside a
//! namespace the test makes: SYNs from known source ports to a listener
//! on a known port, never answered.

use serde_json::Value;
use tracer_tests::*;

/// Ports inside the test's own namespaces (nothing else listens there).
const PORT: u16 = 47_311;
const SPORT: u16 = 47_411;

/// A namespace whose INPUT chain drops TCP to PORT (IPv4 and IPv6), with a
/// listener on it that never accepts.
struct DroppingNs {
    ns: NetNs,
    _listener: Waiting,
}

impl DroppingNs {
    fn new(tag: &str, address: &str) -> Self {
        let ns = NetNs::new(tag);
        let mut listen = ns.command(workload_bin("tracer-backlog"));
        listen.args(["listen", address, &PORT.to_string(), "4"]);
        let listener = Waiting::spawn(listen);
        let rule = ["-A", "INPUT", "-p", "tcp", "--dport", &PORT.to_string(), "-j", "DROP"];
        ns.iptables(&rule);
        ns.ip6tables(&rule);
        Self { ns, _listener: listener }
    }

    /// A client connecting once from SPORT, for 1.5 s: its first SYN and
    /// the retransmission a second later are both dropped.
    fn client(&self, address: &str) -> Waiting {
        let mut connect = self.ns.command(workload_bin("tracer-backlog"));
        connect.args(["connect", address, &PORT.to_string(), "1", &SPORT.to_string(), "1500"]);
        Waiting::spawn(connect)
    }
}

fn drops_during(args: &[&str], namespace: &DroppingNs, address: &str) -> (Vec<Value>, String) {
    let mut client = namespace.client(address);
    let (stdout, stderr, lines) = trace_during(args, || {
        client.go();
        client.finish()
    });
    assert_eq!(lines, ["connected 0"], "the rule must drop the handshake");
    let ours = json_lines(&stdout)
        .into_iter()
        .filter(|r| r["type"] == "drop" && r["sport"] == SPORT && r["dport"] == PORT)
        .collect();
    (ours, stderr)
}

fn check_netfilter_drops(records: &[Value], address: &str, family: u8) {
    assert!(!records.is_empty(), "no drop of our SYNs reported");
    for record in records {
        assert_eq!(record["reason"], "NETFILTER_DROP", "{record}");
        assert!(record["reason_code"].as_u64().unwrap() > 2, "{record}");
        assert_eq!((record["saddr"].as_str(), record["daddr"].as_str()), (Some(address), Some(address)), "{record}");
        assert_eq!(record["family"], family, "{record}");
        assert_eq!(record["tcpflags"], "SYN", "{record}");
        // Dropped at INPUT, before TCP looked the socket up.
        assert_eq!(record["state"], Value::Null, "{record}");
        let stack: Vec<&str> = record["stack"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(stack.contains(&"nf_hook_slow"), "the kernel stack shows netfilter: {stack:?}");
    }
}

#[test]
fn iptables_drops_show_the_netfilter_reason_ports_and_stack() {
    let namespace = DroppingNs::new("tcpdrop4", "127.0.0.1");
    let (records, stderr) = drops_during(&["tcpdrop", "--json"], &namespace, "127.0.0.1");
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    assert!(stderr.contains("program tcpdrop_rxsk"), "6.18's kfree_skb passes rx_sk: {stderr}");
    check_netfilter_drops(&records, "127.0.0.1", 4);
}

#[test]
fn ipv6_drops_and_the_family_filters() {
    let namespace = DroppingNs::new("tcpdrop6", "::1");
    let (records, _) = drops_during(&["tcpdrop", "--json", "-6"], &namespace, "::1");
    check_netfilter_drops(&records, "::1", 6);
    let (records, _) = drops_during(&["tcpdrop", "--json", "-4"], &namespace, "::1");
    assert!(records.is_empty(), "-4 hides IPv6 drops: {records:?}");
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    let namespace = DroppingNs::new("tcpdroptp", "127.0.0.1");
    for hook in ["raw_tp", "tracepoint"] {
        let (records, stderr) = drops_during(&["tcpdrop", "--json", "--hook", hook], &namespace, "127.0.0.1");
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        check_netfilter_drops(&records, "127.0.0.1", 4);
    }
    assert_no_programs_left("tcpdrop_");
}

#[test]
fn text_columns_and_stack_lines() {
    let namespace = DroppingNs::new("tcpdroptext", "127.0.0.1");
    let mut client = namespace.client("127.0.0.1");
    let (stdout, _, _) = trace_during(&["tcpdrop"], || {
        client.go();
        client.finish()
    });
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["TIME", "PID", "IP", "SADDR:SPORT", ">", "DADDR:DPORT", "STATE", "(FLAGS)", "REASON", "(CODE)"]
    );
    let source = format!("127.0.0.1:{SPORT}");
    let at =
        text.lines().position(|l| l.split_whitespace().nth(3) == Some(&source)).unwrap_or_else(|| panic!("{text}"));
    let line: Vec<&str> = text.lines().nth(at).unwrap().split_whitespace().collect();
    assert_eq!(&line[2..8], ["4", &source, ">", &format!("127.0.0.1:{PORT}"), "NONE", "(SYN)"], "{text}");
    assert_eq!(line[8], "NETFILTER_DROP", "{text}");
    let frames: Vec<&str> = text.lines().skip(at + 1).take_while(|l| l.starts_with('\t')).map(str::trim).collect();
    assert!(frames.contains(&"nf_hook_slow"), "{text}");
}

#[test]
fn bad_command_lines_are_one_line_errors() {
    for args in [["tcpdrop", "-4", "-6"].as_slice(), &["tcpdrop", "--hook", "kprobe"], &["tcpdrop", "-p", "1"]] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    }
}
