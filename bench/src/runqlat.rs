//! runqlat benchmark: tracer vs bpftrace (the peer that runs here; BCC needs
//! kernel headers and libbpf-tools is not packaged), alternating in one run.
//!
//! 1. Launch to attached: spawn until the line printed after attaching.
//! 2. In-kernel cost per call: the kernel's own accounting (BPF_ENABLE_STATS,
//!    run_time_ns / run_cnt per program) while `perf bench sched pipe` runs
//!    pinned to one CPU.
//! 3. Added wall-clock per context switch on that pinned pipe benchmark:
//!    rounds of without / tracer / bpftrace, in rotating order.
//! 4. Peak RSS and what must be on disk.

use std::{fmt::Write as _, path::Path, process::Command, time::Duration};

use anyhow::{Context, Result};

use super::measure::{self, Running, median, spread};
use crate::util::say;

/// bpftrace's runqlat.bt needs kernel headers (for TASK_RUNNING), which this
/// host lacks; this is the same logic on tracepoints only.
pub const BPFTRACE_RUNQLAT: &str = r#"
BEGIN { printf("Tracing CPU scheduler... Hit Ctrl-C to end.\n"); }
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
  if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
  $ns = @qtime[args->next_pid];
  if ($ns) { @usecs = hist((nsecs - $ns) / 1000); }
  delete(@qtime[args->next_pid]);
}
END { clear(@qtime); }
"#;

const TRACER_READY: &str = "Tracing run queue latency";
pub const BPFTRACE_READY: &str = "Tracing CPU scheduler";
const PIPE_LOOPS: u64 = 200_000;
const PIPE_CPU: usize = 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tool {
    Tracer,
    Bpftrace,
}

struct Setup<'a> {
    tracer: &'a Path,
    script: std::path::PathBuf,
}

impl Setup<'_> {
    fn start(&self, tool: Tool) -> Result<Running> {
        match tool {
            Tool::Tracer => {
                let mut command = Command::new(self.tracer);
                command.arg("runqlat");
                measure::start_on_terminal(command, TRACER_READY)
            }
            Tool::Bpftrace => {
                let mut command = Command::new("bpftrace");
                command.arg(&self.script);
                measure::start_on_terminal(command, BPFTRACE_READY)
            }
        }
    }
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let (startup_rounds, pipe_rounds) = if quick { (5, 3) } else { (15, 7) };
    let dir = crate::util::workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("runqlat.bt");
    std::fs::write(&script, BPFTRACE_RUNQLAT)?;
    let setup = Setup { tracer, script };

    say(&format!("runqlat: launch-to-attached, {startup_rounds} alternating rounds"));
    let (mut startup_tracer, mut startup_bpftrace) = (Vec::new(), Vec::new());
    let (mut rss_tracer, mut rss_bpftrace) = (Vec::new(), Vec::new());
    let (mut steady_tracer, mut steady_bpftrace) = (Vec::new(), Vec::new());
    for _ in 0..startup_rounds {
        for tool in [Tool::Tracer, Tool::Bpftrace] {
            let running = setup.start(tool)?;
            let ms = running.startup.as_secs_f64() * 1e3;
            // Let a report cycle pass before reading the peak.
            std::thread::sleep(Duration::from_millis(300));
            let peak = running.peak_rss_kib()? as f64 / 1024.0;
            let steady = running.rss_kib()? as f64 / 1024.0;
            running.stop()?;
            let (startups, peaks, steadies) = if tool == Tool::Tracer {
                (&mut startup_tracer, &mut rss_tracer, &mut steady_tracer)
            } else {
                (&mut startup_bpftrace, &mut rss_bpftrace, &mut steady_bpftrace)
            };
            startups.push(ms);
            peaks.push(peak);
            steadies.push(steady);
        }
    }

    say(&format!(
        "runqlat: pinned `perf bench sched pipe -l {PIPE_LOOPS}`, {pipe_rounds} rounds of none/tracer/bpftrace"
    ));
    // Stats are on while this fd lives.
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime).context("cannot enable BPF run-time stats")?;
    let mut pipe: [Vec<f64>; 3] = Default::default();
    let mut switch_ns: [Vec<f64>; 2] = Default::default();
    let mut wakeup_ns: [Vec<f64>; 2] = Default::default();
    let mut names: [Vec<String>; 2] = Default::default();
    let order = [None, Some(Tool::Tracer), Some(Tool::Bpftrace)];
    for round in 0..pipe_rounds {
        for offset in 0..order.len() {
            let slot = (round + offset) % order.len();
            let Some(tool) = order[slot] else {
                pipe[slot].push(measure::sched_pipe(PIPE_LOOPS, PIPE_CPU)?);
                continue;
            };
            let before_start = measure::programs();
            let running = setup.start(tool)?;
            let before = measure::programs();
            let ids = measure::new_programs(&before_start, &before);
            pipe[slot].push(measure::sched_pipe(PIPE_LOOPS, PIPE_CPU)?);
            let after = measure::programs();
            running.stop()?;
            let index = slot - 1;
            names[index] = ids.iter().filter_map(|id| before.get(id).map(|(name, _)| name.clone())).collect();
            let (switch, wakeup) = split_programs(&before, &after, &ids);
            switch_ns[index].extend(switch);
            wakeup_ns[index].extend(wakeup);
        }
    }

    Ok(render(Figures {
        startup: [startup_tracer, startup_bpftrace],
        rss: [rss_tracer, rss_bpftrace],
        steady_rss: [steady_tracer, steady_bpftrace],
        pipe,
        switch_ns,
        wakeup_ns,
        names,
        tracer_size: std::fs::metadata(tracer)?.len(),
        bpftrace_size: installed_size("bpftrace"),
        rounds: (startup_rounds, pipe_rounds),
    }))
}

/// Per-call cost of the sched_switch program and of the wakeup programs;
/// both tools name their programs after the tracepoint.
fn split_programs(before: &measure::Programs, after: &measure::Programs, ids: &[u32]) -> (Option<f64>, Option<f64>) {
    let named = |want: &str| measure::ns_per_call(before, after, ids, |name| name.contains(want)).map(|(ns, _)| ns);
    (named("switch"), named("wakeup"))
}

/// Bytes on disk of an installed program plus the shared libraries it loads.
fn installed_size(program: &str) -> Option<(u64, u64)> {
    let path = crate::util::output(Command::new("which").arg(program))?.trim().to_owned();
    let binary = std::fs::metadata(&path).ok()?.len();
    let ldd = crate::util::output(Command::new("ldd").arg(&path)).unwrap_or_default();
    let libraries = ldd
        .lines()
        .filter_map(|line| line.split("=>").nth(1)?.split_whitespace().next().map(str::to_owned))
        .filter_map(|lib| std::fs::metadata(lib).ok().map(|m| m.len()))
        .sum();
    Some((binary, libraries))
}

struct Figures {
    startup: [Vec<f64>; 2],
    rss: [Vec<f64>; 2],
    steady_rss: [Vec<f64>; 2],
    pipe: [Vec<f64>; 3],
    switch_ns: [Vec<f64>; 2],
    wakeup_ns: [Vec<f64>; 2],
    names: [Vec<String>; 2],
    tracer_size: u64,
    bpftrace_size: Option<(u64, u64)>,
    rounds: (usize, usize),
}

fn render(f: Figures) -> String {
    let mut out = String::new();
    let row = |values: &[f64], unit: &str| {
        let (lo, hi) = spread(values);
        format!("{:.1} {unit} ({:.1}–{:.1})", median(values), lo, hi)
    };
    let ratio = |ours: &[f64], theirs: &[f64]| median(ours) / median(theirs);
    let _ = writeln!(out, "### runqlat: tracer vs bpftrace 0.17 (medians, min–max in brackets)\n");
    let _ = writeln!(out, "| measure | tracer | bpftrace | tracer / bpftrace |");
    let _ = writeln!(out, "|---|---|---|---|");
    let _ = writeln!(
        out,
        "| launch to attached ({} runs each) | {} | {} | {:.2} |",
        f.rounds.0,
        row(&f.startup[0], "ms"),
        row(&f.startup[1], "ms"),
        ratio(&f.startup[0], &f.startup[1])
    );
    let _ = writeln!(
        out,
        "| sched_switch program, ns per call | {} | {} | {:.2} |",
        row(&f.switch_ns[0], "ns"),
        row(&f.switch_ns[1], "ns"),
        ratio(&f.switch_ns[0], &f.switch_ns[1])
    );
    let _ = writeln!(
        out,
        "| wakeup programs, ns per call | {} | {} | {:.2} |",
        row(&f.wakeup_ns[0], "ns"),
        row(&f.wakeup_ns[1], "ns"),
        ratio(&f.wakeup_ns[0], &f.wakeup_ns[1])
    );
    // Each pinned pipe loop is two context switches.
    let base = median(&f.pipe[0]);
    let added = |values: &[f64]| -> Vec<f64> { values.iter().map(|v| (v - base) * 1e3 / 2.0).collect() };
    let (added_tracer, added_bpftrace) = (added(&f.pipe[1]), added(&f.pipe[2]));
    let _ = writeln!(
        out,
        "| added wall-clock per context switch ({} rounds; untraced {:.3} us/loop) | {} | {} | {:.2} |",
        f.rounds.1,
        base,
        row(&added_tracer, "ns"),
        row(&added_bpftrace, "ns"),
        ratio(&added_tracer, &added_bpftrace)
    );
    let _ = writeln!(
        out,
        "| peak RSS | {} | {} | {:.2} |",
        row(&f.rss[0], "MiB"),
        row(&f.rss[1], "MiB"),
        ratio(&f.rss[0], &f.rss[1])
    );
    let _ = writeln!(
        out,
        "| RSS while tracing | {} | {} | {:.2} |",
        row(&f.steady_rss[0], "MiB"),
        row(&f.steady_rss[1], "MiB"),
        ratio(&f.steady_rss[0], &f.steady_rss[1])
    );
    let mib = |bytes: u64| bytes as f64 / (1u64 << 20) as f64;
    let peer = match f.bpftrace_size {
        Some((binary, libraries)) => format!("{:.1} MiB + {:.1} MiB of shared libraries", mib(binary), mib(libraries)),
        None => "not found".into(),
    };
    let _ = writeln!(out, "| on disk | {:.1} MiB, one file | {peer} | |", mib(f.tracer_size));
    let _ = writeln!(out, "\nPrograms measured: tracer {:?}; bpftrace {:?}.", f.names[0], f.names[1]);
    out
}
