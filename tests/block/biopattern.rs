//! `tracer biopattern` against direct reads of a loop device the test makes:
//! consecutive reads must be counted sequential, scattered ones random, with
//! the exact I/O count and bytes.

use serde_json::Value;
use tracer_tests::*;

const READS: u64 = 200;

/// READS 4 KiB reads, each starting where the previous one ended.
fn sequential() -> Vec<(u64, u32)> {
    (0..READS).map(|i| (i * 4096, 4096)).collect()
}

/// READS 4 KiB reads at scattered 4 KiB-aligned offsets of the 64 MiB disk
/// (a fixed linear congruential sequence, so the test is repeatable).
fn random() -> Vec<(u64, u32)> {
    let mut state: u64 = 12345;
    (0..READS)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % (16384 - 1) * 4096, 4096)
        })
        .collect()
}

/// biopattern's one report (at Ctrl-C) for the disk, while `plan` is read.
fn pattern(disk: &LoopDisk, args: &[&str], plan: &[(u64, u32)]) -> (Value, String) {
    let mut reader = disk.reader(plan);
    let (stdout, stderr, _) = trace_during(args, || {
        reader.go();
        reader.finish()
    });
    let records = json_lines(&stdout);
    let ours: Vec<&Value> = records.iter().filter(|r| r["disk"] == disk.name()).collect();
    assert_eq!(ours.len(), 1, "{records:#?}");
    (ours[0].clone(), stderr)
}

#[test]
fn sequential_and_random_reads_are_told_apart_on_every_hook() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let disk = LoopDisk::new();
        let args = ["biopattern", "-d", disk.name(), "--hook", hook, "--json"];
        let (seq, stderr) = pattern(&disk, &args, &sequential());
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        assert_eq!((seq["count"].as_u64(), seq["bytes"].as_u64()), (Some(READS), Some(READS * 4096)), "{seq}");
        assert!(seq["sequential_pct"].as_f64().unwrap() >= 90.0, "{hook}: {seq}");

        let (rnd, _) = pattern(&disk, &args, &random());
        assert_eq!(rnd["count"].as_u64(), Some(READS), "{rnd}");
        assert!(rnd["random_pct"].as_f64().unwrap() >= 90.0, "{hook}: {rnd}");
    }
    assert_no_programs_left("biopattern_");
}

#[test]
fn text_has_libbpf_tools_columns() {
    let disk = LoopDisk::new();
    let mut reader = disk.reader(&sequential());
    let (stdout, _, _) = trace_during(&["biopattern", "-d", disk.name()], || {
        reader.go();
        reader.finish()
    });
    let text = String::from_utf8(stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Tracing block device I/O requested seeks... Hit Ctrl-C to end.");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["DISK", "%RND", "%SEQ", "COUNT", "KBYTES"]);
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    // The first I/O has no predecessor; the other 199 continue it.
    assert_eq!(row, [disk.name(), "0", "100", "200", "800"], "{text}");
}
