//! `tracer biolatency`: block device I/O latency histograms, as
//! libbpf-tools' biolatency: from issue to the driver (or, with -Q, from
//! insertion into the OS queue) to completion.

use std::{collections::HashMap, path::PathBuf};

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::{
    block::biolatency::{BlockOffsets, Config, keying},
    offsets::TaskOffsets,
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
    },
    cli::Common,
    error::{refuse, user_error},
    hist::report::Owner,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        cgroup::{self, CgroupFilter},
        offsets::{TaskFields, task_offsets},
        privileges, tracefs,
    },
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

pub(crate) use super::disk_name;
use super::{disk_dev, request_offsets};

const TOOL: &str = "biolatency";

/// Summarize block device I/O latency as a histogram.
///
/// Examples:
///   tracer biolatency              # summarize block I/O latency as a histogram
///   tracer biolatency 1 10         # print 1 second summaries, 10 times
///   tracer biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
///   tracer biolatency -Q           # include OS queued time in I/O time
///   tracer biolatency -D           # show each disk device separately
///   tracer biolatency -F           # show I/O flags separately
///   tracer biolatency -d sdc       # trace sdc only
///   tracer biolatency -c CG        # trace process under cgroup v2 path CG
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Include OS queued time in I/O time
    #[arg(short = 'Q', long = "queued")]
    pub queued: bool,
    /// Print a histogram per disk device
    #[arg(short = 'D', long = "disks", group = "split")]
    pub per_disk: bool,
    /// Print a histogram per set of I/O flags
    #[arg(short = 'F', long = "flags", group = "split")]
    pub per_flags: bool,
    /// Trace this disk only (e.g. sda, nvme0n1)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,
    /// Trace I/O issued by tasks in this cgroup v2 directory (and below) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub queued: bool,
    pub keying: u32,
    /// (name, dev_t in the kernel's encoding).
    pub disk: Option<(String, u32)>,
    pub cgroup: Option<CgroupFilter>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let keying = if args.per_disk {
            keying::DISK
        } else if args.per_flags {
            keying::FLAGS
        } else {
            keying::TOTAL
        };
        let disk = args.disk.as_deref().map(|name| disk_dev(name).map(|dev| (name.to_owned(), dev))).transpose()?;
        Ok(Self {
            queued: args.queued,
            keying,
            disk,
            cgroup: args.cgroup.as_deref().map(cgroup::resolve).transpose()?,
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { queued: true, keying: keying::TOTAL, disk: None, cgroup: None, hooks: vec![kind] }
    }
}

/// `Write (0x8801)`: the operation of a request's cmd_flags, with the raw
/// flags (their bit positions move between kernels; the operation does not).
pub fn flags_text(flags: u32) -> String {
    let operation = match flags & 0xff {
        0 => "Read",
        1 => "Write",
        2 => "Flush",
        3 => "Discard",
        5 => "SecureErase",
        9 => "WriteZeroes",
        34 => "DrvIn",
        35 => "DrvOut",
        _ => "Other",
    };
    format!("{operation} ({flags:#x})")
}

const MAP_HIST: &str = "BIO_HIST";
pub(crate) const MAP_SPARSE: &str = "BIO_SPARSE";
const MAP_DROPS: &str = "BIO_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("start_map_full", "samples: too many requests in flight for the start map"),
    ("hist_map_full", "samples: too many disks or flag sets for the histogram map"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    log::info!(
        "{TOOL}: using {kind} on block_rq_{}issue, block_rq_complete",
        if plan.queued { "insert, block_rq_" } else { "" }
    );
    let labels = match plan.keying {
        keying::DISK => Some(BlockLabels { per_disk: true, names: HashMap::new() }),
        keying::FLAGS => Some(BlockLabels { per_disk: false, names: HashMap::new() }),
        _ => None,
    };
    let reporter = HistogramReporter::new(
        TOOL,
        HistogramMaps { dense: MAP_HIST, sparse: MAP_SPARSE, drops: MAP_DROPS },
        labels,
        LOST_REASONS,
        &args.output,
    );
    hist_tool::run(runner, ebpf, "Tracing block device I/O... Hit Ctrl-C to end.\n", &args.output, reporter)
}

/// `disk = vda` or `flags = Write (0x8801)`.
struct BlockLabels {
    per_disk: bool,
    names: HashMap<u32, String>,
}

impl OwnerLabels for BlockLabels {
    fn owner(&mut self, _ebpf: &Ebpf, owner: u32) -> Owner {
        if self.per_disk {
            let name = self.names.entry(owner).or_insert_with(|| disk_name(owner)).clone();
            Owner { field: "disk", id: name.into(), comm: None }
        } else {
            Owner { field: "flags", id: flags_text(owner).into(), comm: None }
        }
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: BlockOffsets,
    task_offsets: TaskOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut config = Config::DEFAULT;
    config.queued = u32::from(plan.queued);
    config.keying = plan.keying;
    if let Some((_, dev)) = plan.disk {
        config.filter_dev = 1;
        config.dev = dev;
    }
    let mut kinds = plan.hooks.clone();
    if plan.keying == keying::FLAGS {
        // The classic records carry no flags.
        kinds.retain(|&kind| kind != HookKind::Tracepoint);
    }
    let Some(btf) = btf else {
        if plan.cgroup.is_some() || kinds.is_empty() || !kinds.contains(&HookKind::Tracepoint) {
            refuse!(
                "this kernel has no BTF ({} is missing), which -F, -c and the tp_btf/raw_tp hooks need: \
                 use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE",
                crate::kernel::btf::VMLINUX_BTF
            );
        }
        return Ok(Setup {
            config,
            offsets: BlockOffsets::UNRESOLVED,
            task_offsets: TaskOffsets::UNRESOLVED,
            kinds: vec![HookKind::Tracepoint],
            targets: None,
        });
    };
    if kinds.is_empty() {
        refuse!("-F needs request flags, which the classic tracepoint lacks: use --hook tp_btf or raw_tp");
    }
    let offsets = request_offsets(btf).map_err(|err| user_error!("this kernel cannot serve biolatency: {err:#}"))?;
    let mut cgroup_offsets = TaskOffsets::UNRESOLVED;
    if let Some(cgroup) = plan.cgroup {
        config.filter_cgroup = 1;
        config.cgroup_id = cgroup.id;
        config.cgroup_level = cgroup.level;
        cgroup_offsets = task_offsets(btf, &[TaskFields::Cgroup])
            .map_err(|err| user_error!("this kernel cannot serve -c: {err:#}"))?;
    }
    Ok(Setup {
        config,
        offsets,
        task_offsets: cgroup_offsets,
        kinds,
        targets: Some(btf.attach_targets(&["block_rq_insert", "block_rq_issue", "block_rq_complete"], &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    let mut tracepoints = vec![
        TracepointHook { category: "block", name: "block_rq_issue", program: "biolatency_issue" },
        TracepointHook { category: "block", name: "block_rq_complete", program: "biolatency_complete" },
    ];
    if setup.config.queued != 0 {
        tracepoints.push(TracepointHook { category: "block", name: "block_rq_insert", program: "biolatency_insert" });
    }
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("block", "block_rq_complete")?;
            offsets.tp_dev = tracefs::field(&format, "block_rq_complete", "dev")?.offset;
            offsets.tp_sector = tracefs::field(&format, "block_rq_complete", "sector")?.offset;
        }
        let unused: &[&'static str] = if setup.config.keying == keying::TOTAL { &[MAP_SPARSE] } else { &[] };
        let mut ebpf = bpf::load_object(bpf::objects::BIOLATENCY, |loader: &mut EbpfLoader<'_>| {
            bpf::shrink_unused_maps(loader, unused);
            loader.override_global("BIOLATENCY_CONFIG", &setup.config, true);
            loader.override_global("BLOCK_OFFSETS", &offsets, true);
            loader.override_global("TASK_OFFSETS", &setup.task_offsets, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &tracepoints, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_the_operation() {
        assert_eq!(flags_text(0), "Read (0x0)");
        assert_eq!(flags_text(0x8801), "Write (0x8801)");
        assert_eq!(flags_text(2), "Flush (0x2)");
    }
}
