//! `tracer hardirqs`: time spent in each hard IRQ handler, as
//! libbpf-tools' hardirqs (`-C` per CPU, `-s CPU` one CPU). The shared
//! logic is `tools::sched::irqs`.

use anyhow::Result;

use super::irqs::{self, IrqArgs, Kind, Plan};
use crate::cli::Common;

/// Summarize hard irq event time as totals or histograms.
///
/// One row per IRQ number, named by its (first) handler's name, as
/// /proc/interrupts lists it. MAX is the upper bound of the largest
/// sample's bucket (within 6.25%). libbpf-tools' -c CGROUP is not offered:
/// an interrupt runs in whatever task it interrupted.
///
/// Examples:
///   tracer hardirqs            # sum hard irq event time
///   tracer hardirqs -d         # show hard irq event time as histograms
///   tracer hardirqs 1 10       # print 1 second summaries, 10 times
///   tracer hardirqs -s 1       # only stat irq on cpu 1
///   tracer hardirqs -C         # display separately by CPU
///   tracer hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub irq: IrqArgs,
    /// Display separately by CPU
    #[arg(short = 'C', long = "CPU")]
    pub per_cpu: bool,
    /// Only stat irq on selected cpu
    #[arg(short = 's', long = "cpu", value_name = "CPU")]
    pub cpu: Option<u32>,
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::new(Kind::Hard, &args.irq, args.cpu, args.per_cpu, false)?;
    irqs::run(plan, &args.irq, common)
}
