//! `tracer filetop` against a program that writes 64 one-MiB chunks to a
//! uniquely named file, fsyncs, and reads it back (64 writes, 65 reads with
//! the one at end of file): the totals of its rows must be exact.

use serde_json::Value;
use tracer_tests::*;

const MIB: u64 = 64;

/// The `file` rows of one thread and file name, all intervals together.
fn rows_of<'a>(records: &'a [Value], pid: u32, name: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == "file" && r["pid"] == pid && r["file"] == name).collect()
}

fn sum(rows: &[&Value], field: &str) -> u64 {
    rows.iter().map(|r| r[field].as_u64().unwrap()).sum()
}

#[test]
fn a_programs_reads_and_writes_of_its_file_are_counted_exactly() {
    let io = FsIo::start("filetop", MIB);
    let (pid, name) = (io.pid, io.name());
    let (stdout, stderr, _) = trace_during(&["filetop", "-p", &pid.to_string(), "--json", "1"], || io.go());
    assert!(stderr.contains("attached via tracepoint"), "only the syscall path works on this kernel: {stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    let records = json_lines(&stdout);
    let ours = rows_of(&records, pid, &name);
    assert!(!ours.is_empty(), "no row for {name}: {records:#?}");
    for row in &ours {
        assert_eq!((row["tid"].as_u64(), row["comm"].as_str()), (Some(u64::from(pid)), Some("tracer-fsio")));
        assert_eq!((row["file_type"].as_str(), row["truncated"].as_bool()), (Some("R"), Some(false)));
    }
    assert_eq!(sum(&ours, "writes"), MIB);
    assert_eq!(sum(&ours, "write_bytes"), MIB << 20);
    assert_eq!(sum(&ours, "reads"), MIB + 1);
    assert_eq!(sum(&ours, "read_bytes"), MIB << 20);
    // -p: nobody else's files.
    assert!(records.iter().filter(|r| r["type"] == "file").all(|r| r["pid"] == pid), "{records:#?}");
    assert_no_programs_left("filetop_");
}

#[test]
fn text_rows_have_libbpf_tools_columns_and_kilobytes() {
    let io = FsIo::start("filetop-text", 4);
    let (pid, name) = (io.pid.to_string(), io.name());
    let (stdout, _, _) = trace_during(&["filetop", "-C", "-p", &pid, "1"], || io.go());
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(first.contains(" loadavg: "), "{text}");
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TID", "COMM", "READS", "WRITES", "R_Kb", "W_Kb", "T", "FILE"]);
    assert!(!text.contains('\x1b'), "-C and a pipe: no screen clearing");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 8 && f[7] == name)
        .collect();
    assert!(!rows.is_empty(), "{text}");
    let column = |index: usize| rows.iter().map(|f| f[index].parse::<u64>().unwrap()).sum::<u64>();
    assert_eq!((column(0) / rows.len() as u64, column(2), column(3)), (pid.parse().unwrap(), 5, 4), "{text}");
    assert_eq!((column(4), column(5)), (4096, 4096), "{text}");
}

#[test]
fn special_files_only_with_dash_a() {
    // The workload writes its result line to a pipe (its stdout).
    for (flags, pipes_expected) in [(&["-a"][..], true), (&[][..], false)] {
        let io = FsIo::start("filetop-all", 1);
        let pid = io.pid;
        let mut args = vec!["filetop", "-p"];
        let pid_text = pid.to_string();
        args.push(&pid_text);
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--json", "1"]);
        let (stdout, _, _) = trace_during(&args, || io.go());
        let records = json_lines(&stdout);
        let pipe_writes: u64 = records
            .iter()
            .filter(|r| r["type"] == "file" && r["pid"] == pid && r["file_type"] == "O")
            .map(|r| r["writes"].as_u64().unwrap())
            .sum();
        assert_eq!(pipe_writes >= 1, pipes_expected, "{flags:?}: {records:#?}");
    }
}

#[test]
fn rows_are_capped_and_sorted() {
    let io = FsIo::start("filetop-rows", 2);
    let pid = io.pid.to_string();
    let (stdout, _, _) =
        trace_during(&["filetop", "-a", "-p", &pid, "-r", "1", "-s", "wbytes", "--json", "1"], || io.go());
    let records = json_lines(&stdout);
    let mut per_interval = std::collections::BTreeMap::new();
    for record in records.iter().filter(|r| r["type"] == "file") {
        *per_interval.entry(record["interval"].as_u64().unwrap()).or_insert(0) += 1;
    }
    assert!(per_interval.values().all(|&rows| rows == 1), "-r 1: {records:#?}");
}
