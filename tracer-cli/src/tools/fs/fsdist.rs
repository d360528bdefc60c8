//! `tracer fsdist -t ext4|xfs|btrfs` (and `ext4dist`, `xfsdist`,
//! `btrfsdist`): file system operation latency histograms, one per
//! operation (read, write, open, fsync, getattr), as libbpf-tools' fsdist.
//! The hook paths are fsslower's (`ops`).

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::fs::{
    fsdist::{Config, OPERATIONS},
    ops::{FsOffsets, op},
};

use super::ops::{self as fs_ops, FileSystem, OpPrograms, Traced, op_programs};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FUNCTION_KINDS, HookKind},
    },
    cli::Common,
    error::user_error,
    hist::report::Owner,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process,
    },
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

const TOOL: &str = "fsdist";

/// Options shared by fsdist and its per-file-system aliases.
#[derive(clap::Args, Debug, Clone)]
pub struct DistArgs {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

/// Summarize file system operation latency (read, write, open, fsync,
/// getattr) as one histogram per operation.
///
/// Examples:
///   tracer fsdist -t ext4             # ext4 operation latency until Ctrl-C
///   tracer fsdist -t xfs 1 10         # xfs, 1 second summaries, 10 times
///   tracer fsdist -t btrfs -m 5       # btrfs, 5 second summaries, in ms
///   tracer fsdist -t ext4 -p 1216     # ext4 operations of PID 1216 only
///   tracer fsdist -t ext4 --save ext4.hlog 60   # also an HdrHistogram log, for `tracer merge`
///
/// getattr is timed on ext4 only (as libbpf-tools' fsdist), and on the
/// syscall path only for stats of an open file (fstat, or statx/newfstatat
/// with AT_EMPTY_PATH). --heatmap is not there yet: heat maps will come
/// with the histogram tools' shared plumbing.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    /// Which file system to trace
    #[arg(short = 't', long = "type", value_name = "FS", value_enum)]
    pub fs: FileSystem,
    #[command(flatten)]
    pub dist: DistArgs,
}

/// Summarize ext4 operation latency as histograms; fsdist -t ext4.
///
/// Examples:
///   tracer ext4dist             # ext4 operation latency until Ctrl-C
///   tracer ext4dist 1 10        # 1 second summaries, 10 times
///   tracer ext4dist -m -p 1216  # milliseconds, PID 1216 only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Ext4Args {
    #[command(flatten)]
    pub dist: DistArgs,
}

/// Summarize xfs operation latency as histograms; fsdist -t xfs.
///
/// Examples:
///   tracer xfsdist              # xfs operation latency until Ctrl-C
///   tracer xfsdist -T 1 10      # 1 second summaries with timestamps, 10 times
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct XfsArgs {
    #[command(flatten)]
    pub dist: DistArgs,
}

/// Summarize btrfs operation latency as histograms; fsdist -t btrfs.
///
/// Examples:
///   tracer btrfsdist            # btrfs operation latency until Ctrl-C
///   tracer btrfsdist -m 5       # 5 second summaries, in milliseconds
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct BtrfsArgs {
    #[command(flatten)]
    pub dist: DistArgs,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub fs: FileSystem,
    pub pid: Option<u32>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn new(fs: FileSystem, args: &DistArgs) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        Ok(Self { fs, pid: args.pid, hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS) })
    }

    /// The plan `tracer doctor` tries: ext4 through `kind`.
    pub fn probe(kind: HookKind) -> Self {
        Self { fs: FileSystem::Ext4, pid: None, hooks: vec![kind] }
    }

    fn traced(&self) -> Traced {
        Traced { fs: self.fs, getattr: self.fs.getattr_function().is_some() }
    }
}

/// fsdist's programs on the three paths.
const PROGRAMS: OpPrograms = op_programs!("fsdist");

const MAP_HIST: &str = "FSDIST_HIST";
const MAP_DROPS: &str = "FSDIST_DROPS";

const LOST_REASONS: &[(&str, &str)] =
    &[("start_map_full", "operations: too many threads inside traced operations for the start map (not timed)")];

pub fn run_ext4(args: Ext4Args, common: &Common) -> Result<()> {
    run(Args { fs: FileSystem::Ext4, dist: args.dist }, common)
}

pub fn run_xfs(args: XfsArgs, common: &Common) -> Result<()> {
    run(Args { fs: FileSystem::Xfs, dist: args.dist }, common)
}

pub fn run_btrfs(args: BtrfsArgs, common: &Common) -> Result<()> {
    run(Args { fs: FileSystem::Btrfs, dist: args.dist }, common)
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::new(args.fs, &args.dist)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} ({})", plan.traced().describe(kind));
    let reporter = HistogramReporter::new(
        TOOL,
        // Operations are slots of the dense array (`dense_slots`); there is no sparse map.
        HistogramMaps { dense: MAP_HIST, sparse: MAP_HIST, drops: MAP_DROPS },
        Some(Operations),
        LOST_REASONS,
        &args.dist.output,
    );
    let banner = format!("Tracing {} operation latency... Hit Ctrl-C to end.\n", plan.fs.name());
    hist_tool::run(runner, ebpf, &banner, &args.dist.output, reporter)
}

/// `operation = 'read'`: the owner of each histogram is its slot.
struct Operations;

impl OwnerLabels for Operations {
    fn owner(&mut self, _ebpf: &Ebpf, slot: u32) -> Owner {
        Owner { field: "operation", id: operation_name(slot).into(), comm: None }
    }

    fn dense_slots(&self) -> u32 {
        OPERATIONS.len() as u32
    }
}

/// The name libbpf-tools prints for a histogram slot.
fn operation_name(slot: u32) -> &'static str {
    match OPERATIONS.get(slot as usize).copied() {
        Some(op::READ) => "read",
        Some(op::WRITE) => "write",
        Some(op::OPEN) => "open",
        Some(op::FSYNC) => "fsync",
        _ => "getattr",
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

/// Everything resolved from BTF that loading needs.
struct Setup {
    traced: Traced,
    config: Config,
    offsets: FsOffsets,
    kinds: Vec<HookKind>,
    /// What loading fentry programs needs of the kernel's BTF.
    targets: AttachTargets,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "follows file descriptors to files through kernel structures")?;
    let offsets = fs_ops::fs_offsets(btf).map_err(|err| user_error!("this kernel cannot serve fsdist: {err:#}"))?;
    Ok(Setup {
        traced: plan.traced(),
        config: Config { target_tgid: plan.pid.unwrap_or(0), magic: plan.fs.magic() },
        offsets,
        kinds: plan.hooks.clone(),
        targets: btf.attach_targets(&[], &plan.fs.all_functions()),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            fs_ops::syscall_offsets(&mut offsets)?;
        }
        let mut ebpf = bpf::load_object(bpf::objects::FSDIST, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("FSDIST_CONFIG", &setup.config, true);
            loader.override_global("FS_OFFSETS", &offsets, true);
        })?;
        fs_ops::attach(&mut ebpf, kind, setup.traced, &PROGRAMS, &setup.targets)?;
        Ok(ebpf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_named_as_libbpf_tools_names_them() {
        let names: Vec<&str> = (0..OPERATIONS.len() as u32).map(operation_name).collect();
        assert_eq!(names, ["read", "write", "open", "fsync", "getattr"]);
        assert_eq!(Operations.dense_slots(), 5);
    }

    #[test]
    fn getattr_is_timed_where_the_file_system_names_a_function() {
        let ext4 = Plan { fs: FileSystem::Ext4, pid: None, hooks: vec![] };
        assert!(ext4.traced().getattr);
        let xfs = Plan { fs: FileSystem::Xfs, pid: None, hooks: vec![] };
        assert!(!xfs.traced().getattr);
        assert!(ext4.traced().describe(HookKind::Fentry).ends_with("ext4_sync_file, ext4_file_getattr"));
        assert!(ext4.traced().describe(HookKind::Tracepoint).contains("statx"));
    }
}
