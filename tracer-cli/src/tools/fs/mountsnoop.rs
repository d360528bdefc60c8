//! `tracer mountsnoop`: trace mount, umount, fsopen, fsconfig, fsmount,
//! move_mount and open_tree calls with their arguments, return value and
//! latency, as libbpf-tools' mountsnoop, on the syscall tracepoints this
//! kernel has.

use anyhow::{Context, Result, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::fs::mountsnoop::{
    ARGS, Config, MountEvent, MountOffsets, STRING_BYTES, STRINGS, STRINGS_OFFSET, SYSCALLS, string_args,
};

use super::syscall_tracepoints;
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
    tools::{
        event_tool::{self, EventPrinter},
        process::syscount::errno_name,
    },
};

const TOOL: &str = "mountsnoop";

/// Trace mount and umount syscalls.
///
/// Examples:
///   tracer mountsnoop            # trace mount-related syscalls
///   tracer mountsnoop -d         # detailed output (one line per field)
///   tracer mountsnoop -p 1216    # only trace PID 1216
///   tracer mountsnoop --json     # one JSON object per call
///
/// Traced: mount, umount2, fsopen, fsconfig, fsmount, move_mount and
/// open_tree (the last five where the kernel has them, 5.2+). CALL is the
/// call as written in C with its return value: 0, the new descriptor, or
/// -ERRNO. LAT(us) is its latency (libbpf-tools shows it only with -d).
/// Where libbpf-tools is wrong this follows the man pages: umount2,
/// fsopen, fsmount and open_tree flags get their own names (not MS_*),
/// file system types are not cut at 7 bytes, and every directory
/// descriptor may print as AT_FDCWD. Strings are read as the caller passed
/// them, up to 4095 bytes (longer ones are counted and reported).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Include timestamp on output (HH:MM:SS)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Output result in detail mode (one line per field)
    #[arg(short = 'd', long = "detailed")]
    pub detailed: bool,
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
    let time = TimeColumns { clock: args.timestamp, since_start: false, start_ns: 0 };
    let mut printer = Printer { json: args.json, detailed: args.detailed, time, truncated: 0 };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)?;
    printer.report_truncated();
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: MountOffsets,
    /// The traced syscalls this kernel has tracepoints for.
    syscalls: Vec<&'static str>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let syscalls = syscall_tracepoints::available(TOOL, SYSCALLS.iter().map(|(name, _)| *name))?;
    let mut offsets = record_offsets(&syscalls)?;
    let btf = KernelBtf::required(btf, TOOL, "reads the caller's mount namespace through kernel structures")?;
    let namespace = || -> Result<(u32, u32, u32)> {
        let inum = btf.field("mnt_namespace", "ns")?.offset + btf.field("ns_common", "inum")?.offset;
        Ok((btf.field("task_struct", "nsproxy")?.offset, btf.field("nsproxy", "mnt_ns")?.offset, inum))
    };
    (offsets.task_nsproxy, offsets.nsproxy_mnt_ns, offsets.mnt_ns_inum) =
        namespace().map_err(|err| user_error!("this kernel cannot serve {TOOL}: {err:#}"))?;
    Ok(Setup { config: plan.config, offsets, syscalls })
}

/// Where the records keep each argument (tracefs); the programs share one
/// set, so every syscall must agree.
fn record_offsets(syscalls: &[&str]) -> Result<MountOffsets> {
    fn set(slot: &mut u32, value: u32, syscall: &str) -> Result<()> {
        ensure!(*slot == u32::MAX || *slot == value, "sys_{{enter,exit}}_{syscall} keep their fields elsewhere");
        *slot = value;
        Ok(())
    }
    let mut offsets = MountOffsets::UNRESOLVED;
    for &name in syscalls {
        let args = syscall_tracepoints::enter_args(name)?;
        for (index, field) in args.iter().take(ARGS).enumerate() {
            set(&mut offsets.args[index], field.offset, name)?;
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
        let object = if ring { bpf::objects::MOUNTSNOOP } else { bpf::objects::MOUNTSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("MOUNTSNOOP_CONFIG", &setup.config, true);
            loader.override_global("MOUNT_OFFSETS", &setup.offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let pairs: Vec<(&str, String, String)> = setup
            .syscalls
            .iter()
            .map(|&name| (name, format!("mountsnoop_enter_{name}"), "mountsnoop_exit".to_owned()))
            .collect();
        let hooks = syscall_tracepoints::hooks(&pairs);
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the mount tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One argument of a call as userspace sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Number(u64),
    /// A user string (None: a null pointer, or unreadable).
    Text(Option<Vec<u8>>),
}

/// One mount-family call as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct MountCall {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub mnt_ns: u32,
    pub ret: i64,
    pub syscall: &'static str,
    pub comm: Vec<u8>,
    pub args: Vec<Arg>,
    /// A string filled its buffer and may have been cut.
    pub truncated: bool,
}

impl MountCall {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let event: MountEvent = events::decode(bytes.get(..STRINGS_OFFSET)?, zeroed_event());
        let (syscall, _) = *SYSCALLS.get(event.syscall as usize)?;
        let slots = string_args(event.syscall as usize);
        let mut truncated = false;
        let mut args: Vec<Arg> =
            event.args.iter().take(arg_names(syscall).len()).map(|&value| Arg::Number(value)).collect();
        for (slot, &arg) in slots.iter().enumerate().take(STRINGS) {
            let Some(place) = args.get_mut(arg as usize) else { continue };
            let start = STRINGS_OFFSET + slot * STRING_BYTES;
            let len = event.string_lens[slot] as usize;
            let text = (len > 0).then(|| bytes.get(start..start + len).map(escape::until_nul)).flatten();
            truncated |= len >= STRING_BYTES;
            *place = Arg::Text(text.map(<[u8]>::to_vec));
        }
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            latency_ns: event.latency_ns,
            pid: event.pid,
            tid: event.tid,
            mnt_ns: event.mnt_ns,
            ret: event.ret,
            syscall,
            comm: escape::until_nul(&event.comm).to_vec(),
            args,
            truncated,
        })
    }

    fn number(&self, index: usize) -> u64 {
        match self.args.get(index) {
            Some(Arg::Number(value)) => *value,
            _ => 0,
        }
    }

    fn text(&self, index: usize) -> String {
        match self.args.get(index) {
            Some(Arg::Text(Some(text))) => format!("\"{}\"", escape::for_terminal(text)),
            _ => "NULL".into(),
        }
    }

    /// Each argument as CALL shows it: strings quoted, flags by name,
    /// descriptors as ints (`AT_FDCWD`), fsconfig's command by name.
    pub fn shown_args(&self) -> Vec<String> {
        let flags = |index, names| flag_names(self.number(index), names);
        let int = |index| (self.number(index) as i32).to_string();
        let fd = |index| dirfd(self.number(index) as i32);
        match self.syscall {
            "mount" => vec![self.text(0), self.text(1), self.text(2), flags(3, MOUNT_FLAGS), self.text(4)],
            "umount" => vec![self.text(0), flags(1, UMOUNT_FLAGS)],
            "fsopen" => vec![self.text(0), flags(1, FSOPEN_FLAGS)],
            "fsconfig" => {
                let cmd = self.number(1) as usize;
                let cmd = FSCONFIG_COMMANDS.get(cmd).map_or_else(|| cmd.to_string(), |name| (*name).to_owned());
                vec![int(0), cmd, self.text(2), self.text(3), int(4)]
            }
            "fsmount" => vec![int(0), flags(1, FSMOUNT_FLAGS), flags(2, MOUNT_ATTRS)],
            "move_mount" => vec![fd(0), self.text(1), fd(2), self.text(3), flags(4, MOVE_MOUNT_FLAGS)],
            "open_tree" => vec![fd(0), self.text(1), flags(2, OPEN_TREE_FLAGS)],
            _ => Vec::new(),
        }
    }

    /// The call as C: `mount("tmpfs", "/mnt/x", "tmpfs", MS_NOSUID, "size=1m") = 0`.
    pub fn render(&self) -> String {
        let name = if self.syscall == "umount" { "umount2" } else { self.syscall };
        format!("{name}({}) = {}", self.shown_args().join(", "), return_value(self.ret))
    }
}

/// An all-zero event (plain data).
fn zeroed_event() -> MountEvent {
    // SAFETY: MountEvent is plain data; all zeroes is a valid value.
    unsafe { std::mem::zeroed() }
}

/// The names of syscall `name`'s arguments, as its man page calls them
/// (the JSON keys).
pub fn arg_names(name: &str) -> &'static [&'static str] {
    match name {
        "mount" => &["source", "target", "filesystemtype", "mountflags", "data"],
        "umount" => &["target", "flags"],
        "fsopen" => &["fsname", "flags"],
        "fsconfig" => &["fd", "cmd", "key", "value", "aux"],
        "fsmount" => &["fd", "flags", "attr_flags"],
        "move_mount" => &["from_dirfd", "from_path", "to_dirfd", "to_path", "flags"],
        "open_tree" => &["dirfd", "path", "flags"],
        _ => &[],
    }
}

/// Arguments declared `int` (descriptors, fsconfig's aux).
fn is_int(name: &str) -> bool {
    name == "fd" || name.ends_with("dirfd") || name == "aux"
}

/// 0, a descriptor, or `-ENOENT`.
fn return_value(ret: i64) -> String {
    match ret {
        ..0 => errno_name(-ret as i32).map_or_else(|| ret.to_string(), |name| format!("-{name}")),
        _ => ret.to_string(),
    }
}

fn dirfd(fd: i32) -> String {
    if fd == tracer_common::fs::paths::AT_FDCWD { "AT_FDCWD".into() } else { fd.to_string() }
}

/// `A | B | 0x40` for the bits of `flags`, `0x0` for none.
fn flag_names(flags: u64, names: &[(u64, &str)]) -> String {
    if flags == 0 {
        return "0x0".into();
    }
    let mut rest = flags;
    let mut parts: Vec<String> = Vec::new();
    for &(bit, name) in names {
        if rest & bit == bit {
            parts.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join(" | ")
}

/// mount(2)'s MS_* flags (linux/mount.h).
const MOUNT_FLAGS: &[(u64, &str)] = &[
    (1, "MS_RDONLY"),
    (2, "MS_NOSUID"),
    (4, "MS_NODEV"),
    (8, "MS_NOEXEC"),
    (16, "MS_SYNCHRONOUS"),
    (32, "MS_REMOUNT"),
    (64, "MS_MANDLOCK"),
    (128, "MS_DIRSYNC"),
    (256, "MS_NOSYMFOLLOW"),
    (1024, "MS_NOATIME"),
    (2048, "MS_NODIRATIME"),
    (4096, "MS_BIND"),
    (8192, "MS_MOVE"),
    (16384, "MS_REC"),
    (32768, "MS_SILENT"),
    (1 << 16, "MS_POSIXACL"),
    (1 << 17, "MS_UNBINDABLE"),
    (1 << 18, "MS_PRIVATE"),
    (1 << 19, "MS_SLAVE"),
    (1 << 20, "MS_SHARED"),
    (1 << 21, "MS_RELATIME"),
    (1 << 22, "MS_KERNMOUNT"),
    (1 << 23, "MS_I_VERSION"),
    (1 << 24, "MS_STRICTATIME"),
    (1 << 25, "MS_LAZYTIME"),
    (0xc0ed_0000, "MS_MGC_VAL"),
];
/// umount2(2)'s flags.
const UMOUNT_FLAGS: &[(u64, &str)] = &[(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"), (8, "UMOUNT_NOFOLLOW")];
const FSOPEN_FLAGS: &[(u64, &str)] = &[(1, "FSOPEN_CLOEXEC")];
const FSMOUNT_FLAGS: &[(u64, &str)] = &[(1, "FSMOUNT_CLOEXEC")];
/// fsmount(2)'s MOUNT_ATTR_* (the atime mode is a 2-bit field).
const MOUNT_ATTRS: &[(u64, &str)] = &[
    (0x01, "MOUNT_ATTR_RDONLY"),
    (0x02, "MOUNT_ATTR_NOSUID"),
    (0x04, "MOUNT_ATTR_NODEV"),
    (0x08, "MOUNT_ATTR_NOEXEC"),
    (0x10, "MOUNT_ATTR_NOATIME"),
    (0x20, "MOUNT_ATTR_STRICTATIME"),
    (0x80, "MOUNT_ATTR_NODIRATIME"),
    (0x10_0000, "MOUNT_ATTR_IDMAP"),
    (0x20_0000, "MOUNT_ATTR_NOSYMFOLLOW"),
];
const MOVE_MOUNT_FLAGS: &[(u64, &str)] = &[
    (0x01, "MOVE_MOUNT_F_SYMLINKS"),
    (0x02, "MOVE_MOUNT_F_AUTOMOUNTS"),
    (0x04, "MOVE_MOUNT_F_EMPTY_PATH"),
    (0x10, "MOVE_MOUNT_T_SYMLINKS"),
    (0x20, "MOVE_MOUNT_T_AUTOMOUNTS"),
    (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
    (0x100, "MOVE_MOUNT_SET_GROUP"),
    (0x200, "MOVE_MOUNT_BENEATH"),
];
const OPEN_TREE_FLAGS: &[(u64, &str)] = &[
    (1, "OPEN_TREE_CLONE"),
    (0x80000, "OPEN_TREE_CLOEXEC"),
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
];
const FSCONFIG_COMMANDS: &[&str] = &[
    "FSCONFIG_SET_FLAG",
    "FSCONFIG_SET_STRING",
    "FSCONFIG_SET_BINARY",
    "FSCONFIG_SET_PATH",
    "FSCONFIG_SET_PATH_EMPTY",
    "FSCONFIG_SET_FD",
    "FSCONFIG_CMD_CREATE",
    "FSCONFIG_CMD_RECONFIGURE",
    "FSCONFIG_CMD_CREATE_EXCL",
];

#[derive(Serialize)]
struct JsonMount {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    mnt_ns: u32,
    syscall: &'static str,
    ret: i64,
    latency_ns: u64,
    args: serde_json::Map<String, serde_json::Value>,
    call: String,
    truncated: bool,
}

struct Printer {
    json: bool,
    detailed: bool,
    time: TimeColumns,
    /// Strings cut short, reported at the end.
    truncated: u64,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        if self.detailed {
            return String::new();
        }
        let time = self.time.header();
        format!("{time}{:<16} {:<7} {:<7} {:<11} {:>9} CALL\n", "COMM", "PID", "TID", "MNT_NS", "LAT(us)")
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let call = MountCall::decode(bytes)?;
        self.truncated += u64::from(call.truncated);
        if self.json {
            let args = arg_names(call.syscall)
                .iter()
                .zip(&call.args)
                .map(|(name, arg)| {
                    let value = match arg {
                        // Descriptors are ints: only the low 32 bits are the caller's.
                        Arg::Number(value) if is_int(name) => (*value as i32).into(),
                        Arg::Number(value) => (*value).into(),
                        Arg::Text(text) => text.as_deref().map(escape::for_json).into(),
                    };
                    ((*name).to_owned(), value)
                })
                .collect();
            let record = JsonMount {
                kind: "mount",
                pid: call.pid,
                tid: call.tid,
                comm: escape::for_json(&call.comm),
                mnt_ns: call.mnt_ns,
                syscall: call.syscall,
                ret: call.ret,
                latency_ns: call.latency_ns,
                args,
                call: call.render(),
                truncated: call.truncated,
            };
            return Some(json::line_at(TOOL, events::wall_time(call.timestamp_ns), &record));
        }
        let comm = escape::for_terminal(&call.comm);
        if self.detailed {
            return Some(self.detailed_lines(&call, &comm));
        }
        Some(format!(
            "{}{comm:<16} {:<7} {:<7} {:<11} {:>9} {}\n",
            self.time.cells(call.timestamp_ns),
            call.pid,
            call.tid,
            call.mnt_ns,
            call.latency_ns / 1000,
            call.render()
        ))
    }
}

impl Printer {
    /// `-d`: one `NAME: value` line per field, a blank line after each call.
    fn detailed_lines(&self, call: &MountCall, comm: &str) -> String {
        let mut out = String::new();
        if self.time.clock {
            out.push_str(&format!("TIME:   {}\n", self.time.cells(call.timestamp_ns).trim_end()));
        }
        let latency = format!("{}us", call.latency_ns / 1000);
        for (name, value) in [
            ("PID", call.pid.to_string()),
            ("TID", call.tid.to_string()),
            ("COMM", comm.to_owned()),
            ("OP", call.syscall.to_uppercase()),
            ("RET", return_value(call.ret)),
            ("LAT", latency),
            ("MNT_NS", call.mnt_ns.to_string()),
        ] {
            out.push_str(&format!("{:<7} {value}\n", format!("{name}:")));
        }
        for (name, value) in arg_names(call.syscall).iter().zip(call.shown_args()) {
            out.push_str(&format!("{:<7} {value}\n", format!("{}:", name.to_uppercase())));
        }
        out.push('\n');
        out
    }

    fn report_truncated(&self) {
        if self.truncated > 0 {
            eprintln!(
                "{TOOL}: {} calls had a string argument of 4096 bytes or more, cut to 4095 (\"truncated\": true in JSON)",
                self.truncated
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::fs::mountsnoop::syscall_index;

    use super::*;

    fn event(syscall: &str, ret: i64, args: [u64; ARGS], strings: &[&[u8]]) -> Vec<u8> {
        let mut event = zeroed_event();
        (event.pid, event.tid, event.mnt_ns, event.ret) = (7, 8, 4026531841, ret);
        (event.timestamp_ns, event.latency_ns) = (3_000_000_000, 1_500_000);
        event.syscall = syscall_index(syscall) as u32;
        event.args = args;
        event.comm[..5].copy_from_slice(b"mount");
        for (slot, text) in strings.iter().enumerate() {
            event.strings[slot][..text.len()].copy_from_slice(text);
            event.string_lens[slot] = if text.is_empty() { 0 } else { text.len() as u32 + 1 };
        }
        // SAFETY: plain data viewed as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<MountEvent>())
        };
        bytes[..STRINGS_OFFSET + strings.len() * STRING_BYTES].to_vec()
    }

    #[test]
    fn calls_read_as_c_with_named_flags_and_errnos() {
        let mount = event("mount", 0, [1, 2, 3, 2 | 4, 5], &[b"none", b"/mnt/x", b"tmpfs", b"size=1m"]);
        let call = MountCall::decode(&mount).unwrap();
        assert_eq!(call.render(), r#"mount("none", "/mnt/x", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") = 0"#);
        let umount = MountCall::decode(&event("umount", -16, [1, 2, 0, 0, 0], &[b"/mnt/x"])).unwrap();
        assert_eq!(umount.render(), r#"umount2("/mnt/x", MNT_DETACH) = -EBUSY"#);
        let fsopen = MountCall::decode(&event("fsopen", 5, [1, 1, 0, 0, 0], &[b"tmpfs"])).unwrap();
        assert_eq!(fsopen.render(), r#"fsopen("tmpfs", FSOPEN_CLOEXEC) = 5"#);
        let config = MountCall::decode(&event("fsconfig", 0, [5, 6, 0, 0, 0], &[b"", b""])).unwrap();
        assert_eq!(config.render(), "fsconfig(5, FSCONFIG_CMD_CREATE, NULL, NULL, 0) = 0");
        let moved = event("move_mount", 0, [6, 0, (-100i64) as u64, 0, 0x44], &[b"", b"/mnt/y"]);
        assert_eq!(
            MountCall::decode(&moved).unwrap().render(),
            r#"move_mount(6, NULL, AT_FDCWD, "/mnt/y", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) = 0"#
        );
        assert_eq!(flag_names(0x4000_0000, MOUNT_FLAGS), "0x40000000", "unknown bits are shown, not dropped");
    }

    #[test]
    fn rows_keep_libbpf_tools_columns_and_escape_strings() {
        let mut printer = Printer {
            json: false,
            detailed: false,
            time: TimeColumns { clock: false, since_start: false, start_ns: 0 },
            truncated: 0,
        };
        let header: Vec<String> = printer.header().split_whitespace().map(str::to_owned).collect();
        assert_eq!(header, ["COMM", "PID", "TID", "MNT_NS", "LAT(us)", "CALL"]);
        let line = printer.event(&event("umount", 0, [1, 0, 0, 0, 0], &[b"/mnt/\x1b[2J"])).unwrap();
        assert_eq!(line.split_whitespace().take(5).collect::<Vec<_>>(), ["mount", "7", "8", "4026531841", "1500"]);
        assert!(line.ends_with("umount2(\"/mnt/\\x1b[2J\", 0x0) = 0\n"), "{line}");
        printer.detailed = true;
        let lines = printer.event(&event("umount", -2, [1, 8, 0, 0, 0], &[b"/mnt/x"])).unwrap();
        assert!(lines.contains("OP:     UMOUNT\nRET:    -ENOENT\nLAT:    1500us\n"), "{lines}");
        assert!(lines.ends_with("TARGET: \"/mnt/x\"\nFLAGS:  UMOUNT_NOFOLLOW\n\n"), "{lines}");
        let long = vec![b'a'; STRING_BYTES - 1];
        let call = MountCall::decode(&event("umount", 0, [1, 0, 0, 0, 0], &[&long])).unwrap();
        assert!(call.truncated);
    }
}
