//! `tracer cpudist`: how long threads run on a CPU each time they get one
//! (or with -O, how long they stay off it), as libbpf-tools' cpudist.

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::{
    TASK_COMM_LEN,
    sched::cpudist::{Config, SwitchOffsets, keying},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::Common,
    error::refuse,
    hist::report::Owner,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process, tracefs,
    },
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

const TOOL: &str = "cpudist";

/// Summarize on-CPU time per task as a histogram.
///
/// Examples:
///   tracer cpudist              # summarize on-CPU time as a histogram
///   tracer cpudist -O           # summarize off-CPU time as a histogram
///   tracer cpudist 1 10         # print 1 second summaries, 10 times
///   tracer cpudist -mT 1        # 1s summaries, milliseconds, and timestamps
///   tracer cpudist -P           # show each PID separately
///   tracer cpudist -p 185       # trace PID 185 only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Measure off-CPU time
    #[arg(short = 'O', long = "offcpu")]
    pub offcpu: bool,
    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids", group = "split")]
    pub per_process: bool,
    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids", group = "split")]
    pub per_thread: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let mut config = Config::DEFAULT;
        config.offcpu = u32::from(args.offcpu);
        config.target_tgid = args.pid.unwrap_or(0);
        config.keying = if args.per_process {
            keying::PROCESS
        } else if args.per_thread {
            keying::THREAD
        } else {
            keying::TOTAL
        };
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

const HOOKS: [TracepointHook; 1] =
    [TracepointHook { category: "sched", name: "sched_switch", program: "cpudist_switch" }];

const MAP_HIST: &str = "CPUDIST_HIST";
const MAP_SPARSE: &str = "CPUDIST_SPARSE";
const MAP_COMMS: &str = "CPUDIST_COMMS";
const MAP_DROPS: &str = "CPUDIST_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("start_map_full", "samples: too many threads for the start-time map"),
    ("hist_map_full", "samples: too many processes/threads for the histogram map"),
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
    log::info!("{TOOL}: using {kind} on sched_switch");
    let labels = match plan.config.keying {
        keying::PROCESS => Some(TaskLabels { field: "pid" }),
        keying::THREAD => Some(TaskLabels { field: "tid" }),
        _ => None,
    };
    let reporter = HistogramReporter::new(
        TOOL,
        HistogramMaps { dense: MAP_HIST, sparse: MAP_SPARSE, drops: MAP_DROPS },
        labels,
        LOST_REASONS,
        &args.output,
    );
    let banner = format!("Tracing {}-CPU time... Hit Ctrl-C to end.\n", if args.offcpu { "off" } else { "on" });
    hist_tool::run(runner, ebpf, &banner, &args.output, reporter)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: SwitchOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut offsets = SwitchOffsets::UNRESOLVED;
    let mut kinds = plan.hooks.clone();
    match btf.map(|btf| btf.field("task_struct", "pid")) {
        Some(Ok(field)) => offsets.task_pid = field.offset,
        // Without BTF only the classic record (next_pid) tells who runs next.
        _ => kinds.retain(|&kind| kind == HookKind::Tracepoint),
    }
    if kinds.is_empty() {
        refuse!("--hook tp_btf and raw_tp need the kernel's BTF, which this kernel lacks: use --hook tracepoint");
    }
    Ok(Setup {
        config: plan.config,
        offsets,
        kinds,
        targets: btf.map(|btf| btf.attach_targets(&hooks::tracepoint_names(&HOOKS), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("sched", "sched_switch")?;
            offsets.tp_next_pid = tracefs::field(&format, "sched_switch", "next_pid")?.offset;
        }
        let unused: &[&'static str] =
            if setup.config.keying == keying::TOTAL { &["CPUDIST_SPARSE", "CPUDIST_COMMS"] } else { &[] };
        let mut ebpf = bpf::load_object(bpf::objects::CPUDIST, |loader: &mut EbpfLoader<'_>| {
            bpf::shrink_unused_maps(loader, unused);
            loader.override_global("CPUDIST_CONFIG", &setup.config, true);
            loader.override_global("CPUDIST_OFFSETS", &offsets, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// `pid = 42 comm` / `tid = 43 comm`, with the comm the kernel side kept.
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
