//! `tracer softirqs` around a TCP transfer over a network namespace's
//! loopback (loopback delivery runs NET_RX): its NET_RX count is above an
//! idle run's; bad input exits 2.

use serde_json::Value;
use tracer_tests::*;

/// NET_RX events in one `softirqs -C --json 2 1` run, with `during` run while it traces.
fn net_rx_count(during: impl FnOnce()) -> u64 {
    let started = start_tracer(&["softirqs", "-C", "--json", "2", "1"]);
    during();
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "histogram").collect();
    assert!(records.iter().all(|r| r["count"].as_u64().unwrap() > 0), "{records:?}");
    records.iter().filter(|r| r["softirq"] == "net_rx").map(|r| r["count"].as_u64().unwrap()).sum()
}

#[test]
fn a_transfer_raises_the_net_rx_count() {
    let ns = NetNs::new("softirqs");
    let idle = net_rx_count(|| {});
    let busy = net_rx_count(|| {
        let mut command = ns.command(workload_bin("tracer-tcpflow"));
        command.args(["127.0.0.1", "50000000", "0"]);
        let mut flow = Waiting::spawn(command);
        assert!(flow.line().starts_with("port "));
        flow.go();
        let lines = flow.finish();
        assert_eq!(lines.last().map(String::as_str), Some("done"), "{lines:?}");
    });
    assert!(busy > idle, "net_rx during the transfer {busy}, idle {idle}");
}

#[test]
fn bad_cpu_exits_2() {
    let output = run_tracer(&["softirqs", "-c", "4096", "1", "1"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CPU 4096 is not online"), "{stderr}");
}
