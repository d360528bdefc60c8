//! `tracer bitesize` against direct reads of 4 KiB and 64 KiB on a loop
//! device the test makes: each size must land in its log2 row with the
//! exact count, under the reader's name, and nothing else under it.

use serde_json::Value;
use tracer_tests::*;

const SMALL: u64 = 120;
const LARGE: u64 = 30;

/// SMALL reads of 4 KiB and LARGE of 64 KiB, interleaved.
fn plan() -> Vec<(u64, u32)> {
    (0..SMALL + LARGE).map(|i| (i * 128 * 1024, if i % 5 == 4 { 65536 } else { 4096 })).collect()
}

fn trace_reads(disk: &LoopDisk, args: &[&str]) -> (Vec<u8>, String) {
    let mut reader = disk.reader(&plan());
    let (stdout, stderr, _) = trace_during(args, || {
        reader.go();
        // dd's reads are another process's, of another size.
        disk.dd_direct("16k", 10);
        reader.finish()
    });
    (stdout, stderr)
}

/// The histogram of process name `comm` (one per interval; the run has one).
fn histogram<'a>(records: &'a [Value], comm: &str) -> &'a Value {
    let ours: Vec<&Value> = records.iter().filter(|r| r["type"] == "histogram" && r["comm"] == comm).collect();
    assert_eq!(ours.len(), 1, "{records:#?}");
    ours[0]
}

fn row(histogram: &Value, low: u64) -> u64 {
    histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["low"] == low)
        .map_or(0, |b| b["count"].as_u64().unwrap())
}

#[test]
fn sizes_land_in_their_rows_with_exact_counts_on_every_hook() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let (stdout, stderr) = trace_reads(&disk, &["bitesize", "-d", disk.name(), "--hook", hook, "--json"]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = json_lines(&stdout);
        let ours = histogram(&records, "tracer-blockio");
        assert_eq!(ours["unit"], "Kbytes");
        assert_eq!(ours["count"], SMALL + LARGE, "{hook}: {ours}");
        assert_eq!(ours["sum_bytes"], SMALL * 4096 + LARGE * 65536, "{hook}: {ours}");
        assert_eq!((row(ours, 4), row(ours, 64)), (SMALL, LARGE), "{hook}: {ours}");
        let dd = histogram(&records, "dd");
        assert_eq!((dd["count"].as_u64(), row(dd, 16)), (Some(10), 10), "{dd}");
    }
    assert_no_programs_left("bitesize_");
}

#[test]
fn comm_filter_is_exact_and_text_names_the_process() {
    let disk = LoopDisk::new();
    let (stdout, _) = trace_reads(&disk, &["bitesize", "-c", "tracer-blockio", "-d", disk.name()]);
    let text = String::from_utf8(stdout).unwrap();
    assert!(text.contains("\nProcess Name = tracer-blockio\n"), "{text}");
    assert!(!text.contains("Process Name = dd"), "{text}");
    assert!(text.contains("     Kbytes              : count    distribution\n"), "{text}");
    assert!(text.contains(&format!("         4 -> 7          : {SMALL:<8}")), "{text}");
    assert!(text.contains(&format!("        64 -> 127        : {LARGE:<8}")), "{text}");
    assert!(text.contains(&format!("({} samples, mean ", SMALL + LARGE)), "{text}");

    // A prefix of the name matches nothing (libbpf-tools would match it).
    let (stdout, _) = trace_reads(&disk, &["bitesize", "-c", "tracer-blo", "-d", disk.name(), "--json"]);
    assert!(json_lines(&stdout).iter().all(|r| r["count"] == 0 || r["type"] != "histogram"), "{stdout:?}");

    let output = run_tracer(&["bitesize", "-c", "a-name-too-long-for-comm"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 to 15 bytes"));
}
