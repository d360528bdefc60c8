//! `tracer biotop` against direct reads of known sizes on a loop device the
//! test makes: the reader's row must carry its pid and exactly the bytes and
//! I/O count it read, however the intervals cut the run.

use serde_json::Value;
use tracer_tests::*;

/// 100 reads of 4 KiB and 50 of 64 KiB: 150 I/Os, 3600 KiB.
fn plan() -> Vec<(u64, u32)> {
    (0..150u64).map(|i| (i * 128 * 1024, if i % 3 == 2 { 65536 } else { 4096 })).collect()
}

fn total_bytes(plan: &[(u64, u32)]) -> u64 {
    plan.iter().map(|&(_, size)| u64::from(size)).sum()
}

/// Runs `tracer -v ARGS` while the reader reads `plan` (and, if `dd`, dd
/// reads the same disk meanwhile); returns stdout and the reader's pid.
fn trace_reads(disk: &LoopDisk, args: &[&str], plan: &[(u64, u32)], dd: bool) -> (Vec<u8>, String, u32) {
    let mut reader = disk.reader(plan);
    let pid = reader.pid();
    let (stdout, stderr, _) = trace_during(args, || {
        reader.go();
        if dd {
            disk.dd_direct("4k", 40);
        }
        reader.finish()
    });
    (stdout, stderr, pid)
}

/// The reader's rows for the disk, summed over intervals: (io, bytes).
fn totals(records: &[Value], disk: &LoopDisk, pid: u32) -> (u64, u64) {
    let ours: Vec<&Value> = records.iter().filter(|r| r["pid"] == pid && r["disk"] == disk.name()).collect();
    assert!(!ours.is_empty(), "no rows for pid {pid}: {records:#?}");
    for row in &ours {
        assert_eq!(row["comm"], "tracer-blockio", "{row}");
        assert_eq!(row["op"], "R", "{row}");
        assert!(row["avg_ms"].as_f64().unwrap() > 0.0, "{row}");
    }
    let sum = |field: &str| ours.iter().map(|r| r[field].as_u64().unwrap()).sum();
    (sum("io"), sum("bytes"))
}

#[test]
fn the_readers_row_has_its_exact_io_count_and_bytes_on_every_hook() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let plan = plan();
        let (stdout, stderr, pid) = trace_reads(&disk, &["biotop", "--hook", hook, "--json", "1"], &plan, false);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = json_lines(&stdout);
        assert!(records.iter().all(|r| r["type"] == "biotop"), "{records:#?}");
        assert_eq!(totals(&records, &disk, pid), (150, total_bytes(&plan)), "{hook}");
    }
    assert_no_programs_left("biotop_");
}

#[test]
fn pid_filter_keeps_the_submitters_io_and_text_has_libbpf_tools_columns() {
    let disk = LoopDisk::new();
    let plan = plan();
    let mut reader = disk.reader(&plan);
    let pid = reader.pid();
    let pid_text = pid.to_string();
    // One interval longer than the run: the report at Ctrl-C holds it all.
    let (stdout, _, _) = trace_during(&["biotop", "-p", &pid_text, "-C", "60"], || {
        reader.go();
        disk.dd_direct("4k", 40);
        reader.finish()
    });
    let text = String::from_utf8(stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|line| line.starts_with("PID ")).expect("header");
    assert!(lines[header - 1].contains("loadavg:"), "{text}");
    assert_eq!(
        lines[header].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM", "D", "MAJ", "MIN", "DISK", "I/O", "Kbytes", "AVGms"]
    );
    let rows: Vec<Vec<&str>> =
        lines[header + 1..].iter().filter(|l| !l.is_empty()).map(|l| l.split_whitespace().collect()).collect();
    // dd's reads of the same disk are not the reader's: one row only.
    assert_eq!(rows.len(), 1, "{text}");
    let (major, minor) = std::fs::read_to_string(format!("/sys/class/block/{}/dev", disk.name()))
        .unwrap()
        .trim()
        .split_once(':')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let kbytes = (total_bytes(&plan) / 1024).to_string();
    assert_eq!(rows[0][..8], [pid_text.as_str(), "tracer-blockio", "R", &major, &minor, disk.name(), "150", &kbytes]);
}

#[test]
fn rows_and_bad_input() {
    let disk = LoopDisk::new();
    let (stdout, _, pid) = trace_reads(&disk, &["biotop", "-r", "1", "-s", "bytes", "--json", "60"], &plan(), true);
    // The reader read far more bytes than dd: the one row is its.
    let records = json_lines(&stdout);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["pid"], pid);

    for (args, message) in [
        (&["biotop", "-p", "4000000"][..], "no process with PID 4000000"),
        (&["biotop", "-r", "0"], "rows must be"),
        (&["biotop", "-s", "size"], "invalid value 'size'"),
    ] {
        let output = run_tracer(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message) && stderr.lines().count() == 1, "{args:?}: {stderr}");
    }
}
