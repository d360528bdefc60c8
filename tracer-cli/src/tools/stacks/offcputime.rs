//! `tracer offcputime`: where threads block, and for how long, as
//! libbpf-tools' offcputime: at each context switch the leaving thread's
//! stacks and time are remembered; when it runs again the time it spent off
//! CPU is added to those stacks. Reported in microseconds.

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use inferno::flamegraph::{Palette, color::BasicPalette};
use tracer_common::{
    offsets::{SchedTracepointOffsets, TaskOffsets},
    stacks::{OffcpuConfig, StackFilters, ThreadKind},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
    },
    cli::{Common, IdList, id_list_arg},
    error::{refuse, user_error},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        offsets::{TaskFields, task_offsets},
        privileges, process,
    },
    runner::Runner,
    tools::stack_tool::{self, Presentation, StackOutputArgs},
};

const TOOL: &str = "offcputime";

/// Summarize off-CPU time by stack trace.
///
/// Examples:
///   tracer offcputime             # trace off-CPU stack time until Ctrl-C
///   tracer offcputime 5           # trace for 5 seconds only
///   tracer offcputime -f 5        # 5 seconds, in folded format (microseconds)
///   tracer offcputime --svg off.svg 10  # write a flame graph after 10 seconds
///   tracer offcputime -m 1000     # only trace blocks of 1 ms or more
///   tracer offcputime -M 10000    # only trace blocks shorter than 10 ms
///   tracer offcputime -p 185      # only trace threads of PID 185
///   tracer offcputime -t 188      # only trace thread 188
///   tracer offcputime -u          # only trace user threads (no kernel threads)
///   tracer offcputime -k          # only trace kernel threads
///   tracer offcputime --state 2   # only threads in uninterruptible sleep
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Trace these processes only (comma-separated PIDs)
    #[arg(short = 'p', long = "pid", value_name = "PID", value_parser = id_list_arg)]
    pub pids: Option<IdList>,
    /// Trace these threads only (comma-separated TIDs)
    #[arg(short = 't', long = "tid", value_name = "TID", value_parser = id_list_arg)]
    pub tids: Option<IdList>,
    /// User threads only (no kernel threads)
    #[arg(short = 'u', long = "user-threads-only", conflicts_with = "kernel_threads_only")]
    pub user_threads_only: bool,
    /// Kernel threads only (no user threads)
    #[arg(short = 'k', long = "kernel-threads-only")]
    pub kernel_threads_only: bool,
    /// The minimum time off CPU to count, in microseconds
    #[arg(short = 'm', long = "min-block-time", value_name = "MIN_US", default_value_t = 1)]
    pub min_us: u64,
    /// The maximum time off CPU to count, in microseconds
    #[arg(short = 'M', long = "max-block-time", value_name = "MAX_US")]
    pub max_us: Option<u64>,
    /// Only threads leaving the CPU in this state: 0 = preempted (runnable),
    /// else a bit mask of task states (1 interruptible, 2 uninterruptible)
    #[arg(long, value_name = "STATE")]
    pub state: Option<u32>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
    #[command(flatten)]
    pub output: StackOutputArgs,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: OffcpuConfig,
    pub pids: Option<IdList>,
    pub tids: Option<IdList>,
    pub hooks: Vec<HookKind>,
    pub stack_storage_size: u32,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(IdList(pids)) = &args.pids {
            for &pid in pids {
                process::require_process(pid)?;
            }
        }
        if let Some(IdList(tids)) = &args.tids {
            for &tid in tids {
                process::require_thread(tid)?;
            }
        }
        let min_ns = args.min_us.saturating_mul(1000);
        let max_ns = args.max_us.map_or(u64::MAX, |max| max.saturating_mul(1000));
        if max_ns < min_ns {
            refuse!(
                "-M {} is below -m {}: the maximum block time must be at least the minimum",
                max_ns / 1000,
                args.min_us
            );
        }
        let thread_kind = if args.user_threads_only {
            ThreadKind::User
        } else if args.kernel_threads_only {
            ThreadKind::Kernel
        } else {
            ThreadKind::All
        };
        let config = OffcpuConfig {
            filters: StackFilters {
                filter_pids: u32::from(args.pids.is_some()),
                filter_tids: u32::from(args.tids.is_some()),
                user_stacks: u32::from(!args.output.kernel_stacks_only),
                kernel_stacks: u32::from(!args.output.user_stacks_only),
            },
            thread_kind: thread_kind as u32,
            min_ns,
            max_ns,
            filter_state: u32::from(args.state.is_some()),
            state: args.state.unwrap_or(0),
            ..OffcpuConfig::DEFAULT
        };
        Ok(Self {
            config,
            pids: args.pids.clone(),
            tids: args.tids.clone(),
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
            stack_storage_size: args.output.stack_storage_size,
        })
    }

    /// The plan `tracer doctor` tries: every thread, through `kind`.
    pub fn probe(kind: HookKind) -> Self {
        Self { config: OffcpuConfig::DEFAULT, pids: None, tids: None, hooks: vec![kind], stack_storage_size: 64 }
    }
}

const HOOKS: [TracepointHook; 1] =
    [TracepointHook { category: "sched", name: "sched_switch", program: "offcputime_switch" }];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&plan, &setup)?;
    log::info!("{TOOL}: using {kind} on sched_switch");
    let who = match (&plan.pids, &plan.tids) {
        (Some(pids), _) => format!("PID {pids}"),
        (_, Some(tids)) => format!("TID {tids}"),
        _ if args.user_threads_only => "user threads".to_string(),
        _ if args.kernel_threads_only => "kernel threads".to_string(),
        _ => "all threads".to_string(),
    };
    let header =
        format!("Tracing off-CPU time (us) of {who} by {} stack {}", args.output.stack_kinds(), args.output.until());
    let show = Presentation {
        tool: TOOL,
        header,
        unit: "us",
        divisor: 1000,
        palette: Palette::Basic(BasicPalette::Io),
        hide_hook_frames: true,
        default_title: "Off-CPU Time Flame Graph",
    };
    stack_tool::run(runner, ebpf, &args.output, show)
}

/// Loads offcputime's object and attaches it through the first hook kind of
/// the plan that this kernel accepts.
pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(plan, &prepare(plan, btf)?)
}

/// What loading needs from BTF: task offsets and the switch's arity.
struct Setup {
    config: OffcpuConfig,
    task_offsets: TaskOffsets,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let Some(btf) = btf else {
        refuse!(
            "offcputime needs the kernel's BTF ({} is missing) to read task fields: use a kernel built with \
             CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE",
            crate::kernel::btf::VMLINUX_BTF
        );
    };
    let mut groups = vec![TaskFields::Identity];
    if plan.config.thread_kind != ThreadKind::All as u32 {
        groups.push(TaskFields::Arguments);
    }
    let task_offsets =
        task_offsets(btf, &groups).map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    let mut config = plan.config;
    config.switch_has_prev_state = u32::from(btf.tracepoint_arg_count("sched_switch").unwrap_or(3) >= 4);
    Ok(Setup { config, task_offsets, targets: Some(btf.attach_targets(&hooks::tracepoint_names(&HOOKS), &[])) })
}

fn attach_prepared(plan: &Plan, setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &plan.hooks, |kind| {
        let tracepoint = if kind == HookKind::Tracepoint {
            crate::kernel::offsets::sched_offsets()?
        } else {
            SchedTracepointOffsets::UNRESOLVED
        };
        let mut ebpf = load(plan, setup, &tracepoint)?;
        stack_tool::fill_filters(&mut ebpf, plan.pids.as_ref(), plan.tids.as_ref())?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

fn load(plan: &Plan, setup: &Setup, tracepoint: &SchedTracepointOffsets) -> Result<Ebpf> {
    bpf::load_object(bpf::objects::OFFCPUTIME, |loader: &mut EbpfLoader<'_>| {
        loader.map_max_entries(tracer_common::stacks::STACKS_MAP, plan.stack_storage_size);
        loader.override_global("OFFCPU_CONFIG", &setup.config, true);
        loader.override_global("TASK_OFFSETS", &setup.task_offsets, true);
        loader.override_global("SCHED_TP_OFFSETS", tracepoint, true);
    })
}
