//! `tracer runqlat`: run-queue (scheduler) latency histograms, as
//! libbpf-tools' runqlat: the time from a task becoming runnable (wakeup,
//! new task, or preempted while still runnable) until it runs.

use std::path::PathBuf;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader, maps::MapType};
use tracer_common::{
    TASK_COMM_LEN,
    offsets::{SchedTracepointOffsets, TaskOffsets},
    sched::runqlat::{Config, Keying},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::Common,
    error::{refuse, user_error},
    hist::report::Owner,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        cgroup::{self, CgroupFilter},
        offsets::{TaskFields, task_offsets},
        privileges, process,
    },
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

const TOOL: &str = "runqlat";

/// Summarize run queue (scheduler) latency as a histogram.
///
/// Examples:
///   tracer runqlat            # summary until Ctrl-C
///   tracer runqlat 1 10       # 1 second summaries, 10 times
///   tracer runqlat -mT 1      # 1s summaries, milliseconds, and timestamps
///   tracer runqlat -P         # show each PID separately
///   tracer runqlat -p 185     # trace PID 185 only
///   tracer runqlat -c CG      # trace process under cgroup v2 path CG
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids", group = "split")]
    pub per_process: bool,
    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids", group = "split")]
    pub per_thread: bool,
    /// Print a histogram per PID namespace
    #[arg(short = 'n', long = "pidnss", group = "split")]
    pub per_pidns: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Trace tasks in this cgroup v2 directory (and its descendants) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub keying: Keying,
    pub target_tgid: Option<u32>,
    pub cgroup: Option<CgroupFilter>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    /// Validates the arguments that name things on this host (PID, cgroup).
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let cgroup = args.cgroup.as_deref().map(cgroup::resolve).transpose()?;
        let keying = if args.per_process {
            Keying::Process
        } else if args.per_thread {
            Keying::Thread
        } else if args.per_pidns {
            Keying::PidNamespace
        } else {
            Keying::Total
        };
        let hooks = hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS);
        Ok(Self { keying, target_tgid: args.pid, cgroup, hooks })
    }

    /// The plan `tracer doctor` tries: whole-system histogram through `kind`.
    pub fn probe(kind: HookKind) -> Self {
        Self { keying: Keying::Total, target_tgid: None, cgroup: None, hooks: vec![kind] }
    }

    /// Whether the run needs fields of the task (classic tracepoint records
    /// carry only pids and comms).
    fn needs_task_fields(&self) -> bool {
        self.target_tgid.is_some()
            || self.cgroup.is_some()
            || matches!(self.keying, Keying::Process | Keying::PidNamespace)
    }
}

/// The tracepoints runqlat hooks, and the stems of their programs.
const HOOKS: [TracepointHook; 3] = [
    TracepointHook { category: "sched", name: "sched_wakeup", program: "runqlat_wakeup" },
    TracepointHook { category: "sched", name: "sched_wakeup_new", program: "runqlat_wakeup_new" },
    TracepointHook { category: "sched", name: "sched_switch", program: "runqlat_switch" },
];

pub(crate) const MAP_HIST: &str = "RUNQLAT_HIST";
const MAP_SPARSE: &str = "RUNQLAT_SPARSE";
const MAP_COMMS: &str = "RUNQLAT_COMMS";
const MAP_DROPS: &str = "RUNQLAT_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("start_map_full", "samples: too many runnable tasks for the wakeup map"),
    ("hist_map_full", "samples: too many processes/threads for the histogram map"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        // Our BTF index is dropped before aya parses its own copy: peak memory.
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on sched_wakeup, sched_wakeup_new, sched_switch");

    let labels = match plan.keying {
        Keying::Total => None,
        Keying::Process => Some(TaskLabels { field: "pid" }),
        Keying::Thread => Some(TaskLabels { field: "tid" }),
        Keying::PidNamespace => Some(TaskLabels { field: "pidns" }),
    };
    let reporter = HistogramReporter::new(
        TOOL,
        HistogramMaps { dense: MAP_HIST, sparse: MAP_SPARSE, drops: MAP_DROPS },
        labels,
        LOST_REASONS,
        &args.output,
    );
    hist_tool::run(runner, ebpf, "Tracing run queue latency... Hit Ctrl-C to end.\n", &args.output, reporter)
}

/// Loads runqlat's object and attaches it through the first hook kind of the
/// plan that this kernel accepts.
pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

/// Everything resolved from BTF and tracefs that loading needs.
struct Setup {
    config: Config,
    task_offsets: TaskOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let tracepoint_offsets = if kind == HookKind::Tracepoint {
            crate::kernel::offsets::sched_offsets()?
        } else {
            SchedTracepointOffsets::UNRESOLVED
        };
        let mut ebpf = load(kind, &setup.config, &setup.task_offsets, &tracepoint_offsets)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// Resolves what the programs need to know (config, offsets) and which hook
/// kinds can serve this plan on this kernel.
fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut config = Config::DEFAULT;
    config.keying = plan.keying as u32;
    config.target_tgid = plan.target_tgid.unwrap_or(0);
    if let Some(cgroup) = plan.cgroup {
        config.filter_cgroup = 1;
        config.cgroup_id = cgroup.id;
        config.cgroup_level = cgroup.level;
    }
    let needs_fields = plan.needs_task_fields();
    let Some(btf) = btf else {
        // Without BTF there are no task offsets: only the classic tracepoint
        // path, which reads pids and comms from the record, can run.
        if needs_fields {
            refuse!(
                "this kernel has no BTF ({} is missing), which -p, -c, -P and --pidnss need: use a kernel \
                 built with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE",
                crate::kernel::btf::VMLINUX_BTF
            );
        }
        if !plan.hooks.contains(&HookKind::Tracepoint) {
            refuse!("--hook tp_btf and raw_tp need the kernel's BTF, which this kernel lacks: use --hook tracepoint");
        }
        return Ok(Setup {
            config,
            task_offsets: TaskOffsets::UNRESOLVED,
            kinds: vec![HookKind::Tracepoint],
            targets: None,
        });
    };
    let mut groups = vec![TaskFields::Identity];
    if plan.keying == Keying::PidNamespace {
        groups.push(TaskFields::PidNamespace);
    }
    if plan.cgroup.is_some() {
        groups.push(TaskFields::Cgroup);
    }
    let offsets =
        task_offsets(btf, &groups).map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    // sched_switch gained its prev_state argument in 5.18; before, read the task.
    config.switch_has_prev_state = u32::from(btf.tracepoint_arg_count("sched_switch").unwrap_or(3) >= 4);
    let mut kinds = plan.hooks.clone();
    if needs_fields {
        kinds.retain(|&kind| kind != HookKind::Tracepoint);
        if kinds.is_empty() {
            refuse!(
                "-p, -c, -P and --pidnss need task fields that the classic tracepoint lacks: use --hook tp_btf or raw_tp"
            );
        }
    }
    Ok(Setup {
        config,
        task_offsets: offsets,
        kinds,
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&HOOKS), &[])),
    })
}

/// tp_btf uses the `runqlat` object (task-local storage, 5.11+); raw and
/// classic tracepoints use `runqlat_compat`, which any kernel can create.
fn load(kind: HookKind, config: &Config, task: &TaskOffsets, tracepoint: &SchedTracepointOffsets) -> Result<Ebpf> {
    // One histogram for everything: no per-owner histograms, no comms.
    let unused: &[&'static str] = if config.keying == Keying::Total as u32 { &[MAP_SPARSE, MAP_COMMS] } else { &[] };
    if kind == HookKind::TpBtf {
        return bpf::load_object(bpf::objects::RUNQLAT, |loader: &mut EbpfLoader<'_>| {
            bpf::shrink_unused_maps(loader, unused);
            // aya (0.16) has no typed wrapper for task storage; the kernel side uses it alone.
            loader.allow_unsupported_maps();
            loader.override_global("RUNQLAT_CONFIG", config, true);
            loader.override_global("TASK_OFFSETS", task, true);
        })
        .map_err(|err| {
            // Map creation alone says only EINVAL: name the usual cause, if it is this one.
            if matches!(aya::sys::is_map_supported(MapType::TaskStorage), Ok(false)) {
                err.context(
                    "this kernel lacks BPF task-local storage (BPF_MAP_TYPE_TASK_STORAGE, Linux 5.11+), \
                     which the tp_btf path keeps wakeup times in",
                )
            } else {
                err
            }
        });
    }
    bpf::load_object(bpf::objects::RUNQLAT_COMPAT, |loader: &mut EbpfLoader<'_>| {
        bpf::shrink_unused_maps(loader, unused);
        loader.override_global("RUNQLAT_CONFIG", config, true);
        loader.override_global("TASK_OFFSETS", task, true);
        loader.override_global("SCHED_TP_OFFSETS", tracepoint, true);
    })
}

/// Owners of per-process, per-thread and per-namespace histograms, with the
/// comm the kernel side remembered for each.
struct TaskLabels {
    field: &'static str,
}

impl OwnerLabels for TaskLabels {
    fn owner(&mut self, ebpf: &Ebpf, owner: u32) -> Owner {
        Owner {
            field: self.field,
            id: owner.into(),
            comm: maps::lookup_bytes::<TASK_COMM_LEN>(ebpf, MAP_COMMS, owner).map(Vec::from),
        }
    }

    fn forget(&mut self, ebpf: &mut Ebpf, owners: &[u32]) -> Result<()> {
        maps::delete_u32_keys::<[u8; TASK_COMM_LEN]>(ebpf, MAP_COMMS, owners)
    }
}
