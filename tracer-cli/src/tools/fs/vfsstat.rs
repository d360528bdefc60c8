//! `tracer vfsstat`: counts of VFS reads, writes, fsyncs, opens, creates,
//! unlinks, mkdirs and rmdirs per interval, as libbpf-tools' vfsstat.
//! Counted in the kernel into per-CPU counters; userspace sums them.

use std::time::Duration;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use serde::Serialize;
use tracer_common::fs::vfsstat::{Config, stat};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FUNCTION_KINDS, FunctionProgram, HookKind, TracepointHook},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    error::refuse,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, tracefs,
    },
    output::{self, json, time},
    runner::{Runner, Schedule},
};

const TOOL: &str = "vfsstat";

/// Count some VFS calls, per second, every interval.
///
/// Examples:
///   tracer vfsstat          # every second
///   tracer vfsstat 5 3      # every five seconds, three times
///   tracer vfsstat --json   # one record of counts per interval
///
/// Each column is calls per second of a VFS function (vfs_read, vfs_write,
/// vfs_fsync, vfs_open, vfs_unlink, vfs_mkdir, vfs_rmdir). CREATE/s counts
/// file creations at security_inode_create, which every create passes:
/// libbpf-tools counts vfs_create, which opens with O_CREAT do not call, so
/// its CREATE/s misses them. Where neither fentry nor kprobes work, the
/// syscall tracepoints stand in (see `--verbose` and README).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(default_value_t = 1, value_parser = interval_arg)]
    pub interval: u64,
    /// Number of outputs
    #[arg(value_parser = count_arg)]
    pub count: Option<u64>,
    /// One JSON object per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

/// Column names, in counter-slot order.
const NAMES: [&str; stat::COUNT as usize] = ["READ", "WRITE", "FSYNC", "OPEN", "CREATE", "UNLINK", "MKDIR", "RMDIR"];

/// The function behind each counter (fentry and kprobe paths), the first
/// of each list that this kernel has.
const FUNCTIONS: [&[&str]; stat::COUNT as usize] = [
    &["vfs_read"],
    &["vfs_write"],
    &["vfs_fsync"],
    &["vfs_open"],
    // Every create (open with O_CREAT of a new file, mknod, vfs_create's
    // callers) passes this hook; without LSMs built in it does not exist.
    &["security_inode_create", "vfs_create"],
    &["vfs_unlink"],
    &["vfs_mkdir"],
    &["vfs_rmdir"],
];

/// The syscall path: each call's entry, by the VFS function it reaches
/// (arm64 and riscv have no open, creat, mknod, unlink, mkdir or rmdir:
/// only the calls this kernel has are attached).
const SYSCALLS: [TracepointHook; 17] = {
    const fn hook(call: &'static str, program: &'static str) -> TracepointHook {
        TracepointHook { category: "syscalls", name: call, program }
    }
    [
        hook("sys_enter_read", "vfsstat_read"),
        hook("sys_enter_pread64", "vfsstat_read"),
        hook("sys_enter_write", "vfsstat_write"),
        hook("sys_enter_pwrite64", "vfsstat_write"),
        hook("sys_enter_fsync", "vfsstat_fsync"),
        hook("sys_enter_fdatasync", "vfsstat_fsync"),
        hook("sys_enter_open", "vfsstat_open"),
        hook("sys_enter_openat", "vfsstat_openat"),
        hook("sys_enter_openat2", "vfsstat_openat2"),
        hook("sys_enter_creat", "vfsstat_creat"),
        hook("sys_enter_mknod", "vfsstat_mknod"),
        hook("sys_enter_mknodat", "vfsstat_mknodat"),
        hook("sys_enter_unlink", "vfsstat_unlink"),
        hook("sys_enter_unlinkat", "vfsstat_unlinkat"),
        hook("sys_enter_mkdir", "vfsstat_mkdir"),
        hook("sys_enter_mkdirat", "vfsstat_mkdir"),
        hook("sys_enter_rmdir", "vfsstat_rmdir"),
    ]
};

const MAP_COUNTS: &str = "VFSSTAT_COUNTS";

/// What a run will do.
#[derive(Clone, Debug)]
pub struct Plan {
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Self {
        Self { hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS) }
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { hooks: vec![kind] }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} ({})", describe(kind, &setup.functions));
    if !args.json {
        output::emit(&header())?;
    }
    let mut reporter = Reporter { seconds: args.interval, json: args.json, interval: 0, previous: [0; 8] };
    let schedule = Schedule { interval: Some(Duration::from_secs(args.interval)), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

fn describe(kind: HookKind, functions: &[Option<&'static str>]) -> String {
    match kind {
        HookKind::Tracepoint => "the read, write, fsync, open, creat, mknod, unlink, mkdir and rmdir syscalls \
                                 (and their pread64/at/2 variants), counted at entry"
            .into(),
        _ => functions.iter().flatten().copied().collect::<Vec<_>>().join(", "),
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    kinds: Vec<HookKind>,
    /// Per counter, the function this kernel has (fentry and kprobe paths).
    functions: Vec<Option<&'static str>>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut kinds = plan.hooks.clone();
    let all: Vec<&str> = FUNCTIONS.iter().flat_map(|names| names.iter().copied()).collect();
    let targets = btf.map(|btf| btf.attach_targets(&[], &all));
    let functions = match &targets {
        Some(targets) => {
            FUNCTIONS.iter().map(|names| names.iter().copied().find(|name| targets.has_function(name))).collect()
        }
        None => {
            // Without BTF neither fentry nor the function names can be checked.
            kinds.retain(|&kind| kind == HookKind::Tracepoint);
            vec![None; FUNCTIONS.len()]
        }
    };
    if kinds.is_empty() {
        refuse!(
            "--hook fentry and kprobe need the kernel's BTF, which this kernel lacks: use --hook tracepoint, or pass --btf FILE"
        );
    }
    Ok(Setup { kinds, functions, targets })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut config = Config::DEFAULT;
        if kind == HookKind::Tracepoint {
            let enter = tracefs::tracepoint_format("syscalls", "sys_enter_openat")?;
            config.syscall_args = tracefs::field(&enter, "sys_enter_openat", "dfd")?.offset;
        }
        let mut ebpf = bpf::load_object(bpf::objects::VFSSTAT, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("VFSSTAT_CONFIG", &config, true);
        })?;
        if kind == HookKind::Tracepoint {
            let present: Vec<TracepointHook> =
                SYSCALLS.iter().filter(|hook| tracefs::tracepoint_exists(hook.category, hook.name)).copied().collect();
            hooks::attach_tracepoints(&mut ebpf, kind, &present, None)?;
            return Ok(ebpf);
        }
        let suffix = if kind == HookKind::Fentry { "fentry" } else { "kprobe" };
        let mut programs = Vec::new();
        for (name, function) in NAMES.iter().zip(&setup.functions) {
            let function = function
                .ok_or_else(|| anyhow::anyhow!("none of {:?} is in the kernel's BTF", FUNCTIONS[programs.len()]))?;
            let program = format!("vfsstat_{}_{suffix}", name.to_ascii_lowercase());
            programs.push(FunctionProgram { function: function.into(), program });
        }
        hooks::attach_function_programs(&mut ebpf, &programs, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// `TIME         READ/s  WRITE/s ...`, as libbpf-tools prints it.
fn header() -> String {
    let mut out = format!("{:<8}  ", "TIME");
    for name in NAMES {
        out.push_str(&format!(" {name:>6}/s"));
    }
    out.push('\n');
    out
}

/// One interval's row: each count per second (integer, as libbpf-tools).
fn row(hms: &str, counts: &[u64; 8], seconds: u64) -> String {
    let mut out = format!("{hms:<8}: ");
    for count in counts {
        out.push_str(&format!(" {:>8}", count / seconds));
    }
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonCounts {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    interval_s: u64,
    read: u64,
    write: u64,
    fsync: u64,
    open: u64,
    create: u64,
    unlink: u64,
    mkdir: u64,
    rmdir: u64,
}

struct Reporter {
    seconds: u64,
    json: bool,
    interval: u64,
    /// The cumulative counts at the last report.
    previous: [u64; 8],
}

impl Reporter {
    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        // Per-CPU counters summed, as every tool's loss counters are.
        let totals = maps::drop_counts(ebpf, MAP_COUNTS, stat::COUNT)?;
        let mut counts = [0u64; 8];
        for (slot, (&total, previous)) in totals.iter().zip(self.previous.iter_mut()).enumerate() {
            counts[slot] = total.saturating_sub(*previous);
            *previous = total;
        }
        if self.json {
            let [read, write, fsync, open, create, unlink, mkdir, rmdir] = counts;
            let record = JsonCounts {
                kind: "vfsstat",
                interval: self.interval,
                interval_s: self.seconds,
                read,
                write,
                fsync,
                open,
                create,
                unlink,
                mkdir,
                rmdir,
            };
            return output::emit(&json::line(TOOL, &record));
        }
        output::emit(&row(&time::local_hms(), &counts, self.seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_as_libbpf_tools_prints_them() {
        let header = header();
        assert_eq!(header, "TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s UNLINK/s  MKDIR/s  RMDIR/s\n");
        let line = row("01:02:03", &[10, 20, 0, 7, 1, 2, 3, 4], 2);
        assert_eq!(line.len(), header.len());
        assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["01:02:03:", "5", "10", "0", "3", "0", "1", "1", "2"]);
    }

    #[test]
    fn every_counter_has_a_function_and_the_syscalls_programs_exist() {
        assert_eq!(NAMES.len(), FUNCTIONS.len());
        let programs: Vec<&str> = SYSCALLS.iter().map(|hook| hook.program).collect();
        for name in NAMES {
            let stem = format!("vfsstat_{}", name.to_ascii_lowercase());
            assert!(name == "CREATE" || programs.contains(&stem.as_str()), "{stem}");
        }
    }
}
