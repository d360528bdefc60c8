//! Storm benchmarks for event tools: a workload fires events as fast as the
//! machine goes, untraced, under tracer and under a peer, in rotating order;
//! each tool's output is then checked against what the workload knows it did.

use std::{process::Command, time::Duration};

use anyhow::Result;

use super::measure;

/// A tool under test: how to start it and the line it prints once attached.
pub struct Tool {
    pub command: fn(&Setup) -> Command,
    pub ready: &'static str,
}

/// Paths the tools need.
pub struct Setup {
    pub tracer: std::path::PathBuf,
    pub script_dir: std::path::PathBuf,
}

/// One traced (or untraced) storm.
pub struct Run<S> {
    pub elapsed: Duration,
    /// What the workload did (its pids, ports, ...).
    pub storm: S,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The storms of a benchmark: untraced, and under each tool (in `tools` order).
pub struct Storms<S> {
    pub untraced: Vec<Run<S>>,
    pub traced: Vec<Vec<Run<S>>>,
}

/// `rounds` rounds of: the storm untraced, and under each tool, the order
/// rotating each round.
pub fn rounds<S>(
    rounds: usize,
    setup: &Setup,
    tools: &[Tool],
    mut storm: impl FnMut() -> Result<S>,
) -> Result<Storms<S>> {
    let mut untraced = Vec::new();
    let mut traced: Vec<Vec<Run<S>>> = tools.iter().map(|_| Vec::new()).collect();
    let slots = tools.len() + 1;
    for round in 0..rounds {
        for offset in 0..slots {
            let slot = (round + offset) % slots;
            if slot == tools.len() {
                let started = std::time::Instant::now();
                let storm = storm()?;
                untraced.push(Run { elapsed: started.elapsed(), storm, stdout: Vec::new(), stderr: Vec::new() });
                continue;
            }
            let tool = &tools[slot];
            let running = measure::start((tool.command)(setup), tool.ready)?;
            let started = std::time::Instant::now();
            let storm = storm()?;
            let elapsed = started.elapsed();
            // Let the tool print what is still buffered.
            std::thread::sleep(Duration::from_millis(500));
            let (stdout, stderr) = running.stop()?;
            traced[slot].push(Run { elapsed, storm, stdout, stderr });
        }
    }
    Ok(Storms { untraced, traced })
}

/// Median slowdown of traced storms against untraced ones, in percent.
pub fn slowdown_percent<S>(untraced: &[Run<S>], traced: &[Run<S>]) -> Vec<f64> {
    let base = measure::median(&untraced.iter().map(|r| r.elapsed.as_secs_f64()).collect::<Vec<_>>());
    traced.iter().map(|r| (r.elapsed.as_secs_f64() / base - 1.0) * 100.0).collect()
}

/// Sum of `N` in lines like `lost N events` / `Lost N events` (tracer's
/// stderr and JSON records, bpftrace's warnings).
pub fn lost_in(text: &str) -> u64 {
    let mut total = 0;
    for line in text.lines() {
        if let Ok(record) = serde_json::from_str::<serde_json::Value>(line)
            && record["type"] == "lost"
        {
            total += record["count"].as_u64().unwrap_or(0);
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if pair[0].eq_ignore_ascii_case("lost")
                && let Ok(n) = pair[1].parse::<u64>()
            {
                total += n;
            }
        }
    }
    total
}

/// The `lost` and `storm slowdown` cells of a tool's row: medians, with the
/// worst loss and the slowdown's spread.
pub fn loss_and_slowdown_cells<S>(untraced: &[Run<S>], runs: &[Run<S>]) -> String {
    let lost: Vec<f64> = runs
        .iter()
        .map(|r| lost_in(&(String::from_utf8_lossy(&r.stdout) + String::from_utf8_lossy(&r.stderr))) as f64)
        .collect();
    let slowdown = slowdown_percent(untraced, runs);
    let (lo, hi) = measure::spread(&slowdown);
    format!(
        "{:.0} (max {:.0}) | {:+.1}% ({lo:+.1}–{hi:+.1})",
        measure::median(&lost),
        measure::spread(&lost).1,
        measure::median(&slowdown)
    )
}

/// The `added per OPERATION` cell: median added wall time per operation
/// against the untraced median, in µs, with the spread over rounds.
pub fn added_us_cell<S>(untraced: &[Run<S>], runs: &[Run<S>], operations: usize) -> String {
    let base = measure::median(&untraced.iter().map(|r| r.elapsed.as_secs_f64()).collect::<Vec<_>>());
    let added: Vec<f64> = runs.iter().map(|r| (r.elapsed.as_secs_f64() - base) * 1e6 / operations as f64).collect();
    let (lo, hi) = measure::spread(&added);
    format!("{:+.2} µs ({lo:+.2}–{hi:+.2})", measure::median(&added))
}

/// `median (min X)` of a count over runs.
pub fn count_cell(values: &[f64]) -> String {
    format!("{:.0} (min {:.0})", measure::median(values), measure::spread(values).0)
}

/// The untraced storm's median time and rate.
pub fn untraced_line<S>(untraced: &[Run<S>], operations: usize, what: &str) -> String {
    let base = measure::median(&untraced.iter().map(|r| r.elapsed.as_secs_f64()).collect::<Vec<_>>());
    format!("\nUntraced storm: median {base:.2} s ({:.0} {what}/s).", operations as f64 / base)
}
