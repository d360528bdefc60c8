//! `tracer bitesize`: block I/O size histograms per process name, as
//! libbpf-tools' bitesize, attributed to the process that submitted each
//! request and kept in the kernel as sparse per-process histograms.

use std::path::PathBuf;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::{TASK_COMM_LEN, block::RequestFilter};

use super::{FollowArgs, FollowPrograms, Following, disk_dev};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    error::refuse,
    hist::{TableUnit, report::Owner},
    kernel::{btf::KernelBtf, privileges},
    output::escape,
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

const TOOL: &str = "bitesize";

/// Summarize block device I/O size as a histogram per process name.
///
/// Sizes are those of whole requests (after merging), counted for the
/// process that submitted them. libbpf-tools counts the task running at
/// issue (a kworker or whoever flushed a plug) and its -c matches names
/// that merely start with COMM; here -c COMM is the exact name, as
/// documented ("Trace this comm only").
///
/// Examples:
///   tracer bitesize              # summarize block I/O size as a histogram
///   tracer bitesize 1 10         # print 1 second summaries, 10 times
///   tracer bitesize -T 1         # 1s summaries with timestamps
///   tracer bitesize -c fio       # trace fio only
///   tracer bitesize -d sdc       # trace sdc only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Number of outputs
    #[arg(value_parser = count_arg, requires = "interval")]
    pub count: Option<u64>,
    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Trace I/O submitted by processes named exactly COMM only
    #[arg(short = 'c', long = "comm", value_name = "COMM")]
    pub comm: Option<String>,
    /// Trace this disk only (e.g. sda, nvme0n1)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,
    /// One JSON object per histogram per interval (schema in README)
    #[arg(long, conflicts_with = "openmetrics")]
    pub json: bool,
    /// Print OpenMetrics text each interval (cumulative since the start)
    #[arg(long)]
    pub openmetrics: bool,
    /// Also write each interval's histograms to FILE as an HdrHistogram
    /// interval log (combine logs from many hosts with `tracer merge`)
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub follow: FollowArgs,
}

impl Args {
    /// The histogram options every histogram tool shares (sizes: no -m).
    fn histogram_args(&self) -> HistogramArgs {
        HistogramArgs {
            interval: self.interval,
            count: self.count,
            timestamp: self.timestamp,
            milliseconds: false,
            json: self.json,
            openmetrics: self.openmetrics,
            save: self.save.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub filter: RequestFilter,
    pub follow: FollowArgs,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let mut filter = RequestFilter::NONE;
        if let Some(name) = &args.disk {
            filter.filter_dev = 1;
            filter.dev = disk_dev(name)?;
        }
        if let Some(comm) = &args.comm {
            filter.filter_comm = 1;
            filter.comm = comm_filter(comm)?;
        }
        Ok(Self { filter, follow: args.follow.clone() })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self {
            filter: RequestFilter::NONE,
            follow: FollowArgs { hook: Some(kind.name().to_owned()), start_hook: None },
        }
    }
}

/// A process name as the kernel keeps it: at most 15 bytes, NUL-padded.
fn comm_filter(comm: &str) -> Result<[u8; TASK_COMM_LEN]> {
    if comm.is_empty() || comm.len() >= TASK_COMM_LEN {
        refuse!(
            "-c {comm:?}: a process name is 1 to 15 bytes (the kernel keeps no more): pass the name `ps -o comm` shows"
        );
    }
    let mut bytes = [0u8; TASK_COMM_LEN];
    bytes[..comm.len()].copy_from_slice(comm.as_bytes());
    Ok(bytes)
}

const PROGRAMS: FollowPrograms = FollowPrograms {
    start: "bitesize_start",
    getrq: "bitesize_getrq",
    issue: "bitesize_issue",
    complete: "bitesize_complete",
};

const MAP_SPARSE: &str = "BITESIZE_SPARSE";
const MAP_COMMS: &str = "BITESIZE_COMMS";
const MAP_DROPS: &str = "BITESIZE_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("in_flight_full", "I/Os: too many requests in flight for the request map"),
    ("hist_map_full", "I/Os: too many processes for the histogram map"),
    ("comm_map_full", "process names: too many processes for the name map (shown as ?)"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let following = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        Following::prepare(plan.filter, None, &plan.follow, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&following)?;
    log::info!("{TOOL}: using {kind} on {}", following.describe());
    let output = args.histogram_args();
    let mut reporter = HistogramReporter::new(
        TOOL,
        // No whole-system histogram: every I/O has a process (maybe "?").
        HistogramMaps { dense: MAP_SPARSE, sparse: MAP_SPARSE, drops: MAP_DROPS },
        Some(ProcessNames),
        LOST_REASONS,
        &output,
    );
    reporter.unit = TableUnit::Kbytes;
    hist_tool::run(runner, ebpf, "Tracing block device I/O... Hit Ctrl-C to end.\n", &output, reporter)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&Following::prepare(plan.filter, None, &plan.follow, btf)?)
}

fn attach_prepared(following: &Following) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &following.kinds, |kind| {
        let offsets = following.offsets_for(kind)?;
        let mut ebpf = bpf::load_object(bpf::objects::BITESIZE, |loader: &mut EbpfLoader<'_>| {
            following.configure(loader, &offsets);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &following.tracepoints(&PROGRAMS), following.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// `Process Name = dd`: histograms are kept per pid and shown per name.
struct ProcessNames;

impl OwnerLabels for ProcessNames {
    fn owner(&mut self, ebpf: &Ebpf, pid: u32) -> Owner {
        let comm = maps::lookup_bytes::<TASK_COMM_LEN>(ebpf, MAP_COMMS, pid);
        let name = comm.map(|comm| escape::for_json(&comm)).filter(|name| !name.is_empty());
        Owner { field: "comm", id: name.unwrap_or_else(|| "?".into()).into(), comm: None }
    }

    fn forget(&mut self, ebpf: &mut Ebpf, pids: &[u32]) -> Result<()> {
        maps::delete_u32_keys::<[u8; TASK_COMM_LEN]>(ebpf, MAP_COMMS, pids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_filters_are_kernel_names() {
        assert_eq!(&comm_filter("fio").unwrap()[..4], b"fio\0");
        assert_eq!(comm_filter("systemd-journal").unwrap()[14], b'l');
        assert!(comm_filter("systemd-journald").is_err());
        assert!(comm_filter("").is_err());
    }
}
