//! `tracer fsslower -t ext4|xfs|btrfs` and `tracer ext4slower`: file system
//! reads, writes, opens and fsyncs slower than a threshold, as libbpf-tools'
//! fsslower/ext4slower.

use std::time::Duration;

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::fs::{
    fsslower::{Config, FsEvent},
    ops::{FsOffsets, op},
};

pub use super::ops::FileSystem;
use super::ops::{self as fs_ops, OpPrograms, Traced, op_programs};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FUNCTION_KINDS, HookKind, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process,
    },
    output::{escape, json, time},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "fsslower";

/// Options shared by fsslower and ext4slower.
#[derive(clap::Args, Debug, Clone)]
pub struct SlowerArgs {
    /// Trace operations slower than MIN_MS milliseconds (0 traces all)
    #[arg(short = 'm', long = "min", value_name = "MIN_MS", default_value_t = 10)]
    pub min_ms: u64,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Total duration of trace, in seconds
    #[arg(short = 'd', long = "duration", value_name = "SECONDS", value_parser = crate::cli::interval_arg)]
    pub duration: Option<u64>,
    /// Output as comma-separated values
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// One JSON object per operation (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

/// Trace slow file system operations (read, write, open, fsync).
///
/// Examples:
///   tracer fsslower -t ext4         # ext4 operations slower than 10 ms
///   tracer fsslower -t xfs -m 1     # xfs operations slower than 1 ms
///   tracer fsslower -t btrfs -m 0   # every btrfs operation
///   tracer fsslower -t ext4 -p 185  # only PID 185
///   tracer fsslower -t ext4 -d 10   # trace for 10 seconds
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Which file system to trace
    #[arg(short = 't', long = "type", value_name = "FS", value_enum)]
    pub fs: FileSystem,
    #[command(flatten)]
    pub slower: SlowerArgs,
}

/// Trace slow ext4 operations (read, write, open, fsync); fsslower -t ext4.
///
/// Examples:
///   tracer ext4slower               # operations slower than 10 ms
///   tracer ext4slower -m 0          # every operation
///   tracer ext4slower --csv         # comma-separated output
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Ext4Args {
    #[command(flatten)]
    pub slower: SlowerArgs,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub fs: FileSystem,
    pub min_ns: u64,
    pub pid: Option<u32>,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn new(fs: FileSystem, args: &SlowerArgs) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        Ok(Self {
            fs,
            min_ns: args.min_ms.saturating_mul(1_000_000),
            pid: args.pid,
            hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS),
        })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { fs: FileSystem::Ext4, min_ns: 0, pid: None, hooks: vec![kind] }
    }
}

/// fsslower's programs on the three paths (reads, writes, opens, fsyncs).
const PROGRAMS: OpPrograms = op_programs!("fsslower");

/// fsslower times no getattr (libbpf-tools' does not either).
const fn traced(fs: FileSystem) -> Traced {
    Traced { fs, getattr: false }
}

pub fn run_ext4(args: Ext4Args, common: &Common) -> Result<()> {
    run(Args { fs: FileSystem::Ext4, slower: args.slower }, common)
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::new(args.fs, &args.slower)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} ({})", traced(plan.fs).describe(kind));
    let slower = &args.slower;
    let mut printer = Printer { fs: plan.fs, min_ms: slower.min_ms, csv: slower.csv, json: slower.json };
    let duration = slower.duration.map(Duration::from_secs);
    event_tool::stream(TOOL, runner, loaded, slower.json || slower.csv, duration, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    fs: FileSystem,
    config: Config,
    offsets: FsOffsets,
    kinds: Vec<HookKind>,
    /// What loading fentry programs needs of the kernel's BTF.
    targets: AttachTargets,
    ring_buffer: bool,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "follows file descriptors to files through kernel structures")?;
    let config = Config { min_ns: plan.min_ns, target_tgid: plan.pid.unwrap_or(0), magic: plan.fs.magic() };
    let offsets = fs_ops::fs_offsets(btf).map_err(|err| user_error!("this kernel cannot serve fsslower: {err:#}"))?;
    let ring_buffer = matches!(aya::sys::is_map_supported(aya::maps::MapType::RingBuf), Ok(true));
    let mut kinds = plan.hooks.clone();
    if !ring_buffer {
        // fentry programs live in the ring-buffer object only (kernels with
        // fentry but no ring buffer are 5.5-5.7: kprobes serve them).
        kinds.retain(|&kind| kind != HookKind::Fentry);
    }
    if kinds.is_empty() {
        refuse!("--hook fentry needs a kernel with BPF ring buffers (5.8+): use --hook kprobe or tracepoint");
    }
    Ok(Setup {
        fs: plan.fs,
        config,
        offsets,
        kinds,
        targets: btf.attach_targets(&[], &plan.fs.functions()),
        ring_buffer,
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            fs_ops::syscall_offsets(&mut offsets)?;
        }
        let object = if setup.ring_buffer { bpf::objects::FSSLOWER } else { bpf::objects::FSSLOWER_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("FSSLOWER_CONFIG", &setup.config, true);
            loader.override_global("FS_OFFSETS", &offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        fs_ops::attach(&mut ebpf, kind, traced(setup.fs), &PROGRAMS, &setup.targets)?;
        Ok((ebpf, events))
    })
}

/// One slow operation as userspace sees it.
#[derive(Debug)]
pub struct Operation {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub offset: i64,
    pub size: i64,
    pub pid: u32,
    pub op: char,
    pub comm: Vec<u8>,
    pub name: Vec<u8>,
}

impl Operation {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<FsEvent>() {
            return None;
        }
        let event = events::decode(bytes, FsEvent::ZERO);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            latency_ns: event.latency_ns,
            offset: event.offset,
            size: event.size,
            pid: event.pid,
            op: char::from_u32(event.op).unwrap_or('?'),
            comm: escape::until_nul(&event.comm).to_vec(),
            name: escape::until_nul(&event.name).to_vec(),
        })
    }

    /// Reads and writes carry a size and an offset; opens and fsyncs do not.
    fn has_size(&self) -> bool {
        self.op == char::from_u32(op::READ).unwrap() || self.op == char::from_u32(op::WRITE).unwrap()
    }
}

#[derive(Serialize)]
struct JsonOperation {
    #[serde(rename = "type")]
    kind: &'static str,
    op: String,
    pid: u32,
    comm: String,
    file: String,
    bytes: Option<i64>,
    offset: Option<i64>,
    latency_ns: u64,
}

struct Printer {
    fs: FileSystem,
    min_ms: u64,
    csv: bool,
    json: bool,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        if self.csv {
            return "ENDTIME_us,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE\n".into();
        }
        let what = if self.min_ms == 0 {
            format!("Tracing {} operations", self.fs.name())
        } else {
            format!("Tracing {} operations slower than {} ms", self.fs.name(), self.min_ms)
        };
        format!(
            "{what}... Hit Ctrl-C to end.\n{:<8} {:<16} {:<7} {:1} {:<7} {:<8} {:>7} {}\n",
            "TIME", "COMM", "PID", "T", "BYTES", "OFF_KB", "LAT(ms)", "FILENAME"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let operation = Operation::decode(bytes)?;
        let when = events::wall_time(operation.timestamp_ns);
        if self.json {
            let record = JsonOperation {
                kind: "fs",
                op: operation.op.to_string(),
                pid: operation.pid,
                comm: escape::for_json(&operation.comm),
                file: escape::for_json(&operation.name),
                bytes: operation.has_size().then_some(operation.size),
                offset: operation.has_size().then_some(operation.offset),
                latency_ns: operation.latency_ns,
            };
            return Some(json::line_at(TOOL, when, &record));
        }
        let (bytes, offset) = if operation.has_size() {
            (operation.size.to_string(), (operation.offset / 1024).to_string())
        } else {
            ("-".to_string(), "-".to_string())
        };
        if self.csv {
            // CSV fields are escaped too, and a comma in a name would break a column.
            let file = escape::for_terminal(&operation.name).replace(',', "\\x2c");
            return Some(format!(
                "{},{},{},{},{},{},{},{}\n",
                when.as_microsecond(),
                escape::for_terminal(&operation.comm).replace(',', "\\x2c"),
                operation.pid,
                operation.op,
                if operation.has_size() { operation.size } else { 0 },
                if operation.has_size() { operation.offset } else { 0 },
                operation.latency_ns / 1000,
                file
            ));
        }
        Some(format!(
            "{:<8} {:<16} {:<7} {:1} {:<7} {:<8} {:>7.2} {}\n",
            time::local_hms_of(when),
            escape::for_terminal(&operation.comm),
            operation.pid,
            operation.op,
            bytes,
            offset,
            operation.latency_ns as f64 / 1e6,
            escape::for_terminal(&operation.name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_sizes_only_for_reads_and_writes() {
        let mut event = FsEvent::ZERO;
        event.op = op::FSYNC;
        event.latency_ns = 12_345_678;
        event.name[..4].copy_from_slice(b"data");
        event.comm[..2].copy_from_slice(b"db");
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<FsEvent>())
        };
        let mut printer = Printer { fs: FileSystem::Ext4, min_ms: 10, csv: false, json: false };
        let line = printer.event(bytes).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&fields[3..], ["F", "-", "-", "12.35", "data"]);
        printer.csv = true;
        let csv = printer.event(bytes).unwrap();
        assert!(csv.trim_end().ends_with(",db,0,F,0,0,12345,data"), "{csv}");
    }
}
