//! `tracer execsnoop`: trace new processes (exec), as libbpf-tools'
//! execsnoop. Arguments are read where the kernel has just copied them into
//! the new process, so they never go missing; failed execs (-x) are read at
//! syscall exit.

use std::path::PathBuf;

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::{
    offsets::TaskOffsets,
    process::execsnoop::{ARGS_OFFSET, Config, ExecHeader, ExecOffsets, MAX_ARGS_LIMIT},
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
        privileges, process, tracefs,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "execsnoop";

/// Trace exec() syscalls: every new program, with its arguments.
///
/// Examples:
///   tracer execsnoop              # trace all exec() syscalls
///   tracer execsnoop -x           # include failed exec()s
///   tracer execsnoop -T           # include time (HH:MM:SS)
///   tracer execsnoop -U           # include UID
///   tracer execsnoop -u 1000      # only trace UID 1000
///   tracer execsnoop -t           # include timestamps
///   tracer execsnoop -q           # add "quotemarks" around arguments
///   tracer execsnoop -n main      # only print command lines containing "main"
///   tracer execsnoop -l tpkg      # only print command where arguments contains "tpkg"
///   tracer execsnoop -P 1234      # only children of process 1234
///   tracer execsnoop -c CG        # trace process under cgroup v2 path CG
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include time column on output (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    pub time: bool,
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Include failed exec()s
    #[arg(short = 'x', long = "fails")]
    pub fails: bool,
    /// Trace this UID only
    #[arg(short = 'u', long = "uid", value_name = "UID")]
    pub uid: Option<u32>,
    /// Add quotemarks (") around arguments
    #[arg(short = 'q', long = "quote")]
    pub quote: bool,
    /// Only print commands whose name (comm) contains NAME
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// Only print commands where an argument contains LINE
    #[arg(short = 'l', long = "line", value_name = "LINE")]
    pub line: Option<String>,
    /// Print UID column
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,
    /// Maximum number of arguments parsed and displayed (1-60)
    #[arg(long = "max-args", value_name = "MAX_ARGS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=MAX_ARGS_LIMIT as i64))]
    pub max_args: u32,
    /// Trace children of this process only
    #[arg(short = 'P', long = "ppid", value_name = "PPID")]
    pub ppid: Option<u32>,
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

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub uid: Option<u32>,
    pub ppid: Option<u32>,
    pub cgroup: Option<CgroupFilter>,
    pub max_args: u32,
    pub failed: bool,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(ppid) = args.ppid {
            process::require_process(ppid)?;
        }
        let cgroup = args.cgroup.as_deref().map(cgroup::resolve).transpose()?;
        Ok(Self {
            uid: args.uid,
            ppid: args.ppid,
            cgroup,
            max_args: args.max_args,
            failed: args.fails,
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self { uid: None, ppid: None, cgroup: None, max_args: 20, failed: true, hooks: vec![kind] }
    }
}

const EXEC_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sched", name: "sched_process_exec", program: "execsnoop_exec" }];

/// Classic syscall tracepoints for failed execs, in both objects.
const FAILED_HOOKS: [TracepointHook; 4] = [
    TracepointHook { category: "syscalls", name: "sys_enter_execve", program: "execsnoop_enter_execve" },
    TracepointHook { category: "syscalls", name: "sys_enter_execveat", program: "execsnoop_enter_execveat" },
    TracepointHook { category: "syscalls", name: "sys_exit_execve", program: "execsnoop_exit_execve" },
    TracepointHook { category: "syscalls", name: "sys_exit_execveat", program: "execsnoop_exit_execveat" },
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!(
        "{TOOL}: using {kind} on sched_process_exec{}",
        if plan.failed { " (+ syscall tracepoints for -x)" } else { "" }
    );

    let mut printer = Printer {
        time: TimeColumns { clock: args.time, since_start: args.timestamp, start_ns: events::monotonic_ns() },
        args: args.clone(),
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

/// Loads and attaches through the first hook kind of the plan that works.
pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    task_offsets: TaskOffsets,
    exec_offsets: ExecOffsets,
    failed: bool,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads arguments through kernel structures")?;
    let mut config = Config::DEFAULT;
    config.target_uid = plan.uid.unwrap_or(u32::MAX);
    config.target_ppid = plan.ppid.unwrap_or(0);
    config.max_args = plan.max_args;
    let mut groups = vec![TaskFields::Identity, TaskFields::Parent, TaskFields::Arguments];
    if let Some(cgroup) = plan.cgroup {
        config.filter_cgroup = 1;
        config.cgroup_id = cgroup.id;
        config.cgroup_level = cgroup.level;
        groups.push(TaskFields::Cgroup);
    }
    let task_offsets =
        task_offsets(btf, &groups).map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    let mut exec_offsets = ExecOffsets::UNRESOLVED;
    exec_offsets.binprm_filename = btf.field("linux_binprm", "filename")?.offset;
    Ok(Setup {
        config,
        task_offsets,
        exec_offsets,
        failed: plan.failed,
        kinds: plan.hooks.clone(),
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&EXEC_HOOK), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut exec_offsets = setup.exec_offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("sched", "sched_process_exec")?;
            exec_offsets.tp_exec_filename = tracefs::field(&format, "sched_process_exec", "filename")?.offset;
        }
        if setup.failed {
            syscall_offsets(&mut exec_offsets)?;
        }
        let object = bpf::object_for(kind, bpf::objects::EXECSNOOP, bpf::objects::EXECSNOOP_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("EXECSNOOP_CONFIG", &setup.config, true);
            loader.override_global("TASK_OFFSETS", &setup.task_offsets, true);
            loader.override_global("EXEC_OFFSETS", &exec_offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &EXEC_HOOK, setup.targets.as_ref())?;
        if setup.failed {
            hooks::attach_tracepoints(&mut ebpf, HookKind::Tracepoint, &FAILED_HOOKS, None)?;
        }
        Ok((ebpf, events))
    })
}

/// Offsets of the execve/execveat syscall records, from tracefs.
fn syscall_offsets(offsets: &mut ExecOffsets) -> Result<()> {
    let execve = tracefs::tracepoint_format("syscalls", "sys_enter_execve")?;
    let execveat = tracefs::tracepoint_format("syscalls", "sys_enter_execveat")?;
    let exit = tracefs::tracepoint_format("syscalls", "sys_exit_execve")?;
    offsets.execve_filename = tracefs::field(&execve, "sys_enter_execve", "filename")?.offset;
    offsets.execve_argv = tracefs::field(&execve, "sys_enter_execve", "argv")?.offset;
    offsets.execveat_filename = tracefs::field(&execveat, "sys_enter_execveat", "filename")?.offset;
    offsets.execveat_argv = tracefs::field(&execveat, "sys_enter_execveat", "argv")?.offset;
    offsets.exit_ret = tracefs::field(&exit, "sys_exit_execve", "ret")?.offset;
    Ok(())
}

/// One exec as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Exec {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub retval: i32,
    pub comm: Vec<u8>,
    /// The executed file name, then argv[1..]: what libbpf-tools prints.
    pub args: Vec<Vec<u8>>,
    pub truncated: bool,
}

impl Exec {
    /// Decodes an event; `max_args` caps the displayed arguments.
    pub fn decode(bytes: &[u8], max_args: u32) -> Option<Self> {
        if bytes.len() < ARGS_OFFSET {
            return None;
        }
        let event = events::decode(bytes, ExecHeader::ZERO);
        let args = bytes.get(ARGS_OFFSET..)?;
        let used = (event.args_len as usize).min(args.len());
        let mut strings = args[..used].split(|&b| b == 0);
        let filename = strings.next().unwrap_or_default().to_vec();
        // Every string ends with a NUL, so the split leaves one empty tail.
        let mut argv: Vec<&[u8]> = strings.collect();
        if argv.last().is_some_and(|tail| tail.is_empty()) {
            argv.pop();
        }
        let mut args = vec![filename];
        args.extend(argv.iter().skip(1).map(|arg| arg.to_vec()));
        let mut truncated = event.args_truncated != 0;
        if args.len() > max_args as usize {
            args.truncate(max_args as usize);
            truncated = true;
        }
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            ppid: event.ppid,
            uid: event.uid,
            retval: event.retval,
            comm: escape::until_nul(&event.comm).to_vec(),
            args,
            truncated,
        })
    }

    /// `-n NAME`: the command name contains NAME; `-l LINE`: some argument contains LINE.
    pub fn wanted(&self, name: Option<&str>, line: Option<&str>) -> bool {
        let contains =
            |haystack: &[u8], needle: &str| haystack.windows(needle.len().max(1)).any(|w| w == needle.as_bytes());
        name.is_none_or(|name| contains(&self.comm, name))
            && line.is_none_or(|line| self.args.iter().any(|arg| contains(arg, line)))
    }
}

#[derive(Serialize)]
struct JsonExec {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    ppid: u32,
    uid: u32,
    comm: String,
    ret: i32,
    args: Vec<String>,
    truncated: bool,
}

struct Printer {
    args: Args,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = self.time.header();
        if self.args.print_uid {
            out.push_str(&format!("{:<6} ", "UID"));
        }
        out.push_str(&format!("{:<16} {:<6} {:<6} {:>3} {}\n", "PCOMM", "PID", "PPID", "RET", "ARGS"));
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let exec = Exec::decode(bytes, self.args.max_args)?;
        if exec.retval != 0 && !self.args.fails {
            return None;
        }
        if !exec.wanted(self.args.name.as_deref(), self.args.line.as_deref()) {
            return None;
        }
        Some(if self.args.json { self.json(&exec) } else { self.line(&exec) })
    }
}

impl Printer {
    fn line(&self, exec: &Exec) -> String {
        let mut out = self.time.cells(exec.timestamp_ns);
        if self.args.print_uid {
            out.push_str(&format!("{:<6} ", exec.uid));
        }
        out.push_str(&format!(
            "{:<16} {:<6} {:<6} {:>3} ",
            escape::for_terminal(&exec.comm),
            exec.pid,
            exec.ppid,
            exec.retval
        ));
        let shown: Vec<String> = exec.args.iter().map(|arg| format_arg(arg, self.args.quote)).collect();
        out.push_str(&shown.join(" "));
        if exec.truncated {
            out.push_str(" ...");
        }
        out.push('\n');
        out
    }

    fn json(&self, exec: &Exec) -> String {
        let record = JsonExec {
            kind: "exec",
            pid: exec.pid,
            ppid: exec.ppid,
            uid: exec.uid,
            comm: escape::for_json(&exec.comm),
            ret: exec.retval,
            args: exec.args.iter().map(|arg| escape::for_json(arg)).collect(),
            truncated: exec.truncated,
        };
        json::line_at(TOOL, events::wall_time(exec.timestamp_ns), &record)
    }
}

/// An argument for the terminal: escaped, and with -q wrapped in double
/// quotes with inner quotes backslashed (as libbpf-tools -q).
fn format_arg(arg: &[u8], quote: bool) -> String {
    let escaped = escape::for_terminal(arg);
    if quote { format!("\"{}\"", escaped.replace('"', "\\\"")) } else { escaped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_bytes(args: &[u8], truncated: bool) -> Vec<u8> {
        let mut header = ExecHeader::ZERO;
        header.timestamp_ns = 42;
        header.pid = 7;
        header.ppid = 1;
        header.comm[..4].copy_from_slice(b"true");
        header.args_len = args.len() as u32;
        header.args_truncated = u32::from(truncated);
        // SAFETY: a plain-data header viewed as bytes.
        let header = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&header).cast::<u8>(), std::mem::size_of::<ExecHeader>())
        };
        let mut bytes = header.to_vec();
        bytes.resize(ARGS_OFFSET, 0);
        bytes.extend_from_slice(args);
        bytes
    }

    #[test]
    fn decodes_filename_then_argv_without_argv0() {
        let exec = Exec::decode(&event_bytes(b"/bin/true\0true\0--flag\0x y\0", false), 20).unwrap();
        assert_eq!(exec.args, vec![b"/bin/true".to_vec(), b"--flag".to_vec(), b"x y".to_vec()]);
        assert_eq!(exec.comm, b"true");
        assert!(!exec.truncated);
        assert_eq!(exec.timestamp_ns, 42);
    }

    #[test]
    fn max_args_and_kernel_truncation_mark_the_event() {
        let exec = Exec::decode(&event_bytes(b"/bin/echo\0echo\0a\0b\0c\0", false), 2).unwrap();
        assert_eq!(exec.args, vec![b"/bin/echo".to_vec(), b"a".to_vec()]);
        assert!(exec.truncated);
        assert!(Exec::decode(&event_bytes(b"/bin/x\0x\0", true), 20).unwrap().truncated);
        assert!(Exec::decode(&[0; 8], 20).is_none());
    }

    #[test]
    fn name_and_line_filters_match_substrings() {
        let exec = Exec::decode(&event_bytes(b"/usr/bin/tpkg\0tpkg\0install\0", false), 20).unwrap();
        assert!(exec.wanted(Some("ru"), None));
        assert!(!exec.wanted(Some("zz"), None));
        assert!(exec.wanted(None, Some("stal")));
        assert!(exec.wanted(None, Some("bin/tp")));
        assert!(!exec.wanted(None, Some("remove")));
    }

    #[test]
    fn arguments_are_escaped_and_quoted() {
        assert_eq!(format_arg(b"a\x1b[31mb", false), "a\\x1b[31mb");
        assert_eq!(format_arg(b"say \"hi\"", true), "\"say \\\"hi\\\"\"");
    }
}
