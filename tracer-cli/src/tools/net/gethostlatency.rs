//! `tracer gethostlatency`: one line per name lookup through libc
//! (getaddrinfo, gethostbyname, gethostbyname2) with its latency, as
//! BCC/libbpf-tools' gethostlatency, by uprobes and one uretprobe.
//!
//! libbpf-tools probes the one libc its own process (or -p's) maps. We find
//! the libc each process really maps, through /proc/PID/map_files, so that
//! a container's own C library (another inode, in another mount namespace)
//! is traced too; each distinct file (device and inode) gets one set of
//! probes, which serves every process that maps it, including ones started
//! later. Not covered: a libc that no process maps at start and that is not
//! the host's (a container image started afterwards), and programs that do
//! not resolve through libc (static Go binaries, their own resolvers).

use std::path::PathBuf;

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::net::gethostlatency::{Config, FUNCTIONS, HOST_LEN, Lookup};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, WithEvents},
        uprobes::{self, MappedFile},
    },
    cli::Common,
    error::refuse,
    events,
    kernel::{privileges, process},
    output::{escape, json, time},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "gethostlatency";

/// Show latency for getaddrinfo/gethostbyname[2] calls.
///
/// Every C library (glibc or musl) mapped by a running process is traced,
/// found through /proc/PID/map_files (so containers' own libcs are too),
/// plus the host's. A libc first mapped after the start (a container image
/// started later) is not.
///
/// Examples:
///   tracer gethostlatency             # time getaddrinfo/gethostbyname[2] calls
///   tracer gethostlatency -p 1216     # only trace PID 1216
///   tracer gethostlatency -l /lib/x86_64-linux-gnu/libc.so.6   # only this libc
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Specify which libc.so to use (any ELF file exporting the functions)
    #[arg(short = 'l', long = "libc", value_name = "LIBC")]
    pub libc: Option<PathBuf>,
    /// One JSON object per lookup (schema in README)
    #[arg(long)]
    pub json: bool,
}

/// What a run traces, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    /// The files to probe, one per (device, inode).
    pub libcs: Vec<MappedFile>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let config = Config { target_tgid: args.pid.unwrap_or(0) };
        let libcs = match (&args.libc, args.pid) {
            (Some(path), _) => {
                if !path.exists() {
                    refuse!("no file {}: give -l the path of a C library (ldd /bin/ls shows one)", path.display())
                }
                match uprobes::file_at(path) {
                    Ok(file) => vec![file],
                    Err(err) => {
                        refuse!("cannot use {} as a libc ({err:#}): give -l a readable libc.so", path.display())
                    }
                }
            }
            (None, Some(pid)) => {
                let libcs = uprobes::mapped_by(pid, &uprobes::is_libc);
                if libcs.is_empty() {
                    refuse!(
                        "process {pid} maps no C library (statically linked?): name its binary with -l if it \
                         has getaddrinfo's symbol"
                    )
                }
                libcs
            }
            (None, None) => {
                let mut libcs = uprobes::mapped_by_all(&uprobes::is_libc);
                for host in uprobes::host_libcs() {
                    if !libcs.iter().any(|file| file.dev == host.dev && file.inode == host.inode) {
                        libcs.push(host);
                    }
                }
                libcs
            }
        };
        Ok(Self { config, libcs })
    }

    /// The plan `tracer doctor` tries: the host's libc, else (in a container
    /// or an empty root without one) the libcs that running processes map.
    pub fn probe() -> Self {
        let mut libcs = uprobes::host_libcs();
        if libcs.is_empty() {
            libcs = uprobes::mapped_by_all(&uprobes::is_libc);
        }
        Self { config: Config::DEFAULT, libcs }
    }
}

/// A libc with the file offsets of the traced functions it has.
struct Target {
    file: MappedFile,
    /// (index into FUNCTIONS, file offset)
    functions: Vec<(usize, u64)>,
}

pub fn run(args: Args, _common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let targets = resolve(&plan, args.libc.is_some())?;
    let Attached { loaded, kind } = attach_targets(&plan, &targets)?;
    log::info!("{TOOL}: using {kind}s on {} of {} C libraries", targets.len(), plan.libcs.len());
    let mut printer = Printer { json: args.json, truncated: 0, unreadable: 0 };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)?;
    printer.report();
    Ok(())
}

pub fn attach(plan: &Plan) -> Result<Attached<WithEvents>> {
    attach_targets(plan, &resolve(plan, false)?)
}

/// The traced functions' offsets in each libc; a libc with none is skipped
/// (said with --verbose), unless it was the one given with -l.
fn resolve(plan: &Plan, given: bool) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    for file in &plan.libcs {
        let offsets = match uprobes::function_offsets(&file.open_path, &FUNCTIONS) {
            Ok(offsets) => offsets,
            Err(err) if given => refuse!("cannot use {} as a libc: {err:#}", file.name),
            Err(err) => {
                log::info!("{TOOL}: skipping {}: {err:#}", file.name);
                continue;
            }
        };
        let functions: Vec<(usize, u64)> =
            offsets.iter().enumerate().filter_map(|(index, offset)| offset.map(|offset| (index, offset))).collect();
        if functions.is_empty() {
            if given {
                refuse!("{} has none of {}: give -l a C library", file.name, FUNCTIONS.join(", "))
            }
            log::info!("{TOOL}: skipping {}: none of {}", file.name, FUNCTIONS.join(", "));
            continue;
        }
        targets.push(Target { file: file.clone(), functions });
    }
    if targets.is_empty() {
        refuse!("found no C library with {} to trace: name one with -l", FUNCTIONS.join(", "))
    }
    Ok(targets)
}

fn attach_targets(plan: &Plan, targets: &[Target]) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &[HookKind::Uprobe], |_| {
        // Ring buffer where the kernel has one (5.8+), else perf buffers.
        let ring = aya::sys::is_map_supported(aya::maps::MapType::RingBuf).unwrap_or(false);
        let object = if ring { bpf::objects::GETHOSTLATENCY } else { bpf::objects::GETHOSTLATENCY_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("GETHOSTLATENCY_CONFIG", &plan.config, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let mut attached = 0;
        let mut last_error = None;
        for target in targets {
            match attach_one(&mut ebpf, target) {
                Ok(()) => {
                    attached += 1;
                    let names: Vec<&str> = target.functions.iter().map(|&(index, _)| FUNCTIONS[index]).collect();
                    log::info!(
                        "{TOOL}: uprobes on {} in {} (device {}:{}, inode {}{})",
                        names.join(", "),
                        target.file.name,
                        target.file.dev.0,
                        target.file.dev.1,
                        target.file.inode,
                        mappers(&target.file.pids)
                    );
                }
                // A process that exited since the scan takes its map_files with it.
                Err(err) => {
                    log::info!("{TOOL}: cannot probe {}: {}", target.file.name, bpf::short_error(&err));
                    last_error = Some(err);
                }
            }
        }
        match (attached, last_error) {
            (0, Some(err)) => Err(err),
            _ => Ok((ebpf, events)),
        }
    })
}

fn mappers(pids: &[u32]) -> String {
    match pids {
        [] => String::new(),
        [pid] => format!(", mapped by PID {pid}"),
        [first, ..] => format!(", mapped by {} processes, first PID {first}", pids.len()),
    }
}

fn attach_one(ebpf: &mut aya::Ebpf, target: &Target) -> Result<()> {
    let path = &target.file.open_path;
    for &(index, offset) in &target.functions {
        uprobes::attach(ebpf, &format!("gethostlatency_{}_uprobe", FUNCTIONS[index]), path, &[offset])?;
    }
    let offsets: Vec<u64> = target.functions.iter().map(|&(_, offset)| offset).collect();
    uprobes::attach(ebpf, "gethostlatency_return_uretprobe", path, &offsets)
}

/// One lookup as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct HostLookup {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub function: &'static str,
    pub comm: Vec<u8>,
    /// None if the name could not be read.
    pub host: Option<Vec<u8>>,
    pub truncated: bool,
    pub found: bool,
}

impl HostLookup {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<Lookup>() {
            return None;
        }
        let event = events::decode(bytes, Lookup::ZERO);
        let function = *FUNCTIONS.get(event.function as usize)?;
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            latency_ns: event.latency_ns,
            pid: event.pid,
            tid: event.tid,
            function,
            comm: escape::until_nul(&event.comm).to_vec(),
            host: (event.host_len >= 0).then(|| escape::until_nul(&event.host).to_vec()),
            truncated: event.host_len >= HOST_LEN as i32,
            // getaddrinfo returns 0 on success; gethostbyname* a non-NULL hostent.
            found: if function == "getaddrinfo" { event.ret as i32 == 0 } else { event.ret != 0 },
        })
    }
}

#[derive(Serialize)]
struct JsonLookup<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    function: &'a str,
    host: Option<String>,
    latency_ms: f64,
    found: bool,
    truncated: bool,
}

struct Printer {
    json: bool,
    /// Names cut short, and names that could not be read: reported at the end.
    truncated: u64,
    unreadable: u64,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!("{:<8} {:<7} {:<16} {:<10} {}\n", "TIME", "PID", "COMM", "LATms", "HOST")
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let lookup = HostLookup::decode(bytes)?;
        self.truncated += u64::from(lookup.truncated);
        self.unreadable += u64::from(lookup.host.is_none());
        let latency_ms = lookup.latency_ns as f64 / 1e6;
        let when = events::wall_time(lookup.timestamp_ns);
        if self.json {
            let record = JsonLookup {
                kind: "lookup",
                pid: lookup.pid,
                tid: lookup.tid,
                comm: escape::for_json(&lookup.comm),
                function: lookup.function,
                host: lookup.host.as_deref().map(escape::for_json),
                latency_ms,
                found: lookup.found,
                truncated: lookup.truncated,
            };
            return Some(json::line_at(TOOL, when, &record));
        }
        let host = lookup.host.as_deref().map_or_else(|| "[unreadable]".to_owned(), escape::for_terminal);
        Some(format!(
            "{:<8} {:<7} {:<16} {:<10.3} {}\n",
            time::local_hms_of(when),
            lookup.pid,
            escape::for_terminal(&lookup.comm),
            latency_ms,
            host
        ))
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        &[("in_flight_full", "lookups: in-flight map full (more than 10240 threads resolving at once)")]
    }
}

impl Printer {
    fn report(&self) {
        if self.truncated > 0 {
            eprintln!(
                "{TOOL}: {} name(s) longer than {} bytes cut short (\"truncated\": true in JSON)",
                self.truncated,
                HOST_LEN - 1
            );
        }
        if self.unreadable > 0 {
            eprintln!(
                "{TOOL}: {} name(s) could not be read from the caller's memory (shown as [unreadable])",
                self.unreadable
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(event: &Lookup) -> Vec<u8> {
        // SAFETY: Lookup is plain data.
        unsafe { std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), std::mem::size_of::<Lookup>()) }
            .to_vec()
    }

    #[test]
    fn decodes_lookups_found_or_not_cut_or_unreadable() {
        let mut event = Lookup::ZERO;
        event.pid = 42;
        event.function = 0;
        event.host[..11].copy_from_slice(b"example.org");
        event.host_len = 12;
        event.comm[..4].copy_from_slice(b"curl");
        let lookup = HostLookup::decode(&bytes(&event)).unwrap();
        assert_eq!(
            (lookup.function, lookup.host.as_deref(), lookup.found),
            ("getaddrinfo", Some(&b"example.org"[..]), true)
        );
        assert!(!lookup.truncated);
        event.ret = (-2i32) as u32 as u64; // EAI_NONAME
        assert!(!HostLookup::decode(&bytes(&event)).unwrap().found);
        event.function = 2;
        event.ret = 0x7f00_1234_5678;
        let lookup = HostLookup::decode(&bytes(&event)).unwrap();
        assert_eq!((lookup.function, lookup.found), ("gethostbyname2", true));
        event.host_len = HOST_LEN as i32;
        assert!(HostLookup::decode(&bytes(&event)).unwrap().truncated);
        event.host_len = -14;
        assert_eq!(HostLookup::decode(&bytes(&event)).unwrap().host, None);
        event.function = 3;
        assert!(HostLookup::decode(&bytes(&event)).is_none());
    }

    #[test]
    fn escapes_names_in_text() {
        let mut event = Lookup::ZERO;
        event.host[..6].copy_from_slice(b"a\x1b[2Jb");
        event.host_len = 7;
        let mut printer = Printer { json: false, truncated: 0, unreadable: 0 };
        let line = printer.event(&bytes(&event)).unwrap();
        assert!(!line.contains('\x1b'), "{line:?}");
    }
}
