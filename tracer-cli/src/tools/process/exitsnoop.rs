//! `tracer exitsnoop`: trace process (or thread) exits with their age and
//! exit status, as libbpf-tools' exitsnoop.

use std::path::PathBuf;

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::{
    offsets::TaskOffsets,
    process::exitsnoop::{Config, ExitEvent},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook, WithEvents},
    },
    cli::Common,
    error::user_error,
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        cgroup::{self, CgroupFilter},
        offsets::{TaskFields, task_offsets},
        privileges, process,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "exitsnoop";

/// Trace process termination: who exited, how old it was, and how it ended.
///
/// Examples:
///   tracer exitsnoop              # trace process exits
///   tracer exitsnoop -t           # include timestamps
///   tracer exitsnoop -x           # trace only fails, exclude exit(0)
///   tracer exitsnoop -p 181       # only trace PID 181
///   tracer exitsnoop -T           # trace every thread's exit, not only processes
///   tracer exitsnoop -c CG        # trace process under cgroup v2 path CG
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include timestamp on output (HH:MM:SS)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Trace only non-zero exits (errors and signals)
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Trace every thread's exit, not only processes
    #[arg(short = 'T', long = "threaded")]
    pub threaded: bool,
    /// Trace processes in this cgroup v2 directory (and below) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// One JSON object per event (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub pid: Option<u32>,
    pub threaded: bool,
    pub failed: bool,
    pub cgroup: Option<CgroupFilter>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        Ok(Self {
            pid: args.pid,
            threaded: args.threaded,
            failed: args.failed,
            cgroup: args.cgroup.as_deref().map(cgroup::resolve).transpose()?,
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self { pid: None, threaded: false, failed: false, cgroup: None, hooks: vec![kind] }
    }
}

const EXIT_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sched", name: "sched_process_exit", program: "exitsnoop_exit" }];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on sched_process_exit");
    let mut printer = Printer {
        json: args.json,
        time: TimeColumns { clock: args.timestamp, since_start: false, start_ns: events::monotonic_ns() },
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: TaskOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads exit codes from kernel structures")?;
    let mut config = Config::DEFAULT;
    config.target_tgid = plan.pid.unwrap_or(0);
    config.all_threads = u32::from(plan.threaded);
    config.failed_only = u32::from(plan.failed);
    let mut groups = vec![TaskFields::Identity, TaskFields::Parent, TaskFields::Exit];
    if let Some(cgroup) = plan.cgroup {
        config.filter_cgroup = 1;
        config.cgroup_id = cgroup.id;
        config.cgroup_level = cgroup.level;
        groups.push(TaskFields::Cgroup);
    }
    let offsets =
        task_offsets(btf, &groups).map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    Ok(Setup {
        config,
        offsets,
        kinds: plan.hooks.clone(),
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&EXIT_HOOK), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let object = bpf::object_for(kind, bpf::objects::EXITSNOOP, bpf::objects::EXITSNOOP_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("EXITSNOOP_CONFIG", &setup.config, true);
            loader.override_global("TASK_OFFSETS", &setup.offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &EXIT_HOOK, setup.targets.as_ref())?;
        Ok((ebpf, events))
    })
}

/// How a task ended, from its wait(2) status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Code(u32),
    Signal { signal: u32, core_dumped: bool },
}

impl Status {
    pub fn from_wait_status(status: u32) -> Self {
        let signal = status & 0x7f;
        if signal == 0 {
            Self::Code((status >> 8) & 0xff)
        } else {
            Self::Signal { signal, core_dumped: status & 0x80 != 0 }
        }
    }

    /// `0`, `code 3`, `signal 9 (KILL)`, `signal 11 (SEGV), core dumped`.
    pub fn text(self) -> String {
        match self {
            Self::Code(0) => "0".into(),
            Self::Code(code) => format!("code {code}"),
            Self::Signal { signal, core_dumped } => {
                let name = nix::sys::signal::Signal::try_from(signal as i32)
                    .map(|s| s.as_str().trim_start_matches("SIG").to_owned())
                    .unwrap_or_else(|_| "?".into());
                let core = if core_dumped { ", core dumped" } else { "" };
                format!("signal {signal} ({name}){core}")
            }
        }
    }
}

#[derive(Serialize)]
struct JsonExit {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    ppid: u32,
    tid: u32,
    comm: String,
    age_ns: u64,
    /// exit(2) code, or null when killed by a signal.
    exit_code: Option<u32>,
    signal: Option<u32>,
    core_dumped: bool,
}

struct Printer {
    json: bool,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = self.time.header();
        out.push_str(&format!(
            "{:<16} {:<7} {:<7} {:<7} {:<7} {}\n",
            "PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"
        ));
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        if bytes.len() < std::mem::size_of::<ExitEvent>() {
            return None;
        }
        let event = events::decode(bytes, ExitEvent::ZERO);
        let age_ns = event.timestamp_ns.saturating_sub(event.start_ns);
        let status = Status::from_wait_status(event.exit_code);
        let comm = escape::until_nul(&event.comm);
        if self.json {
            let (exit_code, signal, core_dumped) = match status {
                Status::Code(code) => (Some(code), None, false),
                Status::Signal { signal, core_dumped } => (None, Some(signal), core_dumped),
            };
            let record = JsonExit {
                kind: "exit",
                pid: event.pid,
                ppid: event.ppid,
                tid: event.tid,
                comm: escape::for_json(comm),
                age_ns,
                exit_code,
                signal,
                core_dumped,
            };
            return Some(json::line_at(TOOL, events::wall_time(event.timestamp_ns), &record));
        }
        Some(format!(
            "{}{:<16} {:<7} {:<7} {:<7} {:<7.2} {}\n",
            self.time.cells(event.timestamp_ns),
            escape::for_terminal(comm),
            event.pid,
            event.ppid,
            event.tid,
            age_ns as f64 / 1e9,
            status.text()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_libbpf_tools_prints_them() {
        assert_eq!(Status::from_wait_status(0).text(), "0");
        assert_eq!(Status::from_wait_status(3 << 8).text(), "code 3");
        assert_eq!(Status::from_wait_status(9).text(), "signal 9 (KILL)");
        assert_eq!(Status::from_wait_status(11 | 0x80).text(), "signal 11 (SEGV), core dumped");
        assert_eq!(Status::from_wait_status(11 | 0x80), Status::Signal { signal: 11, core_dumped: true });
    }
}
