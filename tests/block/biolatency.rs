//! `tracer biolatency` against direct reads of a loop device backed by an
//! ext4 image the test makes: a disk whose every request we cause.

use serde_json::Value;
use tracer_tests::*;

const READS: u32 = 300;

/// READS direct 4 KiB reads: each one request to the loop disk.
fn read_directly(disk: &LoopDisk) {
    disk.dd_direct("4k", READS);
}

fn histograms(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "histogram").collect()
}

fn for_disk<'a>(records: &'a [Value], disk: &str) -> &'a Value {
    records.iter().find(|r| r["disk"] == disk).unwrap_or_else(|| panic!("no histogram for {disk}: {records:?}"))
}

#[test]
fn per_disk_histograms_count_every_direct_read() {
    let disk = LoopDisk::new();
    let (stdout, stderr, ()) = trace_during(&["biolatency", "-D", "--json"], || read_directly(&disk));
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    let records = histograms(&stdout);
    let ours = for_disk(&records, disk.name());
    assert_eq!(ours["count"], READS, "{ours}");
    let (p50, p99, max) =
        (ours["p50_ns"].as_u64().unwrap(), ours["p99_ns"].as_u64().unwrap(), ours["max_ns"].as_u64().unwrap());
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{ours}");
    assert!(max < 1_000_000_000, "a loop-device read takes well under a second: {ours}");
    let mean = ours["mean_ns"].as_u64().unwrap();
    assert_eq!(mean, ours["sum_ns"].as_u64().unwrap() / READS as u64);
}

#[test]
fn a_disk_filter_keeps_only_that_disk_and_queued_time_counts_the_same_requests() {
    let disk = LoopDisk::new();
    let (stdout, _, ()) =
        trace_during(&["biolatency", "-D", "-Q", "-d", disk.name(), "--json"], || read_directly(&disk));
    let records = histograms(&stdout);
    assert!(records.iter().all(|r| r["disk"] == disk.name()), "{records:?}");
    assert_eq!(for_disk(&records, disk.name())["count"], READS);
}

#[test]
fn per_flag_histograms_name_the_operation() {
    let disk = LoopDisk::new();
    let (stdout, _, ()) = trace_during(&["biolatency", "-F", "-d", disk.name(), "--json"], || read_directly(&disk));
    let records = histograms(&stdout);
    let reads: u64 = records
        .iter()
        .filter(|r| r["flags"].as_str().unwrap().starts_with("Read ("))
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(reads, READS as u64, "{records:?}");
}

#[test]
fn raw_and_classic_tracepoint_paths_count_the_same() {
    for hook in ["raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let (stdout, stderr, ()) =
            trace_during(&["biolatency", "-D", "--hook", hook, "--json"], || read_directly(&disk));
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        assert_eq!(for_disk(&histograms(&stdout), disk.name())["count"], READS, "{hook}");
    }
    assert_no_programs_left("biolatency_");
}

#[test]
fn text_output_and_bad_disks() {
    let disk = LoopDisk::new();
    let (stdout, _, ()) = trace_during(&["biolatency", "-D", "-d", disk.name()], || read_directly(&disk));
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.starts_with("Tracing block device I/O... Hit Ctrl-C to end.\n"), "{text}");
    assert!(text.contains(&format!("\ndisk = {}\n", disk.name())), "{text}");
    assert!(text.contains(&format!("({READS} samples,")), "{text}");

    let output = run_tracer(&["biolatency", "-d", "no-such-disk"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no disk named \"no-such-disk\"") && stderr.lines().count() == 1, "{stderr}");
}
