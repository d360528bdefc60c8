//! `tracer opensnoop`: trace open(), openat() and openat2(), as
//! libbpf-tools' opensnoop, on the syscall tracepoints this kernel has.
//! With -F, relative names are shown with the directory the kernel resolved
//! them from (the cwd, or the directory fd of openat/openat2), read from
//! the kernel's dentries at the open.

use std::path::Path;

use anyhow::{Context, Result};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::{
    opensnoop::{Config, OpenHeader, OpenOffsets, PATH_OFFSET},
    paths::{PathOffsets, dir_state},
};

use super::{paths::WalkedPath, syscall_tracepoints};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{btf::KernelBtf, privileges, process, tracefs},
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "opensnoop";

/// Trace open family syscalls.
///
/// Examples:
///   tracer opensnoop           # trace all open() syscalls
///   tracer opensnoop -T        # include timestamps
///   tracer opensnoop -U        # include UID
///   tracer opensnoop -x        # only show failed opens
///   tracer opensnoop -p 181    # only trace PID 181
///   tracer opensnoop -t 123    # only trace TID 123
///   tracer opensnoop -u 1000   # only trace UID 1000
///   tracer opensnoop -d 10     # trace for 10 seconds only
///   tracer opensnoop -n main   # only print process names containing "main"
///   tracer opensnoop -e        # show extended fields (flags, mode)
///   tracer opensnoop -F        # show full path for an open file
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Duration to trace (seconds)
    #[arg(short = 'd', long = "duration", value_name = "DURATION", value_parser = duration_arg)]
    pub duration: Option<u64>,
    /// Print extended fields (flags in octal, mode)
    #[arg(short = 'e', long = "extended-fields")]
    pub extended: bool,
    /// Trace process names containing this
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Thread ID to trace
    #[arg(short = 't', long = "tid", value_name = "TID")]
    pub tid: Option<u32>,
    /// Print timestamp (HH:MM:SS)
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// User ID to trace
    #[arg(short = 'u', long = "uid", value_name = "UID", value_parser = clap::value_parser!(u32).range(..u32::MAX as i64))]
    pub uid: Option<u32>,
    /// Print UID
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,
    /// Failed opens only
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Show full path (relative names with the directory they were opened from)
    #[arg(short = 'F', long = "full-path")]
    pub full_path: bool,
    /// One JSON object per open (schema in README)
    #[arg(long)]
    pub json: bool,
}

fn duration_arg(text: &str) -> Result<u64, String> {
    match text.trim().parse::<i64>() {
        Ok(value) if value >= 1 => Ok(value as u64),
        Ok(_) => Err("duration must be at least 1".into()),
        Err(_) => Err("duration must be a whole number of seconds".into()),
    }
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        if let Some(tid) = args.tid
            && !Path::new(&format!("/proc/{tid}")).exists()
        {
            refuse!("no thread with TID {tid}: check it (ps -eL | grep {tid}) and try again");
        }
        let mut config = Config::DEFAULT;
        config.target_tgid = args.pid.unwrap_or(0);
        config.target_tid = args.tid.unwrap_or(0);
        config.target_uid = args.uid.unwrap_or(u32::MAX);
        config.failed_only = u32::from(args.failed);
        config.full_path = u32::from(args.full_path);
        Ok(Self { config })
    }

    /// The plan `tracer doctor` tries: everything, -F included.
    pub fn probe() -> Self {
        let mut config = Config::DEFAULT;
        config.full_path = 1;
        Self { config }
    }
}

/// The open syscalls, by the stem of their programs. `open` is missing on
/// arm64 and riscv64; `openat2` came in 5.6.
const SYSCALLS: [(&str, &str); 3] =
    [("open", "opensnoop_enter_open"), ("openat", "opensnoop_enter_openat"), ("openat2", "opensnoop_enter_openat2")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        // Only -F reads kernel structs; the records carry the rest.
        let btf = if plan.config.full_path != 0 { KernelBtf::for_run(common.btf.as_deref())? } else { None };
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    let names: Vec<&str> = setup.syscalls.iter().map(|(name, _)| *name).collect();
    log::info!("{TOOL}: using {kind} on the {} syscall tracepoints", names.join(", "));
    let mut printer = Printer {
        args: args.clone(),
        time: TimeColumns { clock: args.timestamp, since_start: false, start_ns: events::monotonic_ns() },
    };
    let duration = args.duration.map(std::time::Duration::from_secs);
    event_tool::stream(TOOL, runner, loaded, args.json, duration, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: OpenOffsets,
    paths: PathOffsets,
    /// The open syscalls this kernel has tracepoints for.
    syscalls: Vec<(&'static str, &'static str)>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let present = syscall_tracepoints::available(TOOL, SYSCALLS.iter().map(|(name, _)| *name))?;
    let syscalls: Vec<_> = SYSCALLS.iter().copied().filter(|(name, _)| present.contains(name)).collect();
    let offsets = record_offsets(&syscalls)?;
    let mut paths = PathOffsets::UNRESOLVED;
    if plan.config.full_path != 0 {
        let btf = KernelBtf::required(btf, TOOL, "-F walks the kernel's directory entries")?;
        paths = super::paths::offsets(btf).map_err(|err| user_error!("this kernel cannot serve -F: {err:#}"))?;
    }
    Ok(Setup { config: plan.config, offsets, paths, syscalls })
}

/// Offsets of the syscall records' fields, from tracefs.
fn record_offsets(syscalls: &[(&str, &str)]) -> Result<OpenOffsets> {
    let mut offsets = OpenOffsets::UNRESOLVED;
    for &(name, _) in syscalls {
        let tracepoint = format!("sys_enter_{name}");
        let format = tracefs::tracepoint_format("syscalls", &tracepoint)?;
        let field = |field: &str| tracefs::field(&format, &tracepoint, field).map(|f| f.offset);
        match name {
            "open" => {
                offsets.open_filename = field("filename")?;
                offsets.open_flags = field("flags")?;
                offsets.open_mode = field("mode")?;
            }
            "openat" => {
                offsets.openat_dfd = field("dfd")?;
                offsets.openat_filename = field("filename")?;
                offsets.openat_flags = field("flags")?;
                offsets.openat_mode = field("mode")?;
            }
            _ => {
                offsets.openat2_dfd = field("dfd")?;
                offsets.openat2_filename = field("filename")?;
                offsets.openat2_how = field("how")?;
            }
        }
        offsets.exit_ret = syscall_tracepoints::exit_ret(name)?;
    }
    Ok(offsets)
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
        let object = if ring { bpf::objects::OPENSNOOP } else { bpf::objects::OPENSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("OPENSNOOP_CONFIG", &setup.config, true);
            loader.override_global("OPEN_OFFSETS", &setup.offsets, true);
            loader.override_global("PATH_OFFSETS", &setup.paths, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&(name, stem)| (name, stem.to_owned(), stem.replace("_enter_", "_exit_")))
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the open tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One open as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Open {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub ret: i32,
    pub flags: u32,
    pub mode: u32,
    pub comm: Vec<u8>,
    /// The name as passed to the syscall.
    pub name: Vec<u8>,
    /// With -F: the name with the directory it was resolved from.
    pub full_path: Option<Vec<u8>>,
}

impl Open {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let header = events::decode(bytes.get(..PATH_OFFSET)?, OpenHeader::ZERO);
        let path = WalkedPath::decode(&bytes[PATH_OFFSET..])?;
        let full_path = match path.state {
            dir_state::NONE if path.name.first() == Some(&b'/') => Some(path.name.clone()),
            dir_state::NONE => None,
            _ => Some(path.full()),
        };
        let name = path.name;
        Some(Self {
            timestamp_ns: header.timestamp_ns,
            pid: header.pid,
            tid: header.tid,
            uid: header.uid,
            ret: header.ret,
            flags: header.flags,
            mode: header.mode,
            comm: escape::until_nul(&header.comm).to_vec(),
            name,
            full_path,
        })
    }

    /// (FD, ERR) as libbpf-tools prints them: the fd and 0, or -1 and the errno.
    pub fn fd_err(&self) -> (i32, i32) {
        if self.ret >= 0 { (self.ret, 0) } else { (-1, -self.ret) }
    }
}

#[derive(Serialize)]
struct JsonOpen {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    uid: u32,
    comm: String,
    fd: i32,
    err: i32,
    flags: u32,
    mode: u32,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_path: Option<String>,
}

struct Printer {
    args: Args,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = self.time.header();
        if self.args.print_uid {
            out.push_str(&format!("{:<7} ", "UID"));
        }
        out.push_str(&format!("{:<6} {:<16} {:>3} {:>3} ", "PID", "COMM", "FD", "ERR"));
        if self.args.extended {
            out.push_str(&format!("{:<8} {:<5} ", "FLAGS", "MODE"));
        }
        out.push_str("PATH\n");
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let open = Open::decode(bytes)?;
        if let Some(name) = &self.args.name
            && !open.comm.windows(name.len().max(1)).any(|w| w == name.as_bytes())
        {
            return None;
        }
        Some(if self.args.json { self.json(&open) } else { self.line(&open) })
    }
}

impl Printer {
    fn shown_path<'a>(&self, open: &'a Open) -> &'a [u8] {
        match (&open.full_path, self.args.full_path) {
            (Some(full), true) => full,
            _ => &open.name,
        }
    }

    fn line(&self, open: &Open) -> String {
        let mut out = self.time.cells(open.timestamp_ns);
        if self.args.print_uid {
            out.push_str(&format!("{:<7} ", open.uid));
        }
        let (fd, err) = open.fd_err();
        out.push_str(&format!("{:<6} {:<16} {fd:>3} {err:>3} ", open.pid, escape::for_terminal(&open.comm)));
        if self.args.extended {
            if open.mode == 0 {
                out.push_str(&format!("{:08o} n/a   ", open.flags));
            } else {
                out.push_str(&format!("{:08o} {:04o}  ", open.flags, open.mode));
            }
        }
        out.push_str(&escape::for_terminal(self.shown_path(open)));
        out.push('\n');
        out
    }

    fn json(&self, open: &Open) -> String {
        let (fd, err) = open.fd_err();
        let record = JsonOpen {
            kind: "open",
            pid: open.pid,
            tid: open.tid,
            uid: open.uid,
            comm: escape::for_json(&open.comm),
            fd,
            err,
            flags: open.flags,
            mode: open.mode,
            path: escape::for_json(&open.name),
            full_path: self.args.full_path.then(|| escape::for_json(self.shown_path(open))),
        };
        json::line_at(TOOL, events::wall_time(open.timestamp_ns), &record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_bytes(ret: i32, name: &[u8], dirs: &[&[u8]], state: u32) -> Vec<u8> {
        let mut header = OpenHeader::ZERO;
        header.pid = 7;
        header.ret = ret;
        header.comm[..3].copy_from_slice(b"cat");
        // SAFETY: a plain-data header viewed as bytes.
        let header = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&header).cast::<u8>(), std::mem::size_of::<OpenHeader>())
        };
        let mut bytes = header.to_vec();
        bytes.resize(PATH_OFFSET, 0);
        bytes.extend_from_slice(&crate::tools::fs::paths::tests::path_bytes(name, dirs, state));
        bytes
    }

    #[test]
    fn decodes_fd_errno_and_full_paths() {
        let open = Open::decode(&event_bytes(3, b"/etc/passwd", &[], dir_state::NONE)).unwrap();
        assert_eq!((open.fd_err(), open.name.as_slice()), ((3, 0), b"/etc/passwd".as_slice()));
        assert_eq!(open.full_path.as_deref(), Some(b"/etc/passwd".as_slice()));
        let open = Open::decode(&event_bytes(-2, b"x.txt", &[b"tmp", b"home"], dir_state::COMPLETE)).unwrap();
        assert_eq!(open.fd_err(), (-1, 2));
        assert_eq!(open.full_path.as_deref(), Some(b"/home/tmp/x.txt".as_slice()));
        let open = Open::decode(&event_bytes(4, b"y", &[], dir_state::COMPLETE)).unwrap();
        assert_eq!(open.full_path.as_deref(), Some(b"/y".as_slice()), "cwd is /");
        let open = Open::decode(&event_bytes(4, b"y", &[b"c", b"b"], dir_state::TRUNCATED)).unwrap();
        assert_eq!(open.full_path.as_deref(), Some(b"b/c/y".as_slice()));
        assert!(Open::decode(&event_bytes(4, b"rel", &[], dir_state::NONE)).unwrap().full_path.is_none());
    }
}
