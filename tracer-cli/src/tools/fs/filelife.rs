//! `tracer filelife`: files created and deleted during the run, with their
//! age, as libbpf-tools' filelife. Here creation and deletion come from the
//! syscall tracepoints (opens with O_CREAT, creat, mknod(at), unlink(at));
//! the kernel resolves each file's full path at the call and userspace
//! pairs a deletion with the creation of the same path.

use std::collections::HashMap;

use anyhow::{Context, Result, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::{
    filelife::{Config, LifeHeader, LifeOffsets, Op, PATH_OFFSET, SYSCALLS},
    paths::PathOffsets,
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
    output::{escape, json, time::local_hms_of},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "filelife";

/// Trace the lifespan of short-lived files.
///
/// Examples:
///   tracer filelife             # files created and deleted during the run
///   tracer filelife -F          # show each file's full path
///   tracer filelife -p 123      # only files deleted by PID 123
///   tracer filelife --json      # one JSON object per file
///
/// A file is reported when it is deleted, if it was created during the
/// run: TIME is when it was deleted, AGE(s) how long it lived. Creation is
/// an open with O_CREAT, creat or mknod(at) (an O_CREAT open of a file
/// that already existed counts too); deletion unlink(at). Paths are
/// resolved in the kernel at each call and matched as strings, so a file
/// reached through a symlinked directory on one side only, or renamed in
/// between, is not paired.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Show the file's full path (default: its name)
    #[arg(short = 'F', long = "fullpath")]
    pub full_path: bool,
    /// One JSON object per file (schema in README)
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
    let mut printer = Printer::new(args.json, args.full_path);
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)?;
    printer.report();
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: LifeOffsets,
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

/// Where the records keep arguments 0 to 2 (tracefs); the programs share
/// one set, so every syscall must agree.
fn record_offsets(syscalls: &[&str]) -> Result<LifeOffsets> {
    fn set(slot: &mut u32, value: u32, syscall: &str) -> Result<()> {
        ensure!(*slot == u32::MAX || *slot == value, "sys_{{enter,exit}}_{syscall} keep their fields elsewhere");
        *slot = value;
        Ok(())
    }
    let mut offsets = LifeOffsets::UNRESOLVED;
    for &name in syscalls {
        let args = syscall_tracepoints::enter_args(name)?;
        for (slot, field) in [&mut offsets.arg0, &mut offsets.arg1, &mut offsets.arg2].into_iter().zip(&args) {
            set(slot, field.offset, name)?;
        }
        set(&mut offsets.exit_ret, syscall_tracepoints::exit_ret(name)?, name)?;
    }
    Ok(offsets)
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
        let object = if ring { bpf::objects::FILELIFE } else { bpf::objects::FILELIFE_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("FILELIFE_CONFIG", &setup.config, true);
            loader.override_global("LIFE_OFFSETS", &setup.offsets, true);
            loader.override_global("PATH_OFFSETS", &setup.paths, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&name| (name, format!("filelife_enter_{name}"), "filelife_exit".to_owned()))
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the file tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One creation or deletion as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct LifeCall {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub deleted: bool,
    /// The call certainly created the file (O_EXCL, mknod).
    pub exclusive: bool,
    pub syscall: &'static str,
    pub comm: Vec<u8>,
    pub path: Vec<u8>,
    /// The path was cut short: it cannot be paired.
    pub truncated: bool,
}

impl LifeCall {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let header = events::decode(bytes.get(..PATH_OFFSET)?, LifeHeader::ZERO);
        let walked = WalkedPath::decode(&bytes[PATH_OFFSET..])?;
        let (syscall, _) = *SYSCALLS.get(header.syscall as usize)?;
        Some(Self {
            timestamp_ns: header.timestamp_ns,
            pid: header.pid,
            tid: header.tid,
            deleted: header.op == Op::Deleted as u32,
            exclusive: header.exclusive != 0,
            syscall,
            comm: escape::until_nul(&header.comm).to_vec(),
            path: walked.full(),
            truncated: walked.walk_cut() || walked.name_filled_buffer(),
        })
    }
}

/// Files seen created and not yet deleted; beyond this many, the oldest
/// are forgotten (counted and reported).
const TRACKED_FILES: usize = 1 << 20;

/// When and by whom a tracked file was created.
struct Birth {
    timestamp_ns: u64,
    syscall: &'static str,
}

#[derive(Serialize)]
struct JsonLife<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    file: String,
    age_ns: u64,
    created_by: &'a str,
    deleted_by: &'a str,
}

struct Printer {
    json: bool,
    full_path: bool,
    born: HashMap<Vec<u8>, Birth>,
    /// Paths cut short (never paired) and files forgotten for room.
    truncated: u64,
    forgotten: u64,
}

impl Printer {
    fn new(json: bool, full_path: bool) -> Self {
        Self { json, full_path, born: HashMap::new(), truncated: 0, forgotten: 0 }
    }

    fn report(&self) {
        if self.truncated > 0 {
            eprintln!(
                "{TOOL}: {} file paths were cut short (more than 48 directories deep or longer than 8 KiB) \
                 and could not be paired",
                self.truncated
            );
        }
        if self.forgotten > 0 {
            eprintln!("{TOOL}: {} files created but not deleted were forgotten to bound memory", self.forgotten);
        }
    }
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!("{:<8} {:<7} {:<16} {:<7} FILE\n", "TIME", "PID", "COMM", "AGE(s)")
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let call = LifeCall::decode(bytes)?;
        if call.truncated {
            self.truncated += 1;
            return None;
        }
        if !call.deleted {
            // An O_CREAT open of a file already known keeps its birth.
            if call.exclusive || !self.born.contains_key(&call.path) {
                if self.born.len() >= TRACKED_FILES {
                    self.born.clear();
                    self.forgotten += TRACKED_FILES as u64;
                }
                self.born.insert(call.path, Birth { timestamp_ns: call.timestamp_ns, syscall: call.syscall });
            }
            return None;
        }
        let birth = self.born.remove(&call.path)?;
        let age_ns = call.timestamp_ns.saturating_sub(birth.timestamp_ns);
        if self.json {
            let record = JsonLife {
                kind: "file",
                pid: call.pid,
                tid: call.tid,
                comm: escape::for_json(&call.comm),
                file: escape::for_json(&call.path),
                age_ns,
                created_by: birth.syscall,
                deleted_by: call.syscall,
            };
            return Some(json::line_at(TOOL, events::wall_time(call.timestamp_ns), &record));
        }
        let shown =
            if self.full_path { &call.path[..] } else { call.path.rsplit(|&b| b == b'/').next().unwrap_or(&call.path) };
        Some(format!(
            "{:<8} {:<7} {:<16} {:<7.2} {}\n",
            local_hms_of(events::wall_time(call.timestamp_ns)),
            call.pid,
            escape::for_terminal(&call.comm),
            age_ns as f64 / 1e9,
            escape::for_terminal(shown)
        ))
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::fs::{filelife::syscall_index, paths::dir_state};

    use super::*;
    use crate::tools::fs::paths::tests::path_bytes;

    fn event(syscall: &str, at_ns: u64, exclusive: bool, name: &[u8], components: &[&[u8]]) -> Vec<u8> {
        let mut header = LifeHeader::ZERO;
        (header.pid, header.timestamp_ns, header.exclusive) = (7, at_ns, u32::from(exclusive));
        header.syscall = syscall_index(syscall) as u32;
        header.op = if syscall.starts_with("unlink") { Op::Deleted as u32 } else { Op::Created as u32 };
        header.comm[..2].copy_from_slice(b"cc");
        // SAFETY: a plain-data header viewed as bytes.
        let header = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&header).cast::<u8>(), std::mem::size_of::<LifeHeader>())
        };
        let mut bytes = header.to_vec();
        bytes.resize(PATH_OFFSET, 0);
        let state = if components.is_empty() { dir_state::NONE } else { dir_state::COMPLETE };
        bytes.extend_from_slice(&path_bytes(name, components, state));
        bytes
    }

    #[test]
    fn a_deletion_is_paired_with_the_creation_of_the_same_path() {
        let mut printer = Printer::new(false, false);
        let header: Vec<String> = printer.header().split_whitespace().map(str::to_owned).collect();
        assert_eq!(header, ["TIME", "PID", "COMM", "AGE(s)", "FILE"]);
        // Created through its descriptor's walk, deleted by a relative name.
        assert_eq!(printer.event(&event("openat", 1_000_000_000, true, b"", &[b"a.o", b"tmp"])), None);
        let line = printer.event(&event("unlinkat", 1_300_000_000, false, b"a.o", &[b"tmp"])).unwrap();
        let cells: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert_eq!(cells, ["7", "cc", "0.30", "a.o"]);
        assert_eq!(printer.event(&event("unlink", 1_400_000_000, false, b"/tmp/a.o", &[])), None, "once");
        assert_eq!(printer.event(&event("unlink", 1_400_000_000, false, b"/tmp/never", &[])), None);
    }

    #[test]
    fn a_non_exclusive_open_keeps_the_first_birth() {
        let mut printer = Printer::new(false, true);
        printer.event(&event("creat", 1_000_000_000, false, b"", &[b"f", b"tmp"]));
        printer.event(&event("openat", 2_000_000_000, false, b"", &[b"f", b"tmp"]));
        let line = printer.event(&event("unlink", 3_000_000_000, false, b"/tmp/f", &[])).unwrap();
        assert!(line.trim_end().ends_with("2.00    /tmp/f"), "{line}");
    }
}
