//! `tracer hardirqs` against the host's own interrupts: the names it shows
//! are /proc/interrupts' and its counts match /proc/interrupts' deltas.

use std::collections::HashMap;

use serde_json::Value;
use tracer_tests::*;

/// IRQ number -> (total over CPUs, last column: the handler name).
fn proc_interrupts() -> HashMap<u64, (u64, String)> {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap();
    let cpus = text.lines().next().unwrap().split_whitespace().count();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let (irq, rest) = line.split_once(':')?;
            let irq = irq.trim().parse().ok()?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let total = fields.iter().take(cpus).map(|f| f.parse::<u64>().unwrap_or(0)).sum();
            Some((irq, (total, fields.last()?.to_string())))
        })
        .collect()
}

/// Runs the tracer over `workload`, with /proc/interrupts read just before
/// and just after.
fn records_during(
    args: &[&str],
    workload: impl FnOnce(),
) -> (Vec<Value>, HashMap<u64, (u64, String)>, HashMap<u64, (u64, String)>) {
    let before = proc_interrupts();
    let started = start_tracer(args);
    workload();
    let (stdout, stderr, status) = started.finish();
    let after = proc_interrupts();
    assert!(status.success(), "{stderr}");
    (json_lines(&stdout).into_iter().filter(|r| r["type"] == "histogram").collect(), before, after)
}

/// Direct, synchronous 4 KiB writes to a file on the root disk: each one is
/// a request whose completion the disk signals with an interrupt.
fn direct_disk_writes() {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.dat", unique("hardirqs")));
    let status = std::process::Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", path.display()), "bs=4k", "count=1500", "oflag=direct,dsync"])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run dd");
    let _ = std::fs::remove_file(&path);
    assert!(status.success(), "dd failed");
}

#[test]
fn counts_and_names_match_proc_interrupts() {
    let (records, before, after) = records_during(&["hardirqs", "--json", "3", "1"], direct_disk_writes);
    // The disk's IRQ is the one /proc/interrupts saw move most.
    let (&irq, (total, name)) =
        after.iter().max_by_key(|(irq, (total, _))| total - before.get(irq).map_or(0, |b| b.0)).expect("an IRQ");
    let delta = total - before.get(&irq).map_or(0, |b| b.0);
    assert!(delta >= 1000, "the direct writes raised only {delta} interrupts on IRQ {irq} ({name})");
    let traced = records
        .iter()
        .find(|r| r["irq"].as_u64() == Some(irq))
        .unwrap_or_else(|| panic!("IRQ {irq} ({name}, {delta} interrupts) is missing from {records:?}"));
    assert_eq!(traced["hardirq"].as_str(), Some(name.as_str()), "{traced}");
    let count = traced["count"].as_u64().unwrap();
    // /proc/interrupts is read just outside the traced window.
    assert!(count <= delta && delta * 10 <= count * 11, "traced {count}, /proc/interrupts delta {delta}");
}

#[test]
fn dist_prints_histograms_and_cpu_splits() {
    // The disk writes make sure some interrupt fires on an idle host.
    let started = start_tracer(&["hardirqs", "-d", "2", "1"]);
    direct_disk_writes();
    let (stdout, stderr, status) = started.finish();
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("hardirq = ") && stdout.contains("usecs") && stdout.contains("p50"), "{stdout}");
    let (records, _, _) = records_during(&["hardirqs", "-C", "--json", "2", "1"], direct_disk_writes);
    assert!(!records.is_empty() && records.iter().all(|r| r["cpu"].is_u64()), "{records:?}");
}

#[test]
fn bad_cpu_exits_2() {
    let output = run_tracer(&["hardirqs", "-s", "4096", "1", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("CPU 4096 is not online"));
}
