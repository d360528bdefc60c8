//! `tracer filelife`: files created and deleted during the run, with their
//! age, as libbpf-tools' filelife. Two paths, the first that attaches:
//! fentry/fexit, else kprobes, on libbpf-tools' functions (vfs_create,
//! vfs_open of a created file, security_inode_create, vfs_unlink), where
//! the kernel keeps each creation by its dentry and sends it with the
//! deletion; else the syscall tracepoints (opens that created their file,
//! creat, mknod(at), unlink(at), rename(at)/renameat2). Either way the
//! kernel resolves each file's path and userspace pairs a deletion with the
//! creation of the same path, following renames on the tracepoints.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::{
    filelife::{
        Config, FUNCTIONS, LifeHeader, LifeOffsets, Op, PATH_OFFSET, RENAME_EXCHANGE, SYSCALLS, Shape, call_name,
    },
    paths::PathOffsets,
};

use super::{paths::WalkedPath, syscall_tracepoints};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FUNCTION_KINDS, HookKind, WithEvents},
    },
    cli::Common,
    error::user_error,
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process,
    },
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
///   tracer filelife -p 123      # only files PID 123 created and deleted
///   tracer filelife --json      # one JSON object per file
///
/// A file is reported when it is deleted, if it was created during the
/// run: TIME is when it was deleted, AGE(s) how long it lived, FILE the
/// name it was deleted by. Creation is an open that created its file
/// (O_CREAT on a name that did not exist), creat or mknod(at); deletion is
/// unlink(at), or a rename(at)/renameat2 onto it that replaced it. A file
/// renamed in between keeps its age and is reported under its last name.
/// On fentry/kprobes (libbpf-tools' functions) a creation is matched to
/// its deletion by its dentry in the kernel, renames included; a file
/// replaced by a rename is not seen to end, and -F gives the path from the
/// deleter's cwd's mount (the bare name for a file on another mount). On
/// the syscall tracepoints paths are resolved at each call and matched as
/// strings, so a file reached through a symlinked directory on one side
/// only, or inside a directory renamed in between, is not paired.
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
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
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
        Ok(Self {
            config: Config { target_tgid: args.pid.unwrap_or(0), ..Config::DEFAULT },
            hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS),
        })
    }

    /// The plan `tracer doctor` tries with `kind`.
    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
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
    match kind {
        HookKind::Tracepoint => {
            log::info!("{TOOL}: using {kind} on the {} syscall tracepoints", setup.syscalls.join(", "))
        }
        _ => log::info!("{TOOL}: using {kind} on {}", FUNCTIONS.join(", ")),
    }
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
    kinds: Vec<HookKind>,
    /// The function path's programs, or why it cannot serve this kernel.
    functions: Result<FunctionPrograms, String>,
    ring_buffer: bool,
    offsets: LifeOffsets,
    paths: PathOffsets,
    /// The traced syscalls this kernel has tracepoints for.
    syscalls: Vec<&'static str>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let syscalls = syscall_tracepoints::available(TOOL, SYSCALLS.iter().map(|(name, _)| *name))?;
    let offsets = record_offsets(&syscalls)?;
    let btf = KernelBtf::required(btf, TOOL, "resolves descriptors and relative names through kernel structures")?;
    let cannot = |err: anyhow::Error| user_error!("this kernel cannot serve {TOOL}: {err:#}");
    let paths = super::paths::offsets(btf).map_err(cannot)?;
    let file_mode = btf.field("file", "f_mode").map_err(cannot)?.offset;
    let ring_buffer = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
    let mut kinds = plan.hooks.clone();
    if !ring_buffer {
        // fentry programs live in the ring-buffer object only (kernels with
        // fentry but no ring buffer are 5.5-5.7: kprobes serve them).
        kinds.retain(|&kind| kind != HookKind::Fentry);
    }
    if kinds.is_empty() {
        crate::error::refuse!(
            "--hook fentry needs a kernel with BPF ring buffers (5.8+): use --hook kprobe or tracepoint"
        );
    }
    let functions = if kinds.iter().any(|&kind| kind != HookKind::Tracepoint) {
        FunctionPrograms::of(btf).map_err(|err| format!("{err:#}"))
    } else {
        Err("not asked for".into())
    };
    Ok(Setup { config: Config { file_mode, ..plan.config }, kinds, functions, ring_buffer, offsets, paths, syscalls })
}

/// The function path: each program (by stem; `_fentry`/`_fexit` or
/// `_kprobe`/`_kretprobe` added) and its function. The dentry's position in
/// vfs_create and vfs_unlink comes from their BTF prototypes (5.12 put a
/// user namespace first, 6.3 an idmap), and picks the program built for it.
struct FunctionPrograms {
    programs: Vec<(String, &'static str)>,
    targets: AttachTargets,
}

impl FunctionPrograms {
    fn of(btf: &KernelBtf) -> Result<Self> {
        let params = btf.function_params(&FUNCTIONS);
        let position = |function: &str, param: &str| -> Result<(usize, usize)> {
            let list = params.get(function).with_context(|| format!("{function} is not in the kernel's BTF"))?;
            let at = list
                .iter()
                .position(|name| name == param)
                .with_context(|| format!("{function}({}) has no {param} parameter", list.join(", ")))?;
            Ok((at, list.len()))
        };
        let unread =
            |function: &str, at: usize| anyhow!("{function}'s dentry is its parameter {at}, which no program reads");
        let (create, _) = position("vfs_create", "dentry")?;
        ensure!(create == 1 || create == 2, unread("vfs_create", create));
        let (security, _) = position("security_inode_create", "dentry")?;
        ensure!(security == 1, unread("security_inode_create", security));
        let (path, file) = (position("vfs_open", "path")?.0, position("vfs_open", "file")?.0);
        ensure!((path, file) == (0, 1), "vfs_open's path and file are its parameters {path} and {file}, not 0 and 1");
        let (unlink, count) = position("vfs_unlink", "dentry")?;
        // fexit reads the return after the last parameter (delegated_inode).
        ensure!((unlink == 1 || unlink == 2) && count == unlink + 2, unread("vfs_unlink", unlink));
        Ok(Self {
            programs: vec![
                (format!("filelife_create{create}"), "vfs_create"),
                ("filelife_security_create1".into(), "security_inode_create"),
                ("filelife_open".into(), "vfs_open"),
                (format!("filelife_unlink{unlink}"), "vfs_unlink"),
            ],
            targets: btf.attach_targets(&[], &FUNCTIONS),
        })
    }

    /// Attaches every program through `kind` (fentry: fexit for vfs_unlink;
    /// kprobe: a kretprobe as well for vfs_unlink).
    fn attach(&self, ebpf: &mut aya::Ebpf, kind: HookKind) -> Result<()> {
        let btf = match kind {
            HookKind::Fentry => Some(self.targets.stub_btf()?),
            _ => None,
        };
        for (stem, function) in &self.programs {
            let deletion = *function == "vfs_unlink";
            let names = match (kind, deletion) {
                (HookKind::Fentry, false) => vec![format!("{stem}_fentry")],
                (HookKind::Fentry, true) => vec![format!("{stem}_fexit")],
                (_, false) => vec![format!("{stem}_kprobe")],
                (_, true) => vec![format!("{stem}_kprobe"), "filelife_unlink_kretprobe".to_owned()],
            };
            for name in names {
                hooks::attach_function_program(ebpf, &name, function, btf.as_ref())?;
            }
        }
        Ok(())
    }
}

/// Where the records keep arguments 0 to 4 (tracefs); the programs share
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
        let slots = [&mut offsets.arg0, &mut offsets.arg1, &mut offsets.arg2, &mut offsets.arg3, &mut offsets.arg4];
        for (slot, field) in slots.into_iter().zip(&args) {
            set(slot, field.offset, name)?;
        }
        set(&mut offsets.exit_ret, syscall_tracepoints::exit_ret(name)?, name)?;
    }
    Ok(offsets)
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let object = if setup.ring_buffer { bpf::objects::FILELIFE } else { bpf::objects::FILELIFE_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("FILELIFE_CONFIG", &setup.config, true);
            loader.override_global("LIFE_OFFSETS", &setup.offsets, true);
            loader.override_global("PATH_OFFSETS", &setup.paths, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        if kind != HookKind::Tracepoint {
            let functions = setup.functions.as_ref().map_err(|why| anyhow!("{why}"))?;
            functions.attach(&mut ebpf, kind)?;
            return Ok((ebpf, events));
        }
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&name| {
                let exit = if is_rename(name) { "filelife_exit_rename" } else { "filelife_exit" };
                (name, format!("filelife_enter_{name}"), exit.to_owned())
            })
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the file tracepoints")?;
        Ok((ebpf, events))
    })
}

fn is_rename(syscall: &str) -> bool {
    SYSCALLS.iter().any(|&(name, shape)| name == syscall && matches!(shape, Shape::Rename { .. }))
}

/// One creation, deletion or half of a rename as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct LifeCall {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub op: Op,
    /// renameat2's flags (a `RenamedTo`).
    pub flags: u32,
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
        let syscall = call_name(header.syscall)?;
        let op = [Op::Created, Op::Deleted, Op::RenamedFrom, Op::RenamedTo]
            .into_iter()
            .find(|&op| op as u32 == header.op)?;
        Some(Self {
            timestamp_ns: header.timestamp_ns,
            pid: header.pid,
            tid: header.tid,
            op,
            flags: header.flags,
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
    /// A rename's old path, by thread, until its `RenamedTo` arrives.
    renaming: HashMap<u32, Vec<u8>>,
    /// Paths cut short (never paired) and files forgotten for room.
    truncated: u64,
    forgotten: u64,
}

impl Printer {
    fn new(json: bool, full_path: bool) -> Self {
        Self { json, full_path, born: HashMap::new(), renaming: HashMap::new(), truncated: 0, forgotten: 0 }
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
            // A rename with a cut name cannot be followed.
            self.renaming.remove(&call.tid);
            return None;
        }
        match call.op {
            Op::Created => {
                // Every event is a real creation (the kernel dropped opens of
                // existing files): a path seen before was deleted unseen.
                if self.born.len() >= TRACKED_FILES {
                    self.born.clear();
                    self.forgotten += TRACKED_FILES as u64;
                }
                self.born.insert(call.path, Birth { timestamp_ns: call.timestamp_ns, syscall: call.syscall });
                None
            }
            Op::Deleted => self.died(&call, &call.path),
            Op::RenamedFrom => {
                self.renaming.insert(call.tid, call.path);
                None
            }
            Op::RenamedTo => {
                // Without its old name (lost), only the replacement is known.
                let from = self.renaming.remove(&call.tid);
                let moved = from.as_ref().and_then(|from| self.born.remove(from));
                let line = if call.flags & RENAME_EXCHANGE != 0 {
                    // The two names swap files; neither ends.
                    if let (Some(from), Some(birth)) = (from, self.born.remove(&call.path)) {
                        self.born.insert(from, birth);
                    }
                    None
                } else {
                    // A file renamed over another ends the other's life.
                    self.died(&call, &call.path)
                };
                if let Some(birth) = moved {
                    self.born.insert(call.path, birth);
                }
                line
            }
        }
    }
}

impl Printer {
    /// The file at `path` ended by `call`: its row, if it was born in the run.
    fn died(&mut self, call: &LifeCall, path: &[u8]) -> Option<String> {
        let birth = self.born.remove(path)?;
        let age_ns = call.timestamp_ns.saturating_sub(birth.timestamp_ns);
        if self.json {
            let record = JsonLife {
                kind: "file",
                pid: call.pid,
                tid: call.tid,
                comm: escape::for_json(&call.comm),
                file: escape::for_json(path),
                age_ns,
                created_by: birth.syscall,
                deleted_by: call.syscall,
            };
            return Some(json::line_at(TOOL, events::wall_time(call.timestamp_ns), &record));
        }
        let shown = if self.full_path { path } else { path.rsplit(|&b| b == b'/').next().unwrap_or(path) };
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

    /// An event from thread 7 of process 7.
    fn event_as(syscall: &str, op: Op, flags: u32, at_ns: u64, name: &[u8], components: &[&[u8]]) -> Vec<u8> {
        let mut header = LifeHeader::ZERO;
        (header.pid, header.tid, header.timestamp_ns, header.flags) = (7, 7, at_ns, flags);
        header.syscall = syscall_index(syscall) as u32;
        header.op = op as u32;
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

    fn event(syscall: &str, at_ns: u64, name: &[u8], components: &[&[u8]]) -> Vec<u8> {
        let op = if syscall.starts_with("unlink") { Op::Deleted } else { Op::Created };
        event_as(syscall, op, 0, at_ns, name, components)
    }

    /// The two events of a rename of absolute `from` to absolute `to`.
    fn rename(printer: &mut Printer, flags: u32, at_ns: u64, from: &[u8], to: &[u8]) -> Option<String> {
        assert_eq!(printer.event(&event_as("renameat2", Op::RenamedFrom, 0, at_ns, from, &[])), None);
        printer.event(&event_as("renameat2", Op::RenamedTo, flags, at_ns, to, &[]))
    }

    fn cells(line: &str) -> Vec<&str> {
        line.split_whitespace().skip(1).collect()
    }

    #[test]
    fn a_deletion_is_paired_with_the_creation_of_the_same_path() {
        let mut printer = Printer::new(false, false);
        let header: Vec<String> = printer.header().split_whitespace().map(str::to_owned).collect();
        assert_eq!(header, ["TIME", "PID", "COMM", "AGE(s)", "FILE"]);
        // Created through its descriptor's walk, deleted by a relative name.
        assert_eq!(printer.event(&event("openat", 1_000_000_000, b"", &[b"a.o", b"tmp"])), None);
        let line = printer.event(&event("unlinkat", 1_300_000_000, b"a.o", &[b"tmp"])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "0.30", "a.o"]);
        assert_eq!(printer.event(&event("unlink", 1_400_000_000, b"/tmp/a.o", &[])), None, "once");
        assert_eq!(printer.event(&event("unlink", 1_400_000_000, b"/tmp/never", &[])), None);
    }

    #[test]
    fn the_function_paths_pair_prints_as_the_tracepoints_do() {
        // fentry/kprobe: the kernel sends the birth kept by dentry and the
        // deletion together, both with the path walked at the deletion.
        let as_function = |name: &str, op: Op, at_ns: u64| {
            let mut bytes = event_as("openat", op, 0, at_ns, b"", &[b"f.o", b"tmp"]);
            let index = tracer_common::fs::filelife::function_index(name);
            let at = std::mem::offset_of!(LifeHeader, syscall);
            bytes[at..at + 4].copy_from_slice(&index.to_ne_bytes());
            bytes
        };
        let mut printer = Printer::new(false, false);
        assert_eq!(printer.event(&as_function("vfs_open", Op::Created, 1_000_000_000)), None);
        let line = printer.event(&as_function("vfs_unlink", Op::Deleted, 1_250_000_000)).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "0.25", "f.o"]);
        let mut printer = Printer::new(true, false);
        printer.event(&as_function("security_inode_create", Op::Created, 1_000_000_000));
        let line = printer.event(&as_function("vfs_unlink", Op::Deleted, 1_250_000_000)).unwrap();
        let record: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (&record["created_by"], &record["deleted_by"]),
            (&"security_inode_create".into(), &"vfs_unlink".into())
        );
        assert_eq!((&record["file"], &record["age_ns"]), (&"/tmp/f.o".into(), &250_000_000.into()));
    }

    #[test]
    fn a_new_creation_of_a_path_restarts_its_age() {
        // The kernel sends only real creations: a second one means the first
        // file was deleted unseen.
        let mut printer = Printer::new(false, true);
        printer.event(&event("creat", 1_000_000_000, b"", &[b"f", b"tmp"]));
        printer.event(&event("openat", 2_000_000_000, b"", &[b"f", b"tmp"]));
        let line = printer.event(&event("unlink", 3_000_000_000, b"/tmp/f", &[])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "1.00", "/tmp/f"]);
    }

    #[test]
    fn a_renamed_file_is_reported_once_under_its_last_name_with_its_whole_age() {
        let mut printer = Printer::new(false, true);
        printer.event(&event("openat", 1_000_000_000, b"/d/a", &[]));
        assert_eq!(rename(&mut printer, 0, 1_100_000_000, b"/d/a", b"/d/b"), None);
        assert_eq!(printer.event(&event("unlink", 1_300_000_000, b"/d/a", &[])), None, "the old name is gone");
        let line = printer.event(&event("unlink", 1_300_000_000, b"/d/b", &[])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "0.30", "/d/b"]);
        assert_eq!(printer.event(&event("unlink", 1_400_000_000, b"/d/b", &[])), None, "once");
    }

    #[test]
    fn a_rename_over_a_file_born_in_the_run_ends_that_file() {
        let mut printer = Printer::new(false, true);
        printer.event(&event("openat", 1_000_000_000, b"/d/old", &[]));
        printer.event(&event("openat", 1_500_000_000, b"/d/new", &[]));
        let line = rename(&mut printer, 0, 2_000_000_000, b"/d/new", b"/d/old").unwrap();
        assert_eq!(cells(&line), ["7", "cc", "1.00", "/d/old"], "the replaced file, aged from its own birth");
        let line = printer.event(&event("unlink", 2_500_000_000, b"/d/old", &[])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "1.00", "/d/old"], "the renamed file, aged from its own birth");
        // Over a file that existed before the run: nothing to report.
        printer.event(&event("openat", 3_000_000_000, b"/d/tmp", &[]));
        assert_eq!(rename(&mut printer, 0, 3_100_000_000, b"/d/tmp", b"/d/config"), None);
    }

    #[test]
    fn an_exchange_swaps_births_and_ends_neither() {
        let mut printer = Printer::new(false, true);
        printer.event(&event("openat", 1_000_000_000, b"/d/x", &[]));
        printer.event(&event("openat", 2_000_000_000, b"/d/y", &[]));
        assert_eq!(rename(&mut printer, RENAME_EXCHANGE, 2_500_000_000, b"/d/x", b"/d/y"), None);
        let line = printer.event(&event("unlink", 3_000_000_000, b"/d/y", &[])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "2.00", "/d/y"]);
        let line = printer.event(&event("unlink", 3_000_000_000, b"/d/x", &[])).unwrap();
        assert_eq!(cells(&line), ["7", "cc", "1.00", "/d/x"]);
    }
}
