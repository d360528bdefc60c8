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

fn records(args: &[&str]) -> (Vec<Value>, HashMap<u64, (u64, String)>, HashMap<u64, (u64, String)>) {
    let before = proc_interrupts();
    let started = start_tracer(args);
    let (stdout, stderr, status) = started.finish();
    let after = proc_interrupts();
    assert!(status.success(), "{stderr}");
    (json_lines(&stdout).into_iter().filter(|r| r["type"] == "histogram").collect(), before, after)
}

#[test]
fn counts_and_names_match_proc_interrupts() {
    let (records, before, after) = records(&["hardirqs", "--json", "3", "1"]);
    let busiest = records.iter().max_by_key(|r| r["count"].as_u64().unwrap()).expect("some interrupt");
    let irq = busiest["irq"].as_u64().unwrap();
    let (name, count) = (busiest["hardirq"].as_str().unwrap(), busiest["count"].as_u64().unwrap());
    assert_eq!(after[&irq].1, name, "{busiest}");
    let delta = after[&irq].0 - before[&irq].0;
    assert!(count >= 10, "{busiest}");
    // /proc/interrupts is read just outside the traced window.
    assert!(count <= delta && delta * 10 <= count * 11, "traced {count}, /proc/interrupts delta {delta}");
}

#[test]
fn dist_prints_histograms_and_cpu_splits() {
    let output = run_tracer(&["hardirqs", "-d", "2", "1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("hardirq = ") && stdout.contains("usecs") && stdout.contains("p50"), "{stdout}");
    let (records, _, _) = records(&["hardirqs", "-C", "--json", "2", "1"]);
    assert!(!records.is_empty() && records.iter().all(|r| r["cpu"].is_u64()), "{records:?}");
}

#[test]
fn bad_cpu_exits_2() {
    let output = run_tracer(&["hardirqs", "-s", "4096", "1", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("CPU 4096 is not online"));
}
