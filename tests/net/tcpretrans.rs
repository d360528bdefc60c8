//! `tracer tcpretrans` against a 2 MB transfer inside a network namespace
//! the test creates, with 15 % of the packets to the server dropped at
//! random by iptables in the namespace's INPUT chain: the retransmits are
//! on the test's flow, and their segments add up to the namespace's own
//! TcpRetransSegs within 10 %.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
};

use serde_json::Value;
use tracer_tests::*;

const BYTES: usize = 2_000_000;

struct Lossy {
    ns: NetNs,
    server: Child,
    port: u16,
}

/// A namespace whose loopback has an Ethernet-sized MTU (so 2 MB is
/// ~1400 segments and GSO packs several in one skb), a tracer-tcp server
/// reading BYTES, and a 15 % random drop of what is sent to it.
fn lossy_namespace(tag: &str) -> Lossy {
    let ns = NetNs::new(tag);
    ns.run("ip", &["link", "set", "lo", "mtu", "1500"]);
    let mut server = ns
        .command(workload_bin("tracer-tcp"))
        .args(["server", "v4", &BYTES.to_string(), "1000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
    let port_text = port.to_string();
    let rule = ["-A", "INPUT", "-p", "tcp", "--dport", &port_text, "-m", "statistic", "--mode", "random"];
    ns.iptables(&[&rule[..], &["--probability", "0.15", "-j", "DROP"]].concat());
    Lossy { ns, server, port }
}

impl Lossy {
    /// The transfer; returns the namespace's TcpRetransSegs during it.
    fn transfer(&mut self) -> u64 {
        let before = self.ns.snmp("Tcp", "RetransSegs");
        let status = self
            .ns
            .command(workload_bin("tracer-tcp"))
            .args(["client", "127.0.0.1", &self.port.to_string(), &BYTES.to_string(), "1000", "0"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.server.wait().unwrap().success());
        // The last FIN's ACK may have been dropped: let its retransmit go out.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        self.ns.snmp("Tcp", "RetransSegs") - before
    }

    fn ours(&self, record: &Value) -> bool {
        record["laddr"] == "127.0.0.1"
            && record["raddr"] == "127.0.0.1"
            && (record["rport"] == self.port || record["lport"] == self.port)
    }
}

fn within_ten_percent(traced: u64, kernel: u64) -> bool {
    (traced as f64 - kernel as f64).abs() <= 0.1 * kernel as f64
}

fn check_events(stdout: &[u8], lossy: &Lossy, kernel: u64) {
    let records: Vec<Value> = json_lines(stdout).into_iter().filter(|r| r["type"] == "retransmit").collect();
    let ours: Vec<&Value> = records.iter().filter(|r| lossy.ours(r)).collect();
    assert!(kernel > 20, "15 % loss on 2 MB retransmits: TcpRetransSegs rose by {kernel}");
    assert!(ours.iter().any(|r| r["rport"] == lossy.port && r["state"] == "ESTABLISHED" && r["t"] == "R"), "{ours:#?}");
    let segments: u64 = ours.iter().map(|r| r["segs"].as_u64().unwrap()).sum();
    assert!(
        within_ten_percent(segments, kernel),
        "tcpretrans saw {segments} segments in {} retransmits, TcpRetransSegs says {kernel}",
        ours.len()
    );
}

#[test]
fn retransmits_of_a_lossy_transfer_match_the_kernels_counter() {
    let mut lossy = lossy_namespace("tcpretrans");
    let (stdout, stderr, kernel) = trace_during(&["tcpretrans", "--json"], || lossy.transfer());
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    check_events(&stdout, &lossy, kernel);
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    for hook in ["raw_tp", "tracepoint"] {
        let mut lossy = lossy_namespace(&format!("tcpretrans-{hook}"));
        let (stdout, stderr, kernel) = trace_during(&["tcpretrans", "--json", "--hook", hook], || lossy.transfer());
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        check_events(&stdout, &lossy, kernel);
    }
    assert_no_programs_left("tcpretrans_");
}

#[test]
fn counts_per_flow_in_the_kernel() {
    let mut lossy = lossy_namespace("tcpretrans-count");
    let (stdout, _, kernel) = trace_during(&["tcpretrans", "-c", "--json"], || lossy.transfer());
    let flows: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "flow" && lossy.ours(r)).collect();
    let to_server = flows.iter().find(|r| r["rport"] == lossy.port).unwrap_or_else(|| panic!("{flows:#?}"));
    assert!(to_server["retransmits"].as_u64().unwrap() > 0);
    let segments: u64 = flows.iter().map(|r| r["retransmits"].as_u64().unwrap()).sum();
    assert!(within_ten_percent(segments, kernel), "-c counted {segments} segments, TcpRetransSegs says {kernel}");

    let mut lossy = lossy_namespace("tcpretrans-text");
    let (stdout, _, _) = trace_during(&["tcpretrans", "-c"], || lossy.transfer());
    let text = String::from_utf8(stdout).unwrap();
    let header = text.lines().find(|l| l.starts_with("LADDR:LPORT")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"]);
    let server = format!("127.0.0.1:{}", lossy.port);
    assert!(text.lines().any(|l| l.split_whitespace().nth(1) == Some(server.as_str())), "{text}");
}

#[test]
fn text_columns() {
    let mut lossy = lossy_namespace("tcpretrans-cols");
    let (stdout, _, _) = trace_during(&["tcpretrans"], || lossy.transfer());
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PID", "IP", "LADDR:LPORT", "T>", "RADDR:RPORT", "STATE"]);
    let server = format!("127.0.0.1:{}", lossy.port);
    let line = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 7 && f[5] == server)
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!((line[2], line[4]), ("4", "R>"));
}

#[test]
fn loss_probes_are_refused_in_one_line_without_fentry_or_kprobes() {
    // This kernel has no kprobes and refuses fentry (the matrix proves -l).
    let output = run_tracer(&["tcpretrans", "-l"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("tcp_send_loss_probe") && stderr.contains("run without -l"), "{stderr}");
    assert_no_programs_left("tcpretrans_");
}
