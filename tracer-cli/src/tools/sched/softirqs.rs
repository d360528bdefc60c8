//! `tracer softirqs`: time spent in each softirq vector, as libbpf-tools'
//! softirqs (its flag letters: `-C` adds counts, `-c CPU` traces one CPU).
//! The shared logic is `tools::sched::irqs`.

use anyhow::Result;

use super::irqs::{self, IrqArgs, Kind, Plan};
use crate::cli::Common;

/// Summarize soft irq event time as totals or histograms.
///
/// Flags are libbpf-tools' softirqs': -C adds the event counts (not per
/// CPU: that is --per-cpu), -c CPU traces one CPU.
///
/// Examples:
///   tracer softirqs            # sum soft irq event time
///   tracer softirqs -d         # show soft irq event time as histograms
///   tracer softirqs -C 1 5     # time and counts, 1 second summaries, 5 times
///   tracer softirqs -c 1       # show soft irq event time on cpu 1
///   tracer softirqs --per-cpu  # one row per vector per CPU
///   tracer softirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub irq: IrqArgs,
    /// Show event counts with timing
    #[arg(short = 'C', long = "count", id = "count_column")]
    pub count_column: bool,
    /// Trace this cpu only
    #[arg(short = 'c', long = "cpu", value_name = "CPU")]
    pub cpu: Option<u32>,
    /// Display separately by CPU
    #[arg(long = "per-cpu")]
    pub per_cpu: bool,
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::new(Kind::Soft, &args.irq, args.cpu, args.per_cpu, args.count_column)?;
    irqs::run(plan, &args.irq, common)
}
