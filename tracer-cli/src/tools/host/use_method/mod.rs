//! `tracer use`: a USE-method checklist run. For every resource (CPUs,
//! memory, each disk, each network interface, TCP, file descriptors, tasks)
//! it measures Utilization, Saturation and Errors over `--duration` seconds,
//! gives each cell a status from documented thresholds and, for each cell
//! that is not ok, the next command to run. /proc and /sys through procfs;
//! run-queue and disk latency from runqlat's and biolatency's programs.

mod checks;
mod probes;
mod render;
mod sources;
mod status;

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use anyhow::Result;
use indicatif::ProgressBar;

use crate::{cli::Common, output, runner::Runner};
use checks::Period;
use probes::BpfProbes;
use sources::{Levels, Snapshot};
use status::{Override, Thresholds, override_arg};

/// Check every resource's utilization, saturation and errors (USE method)
///
/// Examples:
///   tracer use                      # measure for 10 seconds, print the checklist
///   tracer use -d 30 --markdown     # 30 seconds, as a Markdown table for a ticket
///   tracer use --json               # one JSON record
///   tracer use --threshold cpu.utilization=80:95
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Seconds to measure over
    #[arg(short = 'd', long, value_name = "SECONDS", default_value_t = 10, value_parser = crate::cli::duration_arg)]
    pub duration: u64,
    /// Print one JSON record
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print a Markdown table (to paste into an incident ticket)
    #[arg(long)]
    pub markdown: bool,
    /// Change a threshold: NAME=WARN:CRIT, e.g. cpu.utilization=80:95 (names in README)
    #[arg(long, value_name = "NAME=WARN:CRIT", value_parser = override_arg)]
    pub threshold: Vec<Override>,
}

/// How often the run queue is sampled.
const SAMPLE: Duration = Duration::from_millis(100);

pub fn run(args: Args, common: &Common) -> Result<()> {
    let thresholds = Thresholds::with_overrides(&args.threshold);
    let runner = Runner::new()?;
    let probes = BpfProbes::start(common);
    let progress = progress(args.duration);
    let before = Snapshot::take();
    let started = Instant::now();
    let mut runnable = Vec::new();
    runner.run_polling(Some(Duration::from_secs(args.duration)), SAMPLE, || {
        runnable.extend(sources::runnable_now());
        if let Some(bar) = &progress {
            let left = args.duration.saturating_sub(started.elapsed().as_secs());
            bar.set_message(format!("measuring utilization, saturation and errors... {left} s left"));
            bar.tick();
        }
        Ok(())
    })?;
    let elapsed = started.elapsed();
    let after = Snapshot::take();
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let levels = Levels::take(&after.nets);
    let period = Period {
        before: &before,
        after: &after,
        levels: &levels,
        probes: &probes,
        runnable: &runnable,
        elapsed,
        thresholds: &thresholds,
    };
    let cells = period.cells();
    drop(probes);
    let context = render::Context {
        host: output::json::host().to_string(),
        kernel: kernel_release(),
        cpus: levels.online_cpus,
        seconds: elapsed.as_secs_f64(),
    };
    let report = if args.json {
        render::json(&context, &cells)
    } else if args.markdown {
        render::markdown(&context, &cells)
    } else {
        render::text(&context, &cells, colour_wanted())
    };
    output::emit(&report)
}

/// Colour only on a terminal, and never under NO_COLOR (no-color.org).
fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

fn progress(seconds: u64) -> Option<ProgressBar> {
    let bar = output::progress::spinner("use")?;
    bar.set_message(format!("measuring for {seconds} s"));
    Some(bar)
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| format!("{} {}", u.sysname().to_string_lossy(), u.release().to_string_lossy()))
        .unwrap_or_else(|_| "unknown kernel".into())
}
