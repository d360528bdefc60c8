//! `tracer sigsnoop`: signals sent, with sender, target and result, as
//! libbpf-tools' sigsnoop; `tracer killsnoop` is its kill mode limited to
//! kill(2), with bcc killsnoop's columns and flags. One implementation.

use anyhow::{Context, Result};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::{
    TASK_COMM_LEN,
    offsets::TaskOffsets,
    process::sigsnoop::{Config, SOURCE_GENERATE, SOURCE_KILL, SOURCE_TGKILL, SOURCE_TKILL, SigEvent, SignalOffsets},
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
        offsets::{TaskFields, task_offsets},
        privileges, process, tracefs,
    },
    output::{escape, json, time},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        fs::syscall_tracepoints,
    },
};

/// Trace standard and real-time signals.
///
/// Examples:
///   tracer sigsnoop              # trace signals system-wide
///   tracer sigsnoop -k           # trace signals issued by kill syscalls only
///   tracer sigsnoop -x           # trace failed signals only
///   tracer sigsnoop -p 1216      # only trace PID 1216
///   tracer sigsnoop -s 1,9,15    # trace signal 1, 9, 15
///   tracer sigsnoop -s USR1 -n   # trace SIGUSR1, print signal names
///
/// PID and COMM are the sender (the task running when the signal was
/// generated: for SIGCHLD, the exiting child), TPID and TCOMM the target
/// thread. RESULT is the kernel's verdict on the signal (signal_generate's
/// `result`): 0 delivered (queued), 1 ignored, 2 already pending, 3 queue
/// overflow (a real-time signal lost), 4 delivered without its siginfo.
/// libbpf-tools prints signal_generate's `errno` there (si_errno, always 0
/// for kill), so its -x shows nothing; here -x shows results other than 0.
/// With -k, events are kill(2), tkill(2) and tgkill(2) calls, as
/// libbpf-tools' -k, and RESULT is the call's return (0 or -errno, e.g. -3
/// for ESRCH): a kill of a missing PID is seen only there.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Trace failed signals only
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Trace signals issued by kill syscalls (kill, tkill, tgkill) only
    #[arg(short = 'k', long = "kill")]
    pub kill: bool,
    /// Sender process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Signals to trace: numbers (1-64) or names (SIGUSR1, USR1), comma separated
    #[arg(short = 's', long = "signal", value_name = "SIGNAL", value_parser = signal_list_arg)]
    pub signal: Option<u64>,
    /// Output signal name instead of signal number
    #[arg(short = 'n', long = "name")]
    pub name: bool,
    /// Trace senders with this command name only
    #[arg(long = "comm", value_name = "COMM", value_parser = comm_arg)]
    pub comm: Option<[u8; TASK_COMM_LEN]>,
    /// One JSON object per signal (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind for signal_generate instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// Trace signals issued by the kill() syscall.
///
/// Examples:
///   tracer killsnoop           # trace all kill() signals
///   tracer killsnoop -x        # only show failed kills
///   tracer killsnoop -p 181    # only trace PID 181
///   tracer killsnoop -T 189    # only trace target PID 189
///   tracer killsnoop -s 9,15   # only trace signals 9 and 15
///
/// `tracer sigsnoop -k` limited to kill(2) (not tkill or tgkill), as bcc's
/// killsnoop; RESULT is the call's return (0 or -errno).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct KillArgs {
    /// Only show failed kill syscalls
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Trace this PID only which is the sender of signal
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Trace this target PID only which is the receiver of signal
    #[arg(short = 'T', long = "tpid", value_name = "TPID", value_parser = tpid_arg, allow_negative_numbers = true)]
    pub tpid: Option<i32>,
    /// Trace a signal or a signal list: numbers or names (SIGKILL, KILL)
    #[arg(short = 's', long = "signal", value_name = "SIGNAL", value_parser = signal_list_arg)]
    pub signal: Option<u64>,
    /// One JSON object per kill call (schema in README)
    #[arg(long)]
    pub json: bool,
}

/// Parses `-s`: the mask with bit `sig - 1` set per signal.
pub fn signal_list_arg(text: &str) -> Result<u64, String> {
    let mut mask = 0u64;
    for item in text.split(',') {
        let item = item.trim();
        let number = match item.parse::<u32>() {
            Ok(number) => number,
            Err(_) => {
                let upper = item.to_ascii_uppercase();
                let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
                (1..=31u32).find(|&sig| signal_name(sig) == Some(name.as_str())).ok_or_else(|| {
                    format!("invalid signal {item:?}: give a number from 1 to 64 or a name such as SIGUSR1 or USR1")
                })?
            }
        };
        if !(1..=64).contains(&number) {
            return Err(format!("invalid signal {item:?}: signal numbers go from 1 to 64"));
        }
        mask |= 1 << (number - 1);
    }
    Ok(mask)
}

fn comm_arg(text: &str) -> Result<[u8; TASK_COMM_LEN], String> {
    if text.is_empty() || text.len() >= TASK_COMM_LEN || text.contains('\0') {
        return Err(format!("invalid command name {text:?}: the kernel keeps 1 to 15 bytes of it"));
    }
    let mut comm = [0; TASK_COMM_LEN];
    comm[..text.len()].copy_from_slice(text.as_bytes());
    Ok(comm)
}

fn tpid_arg(text: &str) -> Result<i32, String> {
    match text.parse::<i32>() {
        Ok(tpid) if tpid != 0 => Ok(tpid),
        _ => Err(format!("invalid target PID {text:?}: give a process ID (negative: a process group)")),
    }
}

/// `SIGHUP` ... `SIGSYS` for 1-31, as libbpf-tools names them.
pub fn signal_name(sig: u32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get((sig as usize).wrapping_sub(1)).copied()
}

/// The -n column: a name, `SIGNAL-N` for real-time signals (libbpf-tools'
/// spelling), `N/A` for 0.
fn signal_label(sig: i32) -> String {
    match sig {
        0 => "N/A".into(),
        1..=31 => signal_name(sig as u32).unwrap_or("?").into(),
        32..=64 => format!("SIGNAL-{sig}"),
        _ => sig.to_string(),
    }
}

/// signal_generate's `result` (enum trace_signal_result).
fn result_name(result: i32) -> Option<&'static str> {
    ["delivered", "ignored", "already_pending", "overflow_fail", "lose_info"].get(result as usize).copied()
}

/// Which of the two tools, and its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Sigsnoop,
    Killsnoop,
}

impl Flavour {
    const fn tool(self) -> &'static str {
        match self {
            Self::Sigsnoop => "sigsnoop",
            Self::Killsnoop => "killsnoop",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub flavour: Flavour,
    pub config: Config,
    /// The kill syscalls traced (kill mode), or none.
    pub syscalls: Vec<&'static str>,
    /// Whether signal_generate is attached (always, except for killsnoop).
    pub generate: bool,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let mut config = Config::DEFAULT;
        config.signals = args.signal.unwrap_or(0);
        config.target_pid = args.pid.unwrap_or(0);
        config.failed_only = u32::from(args.failed);
        config.kill_mode = u32::from(args.kill);
        if let Some(comm) = args.comm {
            config.filter_comm = 1;
            config.comm = comm;
        }
        // The syscall tracepoints are classic ones; signal_generate, which
        // only names the target then, goes with them.
        let hooks = if args.kill {
            vec![HookKind::Tracepoint]
        } else {
            hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS)
        };
        Ok(Self {
            flavour: Flavour::Sigsnoop,
            config,
            syscalls: if args.kill { vec!["kill", "tkill", "tgkill"] } else { Vec::new() },
            generate: true,
            hooks,
        })
    }

    pub fn from_kill_args(args: &KillArgs) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let mut config = Config::DEFAULT;
        config.signals = args.signal.unwrap_or(0);
        config.target_pid = args.pid.unwrap_or(0);
        config.target_tpid = args.tpid.unwrap_or(0);
        config.failed_only = u32::from(args.failed);
        config.kill_mode = 1;
        Ok(Self {
            flavour: Flavour::Killsnoop,
            config,
            syscalls: vec!["kill"],
            generate: false,
            hooks: vec![HookKind::Tracepoint],
        })
    }

    /// The plans `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self {
            flavour: Flavour::Sigsnoop,
            config: Config::DEFAULT,
            syscalls: Vec::new(),
            generate: true,
            hooks: vec![kind],
        }
    }

    pub fn probe_kill() -> Self {
        let mut config = Config::DEFAULT;
        config.kill_mode = 1;
        Self {
            flavour: Flavour::Killsnoop,
            config,
            syscalls: vec!["kill"],
            generate: false,
            hooks: vec![HookKind::Tracepoint],
        }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    stream(&plan, common, args.json, args.name)
}

pub fn run_kill(args: KillArgs, common: &Common) -> Result<()> {
    let plan = Plan::from_kill_args(&args)?;
    stream(&plan, common, args.json, false)
}

fn stream(plan: &Plan, common: &Common, json: bool, names: bool) -> Result<()> {
    let tool = plan.flavour.tool();
    privileges::require_bpf_privileges(tool)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    let mut on = Vec::new();
    if plan.generate {
        on.push("signal:signal_generate".to_owned());
    }
    on.extend(plan.syscalls.iter().map(|name| format!("syscalls:sys_enter_{name}/sys_exit_{name}")));
    log::info!("{tool}: using {kind} on {}, {} buffer", on.join(", "), if setup.ring { "ring" } else { "perf" });
    let pid_width = std::fs::read_to_string("/proc/sys/kernel/pid_max").map_or(6, |max| max.trim().len() + 1);
    let mut printer = Printer { flavour: plan.flavour, json, names, pid_width };
    event_tool::stream(tool, runner, loaded, json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    tool: &'static str,
    config: Config,
    offsets: SignalOffsets,
    task: TaskOffsets,
    generate: bool,
    syscall_hooks: Vec<TracepointHook>,
    kinds: Vec<HookKind>,
    ring: bool,
    targets: Option<AttachTargets>,
}

const GENERATE_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "signal", name: "signal_generate", program: "sigsnoop_generate" }];

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let tool = plan.flavour.tool();
    let mut offsets = SignalOffsets::UNRESOLVED;
    let mut kinds = plan.hooks.clone();
    let mut task = TaskOffsets::UNRESOLVED;
    let mut targets = None;
    if plan.generate {
        let format = tracefs::tracepoint_format("signal", "signal_generate")
            .map_err(|err| user_error!("{tool} needs the signal:signal_generate tracepoint: {err:#}"))?;
        let field = |name| tracefs::field(&format, "signal_generate", name).map(|field| field.offset);
        offsets.generate_sig = field("sig")?;
        offsets.generate_comm = field("comm")?;
        offsets.generate_pid = field("pid")?;
        offsets.generate_result = field("result")?;
        // tp_btf and raw_tp read the task from the arguments (sig, info,
        // task, group, result): they need its offsets and that prototype.
        let typed = btf.and_then(|btf| {
            let args = btf.tracepoint_arg_count("signal_generate").ok()?;
            if args != 5 {
                log::info!("{tool}: signal_generate has {args} arguments here, not 5: classic tracepoint only");
                return None;
            }
            task_offsets(btf, &[TaskFields::Identity]).ok().map(|task| (btf, task))
        });
        match typed {
            Some((btf, resolved)) => {
                task = resolved;
                targets = Some(btf.attach_targets(&hooks::tracepoint_names(&GENERATE_HOOK), &[]));
            }
            None => kinds.retain(|kind| *kind == HookKind::Tracepoint),
        }
        if kinds.is_empty() {
            return Err(user_error!(
                "{tool}: that hook kind needs the kernel's BTF (task_struct) here; use --hook tracepoint"
            ));
        }
    }
    let mut syscall_hooks = Vec::new();
    if !plan.syscalls.is_empty() {
        syscall_tracepoints::available(tool, plan.syscalls.iter().copied())?;
        for &name in &plan.syscalls {
            let args = syscall_tracepoints::enter_args(name)?;
            let (pid, sig) = match name {
                "kill" => (&mut offsets.kill_pid, &mut offsets.kill_sig),
                "tkill" => (&mut offsets.tkill_pid, &mut offsets.tkill_sig),
                _ => (&mut offsets.tgkill_pid, &mut offsets.tgkill_sig),
            };
            let first = usize::from(name == "tgkill");
            *pid = syscall_tracepoints::arg_offset(&args, name, first, &["pid"])?;
            *sig = syscall_tracepoints::arg_offset(&args, name, first + 1, &["sig"])?;
            syscall_hooks.push(TracepointHook {
                category: "syscalls",
                name: leak(format!("sys_enter_{name}")),
                program: leak(format!("sigsnoop_{name}")),
            });
        }
        offsets.exit_ret = syscall_tracepoints::shared_exit_ret(&plan.syscalls)?;
        syscall_hooks.extend(syscall_tracepoints::exit_hooks(&plan.syscalls, "sigsnoop_kill_exit"));
    }
    let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
    Ok(Setup { tool, config: plan.config, offsets, task, generate: plan.generate, syscall_hooks, kinds, ring, targets })
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(setup.tool, &setup.kinds, |kind| {
        // The main object has the tp_btf program and a ring buffer; both
        // have the classic tracepoint programs.
        let main = kind == HookKind::TpBtf || (kind == HookKind::Tracepoint && setup.ring);
        let object = if main { bpf::objects::SIGSNOOP } else { bpf::objects::SIGSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("SIGSNOOP_CONFIG", &setup.config, true);
            loader.override_global("SIGNAL_OFFSETS", &setup.offsets, true);
            loader.override_global("TASK_OFFSETS", &setup.task, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        if setup.generate {
            hooks::attach_tracepoints(&mut ebpf, kind, &GENERATE_HOOK, setup.targets.as_ref())?;
        }
        hooks::attach_tracepoints(&mut ebpf, HookKind::Tracepoint, &setup.syscall_hooks, None)
            .context("cannot attach the kill syscalls' tracepoints")?;
        Ok((ebpf, events))
    })
}

#[derive(Serialize)]
struct JsonSignal {
    #[serde(rename = "type")]
    kind: &'static str,
    /// signal_generate, kill, tkill or tgkill.
    source: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    sig: i32,
    signal: Option<&'static str>,
    tpid: i32,
    tcomm: Option<String>,
    result: i32,
    /// signal_generate's verdict (delivered, ignored, ...); null for syscalls.
    result_name: Option<&'static str>,
}

struct Printer {
    flavour: Flavour,
    json: bool,
    names: bool,
    /// bcc killsnoop's PID column width: pid_max's digits + 1.
    pid_width: usize,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        match self.flavour {
            Flavour::Sigsnoop => format!(
                "{:<8} {:<7} {:<16} {:<12} {:<7} {:<16} {:<6}\n",
                "TIME", "PID", "COMM", "SIG", "TPID", "TCOMM", "RESULT"
            ),
            Flavour::Killsnoop => {
                let w = self.pid_width;
                format!("{:<9} {:<w$} {:<16} {:<4} {:<w$} RESULT\n", "TIME", "PID", "COMM", "SIG", "TPID")
            }
        }
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        if bytes.len() < std::mem::size_of::<SigEvent>() {
            return None;
        }
        let event = events::decode(bytes, SigEvent::ZERO);
        let comm = escape::until_nul(&event.comm);
        let tcomm = escape::until_nul(&event.tcomm);
        let when = events::wall_time(event.timestamp_ns);
        if self.json {
            let source = match event.source {
                SOURCE_KILL => "kill",
                SOURCE_TKILL => "tkill",
                SOURCE_TGKILL => "tgkill",
                _ => "signal_generate",
            };
            let record = JsonSignal {
                kind: "signal",
                source,
                pid: event.pid,
                tid: event.tid,
                comm: escape::for_json(comm),
                sig: event.sig,
                signal: u32::try_from(event.sig).ok().and_then(signal_name),
                tpid: event.tpid,
                tcomm: (!tcomm.is_empty()).then(|| escape::for_json(tcomm)),
                result: event.ret,
                result_name: if event.source == SOURCE_GENERATE { result_name(event.ret) } else { None },
            };
            return Some(json::line_at(self.flavour.tool(), when, &record));
        }
        let time = time::local_hms_of(when);
        Some(match self.flavour {
            Flavour::Sigsnoop => {
                let sig = if self.names { signal_label(event.sig) } else { event.sig.to_string() };
                let tcomm = if tcomm.is_empty() { "N/A".to_owned() } else { escape::for_terminal(tcomm) };
                format!(
                    "{:<8} {:<7} {:<16} {:<12} {:<7} {:<16} {:<6}\n",
                    time,
                    event.pid,
                    escape::for_terminal(comm),
                    sig,
                    event.tpid,
                    tcomm,
                    event.ret
                )
            }
            Flavour::Killsnoop => {
                let w = self.pid_width;
                format!(
                    "{:<9} {:<w$} {:<16} {:<4} {:<w$} {}\n",
                    time,
                    event.pid,
                    escape::for_terminal(comm),
                    event.sig,
                    event.tpid,
                    event.ret
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_lists_take_numbers_and_names() {
        assert_eq!(signal_list_arg("1,9,15"), Ok(1 | 1 << 8 | 1 << 14));
        assert_eq!(signal_list_arg("USR1,sigterm"), Ok(1 << 9 | 1 << 14));
        assert_eq!(signal_list_arg("64"), Ok(1 << 63));
        for bad in ["0", "65", "USR3", "", "1,,2"] {
            assert!(signal_list_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_as_libbpf_tools() {
        assert_eq!(signal_label(10), "SIGUSR1");
        assert_eq!(signal_label(34), "SIGNAL-34");
        assert_eq!(signal_label(0), "N/A");
        assert_eq!(result_name(1), Some("ignored"));
        assert!(comm_arg("sixteen-bytes-xx").is_err());
        assert!(tpid_arg("0").is_err());
    }
}
