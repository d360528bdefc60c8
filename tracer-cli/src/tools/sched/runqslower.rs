//! `tracer runqslower`: each task whose run-queue wait exceeded a
//! threshold, as libbpf-tools' runqslower, on runqlat's run-queue clock
//! (sched_wakeup, sched_wakeup_new, sched_switch; tp_btf → raw_tp →
//! classic tracepoint).

use anyhow::Result;
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::{
    TASK_COMM_LEN,
    offsets::{SchedTracepointOffsets, TaskOffsets},
    sched::runqslower::{Config, RunqslowerEvent},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        offsets::{TaskFields, task_offsets},
        privileges, process,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "runqslower";

/// Trace high run queue latency: one line per task that waited longer than
/// MIN_US microseconds between becoming runnable and running.
///
/// Examples:
///   tracer runqslower         # trace latency higher than 10000 us (default)
///   tracer runqslower 1000    # trace latency higher than 1000 us
///   tracer runqslower -p 123  # trace pid 123
///   tracer runqslower -t 123  # trace tid 123 (use for threads only)
///   tracer runqslower -c ksof # trace processes with names starting with 'ksof'
///   tracer runqslower -P      # also show previous task name and TID
///
/// 0 reports every wait (as bcc's runqslower; libbpf-tools refuses it).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    /// Minimum run queue latency to trace, in us (default 10000)
    #[arg(value_name = "MIN_US", default_value_t = 10000, value_parser = min_us_arg)]
    pub min_us: u64,
    /// Process PID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Thread TID to trace
    #[arg(short = 't', long = "tid", value_name = "TID")]
    pub tid: Option<u32>,
    /// Filter processes by command name prefix
    #[arg(short = 'c', long = "comm", value_name = "COMM", value_parser = comm_arg)]
    pub comm: Option<String>,
    /// Also show previous task name and TID
    #[arg(short = 'P', long = "previous")]
    pub previous: bool,
    /// One JSON object per event (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// A threshold in whole microseconds (0: every wait).
fn min_us_arg(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(us) if us < u64::MAX / 1000 => Ok(us),
        _ => Err(format!("{text:?} is not a latency in microseconds (a whole number, e.g. 10000)")),
    }
}

/// A comm prefix: 1 to 15 bytes, as the kernel keeps them.
fn comm_arg(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() >= TASK_COMM_LEN || text.contains('\0') {
        return Err(format!(
            "{text:?} is not a command name prefix (1 to {} bytes, as the kernel keeps names)",
            TASK_COMM_LEN - 1
        ));
    }
    Ok(text.to_string())
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub min_us: u64,
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    pub comm: Option<String>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        if let Some(tid) = args.tid {
            process::require_thread(tid)?;
        }
        Ok(Self {
            min_us: args.min_us,
            pid: args.pid,
            tid: args.tid,
            comm: args.comm.clone(),
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self { min_us: 10000, pid: None, tid: None, comm: None, hooks: vec![kind] }
    }
}

/// runqlat's tracepoints, with runqslower's programs.
const HOOKS: [TracepointHook; 3] = [
    TracepointHook { category: "sched", name: "sched_wakeup", program: "runqslower_wakeup" },
    TracepointHook { category: "sched", name: "sched_wakeup_new", program: "runqslower_wakeup_new" },
    TracepointHook { category: "sched", name: "sched_switch", program: "runqslower_switch" },
];

const LOST_REASONS: &[(&str, &str)] = &[("start_map_full", "waits: too many runnable tasks for the wakeup map")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on sched_wakeup, sched_wakeup_new, sched_switch");
    let mut printer = Printer {
        json: args.json,
        previous: args.previous,
        min_us: args.min_us,
        time: TimeColumns { clock: true, since_start: false, start_ns: events::monotonic_ns() },
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    task_offsets: TaskOffsets,
    kinds: Vec<HookKind>,
    targets: Option<AttachTargets>,
}

/// The kernel's threshold: libbpf-tools reports `delta_ns / 1000 > min_us`,
/// i.e. waits of at least (min_us + 1) µs; the programs test `wait > min_ns`.
fn min_ns(min_us: u64) -> u64 {
    if min_us == 0 { 0 } else { (min_us + 1) * 1000 - 1 }
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut config = Config::DEFAULT;
    config.min_ns = min_ns(plan.min_us);
    config.target_tgid = plan.pid.unwrap_or(0);
    config.target_tid = plan.tid.unwrap_or(0);
    if let Some(comm) = &plan.comm {
        config.filter_comm = 1;
        config.comm[..comm.len()].copy_from_slice(comm.as_bytes());
    }
    let Some(btf) = btf else {
        if plan.pid.is_some() {
            refuse!(
                "this kernel has no BTF ({} is missing), which -p needs: use a kernel built with \
                 CONFIG_DEBUG_INFO_BTF=y, pass --btf FILE, or filter threads with -t",
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
    let task_offsets = task_offsets(btf, &[TaskFields::Identity])
        .map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    config.switch_has_prev_state = u32::from(btf.tracepoint_arg_count("sched_switch").unwrap_or(3) >= 4);
    let mut kinds = plan.hooks.clone();
    if plan.pid.is_some() {
        // The classic records carry thread ids, not the process's.
        kinds.retain(|&kind| kind != HookKind::Tracepoint);
        if kinds.is_empty() {
            refuse!(
                "-p needs the task's process id, which the classic tracepoint lacks: use --hook tp_btf or raw_tp \
                 (or -t for one thread)"
            );
        }
    }
    Ok(Setup { config, task_offsets, kinds, targets: Some(btf.attach_targets(&hooks::tracepoint_names(&HOOKS), &[])) })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let tracepoint_offsets = if kind == HookKind::Tracepoint {
            crate::kernel::offsets::sched_offsets()?
        } else {
            SchedTracepointOffsets::UNRESOLVED
        };
        let object = bpf::object_for(kind, bpf::objects::RUNQSLOWER, bpf::objects::RUNQSLOWER_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("RUNQSLOWER_CONFIG", &setup.config, true);
            loader.override_global("TASK_OFFSETS", &setup.task_offsets, true);
            if kind == HookKind::TpBtf {
                // aya (0.16) has no typed wrapper for task storage; the kernel side uses it alone.
                loader.allow_unsupported_maps();
            } else {
                loader.override_global("SCHED_TP_OFFSETS", &tracepoint_offsets, true);
            }
        })
        .map_err(|err| {
            if kind == HookKind::TpBtf && matches!(aya::sys::is_map_supported(MapType::TaskStorage), Ok(false)) {
                err.context(
                    "this kernel lacks BPF task-local storage (BPF_MAP_TYPE_TASK_STORAGE, Linux 5.11+), \
                     which the tp_btf path keeps wakeup times in",
                )
            } else {
                err
            }
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, setup.targets.as_ref())?;
        Ok((ebpf, events))
    })
}

#[derive(Serialize)]
struct JsonWait {
    #[serde(rename = "type")]
    kind: &'static str,
    tid: u32,
    comm: String,
    latency_us: u64,
    latency_ns: u64,
    prev_tid: u32,
    prev_comm: String,
}

struct Printer {
    json: bool,
    previous: bool,
    min_us: u64,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = format!("Tracing run queue latency higher than {} us\n", self.min_us);
        out.push_str(&self.time.header());
        out.push_str(&format!("{:<16} {:<6} {:>14}", "COMM", "TID", "LAT(us)"));
        if self.previous {
            out.push_str(&format!(" {:<16} {:<6}", "PREV COMM", "PREV TID"));
        }
        out.push('\n');
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        if bytes.len() < std::mem::size_of::<RunqslowerEvent>() {
            return None;
        }
        let event = events::decode(bytes, RunqslowerEvent::ZERO);
        let comm = escape::until_nul(&event.comm);
        let prev_comm = escape::until_nul(&event.prev_comm);
        let latency_us = event.latency_ns / 1000;
        if self.json {
            let record = JsonWait {
                kind: "runq",
                tid: event.tid,
                comm: escape::for_json(comm),
                latency_us,
                latency_ns: event.latency_ns,
                prev_tid: event.prev_tid,
                prev_comm: escape::for_json(prev_comm),
            };
            return Some(json::line_at(TOOL, events::wall_time(event.timestamp_ns), &record));
        }
        let mut out = self.time.cells(event.timestamp_ns);
        out.push_str(&format!("{:<16} {:<6} {latency_us:>14}", escape::for_terminal(comm), event.tid));
        if self.previous {
            out.push_str(&format!(" {:<16} {:<6}", escape::for_terminal(prev_comm), event.prev_tid));
        }
        out.push('\n');
        Some(out)
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        LOST_REASONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_libbpf_tools_strictly_greater_in_whole_microseconds() {
        // libbpf-tools: reported iff ns / 1000 > min_us.
        for min_us in [1u64, 1000, 10000] {
            for ns in [min_us * 1000, min_us * 1000 + 999, (min_us + 1) * 1000, (min_us + 1) * 1000 + 1] {
                assert_eq!(ns > min_ns(min_us), ns / 1000 > min_us, "min_us {min_us}, ns {ns}");
            }
        }
        assert_eq!(min_ns(0), 0);
    }

    #[test]
    fn lines_are_libbpf_tools_columns() {
        let mut printer = Printer {
            json: false,
            previous: true,
            min_us: 1000,
            time: TimeColumns { clock: true, since_start: false, start_ns: 0 },
        };
        let header = printer.header();
        assert!(header.starts_with("Tracing run queue latency higher than 1000 us\n"), "{header}");
        assert!(
            header.ends_with("TIME     COMM             TID           LAT(us) PREV COMM        PREV TID\n"),
            "{header:?}"
        );
        let mut event = RunqslowerEvent::ZERO;
        event.latency_ns = 12_345_678;
        event.tid = 42;
        event.prev_tid = 7;
        event.comm[..4].copy_from_slice(b"a\x1bb\0");
        event.prev_comm[..3].copy_from_slice(b"hog");
        // SAFETY: plain data.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<RunqslowerEvent>())
        };
        let line = printer.event(bytes).unwrap();
        assert_eq!(&line[9..], "a\\x1bb           42              12345 hog              7     \n", "{line:?}");
    }
}
