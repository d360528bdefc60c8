//! `tracer profile`: CPU profiling by timed sampling, as libbpf-tools'
//! profile: every online CPU is sampled at -F Hz (CPU clock perf events) and
//! the kernel counts samples per thread and pair of stacks; stacks are
//! symbolized once, at the end, into BCC's text, folded lines or an SVG.

use anyhow::Result;
use aya::{
    Ebpf, EbpfLoader,
    programs::{
        PerfEvent,
        perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent},
    },
};
use inferno::flamegraph::{Palette, color::MultiPalette};
use tracer_common::stacks::{ProfileConfig, StackFilters};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind},
    },
    cli::{Common, IdList, id_list_arg},
    error::refuse,
    kernel::{privileges, process},
    runner::Runner,
    tools::stack_tool::{self, Presentation, StackOutputArgs},
};

const TOOL: &str = "profile";
const PROGRAM: &str = "profile_perf";

/// Profile CPU usage by sampling stack traces at a timed interval.
///
/// Examples:
///   tracer profile                 # profile stack traces at 99 Hertz
///   tracer profile -F 999          # profile stack traces at 999 Hertz
///   tracer profile 5               # profile for 5 seconds only
///   tracer profile -f 5            # output in folded format for flame graphs
///   tracer profile --svg cpu.svg 10  # write a flame graph after 10 seconds
///   tracer profile -p 185          # only profile process with PID 185
///   tracer profile -L 185          # only profile thread with TID 185
///   tracer profile -U              # only show user space stacks (no kernel)
///   tracer profile -K              # only show kernel space stacks (no user)
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Profile these processes only (comma-separated PIDs)
    #[arg(short = 'p', long = "pid", value_name = "PID", value_parser = id_list_arg)]
    pub pids: Option<IdList>,
    /// Profile these threads only (comma-separated TIDs)
    #[arg(short = 'L', long = "tid", value_name = "TID", value_parser = id_list_arg)]
    pub tids: Option<IdList>,
    /// Sample frequency, in Hertz (99 avoids lockstep with timer ticks)
    #[arg(short = 'F', long = "frequency", value_name = "HZ", default_value_t = 99,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub frequency: u64,
    /// Include CPU idle stacks
    #[arg(short = 'I', long = "include-idle")]
    pub include_idle: bool,
    /// Sample this CPU only
    #[arg(short = 'C', long = "cpu", value_name = "CPU")]
    pub cpu: Option<u32>,
    #[command(flatten)]
    pub output: StackOutputArgs,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: ProfileConfig,
    pub pids: Option<IdList>,
    pub tids: Option<IdList>,
    pub cpus: Vec<u32>,
    pub frequency: u64,
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
        let online = crate::kernel::online_cpus()?;
        let cpus = match args.cpu {
            Some(cpu) if online.contains(&cpu) => vec![cpu],
            Some(cpu) => {
                refuse!("CPU {cpu} is not online (online: {}): pick one of those with -C", IdList(online.clone()))
            }
            None => online,
        };
        let max_rate = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok());
        if let Some(max) = max_rate
            && args.frequency > max
        {
            refuse!(
                "-F {} is above the kernel's limit of {max} samples per second: lower -F, or raise \
                 kernel.perf_event_max_sample_rate",
                args.frequency
            );
        }
        let filters = StackFilters {
            filter_pids: u32::from(args.pids.is_some()),
            filter_tids: u32::from(args.tids.is_some()),
            user_stacks: u32::from(!args.output.kernel_stacks_only),
            kernel_stacks: u32::from(!args.output.user_stacks_only),
        };
        Ok(Self {
            config: ProfileConfig { filters, include_idle: u32::from(args.include_idle) },
            pids: args.pids.clone(),
            tids: args.tids.clone(),
            cpus,
            frequency: args.frequency,
            stack_storage_size: args.output.stack_storage_size,
        })
    }

    /// The plan `tracer doctor` tries: every CPU, default frequency.
    pub fn probe() -> Result<Self> {
        Ok(Self {
            config: ProfileConfig::DEFAULT,
            pids: None,
            tids: None,
            cpus: crate::kernel::online_cpus()?,
            frequency: 99,
            stack_storage_size: 64,
        })
    }
}

pub fn run(args: Args, _common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let Attached { loaded: ebpf, kind } = attach(&plan)?;
    log::info!("{TOOL}: using {kind} (CPU clock) at {} Hz on {} CPUs", plan.frequency, plan.cpus.len());
    let who = match (&plan.pids, &plan.tids) {
        (Some(pids), _) => format!("PID {pids}"),
        (_, Some(tids)) => format!("TID {tids}"),
        _ => "all threads".to_string(),
    };
    let header = format!(
        "Sampling at {} Hertz of {who} by {} stack {}",
        plan.frequency,
        args.output.stack_kinds(),
        args.output.until()
    );
    let show = Presentation {
        tool: TOOL,
        header,
        unit: "samples",
        divisor: 1,
        palette: Palette::Multi(MultiPalette::Java),
        hide_hook_frames: false,
        default_title: "CPU Flame Graph",
    };
    stack_tool::run(runner, ebpf, &args.output, show)
}

/// Loads the object, fills the filters and opens a sampling event per CPU.
pub fn attach(plan: &Plan) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &[HookKind::PerfEvent], |_| {
        let mut ebpf = load(plan)?;
        stack_tool::fill_filters(&mut ebpf, plan.pids.as_ref(), plan.tids.as_ref())?;
        let program: &mut PerfEvent = ebpf.program_mut(PROGRAM).expect("profile object has its program").try_into()?;
        program.load()?;
        for &cpu in &plan.cpus {
            program.attach(
                PerfEventConfig::Software(SoftwareEvent::CpuClock),
                PerfEventScope::AllProcessesOneCpu { cpu },
                SamplePolicy::Frequency(plan.frequency),
                false,
            )?;
        }
        Ok(ebpf)
    })
}

fn load(plan: &Plan) -> Result<Ebpf> {
    bpf::load_object(bpf::objects::PROFILE, |loader: &mut EbpfLoader<'_>| {
        loader.map_max_entries(tracer_common::stacks::STACKS_MAP, plan.stack_storage_size);
        loader.override_global("PROFILE_CONFIG", &plan.config, true);
    })
}
