//! `tracer syncsnoop`: trace sync, syncfs, fsync, fdatasync, msync and
//! sync_file_range calls with their latency, as libbpf-tools' syncsnoop
//! (which shows neither the process id nor the latency), on the syscall
//! tracepoints this kernel has.

use anyhow::{Context, Result, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::{
    paths::PathOffsets,
    syncsnoop::{Config, PATH_OFFSET, SYSCALLS, Subject, SyncHeader, SyncOffsets},
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
    output::{escape, json},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "syncsnoop";

/// Trace sync syscalls.
///
/// Examples:
///   tracer syncsnoop            # trace sync syscalls
///   tracer syncsnoop -p 1216    # only trace PID 1216
///   tracer syncsnoop --json     # one JSON object per call
///
/// Traced: sync, syncfs, fsync, fdatasync, msync, sync_file_range (and
/// sync_file_range2 / arm_sync_file_range where the architecture has
/// them). TIME(s) is when the call began, in seconds since boot, as in
/// libbpf-tools; LAT(ms) how long it took (libbpf-tools has no PID or
/// LAT column); ERR the errno (0: success); FILE the descriptor's file
/// (resolved in the kernel at the call), or msync's address range.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
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
        Ok(Self { config: Config { target_tgid: args.pid.unwrap_or(0), _pad: 0 } })
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
    let mut printer = Printer { json: args.json, truncated: 0 };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)?;
    printer.report_truncated();
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: SyncOffsets,
    paths: PathOffsets,
    /// The traced syscalls this kernel has tracepoints for.
    syscalls: Vec<&'static str>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let syscalls = syscall_tracepoints::available(TOOL, SYSCALLS.iter().map(|(name, _)| *name))?;
    let offsets = record_offsets(&syscalls)?;
    let btf = KernelBtf::required(btf, TOOL, "resolves descriptors to files through kernel structures")?;
    let paths = super::paths::offsets(btf).map_err(|err| user_error!("this kernel cannot serve {TOOL}: {err:#}"))?;
    Ok(Setup { config: plan.config, offsets, paths, syscalls })
}

/// Where the records keep the arguments each syscall's subject needs
/// (tracefs); the programs share one set, so every syscall must agree.
fn record_offsets(syscalls: &[&str]) -> Result<SyncOffsets> {
    fn set(slot: &mut u32, value: u32, syscall: &str) -> Result<()> {
        ensure!(*slot == u32::MAX || *slot == value, "sys_{{enter,exit}}_{syscall} keep their fields elsewhere");
        *slot = value;
        Ok(())
    }
    let mut offsets = SyncOffsets::UNRESOLVED;
    for &name in syscalls {
        let args = syscall_tracepoints::enter_args(name)?;
        let arg = |index, names: &[&str]| syscall_tracepoints::arg_offset(&args, name, index, names);
        match SYSCALLS.iter().find(|(syscall, _)| *syscall == name).map(|(_, subject)| *subject) {
            Some(Subject::Everything) => {}
            Some(Subject::Fd) => set(&mut offsets.arg0, arg(0, &["fd"])?, name)?,
            Some(Subject::Mapping) => {
                set(&mut offsets.arg0, arg(0, &["start"])?, name)?;
                set(&mut offsets.arg1, arg(1, &["len"])?, name)?;
            }
            None => unreachable!("{name} comes from SYSCALLS"),
        }
        set(&mut offsets.exit_ret, syscall_tracepoints::exit_ret(name)?, name)?;
    }
    Ok(offsets)
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
        let object = if ring { bpf::objects::SYNCSNOOP } else { bpf::objects::SYNCSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("SYNCSNOOP_CONFIG", &setup.config, true);
            loader.override_global("SYNC_OFFSETS", &setup.offsets, true);
            loader.override_global("PATH_OFFSETS", &setup.paths, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&name| (name, format!("syncsnoop_enter_{name}"), "syncsnoop_exit".to_owned()))
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the sync tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One sync call as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncCall {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ret: i32,
    pub syscall: &'static str,
    pub comm: Vec<u8>,
    /// The descriptor, and the path of its file (Fd subjects).
    pub fd: Option<i32>,
    pub file: Option<Vec<u8>>,
    /// msync's range (start, length).
    pub range: Option<(u64, u64)>,
    /// The file's path was cut short.
    pub truncated: bool,
}

impl SyncCall {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let header = events::decode(bytes.get(..PATH_OFFSET)?, SyncHeader::ZERO);
        let walked = WalkedPath::decode(&bytes[PATH_OFFSET..])?;
        let (syscall, subject) = *SYSCALLS.get(header.syscall as usize)?;
        let on_fd = subject == Subject::Fd;
        // Nothing could be read of the descriptor: it is not open (EBADF).
        let unreadable = walked.components.is_empty() && walked.walk_cut();
        let file = on_fd.then(|| if unreadable { format!("(fd {})", header.fd).into_bytes() } else { walked.full() });
        Some(Self {
            timestamp_ns: header.timestamp_ns,
            latency_ns: header.latency_ns,
            pid: header.pid,
            tid: header.tid,
            ret: header.ret,
            syscall,
            comm: escape::until_nul(&header.comm).to_vec(),
            fd: on_fd.then_some(header.fd),
            file,
            range: (subject == Subject::Mapping).then_some((header.addr, header.len)),
            truncated: on_fd && walked.walk_cut() && !unreadable,
        })
    }

    /// When the call began.
    fn start_ns(&self) -> u64 {
        self.timestamp_ns.saturating_sub(self.latency_ns)
    }

    /// The FILE cell: the file, msync's range, or `-` (sync).
    fn target(&self) -> String {
        match (&self.file, self.range) {
            (Some(file), _) => escape::for_terminal(file),
            (None, Some((addr, len))) => format!("{addr:#x}+{len}"),
            (None, None) => "-".into(),
        }
    }
}

#[derive(Serialize)]
struct JsonSync {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    syscall: &'static str,
    ret: i32,
    latency_ns: u64,
    fd: Option<i32>,
    file: Option<String>,
    addr: Option<u64>,
    len: Option<u64>,
    truncated: bool,
}

struct Printer {
    json: bool,
    /// Paths cut short, reported at the end.
    truncated: u64,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!("{:<18} {:<7} {:<16} {:<16} {:>10} {:>4} FILE\n", "TIME(s)", "PID", "COMM", "CALL", "LAT(ms)", "ERR")
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let call = SyncCall::decode(bytes)?;
        self.truncated += u64::from(call.truncated);
        if self.json {
            let record = JsonSync {
                kind: "sync",
                pid: call.pid,
                tid: call.tid,
                comm: escape::for_json(&call.comm),
                syscall: call.syscall,
                ret: call.ret,
                latency_ns: call.latency_ns,
                fd: call.fd,
                file: call.file.as_deref().map(escape::for_json),
                addr: call.range.map(|(addr, _)| addr),
                len: call.range.map(|(_, len)| len),
                truncated: call.truncated,
            };
            return Some(json::line_at(TOOL, events::wall_time(call.timestamp_ns), &record));
        }
        Some(format!(
            "{:<18.9} {:<7} {:<16} {:<16} {:>10.3} {:>4} {}\n",
            call.start_ns() as f64 / 1e9,
            call.pid,
            escape::for_terminal(&call.comm),
            call.syscall,
            call.latency_ns as f64 / 1e6,
            -call.ret.min(0),
            call.target()
        ))
    }
}

impl Printer {
    fn report_truncated(&self) {
        if self.truncated > 0 {
            eprintln!(
                "{TOOL}: {} file paths were cut short (more than 48 directories deep or longer than 8 KiB; \
                 shown without their leading /, and \"truncated\": true in JSON)",
                self.truncated
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::fs::{paths::dir_state, syncsnoop::syscall_index};

    use super::*;
    use crate::tools::fs::paths::tests::path_bytes;

    fn event(syscall: &str, ret: i32, fd: i32, components: &[&[u8]], state: u32) -> Vec<u8> {
        let mut header = SyncHeader::ZERO;
        (header.pid, header.ret, header.fd) = (7, ret, fd);
        (header.timestamp_ns, header.latency_ns) = (3_000_000_000, 1_500_000);
        (header.addr, header.len) = (0x7000, 4096);
        header.syscall = syscall_index(syscall) as u32;
        header.comm[..2].copy_from_slice(b"db");
        // SAFETY: a plain-data header viewed as bytes.
        let header = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&header).cast::<u8>(), std::mem::size_of::<SyncHeader>())
        };
        let mut bytes = header.to_vec();
        bytes.resize(PATH_OFFSET, 0);
        bytes.extend_from_slice(&path_bytes(b"", components, state));
        bytes
    }

    #[test]
    fn rows_show_the_file_its_latency_and_when_the_call_began() {
        let mut printer = Printer { json: false, truncated: 0 };
        let header: Vec<String> = printer.header().split_whitespace().map(str::to_owned).collect();
        assert_eq!(header, ["TIME(s)", "PID", "COMM", "CALL", "LAT(ms)", "ERR", "FILE"]);
        let line = printer.event(&event("fsync", 0, 3, &[b"wal", b"db"], dir_state::COMPLETE)).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells, ["2.998500000", "7", "db", "fsync", "1.500", "0", "/db/wal"]);
        let line = printer.event(&event("msync", -22, -1, &[], dir_state::NONE)).unwrap();
        assert!(line.trim_end().ends_with("msync                 1.500   22 0x7000+4096"), "{line}");
        let line = printer.event(&event("sync", 0, -1, &[], dir_state::NONE)).unwrap();
        assert!(line.trim_end().ends_with(" -"), "{line}");
        let call = SyncCall::decode(&event("fdatasync", -9, 42, &[], dir_state::TRUNCATED)).unwrap();
        assert_eq!((call.file.as_deref(), call.truncated), (Some(b"(fd 42)".as_slice()), false));
    }
}
