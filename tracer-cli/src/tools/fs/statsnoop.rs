//! `tracer statsnoop`: trace the stat family (stat, lstat, fstat,
//! newfstatat, statx, statfs, fstatfs, access, faccessat, faccessat2), as
//! libbpf-tools' statsnoop, on the syscall tracepoints this kernel has.
//! What a call referred to is resolved in the kernel at the call: a
//! descriptor's file, or the directory a relative name starts from.

use anyhow::{Context, Result, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::{
    paths::{AT_FDCWD, PathOffsets},
    statsnoop::{Config, PATH_OFFSET, SYSCALLS, Shape, StatHeader, StatOffsets},
};

use super::{paths::WalkedPath, syscall_tracepoints};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, WithEvents},
    },
    cli::Common,
    error::user_error,
    events,
    kernel::{btf::KernelBtf, privileges, process},
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "statsnoop";

/// Trace stat syscalls.
///
/// Examples:
///   tracer statsnoop             # trace all stat syscalls
///   tracer statsnoop -t          # include timestamps
///   tracer statsnoop -s          # include syscall name
///   tracer statsnoop -x          # only show failed stats
///   tracer statsnoop -p 1216     # only trace PID 1216
///
/// Traced: statfs, fstatfs, stat, lstat, fstat, newfstatat, statx, access,
/// faccessat, faccessat2 (SYSCALL shows the kernel's names: newstat, ...).
/// PATH is what the call referred to, resolved in the kernel at the call:
/// for a call on a descriptor (fstat, fstatfs, statx/newfstatat with
/// AT_EMPTY_PATH) the file's own path, for a relative name the directory
/// it starts from (the cwd or the directory descriptor) joined with it.
/// libbpf-tools reads /proc/PID/fd when it prints instead, so its paths
/// for descriptors end in a stray "/", or are empty once the descriptor
/// is closed; this one's are not. Pipes and sockets show as pipe:[INODE]
/// and socket:[INODE], as in /proc/PID/fd.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Only show failed stats
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Include syscall name on output
    #[arg(short = 's', long = "sysname")]
    pub sysname: bool,
    /// One JSON object per call (schema in README)
    #[arg(long)]
    pub json: bool,
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
        let config = Config { target_tgid: args.pid.unwrap_or(0), failed_only: u32::from(args.failed) };
        Ok(Self { config })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe() -> Self {
        Self { config: Config::DEFAULT }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on the {} syscall tracepoints", setup.syscalls.join(", "));
    let mut printer = Printer {
        args: args.clone(),
        time: TimeColumns { clock: false, since_start: args.timestamp, start_ns: events::monotonic_ns() },
        truncated: 0,
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)?;
    printer.report_truncated();
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: StatOffsets,
    paths: PathOffsets,
    /// The traced syscalls this kernel has tracepoints for.
    syscalls: Vec<&'static str>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let syscalls = syscall_tracepoints::available(TOOL, SYSCALLS.iter().map(|(name, _)| *name))?;
    let offsets = record_offsets(&syscalls)?;
    let btf = KernelBtf::required(btf, TOOL, "resolves descriptors and relative names through kernel structures")?;
    let paths = super::paths::offsets(btf).map_err(|err| user_error!("this kernel cannot serve {TOOL}: {err:#}"))?;
    Ok(Setup { config: plan.config, offsets, paths, syscalls })
}

/// Where the records keep the arguments each syscall's shape reads
/// (tracefs); the programs share one set, so every syscall must agree.
fn record_offsets(syscalls: &[&str]) -> Result<StatOffsets> {
    fn set(slot: &mut u32, value: u32, syscall: &str) -> Result<()> {
        ensure!(*slot == u32::MAX || *slot == value, "sys_{{enter,exit}}_{syscall} keep their fields elsewhere");
        *slot = value;
        Ok(())
    }
    let mut offsets = StatOffsets::UNRESOLVED;
    for &name in syscalls {
        let args = syscall_tracepoints::enter_args(name)?;
        let arg = |index, names: &[&str]| syscall_tracepoints::arg_offset(&args, name, index, names);
        match SYSCALLS.iter().find(|(syscall, _)| *syscall == name).map(|(_, shape)| *shape) {
            Some(Shape::Name) => set(&mut offsets.arg0, arg(0, &["filename", "pathname"])?, name)?,
            Some(Shape::Fd) => set(&mut offsets.arg0, arg(0, &["fd"])?, name)?,
            Some(Shape::At { flags }) => {
                set(&mut offsets.arg0, arg(0, &["dfd"])?, name)?;
                set(&mut offsets.arg1, arg(1, &["filename"])?, name)?;
                match flags {
                    Some(2) => set(&mut offsets.arg2, arg(2, &["flag", "flags"])?, name)?,
                    Some(index) => set(&mut offsets.arg3, arg(index as usize, &["flag", "flags"])?, name)?,
                    None => {}
                }
            }
            None => unreachable!("{name} comes from SYSCALLS"),
        }
        set(&mut offsets.exit_ret, syscall_tracepoints::exit_ret(name)?, name)?;
    }
    Ok(offsets)
}

/// Stat calls come in storms (`ls -l`, `find`, a build's dependency scan)
/// far denser than execs: a ring of 8 MiB holds ~60000 events, about
/// 100 ms of the storm BENCHMARKS.md measures, between two 20 ms drains.
const STAT_RING_BYTES: u32 = 8 << 20;

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
        let object = if ring { bpf::objects::STATSNOOP } else { bpf::objects::STATSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("STATSNOOP_CONFIG", &setup.config, true);
            loader.override_global("STAT_OFFSETS", &setup.offsets, true);
            loader.override_global("PATH_OFFSETS", &setup.paths, true);
            if ring {
                loader.map_max_entries(tracer_common::events::EVENTS_MAP, STAT_RING_BYTES);
            }
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&name| (name, format!("statsnoop_enter_{name}"), "statsnoop_exit".to_owned()))
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the stat tracepoints")?;
        Ok((ebpf, events))
    })
}

const ENAMETOOLONG: i32 = 36;

/// One stat-family call as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct StatCall {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ret: i32,
    pub syscall: &'static str,
    pub comm: Vec<u8>,
    /// The name as passed (None for fstat and fstatfs, which take none).
    pub name: Option<Vec<u8>>,
    /// The descriptor the call was made on or relative to (None: the cwd,
    /// or an absolute name).
    pub fd: Option<i32>,
    /// What the call referred to.
    pub path: Vec<u8>,
    /// The path was cut short (walk too deep or too long, name too long).
    pub truncated: bool,
}

impl StatCall {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let header = events::decode(bytes.get(..PATH_OFFSET)?, StatHeader::ZERO);
        let walked = WalkedPath::decode(&bytes[PATH_OFFSET..])?;
        let (syscall, shape) = *SYSCALLS.get(header.syscall as usize)?;
        let fd_used = header.fd_used != 0;
        let fd = (fd_used && header.fd != AT_FDCWD).then_some(header.fd);
        // Nothing could be read of the descriptor: it is not open (EBADF).
        let unreadable = fd_used && walked.name.is_empty() && walked.components.is_empty() && walked.walk_cut();
        let path = if !fd_used {
            walked.name.clone()
        } else if unreadable {
            format!("(fd {})", header.fd).into_bytes()
        } else {
            walked.full()
        };
        let name_cut = walked.name_filled_buffer() && header.ret == -ENAMETOOLONG;
        Some(Self {
            timestamp_ns: header.timestamp_ns,
            pid: header.pid,
            tid: header.tid,
            ret: header.ret,
            syscall,
            comm: escape::until_nul(&header.comm).to_vec(),
            name: (shape != Shape::Fd).then_some(walked.name.clone()),
            fd,
            path,
            truncated: (fd_used && walked.walk_cut() && !unreadable) || name_cut,
        })
    }

    /// (RET, ERR) as libbpf-tools prints them: 0 and 0, or -1 and the errno.
    pub fn ret_err(&self) -> (i32, i32) {
        if self.ret >= 0 { (self.ret, 0) } else { (-1, -self.ret) }
    }
}

#[derive(Serialize)]
struct JsonStat {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    syscall: &'static str,
    ret: i32,
    err: i32,
    path: String,
    name: Option<String>,
    fd: Option<i32>,
    truncated: bool,
}

struct Printer {
    args: Args,
    time: TimeColumns,
    /// Paths cut short, reported at the end.
    truncated: u64,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = self.time.header();
        out.push_str(&format!("{:<7} {:<20} {:<4} {:<4}", "PID", "COMM", "RET", "ERR"));
        if self.args.sysname {
            out.push_str(&format!(" {:<10}", "SYSCALL"));
        }
        out.push_str(" PATH\n");
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let call = StatCall::decode(bytes)?;
        self.truncated += u64::from(call.truncated);
        Some(if self.args.json { json_line(&call) } else { self.line(&call) })
    }
}

impl Printer {
    fn line(&self, call: &StatCall) -> String {
        let mut out = self.time.cells(call.timestamp_ns);
        let (ret, err) = call.ret_err();
        out.push_str(&format!("{:<7} {:<20} {ret:<4} {err:<4}", call.pid, escape::for_terminal(&call.comm)));
        if self.args.sysname {
            out.push_str(&format!(" {:<10}", call.syscall));
        }
        out.push(' ');
        out.push_str(&escape::for_terminal(&call.path));
        out.push('\n');
        out
    }

    fn report_truncated(&self) {
        if self.truncated > 0 {
            eprintln!(
                "{TOOL}: {} path(s) cut short (more than 48 directories deep or longer than 8 KiB; \
                 shown without their leading /, and \"truncated\": true in JSON)",
                self.truncated
            );
        }
    }
}

fn json_line(call: &StatCall) -> String {
    let (ret, err) = call.ret_err();
    let record = JsonStat {
        kind: "stat",
        pid: call.pid,
        tid: call.tid,
        comm: escape::for_json(&call.comm),
        syscall: call.syscall,
        ret,
        err,
        path: escape::for_json(&call.path),
        name: call.name.as_deref().map(escape::for_json),
        fd: call.fd,
        truncated: call.truncated,
    };
    json::line_at(TOOL, events::wall_time(call.timestamp_ns), &record)
}

#[cfg(test)]
mod tests {
    use tracer_common::fs::{paths::dir_state, statsnoop::syscall_index};

    use super::*;
    use crate::tools::fs::paths::tests::path_bytes;

    fn event(syscall: &str, ret: i32, fd: Option<i32>, name: &[u8], dirs: &[&[u8]], state: u32) -> Vec<u8> {
        let mut header = StatHeader::ZERO;
        header.pid = 7;
        header.ret = ret;
        header.syscall = syscall_index(syscall) as u32;
        header.fd_used = u32::from(fd.is_some());
        header.fd = fd.unwrap_or(AT_FDCWD);
        header.comm[..4].copy_from_slice(b"stat");
        // SAFETY: a plain-data header viewed as bytes.
        let header = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&header).cast::<u8>(), std::mem::size_of::<StatHeader>())
        };
        let mut bytes = header.to_vec();
        bytes.resize(PATH_OFFSET, 0);
        bytes.extend_from_slice(&path_bytes(name, dirs, state));
        bytes
    }

    fn decode(bytes: Vec<u8>) -> StatCall {
        StatCall::decode(&bytes).unwrap()
    }

    #[test]
    fn descriptors_show_their_file_without_a_trailing_slash() {
        let call = decode(event("newfstat", 0, Some(3), b"", &[b"data.db", b"srv"], dir_state::COMPLETE));
        assert_eq!((call.path.as_slice(), call.name.as_deref(), call.fd), (b"/srv/data.db".as_slice(), None, Some(3)));
        let call = decode(event("statx", 0, Some(4), b"", &[b"x", b"tmp"], dir_state::COMPLETE));
        assert_eq!((call.path.as_slice(), call.name.as_deref()), (b"/tmp/x".as_slice(), Some(b"".as_slice())));
        assert!(!call.truncated);
    }

    #[test]
    fn relative_names_join_their_directory_and_absolute_ones_stay() {
        let call = decode(event("newstat", -2, Some(AT_FDCWD), b"missing", &[b"home"], dir_state::COMPLETE));
        assert_eq!((call.path.as_slice(), call.ret_err(), call.fd), (b"/home/missing".as_slice(), (-1, 2), None));
        let call = decode(event("newfstatat", 0, Some(5), b"f", &[b"d"], dir_state::COMPLETE));
        assert_eq!((call.path.as_slice(), call.fd), (b"/d/f".as_slice(), Some(5)));
        let call = decode(event("newlstat", 0, None, b"/etc/passwd", &[], dir_state::NONE));
        assert_eq!((call.path.as_slice(), call.syscall, call.fd), (b"/etc/passwd".as_slice(), "newlstat", None));
    }

    #[test]
    fn unreadable_descriptors_and_cut_walks() {
        let call = decode(event("newfstat", -9, Some(99), b"", &[], dir_state::TRUNCATED));
        assert_eq!((call.path.as_slice(), call.truncated), (b"(fd 99)".as_slice(), false));
        let call = decode(event("newfstatat", 0, Some(AT_FDCWD), b"y", &[b"c", b"b"], dir_state::TRUNCATED));
        assert_eq!((call.path.as_slice(), call.truncated), (b"b/c/y".as_slice(), true));
    }

    #[test]
    fn columns_are_libbpf_tools() {
        let args = Args { pid: None, failed: false, timestamp: false, sysname: true, json: false };
        let mut printer =
            Printer { args, time: TimeColumns { clock: false, since_start: false, start_ns: 0 }, truncated: 0 };
        assert_eq!(printer.header(), "PID     COMM                 RET  ERR  SYSCALL    PATH\n");
        let line = printer.event(&event("newstat", -2, None, b"/no\x1bpe", &[], dir_state::NONE)).unwrap();
        assert_eq!(line, "7       stat                 -1   2    newstat    /no\\x1bpe\n");
    }
}
