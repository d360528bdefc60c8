//! profile's costs, side by side with bpftrace's
//! `profile:hz:N { @[kstack, ustack, comm] = count(); }`:
//! 1. overhead: a fixed amount of CPU work on every CPU, untraced and under
//!    each tool at 99 and 999 Hz (wall time, and the kernel's own run-time
//!    accounting per sample);
//! 2. reporting: ~100k samples of a varied workload (find, gzip, a shell
//!    loop: many processes, many stacks), then the time from Ctrl-C to exit
//!    (symbolizing and printing every stack) and the peak memory.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use super::measure::{self, Running, median, spread};
use crate::util::say;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Tracer,
    Bpftrace,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Self::Tracer => "tracer profile",
            Self::Bpftrace => "bpftrace profile:hz",
        }
    }
}

struct Setup {
    tracer: PathBuf,
    dir: PathBuf,
}

impl Setup {
    fn start(&self, tool: Tool, hz: u32) -> Result<Running> {
        match tool {
            Tool::Tracer => {
                let mut command = Command::new(&self.tracer);
                command.args(["profile", "-F", &hz.to_string()]);
                measure::start(command, "Sampling at")
            }
            Tool::Bpftrace => {
                let script = self.dir.join(format!("profile-{hz}.bt"));
                std::fs::write(
                    &script,
                    format!(
                        "BEGIN {{ printf(\"Sampling\\n\"); }}\nprofile:hz:{hz} {{ @[kstack, ustack, comm] = count(); }}\n"
                    ),
                )?;
                let mut command = Command::new("bpftrace");
                command.arg(script);
                measure::start(command, "Sampling")
            }
        }
    }
}

/// Work for every CPU: the same number of multiply-adds each time (about
/// 3 s per thread on this VM).
fn cpu_work(threads: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut x = 0u64;
                for i in 0..2_500_000_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
                }
                x
            });
        }
    });
    started.elapsed()
}

/// Per tool: wall times of the work, and kernel ns per sample.
#[derive(Default)]
struct Overhead {
    untraced: Vec<f64>,
    traced: [Vec<f64>; 2],
    ns_per_sample: [Vec<f64>; 2],
    samples: [Vec<f64>; 2],
}

fn overhead(setup: &Setup, hz: u32, rounds: usize, threads: usize) -> Result<Overhead> {
    let mut figures = Overhead::default();
    let order = [None, Some(Tool::Tracer), Some(Tool::Bpftrace)];
    for round in 0..rounds {
        for offset in 0..order.len() {
            let slot = (round + offset) % order.len();
            let Some(tool) = order[slot] else {
                figures.untraced.push(cpu_work(threads).as_secs_f64());
                continue;
            };
            let before_start = measure::programs();
            let running = setup.start(tool, hz)?;
            let before = measure::programs();
            let ids = measure::new_programs(&before_start, &before);
            let elapsed = cpu_work(threads);
            let after = measure::programs();
            running.stop()?;
            let index = slot - 1;
            figures.traced[index].push(elapsed.as_secs_f64());
            if let Some((ns, count)) = measure::ns_per_call(&before, &after, &ids, |_| true) {
                figures.ns_per_sample[index].push(ns);
                figures.samples[index].push(count as f64);
            }
        }
    }
    Ok(figures)
}

/// A varied workload on every CPU: short-lived processes, file system walks,
/// compression.
fn varied_workload(threads: usize) -> Result<Vec<Child>> {
    (0..threads)
        .map(|_| {
            Command::new("sh")
                .args([
                    "-c",
                    "while :; do find /usr/share/doc -name '*.gz' | head -100 | xargs -r cat | gzip -1 >/dev/null; done",
                ])
                .spawn()
                .context("cannot start the workload shell")
        })
        .collect()
}

/// What reporting cost one tool.
struct ReportCost {
    seconds: f64,
    peak_kib: u64,
    lines: usize,
    /// tracer's own count of samples with a missed (user or kernel) stack.
    missed: Option<u64>,
}

/// Sums "missed stacks: N user, M kernel" from tracer's summary.
fn missed_stacks(stderr: &str) -> Option<u64> {
    let tail = stderr.split("missed stacks: ").nth(1)?;
    let mut words = tail.split([' ', ',']).filter(|w| !w.is_empty());
    let user: u64 = words.next()?.parse().ok()?;
    let kernel: u64 = words.nth(1)?.parse().ok()?;
    Some(user + kernel)
}

/// Reporting cost: Ctrl-C to exit, peak memory, output size.
fn report_cost(setup: &Setup, tool: Tool, hz: u32, seconds: u64) -> Result<ReportCost> {
    let running = setup.start(tool, hz)?;
    std::thread::sleep(Duration::from_secs(seconds));
    let pid = running.child.id();
    let stopped = Instant::now();
    // Poll the peak while it symbolizes: VmHWM only grows, so the last
    // reading before exit is the peak (less the final writes).
    let peak = std::thread::spawn(move || {
        let mut peak = 0u64;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok())
            {
                peak = kib;
            } else {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    });
    let (stdout, stderr) = running.stop()?;
    let seconds = stopped.elapsed().as_secs_f64();
    Ok(ReportCost {
        seconds,
        peak_kib: peak.join().unwrap_or(0),
        lines: String::from_utf8_lossy(&stdout).lines().count(),
        missed: missed_stacks(&String::from_utf8_lossy(&stderr)),
    })
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 5 };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let setup = Setup { tracer: tracer.to_path_buf(), dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.dir)?;
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime).context("cannot enable BPF run-time stats")?;

    let mut out = String::new();
    let _ = writeln!(out, "### profile: overhead on {threads} busy threads, {rounds} rounds\n");
    let _ =
        writeln!(out, "| | work time, s (median, min–max) | slowdown | ns per sample (kernel accounting) | samples |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for hz in [99, 999] {
        say(&format!("profile: {rounds} rounds of CPU work untraced, under tracer and bpftrace at {hz} Hz"));
        let figures = overhead(&setup, hz, rounds, threads)?;
        let base = median(&figures.untraced);
        let (lo, hi) = spread(&figures.untraced);
        let _ = writeln!(out, "| untraced | {base:.3} ({lo:.3}–{hi:.3}) | | | |");
        for (index, tool) in [Tool::Tracer, Tool::Bpftrace].into_iter().enumerate() {
            let values = &figures.traced[index];
            let (lo, hi) = spread(values);
            let _ = writeln!(
                out,
                "| {} at {hz} Hz | {:.3} ({lo:.3}–{hi:.3}) | {:+.2}% | {:.0} | {:.0} |",
                tool.name(),
                median(values),
                (median(values) / base - 1.0) * 100.0,
                median(&figures.ns_per_sample[index]),
                median(&figures.samples[index]),
            );
        }
    }

    let hz = 9999;
    let seconds = if quick { 2 } else { 5 };
    let report_rounds = if quick { 1 } else { 3 };
    say(&format!(
        "profile: reporting cost after {seconds} s at {hz} Hz on a varied workload, {report_rounds} rounds per tool"
    ));
    let mut workload = varied_workload(threads)?;
    let mut costs: [Vec<ReportCost>; 2] = Default::default();
    for round in 0..report_rounds {
        for offset in 0..2 {
            let index = (round + offset) % 2;
            let tool = [Tool::Tracer, Tool::Bpftrace][index];
            costs[index].push(report_cost(&setup, tool, hz, seconds)?);
        }
    }
    for child in &mut workload {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = writeln!(
        out,
        "\n### profile: reporting ~{}k samples ({seconds} s at {hz} Hz on {threads} CPUs, varied workload)\n",
        seconds * hz as u64 * threads as u64 / 1000
    );
    let _ = writeln!(
        out,
        "| | Ctrl-C to exit, s (median) | peak RSS, MiB (median) | output lines | samples with a missed stack |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (index, tool) in [Tool::Tracer, Tool::Bpftrace].into_iter().enumerate() {
        let of = |field: fn(&ReportCost) -> f64| costs[index].iter().map(field).collect::<Vec<f64>>();
        let missed = of(|c| c.missed.map_or(f64::NAN, |m| m as f64));
        let missed = if missed.iter().all(|m| m.is_nan()) {
            "not reported".to_string()
        } else {
            format!("{:.0}", median(&missed))
        };
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.1} | {:.0} | {missed} |",
            tool.name(),
            median(&of(|c| c.seconds)),
            median(&of(|c| c.peak_kib as f64 / 1024.0)),
            median(&of(|c| c.lines as f64)),
        );
    }
    Ok(out)
}
