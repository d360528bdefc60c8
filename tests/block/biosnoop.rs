//! `tracer biosnoop` against a workload of direct reads at known offsets and
//! sizes on a loop device over an ext4 image the test makes: every request
//! on that disk is the workload's, so each must be reported exactly once,
//! with the workload's pid, the sector and size it asked for, and T=RS (a
//! read, which the kernel marks synchronous).

use serde_json::Value;
use tracer_tests::*;

const READS: usize = 200;

/// 200 reads: offsets spread over the 64 MiB image, sizes of 512 B to
/// 64 KiB (multiples of the loop device's 512-byte blocks).
fn plan() -> Vec<(u64, u32)> {
    const SIZES: [u32; 5] = [512, 4096, 12288, 65536, 1536];
    (0..READS as u64).map(|i| (i * 256 * 1024 + (i % 7) * 4096, SIZES[i as usize % SIZES.len()])).collect()
}

/// Runs `tracer -v ARGS` while the workload reads `plan` from `disk`;
/// returns the tracer's (stdout, stderr) and the workload's pid.
fn trace_reads(disk: &LoopDisk, args: &[&str], plan: &[(u64, u32)]) -> (Vec<u8>, String, u32) {
    let mut reader = disk.reader(plan);
    let pid = reader.pid();
    let (stdout, stderr, lines) = trace_during(args, || {
        reader.go();
        reader.finish()
    });
    let total: u64 = plan.iter().map(|&(_, size)| u64::from(size)).sum();
    assert_eq!(lines, [format!("done {} {total}", plan.len())]);
    (stdout, stderr, pid)
}

fn bios(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "bio").collect()
}

/// Every record is the workload's read of `plan[i]`, in order.
fn assert_reads(records: &[Value], disk: &LoopDisk, pid: u32, plan: &[(u64, u32)]) {
    let ours: Vec<&Value> = records.iter().filter(|r| r["disk"] == disk.name()).collect();
    assert_eq!(ours.len(), plan.len(), "{ours:#?}");
    for (record, &(offset, size)) in ours.iter().zip(plan) {
        assert_eq!(record["pid"], pid, "{record}");
        assert_eq!(record["comm"], "tracer-blockio", "{record}");
        // The kernel marks direct reads REQ_SYNC: its rwbs, libbpf-tools' T, is RS.
        assert_eq!(record["rwbs"], "RS", "{record}");
        assert_eq!(record["sector"], offset / 512, "{record}");
        assert_eq!(record["bytes"], size, "{record}");
        let latency = record["latency_ns"].as_u64().unwrap();
        assert!(0 < latency && latency < 1_000_000_000, "{record}");
    }
}

#[test]
fn every_direct_read_is_one_line_with_its_submitter_sector_and_size() {
    let disk = LoopDisk::new();
    let plan = plan();
    let (stdout, stderr, pid) = trace_reads(&disk, &["biosnoop", "-d", disk.name(), "--json"], &plan);
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    assert!(stderr.contains("block:block_io_start"), "{stderr}");
    let records = bios(&stdout);
    assert!(records.iter().all(|r| r["disk"] == disk.name()), "-d let other disks through");
    assert_reads(&records, &disk, pid, &plan);
    // The start was seen for each, so each has its queue time.
    assert!(records.iter().all(|r| r["queued_ns"].is_u64()), "{records:#?}");
    assert!(!stderr.contains("lost"), "{stderr}");
}

#[test]
fn text_lines_have_the_queue_column_with_q() {
    let disk = LoopDisk::new();
    let plan = plan();
    let (stdout, _, pid) = trace_reads(&disk, &["biosnoop", "-Q", "-d", disk.name()], &plan);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES", "QUE(ms)", "LAT(ms)"]);
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), READS, "{text}");
    for (row, &(offset, size)) in rows.iter().zip(&plan) {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(
            row[1..7],
            ["tracer-blockio", &pid.to_string(), disk.name(), "RS", &(offset / 512).to_string(), &size.to_string()]
        );
        let queued: f64 = row[7].parse().unwrap_or_else(|_| panic!("QUE(ms) {:?}", row[7]));
        let latency: f64 = row[8].parse().unwrap();
        assert!((0.0..1000.0).contains(&queued) && (0.0..1000.0).contains(&latency), "{row:?}");
    }
    // Without -Q there is no queue column.
    let (stdout, _, _) = trace_reads(&disk, &["biosnoop", "-d", disk.name()], &plan[..3]);
    let text = String::from_utf8(stdout).unwrap();
    assert!(!text.contains("QUE(ms)") && text.lines().nth(1).unwrap().split_whitespace().count() == 8, "{text}");
}

#[test]
fn raw_and_classic_tracepoint_paths_report_the_same_reads() {
    for hook in ["raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let plan = plan();
        let (stdout, stderr, pid) = trace_reads(&disk, &["biosnoop", "--hook", hook, "--json"], &plan);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        assert_reads(&bios(&stdout), &disk, pid, &plan);
    }
    assert_no_programs_left("biosnoop_");
}

#[test]
fn the_getrq_start_of_older_kernels_finds_the_same_submitters() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let plan = plan();
        let args = ["biosnoop", "--hook", hook, "--start-hook", "getrq", "-d", disk.name(), "--json"];
        let (stdout, stderr, pid) = trace_reads(&disk, &args, &plan);
        assert!(stderr.contains("block:block_getrq"), "{stderr}");
        assert_reads(&bios(&stdout), &disk, pid, &plan);
    }
}

#[test]
fn cgroup_filter_keeps_the_submitters_io_only() {
    let disk = LoopDisk::new();
    let plan = plan();
    let cgroup = TestCgroup::new("tracer-biosnoop");
    let mut reader = disk.reader(&plan);
    let pid = reader.pid();
    cgroup.adopt(pid);
    let (stdout, _, ()) = trace_during(&["biosnoop", "-c", cgroup.path(), "--json"], || {
        // dd reads the same disk from outside the cgroup meanwhile.
        reader.go();
        disk.dd_direct("4k", 50);
        reader.finish();
    });
    assert_reads(&bios(&stdout), &disk, pid, &plan);
}

#[test]
fn min_latency_filter_and_bad_input() {
    let disk = LoopDisk::new();
    let plan = plan();
    // No loop-device read takes 10 s.
    let (stdout, _, _) = trace_reads(&disk, &["biosnoop", "-m", "10000", "-d", disk.name(), "--json"], &plan);
    assert!(bios(&stdout).is_empty());

    for (args, message) in [
        (&["biosnoop", "-d", "no-such-disk"][..], "no disk named \"no-such-disk\""),
        (&["biosnoop", "-c", "/no/such/cgroup"], "does not exist"),
        (&["biosnoop", "0"], "duration must be at least 1"),
    ] {
        let output = run_tracer(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message) && stderr.lines().count() == 1, "{args:?}: {stderr}");
    }
}

#[test]
fn a_duration_ends_the_run() {
    let output = run_tracer(&["biosnoop", "1", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
