//! `tracer biotop`: the processes doing the most block I/O, per interval, as
//! libbpf-tools' biotop: I/O count, Kbytes and mean latency per process,
//! disk and direction. Counted in the kernel at completion, per CPU, and
//! attributed to the process that submitted each request.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuHashMap},
};
use serde::Serialize;
use tracer_common::block::{
    RequestFilter,
    biotop::{TopKey, TopStats},
};

use super::{FollowArgs, FollowPrograms, Following, disk_name};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    kernel::{btf::KernelBtf, privileges, process},
    output::{self, escape, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
    tools::top::{Cumulative, Intervals},
};

const TOOL: &str = "biotop";

/// Block device I/O top: processes by disk I/O, each interval.
///
/// Counts each request for the process that submitted it. libbpf-tools'
/// -p tests the task running when the I/O completes (usually not the
/// process asked for); here -p keeps that process's I/O, as documented.
///
/// Examples:
///   tracer biotop            # block device I/O top, refresh every 1s
///   tracer biotop 5 10       # 5s summaries, 10 times
///   tracer biotop -C -r 5    # don't clear the screen, top 5 rows
///   tracer biotop -s io      # sort by I/O count
///   tracer biotop -p 181     # only trace PID 181
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg, default_value_t = 1)]
    pub interval: u64,
    /// Number of outputs
    #[arg(value_parser = count_arg)]
    pub count: Option<u64>,
    /// Don't clear the screen
    #[arg(short = 'C', long = "noclear")]
    pub noclear: bool,
    /// Maximum rows to print
    #[arg(short = 'r', long = "rows", value_name = "ROWS", default_value_t = 20, value_parser = rows_arg)]
    pub rows: usize,
    /// Sort rows by: all (I/O + bytes + time, libbpf-tools' default), io, bytes, time
    #[arg(short = 's', long = "sort", value_name = "SORT", value_enum, default_value_t = Sort::All)]
    pub sort: Sort,
    /// Trace this process only (the one that submitted the I/O)
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// One JSON object per row per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub follow: FollowArgs,
}

fn rows_arg(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(rows) if rows >= 1 => Ok(rows),
        _ => Err("rows must be a whole number, at least 1".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sort {
    All,
    Io,
    Bytes,
    Time,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub filter: RequestFilter,
    pub follow: FollowArgs,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let mut filter = RequestFilter::NONE;
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
            filter.filter_tgid = 1;
            filter.tgid = pid;
        }
        Ok(Self { filter, follow: args.follow.clone() })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self {
            filter: RequestFilter::NONE,
            follow: FollowArgs { hook: Some(kind.name().to_owned()), start_hook: None },
        }
    }
}

const PROGRAMS: FollowPrograms =
    FollowPrograms { start: "biotop_start", getrq: "biotop_getrq", issue: "biotop_issue", complete: "biotop_complete" };

const MAP_STATS: &str = "BIOTOP_STATS";
const MAP_DROPS: &str = "BIOTOP_DROPS";
const LOST_REASONS: &[(&str, &str)] = &[
    ("in_flight_full", "I/Os: too many requests in flight for the request map"),
    ("stats_map_full", "I/Os: too many (process, disk) pairs for the counter map"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let following = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        Following::prepare(plan.filter, None, &plan.follow, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&following)?;
    log::info!("{TOOL}: using {kind} on {}", following.describe());
    let mut reporter = Reporter::new(&args);
    let schedule = Schedule { interval: Some(std::time::Duration::from_secs(args.interval)), count: args.count };
    if !args.json {
        output::emit("Tracing block device I/O... Hit Ctrl-C to end.\n")?;
    }
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&Following::prepare(plan.filter, None, &plan.follow, btf)?)
}

fn attach_prepared(following: &Following) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &following.kinds, |kind| {
        let offsets = following.offsets_for(kind)?;
        let mut ebpf = bpf::load_object(bpf::objects::BIOTOP, |loader: &mut EbpfLoader<'_>| {
            following.configure(loader, &offsets);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &following.tracepoints(&PROGRAMS), following.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// One row: a process's I/O to one disk in one direction this interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub key: TopKey,
    pub stats: TopStats,
}

impl Row {
    fn rank(&self, sort: Sort) -> u64 {
        let s = &self.stats;
        match sort {
            // libbpf-tools adds the three (microseconds for time).
            Sort::All => s.io + s.bytes + s.ns / 1000,
            Sort::Io => s.io,
            Sort::Bytes => s.bytes,
            Sort::Time => s.ns,
        }
    }

    fn avg_ms(&self) -> f64 {
        if self.stats.io == 0 { 0.0 } else { self.stats.ns as f64 / 1e6 / self.stats.io as f64 }
    }
}

/// The largest `rows` rows by `sort`, largest first (ties by pid).
pub fn top(mut rows: Vec<Row>, sort: Sort, limit: usize) -> Vec<Row> {
    rows.sort_by(|a, b| b.rank(sort).cmp(&a.rank(sort)).then(a.key.pid.cmp(&b.key.pid)));
    rows.truncate(limit);
    rows
}

impl Cumulative for TopStats {
    fn since(&self, before: &Self) -> Self {
        TopStats {
            io: self.io.saturating_sub(before.io),
            bytes: self.bytes.saturating_sub(before.bytes),
            ns: self.ns.saturating_sub(before.ns),
        }
    }

    fn is_idle(&self) -> bool {
        self.io == 0
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    pid: u32,
    comm: String,
    op: &'static str,
    major: u32,
    minor: u32,
    disk: &'a str,
    io: u64,
    bytes: u64,
    total_ns: u64,
    avg_ms: f64,
}

struct Reporter {
    json: bool,
    clear: bool,
    rows: usize,
    sort: Sort,
    interval: u64,
    intervals: Intervals<TopKey, TopStats>,
    disks: HashMap<u32, String>,
    lost: LostReporter,
}

impl Reporter {
    fn new(args: &Args) -> Self {
        Self {
            json: args.json,
            // Clearing is for a terminal; a pipe or file keeps every interval.
            clear: !args.noclear && !args.json && std::io::IsTerminal::is_terminal(&std::io::stdout()),
            rows: args.rows,
            sort: args.sort,
            interval: 0,
            intervals: Intervals::default(),
            disks: HashMap::new(),
            lost: LostReporter::new(TOOL, LOST_REASONS),
        }
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let mut map: PerCpuHashMap<&mut MapData, TopKey, TopStats> =
            PerCpuHashMap::try_from(ebpf.map_mut(MAP_STATS).context("BPF object has no counter map")?)?;
        // An entry deleted under the walk only ends it early; counters are
        // cumulative, so the next interval picks the rest up.
        let snapshot: HashMap<TopKey, TopStats> = map
            .iter()
            .filter_map(Result::ok)
            .map(|(key, values)| {
                let sum = values.iter().fold(TopStats::default(), |t, v| TopStats {
                    io: t.io + v.io,
                    bytes: t.bytes + v.bytes,
                    ns: t.ns + v.ns,
                });
                (key, sum)
            })
            .collect();
        let (rows, idle) = self.intervals.next(snapshot);
        let rows = rows.into_iter().map(|(key, stats)| Row { key, stats }).collect();
        for key in &idle {
            let _ = map.remove(key);
        }
        let rows = top(rows, self.sort, self.rows);
        let mut out = if self.json { self.json_rows(&rows) } else { self.text(&rows) };
        let drops = maps::drop_counts(ebpf, MAP_DROPS, LOST_REASONS.len() as u32)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    fn disk(&mut self, dev: u32) -> String {
        self.disks.entry(dev).or_insert_with(|| disk_name(dev)).clone()
    }

    fn text(&mut self, rows: &[Row]) -> String {
        let mut out = String::new();
        if self.clear {
            out.push_str("\x1b[H\x1b[2J");
        }
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        out.push_str(&format!("{:>8} loadavg: {}\n", time::local_hms(), loadavg.trim()));
        out.push_str(&format!(
            "{:<7} {:<16} {:1} {:<3} {:<3} {:<8} {:>5} {:>7} {:>6}\n",
            "PID", "COMM", "D", "MAJ", "MIN", "DISK", "I/O", "Kbytes", "AVGms"
        ));
        for row in rows {
            let disk = self.disk(row.key.dev);
            out.push_str(&format!(
                "{:<7} {:<16} {:1} {:<3} {:<3} {:<8} {:>5} {:>7} {:>6.2}\n",
                row.key.pid,
                escape::for_terminal(&row.key.comm),
                if row.key.write != 0 { "W" } else { "R" },
                row.key.dev >> 20,
                row.key.dev & 0xf_ffff,
                escape::for_terminal(disk.as_bytes()),
                row.stats.io,
                row.stats.bytes / 1024,
                row.avg_ms()
            ));
        }
        out.push('\n');
        out
    }

    fn json_rows(&mut self, rows: &[Row]) -> String {
        let mut out = String::new();
        for row in rows {
            let disk = self.disk(row.key.dev);
            let record = JsonRow {
                kind: "biotop",
                interval: self.interval,
                pid: row.key.pid,
                comm: escape::for_json(&row.key.comm),
                op: if row.key.write != 0 { "W" } else { "R" },
                major: row.key.dev >> 20,
                minor: row.key.dev & 0xf_ffff,
                disk: &disk,
                io: row.stats.io,
                bytes: row.stats.bytes,
                total_ns: row.stats.ns,
                avg_ms: row.avg_ms(),
            };
            out.push_str(&json::line(TOOL, &record));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pid: u32, write: u32) -> TopKey {
        TopKey { pid, dev: 7 << 20, write, _pad: 0, comm: *b"dd\0\0\0\0\0\0\0\0\0\0\0\0\0\0" }
    }

    fn stats(io: u64, bytes: u64, ns: u64) -> TopStats {
        TopStats { io, bytes, ns }
    }

    #[test]
    fn an_interval_is_the_difference_of_every_counter() {
        let delta = stats(5, 20480, 400).since(&stats(2, 8192, 100));
        assert_eq!(delta, stats(3, 12288, 300));
        assert!(stats(0, 0, 0).is_idle() && !delta.is_idle());
    }

    #[test]
    fn sorting_follows_libbpf_tools_keys() {
        let rows = vec![
            Row { key: key(1, 0), stats: stats(10, 4096, 1_000) },
            Row { key: key(2, 0), stats: stats(1, 1 << 20, 1_000) },
            Row { key: key(3, 0), stats: stats(2, 1024, 90_000_000) },
        ];
        let pids = |sort| top(rows.clone(), sort, 10).iter().map(|r| r.key.pid).collect::<Vec<_>>();
        assert_eq!(pids(Sort::Io), [1, 3, 2]);
        assert_eq!(pids(Sort::Bytes), [2, 1, 3]);
        assert_eq!(pids(Sort::Time), [3, 1, 2]);
        assert_eq!(pids(Sort::All), [2, 3, 1]);
        assert_eq!(top(rows, Sort::Io, 1).len(), 1);
        assert!(rows_arg("0").is_err() && rows_arg("x").is_err() && rows_arg("3") == Ok(3));
    }
}
