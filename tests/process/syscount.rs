//! `tracer syscount` against a workload that makes an exact number of
//! known syscalls: 10,000 getppid and 500 close(-1) (EBADF).

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

const GETPPID: u64 = 10_000;
const BAD_CLOSE: u64 = 500;

/// Runs `tracer syscount ARGS` (with `-p` the workload) around one run of
/// the workload, ended by Ctrl-C; returns (stdout, stderr, workload pid).
fn count_during(args: &[&str]) -> (Vec<u8>, String, u32) {
    let mut workload = Waiting::start("tracer-syscalls", &[&GETPPID.to_string(), &BAD_CLOSE.to_string()]);
    let pid = workload.pid().to_string();
    let mut full = vec!["syscount", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    workload.go();
    assert_eq!(workload.line(), "done");
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    (stdout, stderr, pid.parse().unwrap())
}

fn row<'a>(records: &'a [Value], syscall: &str) -> &'a Value {
    records.iter().find(|r| r["syscall"] == syscall).unwrap_or_else(|| panic!("no {syscall} row in {records:#?}"))
}

#[test]
fn every_getppid_of_a_process_is_counted_exactly() {
    let (stdout, stderr, _) = count_during(&["--json"]);
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    let records = json_lines(&stdout);
    let getppid = row(&records, "getppid");
    assert_eq!(getppid["count"], GETPPID, "{getppid}");
    assert_eq!(getppid["type"], "syscall");
    assert_eq!(getppid["interval"], 1);
    assert!(getppid.get("total_ns").is_none(), "no latency without -L: {getppid}");
    assert_eq!(row(&records, "close")["count"], BAD_CLOSE);
}

#[test]
fn each_hook_kind_counts_the_same() {
    for hook in ["raw_tp", "tracepoint"] {
        let (stdout, stderr, _) = count_during(&["--json", "--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = json_lines(&stdout);
        assert_eq!(row(&records, "getppid")["count"], GETPPID, "{hook}");
        assert_eq!(row(&records, "close")["count"], BAD_CLOSE, "{hook}");
    }
}

#[test]
fn errno_filter_keeps_only_the_failing_closes() {
    for filter in [["-e", "EBADF"].as_slice(), &["-e", "9"], &["-x"]] {
        let (stdout, _, _) = count_during(&[&["--json"], filter].concat());
        let records = json_lines(&stdout);
        let rows: Vec<&Value> = records.iter().filter(|r| r["type"] == "syscall").collect();
        // -x also sees the workload's own failed syscalls, if it has any; -e EBADF only the closes.
        assert_eq!(row(&records, "close")["count"], BAD_CLOSE, "{filter:?}: {records:?}");
        assert!(records.iter().all(|r| r["syscall"] != "getppid"), "{filter:?}: getppid never fails");
        if filter[0] == "-e" {
            assert_eq!(rows.len(), 1, "{filter:?}: {rows:?}");
        }
    }
}

#[test]
fn per_process_latency_names_the_process() {
    let (stdout, _, pid) = count_during(&["-P", "-L", "--json"]);
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 1, "-p with -P: one process: {records:?}");
    let record = &records[0];
    assert_eq!(record["type"], "process");
    assert_eq!(record["pid"], pid);
    assert_eq!(record["comm"], "tracer-syscalls");
    // Everything it did after the tracer attached: at least our calls.
    let count = record["count"].as_u64().unwrap();
    assert!((GETPPID + BAD_CLOSE..GETPPID + BAD_CLOSE + 100).contains(&count), "{record}");
    assert!(record["total_ns"].as_u64().unwrap() > 0, "{record}");
}

#[test]
fn text_table_has_libbpf_tools_columns() {
    let (stdout, _, _) = count_during(&["-L", "-T", "3"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Tracing syscalls, printing top 3... Ctrl+C to quit."));
    let stamp = lines.next().unwrap();
    assert!(stamp.starts_with('[') && stamp.ends_with(']') && stamp.len() == 10, "{text}");
    assert_eq!(lines.next().unwrap(), format!("{:<22} {:>8} {:>16}", "SYSCALL", "COUNT", "TIME (us)"));
    let rows: Vec<&str> = lines.take_while(|line| !line.is_empty()).collect();
    assert!(rows.len() <= 3, "-T 3: {text}");
    let getppid = rows.iter().find(|line| line.starts_with("getppid ")).unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = getppid.split_whitespace().collect();
    assert_eq!(cells[1], GETPPID.to_string(), "{getppid}");
    assert!(cells[2].parse::<f64>().unwrap() > 0.0, "{getppid}");
}

#[test]
fn bad_input_is_one_line_with_a_remedy() {
    for (args, expected) in [
        (["syscount", "-e", "ENOPE"].as_slice(), "unknown errno"),
        (&["syscount", "-T", "0"], "--top"),
        (&["syscount", "-p", "4000000"], "no process with PID 4000000"),
    ] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let list = run_tracer(&["syscount", "-l"]);
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).lines().any(|l| l.ends_with(": getppid")));
}
