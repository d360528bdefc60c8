//! `tracer syscount`: syscall counts (and with -L total latency), per
//! syscall or per process, as libbpf-tools' syscount. Counted in the kernel
//! at raw_syscalls:sys_exit into per-CPU counters; userspace sums the CPUs
//! and prints the top entries each interval.

use std::{collections::HashMap, time::Duration};

use anyhow::{Context, Result};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, PerCpuHashMap},
};
use serde::Serialize;
use syscalls::{Errno, Sysno};
use tracer_common::process::syscount::{Config, MAX_SYSCALLS, ProcessStats, SyscallOffsets, SyscallStats};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::{Common, interval_arg},
    error::refuse,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process, tracefs,
    },
    output::{self, escape, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
};

const TOOL: &str = "syscount";

/// Summarize syscall counts and latencies.
///
/// Examples:
///   tracer syscount                 # top 10 syscalls by count, printed at Ctrl-C
///   tracer syscount -i 1            # ... every second
///   tracer syscount -p $(pidof dd)  # look only at a particular process
///   tracer syscount -L              # measure and sort output by latency
///   tracer syscount -P              # group statistics by pid, not by syscall
///   tracer syscount -x -i 5         # count only failed syscalls
///   tracer syscount -e ENOENT -i 5  # count only syscalls failed with a given errno
///   tracer syscount -l              # list the syscalls this architecture has
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Process PID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Print summary at this interval (seconds); default: once, at the end
    #[arg(short = 'i', long = "interval", value_name = "INTERVAL", value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Total tracing duration (seconds)
    #[arg(short = 'd', long = "duration", value_name = "DURATION", value_parser = duration_arg)]
    pub duration: Option<u64>,
    /// Print only the top syscalls (or processes)
    #[arg(short = 'T', long = "top", value_name = "TOP", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
    /// Trace only failed syscalls
    #[arg(short = 'x', long = "failures")]
    pub failures: bool,
    /// Collect syscall latency
    #[arg(short = 'L', long = "latency")]
    pub latency: bool,
    /// Display latency in milliseconds (default: microseconds)
    #[arg(short = 'm', long = "milliseconds", requires = "latency")]
    pub milliseconds: bool,
    /// Count by process and not by syscall
    #[arg(short = 'P', long = "process")]
    pub process: bool,
    /// Trace only syscalls that return this error (numeric or EPERM, etc.)
    #[arg(short = 'e', long = "errno", value_name = "ERRNO", value_parser = errno_arg)]
    pub errno: Option<u32>,
    /// Print list of recognized syscalls and exit
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// One JSON object per row per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

fn duration_arg(text: &str) -> Result<u64, String> {
    match text.trim().parse::<i64>() {
        Ok(value) if value >= 1 => Ok(value as u64),
        Ok(_) => Err("duration must be at least 1".into()),
        Err(_) => Err("duration must be a whole number of seconds".into()),
    }
}

/// An errno by number (1-4095) or by name (`ENOENT`, case-insensitive).
pub fn errno_arg(text: &str) -> Result<u32, String> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i64>() {
        return match number {
            1..=4095 => Ok(number as u32),
            _ => Err(format!("errno {number} is out of range (1-4095)")),
        };
    }
    let wanted = text.to_ascii_uppercase();
    (1..4096)
        .find(|&number| errno_name(number).is_some_and(|name| name == wanted))
        .map(|number| number as u32)
        .ok_or_else(|| format!("unknown errno {text:?}: use a name such as ENOENT or EPERM, or a number"))
}

/// `ENOENT` for 2, if this architecture names it.
pub fn errno_name(number: i32) -> Option<&'static str> {
    Errno::new(number).name_and_description().map(|(name, _)| name)
}

/// The name of syscall `id` on this architecture, as libbpf-tools prints it.
pub fn syscall_name(id: u32) -> String {
    match Sysno::new(id as usize) {
        Some(sysno) => sysno.name().to_owned(),
        None => format!("[unknown: {id}]"),
    }
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
        let mut config = Config::DEFAULT;
        config.target_tgid = args.pid.unwrap_or(0);
        config.by_process = u32::from(args.process);
        config.latency = u32::from(args.latency);
        config.failed_only = u32::from(args.failures);
        config.errno = args.errno.unwrap_or(0);
        Ok(Self { config: no_return_ids(config), hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    /// The plan `tracer doctor` tries: latency per syscall (both programs).
    pub fn probe(kind: HookKind) -> Self {
        let mut config = Config::DEFAULT;
        config.latency = 1;
        Self { config: no_return_ids(config), hooks: vec![kind] }
    }
}

/// The syscalls that never return to sys_exit on this architecture.
fn no_return_ids(mut config: Config) -> Config {
    let id = |name: &str| name.parse::<Sysno>().map_or(u32::MAX, |sysno| sysno.id() as u32);
    config.no_return_a = id("exit");
    config.no_return_b = id("exit_group");
    config.self_tgid = std::process::id();
    config
}

const ENTER: TracepointHook = TracepointHook { category: "raw_syscalls", name: "sys_enter", program: "syscount_enter" };
const EXIT: TracepointHook = TracepointHook { category: "raw_syscalls", name: "sys_exit", program: "syscount_exit" };

const MAP_BY_ID: &str = "SYSCOUNT_BY_ID";
const MAP_BY_PROCESS: &str = "SYSCOUNT_BY_PROCESS";
const MAP_DROPS: &str = "SYSCOUNT_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("start_map_full", "syscalls: too many threads inside syscalls for the start-time map (not timed)"),
    ("process_map_full", "syscalls: too many processes for the per-process map"),
    ("unknown_syscall", "syscalls: number beyond the syscall table"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    if args.list {
        return output::emit(&list());
    }
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on raw_syscalls:{}sys_exit", if args.latency { "sys_enter, " } else { "" });

    if !args.json {
        output::emit(&format!("Tracing syscalls, printing top {}... Ctrl+C to quit.\n", args.top))?;
    }
    let mut reporter = Reporter::new(&args);
    runner.run(schedule(args.interval, args.duration), || reporter.report(&mut ebpf))?;
    Ok(())
}

/// `-i` and `-d` as libbpf-tools reads them: print every interval, stop
/// once the duration is reached (the last interval may be cut short of it
/// only by Ctrl-C); without `-i`, one report at the end.
fn schedule(interval: Option<u64>, duration: Option<u64>) -> Schedule {
    match (interval, duration) {
        (Some(interval), Some(duration)) => {
            Schedule { interval: Some(Duration::from_secs(interval)), count: Some(duration.div_ceil(interval)) }
        }
        (Some(interval), None) => Schedule { interval: Some(Duration::from_secs(interval)), count: None },
        (None, Some(duration)) => Schedule { interval: Some(Duration::from_secs(duration)), count: Some(1) },
        (None, None) => Schedule { interval: None, count: None },
    }
}

/// `-l`: every syscall this architecture has, `NNN: name`.
fn list() -> String {
    Sysno::iter().map(|sysno| format!("{:3}: {}\n", sysno.id(), sysno.name())).collect()
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: SyscallOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut offsets = SyscallOffsets::UNRESOLVED;
    let mut kinds = plan.hooks.clone();
    // sys_exit's BTF/raw arguments are (regs, ret): the syscall number is in
    // the saved registers, where the kernel's syscall_get_nr finds it.
    let regs_nr = btf.map(|btf| btf.field_any("pt_regs", &["orig_ax", "syscallno"]));
    match regs_nr {
        Some(Ok(field)) => offsets.regs_nr = field.offset,
        Some(Err(err)) => {
            log::info!("{TOOL}: no syscall number in pt_regs ({err:#}): classic tracepoints only");
            kinds.retain(|&kind| kind == HookKind::Tracepoint);
        }
        None => kinds.retain(|&kind| kind == HookKind::Tracepoint),
    }
    if kinds.is_empty() {
        refuse!(
            "--hook tp_btf and raw_tp need the syscall number's place in the kernel's registers (from BTF), \
             which this kernel does not give: use --hook tracepoint"
        );
    }
    Ok(Setup {
        config: plan.config,
        offsets,
        kinds,
        targets: btf.map(|btf| btf.attach_targets(&["sys_enter", "sys_exit"], &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    let hooks: &[TracepointHook] = if setup.config.latency != 0 { &[ENTER, EXIT] } else { &[EXIT] };
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let enter = tracefs::tracepoint_format("raw_syscalls", "sys_enter")?;
            let exit = tracefs::tracepoint_format("raw_syscalls", "sys_exit")?;
            offsets.tp_enter_id = tracefs::field(&enter, "sys_enter", "id")?.offset;
            offsets.tp_exit_id = tracefs::field(&exit, "sys_exit", "id")?.offset;
            offsets.tp_exit_ret = tracefs::field(&exit, "sys_exit", "ret")?.offset;
        }
        let mut unused = Vec::new();
        if setup.config.latency == 0 {
            unused.push("SYSCOUNT_START");
        }
        if setup.config.by_process == 0 {
            unused.push(MAP_BY_PROCESS);
        }
        let mut ebpf = bpf::load_object(bpf::objects::SYSCOUNT, |loader: &mut EbpfLoader<'_>| {
            bpf::shrink_unused_maps(loader, &unused);
            loader.override_global("SYSCOUNT_CONFIG", &setup.config, true);
            loader.override_global("SYSCOUNT_OFFSETS", &offsets, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, hooks, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// One row's totals: a syscall's or a process's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: u64,
    pub total_ns: u64,
}

impl Totals {
    fn since(&self, earlier: Option<&Totals>) -> Totals {
        let earlier = earlier.cloned().unwrap_or_default();
        Totals {
            count: self.count.saturating_sub(earlier.count),
            total_ns: self.total_ns.saturating_sub(earlier.total_ns),
        }
    }
}

/// A row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Syscall number, or pid with -P.
    pub key: u32,
    pub comm: Vec<u8>,
    pub totals: Totals,
}

/// Sorts rows as libbpf-tools does (by count, or by total time with -L),
/// ties by key so output is stable, and keeps the top `top`.
pub fn top_rows(mut rows: Vec<Row>, by_latency: bool, top: usize) -> Vec<Row> {
    rows.retain(|row| row.totals.count > 0);
    rows.sort_by(|a, b| {
        let (x, y) = if by_latency { (a.totals.total_ns, b.totals.total_ns) } else { (a.totals.count, b.totals.count) };
        y.cmp(&x).then(a.key.cmp(&b.key))
    });
    rows.truncate(top);
    rows
}

struct Reporter {
    by_process: bool,
    latency: bool,
    milliseconds: bool,
    json: bool,
    top: usize,
    interval: u64,
    previous: HashMap<u32, Totals>,
    lost: LostReporter,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    syscall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comm: Option<&'a str>,
    count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_ns: Option<u64>,
}

impl Reporter {
    fn new(args: &Args) -> Self {
        Self {
            by_process: args.process,
            latency: args.latency,
            milliseconds: args.milliseconds,
            json: args.json,
            top: args.top as usize,
            interval: 0,
            previous: HashMap::new(),
            lost: LostReporter::new(TOOL, LOST_REASONS),
        }
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let rows = if self.by_process { self.process_rows(ebpf)? } else { self.syscall_rows(ebpf)? };
        let rows = top_rows(rows, self.latency, self.top);
        let mut out = if self.json { self.json(&rows) } else { self.text(&rows) };
        let drops = maps::drop_counts(ebpf, MAP_DROPS, LOST_REASONS.len() as u32)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    /// This interval's counts per syscall: per-CPU counters summed, minus
    /// the last snapshot.
    fn syscall_rows(&mut self, ebpf: &Ebpf) -> Result<Vec<Row>> {
        let map: PerCpuArray<&MapData, SyscallStats> =
            PerCpuArray::try_from(ebpf.map(MAP_BY_ID).context("BPF object has no per-syscall map")?)?;
        let mut rows = Vec::new();
        for id in 0..MAX_SYSCALLS {
            let values = map.get(&id, 0).with_context(|| format!("cannot read {MAP_BY_ID}"))?;
            let now = values
                .iter()
                .fold(Totals::default(), |t, v| Totals { count: t.count + v.count, total_ns: t.total_ns + v.total_ns });
            if now.count == 0 {
                continue;
            }
            let interval = now.since(self.previous.get(&id));
            self.previous.insert(id, now);
            rows.push(Row { key: id, comm: Vec::new(), totals: interval });
        }
        Ok(rows)
    }

    /// This interval's counts per process. Processes idle for a whole
    /// interval are deleted from the map, so it holds only live ones.
    fn process_rows(&mut self, ebpf: &mut Ebpf) -> Result<Vec<Row>> {
        let mut map: PerCpuHashMap<&mut MapData, u32, ProcessStats> =
            PerCpuHashMap::try_from(ebpf.map_mut(MAP_BY_PROCESS).context("BPF object has no per-process map")?)?;
        let mut rows = Vec::new();
        let mut idle = Vec::new();
        let mut current = HashMap::new();
        // An entry deleted under the walk only ends it early; counters are
        // cumulative, so the next interval picks the rest up.
        for (pid, values) in map.iter().filter_map(Result::ok) {
            let mut now = Totals::default();
            let mut comm = Vec::new();
            for value in values.iter() {
                now.count += value.count;
                now.total_ns += value.total_ns;
                if comm.is_empty() && value.comm[0] != 0 {
                    comm = escape::until_nul(&value.comm).to_vec();
                }
            }
            let interval = now.since(self.previous.get(&pid));
            if interval.count == 0 {
                idle.push(pid);
                continue;
            }
            current.insert(pid, now);
            rows.push(Row { key: pid, comm, totals: interval });
        }
        for pid in &idle {
            let _ = map.remove(pid);
        }
        self.previous = current;
        Ok(rows)
    }

    fn text(&self, rows: &[Row]) -> String {
        // libbpf-tools prints nothing for an interval without syscalls.
        if rows.is_empty() {
            return String::new();
        }
        let mut out = format!("[{}]\n", time::local_hms());
        let key_header = if self.by_process { "PID    COMM" } else { "SYSCALL" };
        let divisor = if self.milliseconds { 1e6 } else { 1e3 };
        if self.latency {
            let unit = if self.milliseconds { "TIME (ms)" } else { "TIME (us)" };
            out.push_str(&format!("{key_header:<22} {:>8} {unit:>16}\n", "COUNT"));
        } else {
            out.push_str(&format!("{key_header:<22} {:>8}\n", "COUNT"));
        }
        for row in rows {
            let key = if self.by_process {
                format!("{:<6} {:<15}", row.key, escape::for_terminal(&row.comm))
            } else {
                syscall_name(row.key)
            };
            if self.latency {
                out.push_str(&format!(
                    "{key:<22} {:>8} {:>16.3}\n",
                    row.totals.count,
                    row.totals.total_ns as f64 / divisor
                ));
            } else {
                out.push_str(&format!("{key:<22} {:>8}\n", row.totals.count));
            }
        }
        out.push('\n');
        out
    }

    fn json(&self, rows: &[Row]) -> String {
        rows.iter()
            .map(|row| {
                let comm = escape::for_json(&row.comm);
                let record = JsonRow {
                    kind: if self.by_process { "process" } else { "syscall" },
                    interval: self.interval,
                    syscall: (!self.by_process).then(|| syscall_name(row.key)),
                    id: (!self.by_process).then_some(row.key),
                    pid: self.by_process.then_some(row.key),
                    comm: self.by_process.then_some(comm.as_str()),
                    count: row.totals.count,
                    total_ns: self.latency.then_some(row.totals.total_ns),
                };
                json::line(TOOL, &record)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_by_name_or_number() {
        assert_eq!(errno_arg("ENOENT"), Ok(2));
        assert_eq!(errno_arg("eperm"), Ok(1));
        assert_eq!(errno_arg("9"), Ok(9));
        assert!(errno_arg("0").is_err());
        assert!(errno_arg("ENOSUCHTHING").unwrap_err().contains("unknown errno"));
        assert_eq!(errno_name(9), Some("EBADF"));
    }

    #[test]
    fn syscall_names_come_from_the_architecture_table() {
        let sysno = "getppid".parse::<Sysno>().unwrap();
        assert_eq!(syscall_name(sysno.id() as u32), "getppid");
        assert_eq!(syscall_name(100_000), "[unknown: 100000]");
        assert!(list().lines().any(|line| line.ends_with(": openat")));
    }

    #[test]
    fn rows_sort_by_count_or_latency_and_keep_the_top() {
        let row = |key, count, total_ns| Row { key, comm: Vec::new(), totals: Totals { count, total_ns } };
        let rows = vec![row(1, 5, 900), row(2, 50, 10), row(3, 0, 0), row(4, 50, 20), row(5, 7, 5000)];
        let by_count: Vec<u32> = top_rows(rows.clone(), false, 3).iter().map(|r| r.key).collect();
        assert_eq!(by_count, [2, 4, 5]);
        let by_latency: Vec<u32> = top_rows(rows, true, 10).iter().map(|r| r.key).collect();
        assert_eq!(by_latency, [5, 1, 4, 2]);
    }

    #[test]
    fn duration_and_interval_make_a_schedule() {
        let s = schedule(Some(2), Some(5));
        assert_eq!((s.interval, s.count), (Some(Duration::from_secs(2)), Some(3)));
        let s = schedule(None, Some(4));
        assert_eq!((s.interval, s.count), (Some(Duration::from_secs(4)), Some(1)));
        assert!(schedule(None, None).interval.is_none());
    }
}
