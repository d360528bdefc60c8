//! `tracer biopattern`: how much of each disk's I/O is random and how much
//! sequential, per interval, as libbpf-tools' biopattern: an I/O is
//! sequential when it starts where the disk's previous one ended.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap as BpfHashMap, MapData},
};
use serde::Serialize;
use tracer_common::block::{
    BlockOffsets,
    biopattern::{Config, PatternCounter},
};

use super::{disk_dev, disk_name, record_offsets, request_offsets};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    error::{refuse, user_error},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges,
    },
    output::{self, escape, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
};

const TOOL: &str = "biopattern";

/// Show block device I/O pattern: the share of random and sequential I/O per disk.
///
/// An I/O is sequential when it starts at the sector where the disk's
/// previous completed I/O ended. COUNT is every I/O of the interval; a
/// disk's first I/O ever seen has no previous one and is in neither share.
/// libbpf-tools resets its counters each interval, so there the first I/O
/// of every interval goes unclassified and uncounted.
///
/// Examples:
///   tracer biopattern              # show block I/O pattern
///   tracer biopattern 1 10         # print 1 second summaries, 10 times
///   tracer biopattern -T 1         # 1s summaries with timestamps
///   tracer biopattern -d sdc       # trace sdc only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds (default: one report at Ctrl-C)
    #[arg(value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Number of outputs
    #[arg(value_parser = count_arg, requires = "interval")]
    pub count: Option<u64>,
    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Trace this disk only (e.g. sda, nvme0n1)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,
    /// One JSON object per disk per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let mut config = Config::DEFAULT;
        if let Some(name) = &args.disk {
            config.filter_dev = 1;
            config.dev = disk_dev(name)?;
        }
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

const COMPLETE: [TracepointHook; 1] =
    [TracepointHook { category: "block", name: "block_rq_complete", program: "biopattern_complete" }];
const MAP_COUNTERS: &str = "BIOPATTERN_COUNTERS";
const MAP_DROPS: &str = "BIOPATTERN_DROPS";
const LOST_REASONS: &[(&str, &str)] = &[("disk_map_full", "I/Os: too many disks for the counter map")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on block:block_rq_complete");
    let mut reporter = Reporter::new(&args);
    if !args.json {
        let time = if args.timestamp { format!("{:<9}", "TIME") } else { String::new() };
        output::emit(&format!(
            "Tracing block device I/O requested seeks... Hit Ctrl-C to end.\n{time}{:<7} {:>5} {:>5} {:>8} {:>10}\n",
            "DISK", "%RND", "%SEQ", "COUNT", "KBYTES"
        ))?;
    }
    let schedule = Schedule { interval: args.interval.map(std::time::Duration::from_secs), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: BlockOffsets,
    kinds: Vec<HookKind>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let Some(btf) = btf else {
        if !plan.hooks.contains(&HookKind::Tracepoint) {
            refuse!("the tp_btf and raw_tp hooks need the kernel's BTF, which it lacks: use --hook tracepoint");
        }
        return Ok(Setup {
            config: plan.config,
            offsets: BlockOffsets::UNRESOLVED,
            kinds: vec![HookKind::Tracepoint],
            targets: None,
        });
    };
    let offsets =
        request_offsets(btf).map_err(|err| user_error!("this kernel's block layer is not one we know: {err:#}"))?;
    Ok(Setup {
        config: plan.config,
        offsets,
        kinds: plan.hooks.clone(),
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&COMPLETE), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            record_offsets(&mut offsets, &["block_rq_complete"])?;
        }
        let mut ebpf = bpf::load_object(bpf::objects::BIOPATTERN, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("BIOPATTERN_CONFIG", &setup.config, true);
            loader.override_global("BLOCK_OFFSETS", &offsets, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &COMPLETE, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// One disk's interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pattern {
    pub io: u64,
    pub bytes: u64,
    pub sequential: u64,
    pub random: u64,
}

impl Pattern {
    /// What `now` added to `before` (cumulative counters).
    pub fn since(now: &PatternCounter, before: &PatternCounter) -> Self {
        Self {
            io: now.io.saturating_sub(before.io),
            bytes: now.bytes.saturating_sub(before.bytes),
            sequential: now.sequential.saturating_sub(before.sequential),
            random: now.random.saturating_sub(before.random),
        }
    }

    /// (%RND, %SEQ) of the classified I/Os, in whole percent as
    /// libbpf-tools prints them (truncated).
    pub fn shares(&self) -> (u64, u64) {
        let classified = self.sequential + self.random;
        if classified == 0 {
            return (0, 0);
        }
        (self.random * 100 / classified, self.sequential * 100 / classified)
    }
}

#[derive(Serialize)]
struct JsonPattern<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    disk: &'a str,
    major: u32,
    minor: u32,
    random_pct: f64,
    sequential_pct: f64,
    count: u64,
    random: u64,
    sequential: u64,
    bytes: u64,
}

struct Reporter {
    json: bool,
    timestamp: bool,
    interval: u64,
    previous: HashMap<u32, PatternCounter>,
    lost: LostReporter,
}

impl Reporter {
    fn new(args: &Args) -> Self {
        Self {
            json: args.json,
            timestamp: args.timestamp,
            interval: 0,
            previous: HashMap::new(),
            lost: LostReporter::new(TOOL, LOST_REASONS),
        }
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let map: BpfHashMap<&MapData, u32, PatternCounter> =
            BpfHashMap::try_from(ebpf.map(MAP_COUNTERS).context("BPF object has no counter map")?)?;
        // Disks stay in the map (their last position decides the next I/O).
        let now: HashMap<u32, PatternCounter> = map.iter().filter_map(Result::ok).collect();
        let mut disks = BTreeMap::new();
        for (&dev, counter) in &now {
            let pattern = Pattern::since(counter, self.previous.get(&dev).unwrap_or(&PatternCounter::default()));
            if pattern.io > 0 {
                disks.insert(disk_name(dev), (dev, pattern));
            }
        }
        self.previous = now;
        let mut out = String::new();
        for (name, (dev, pattern)) in &disks {
            let (random, sequential) = pattern.shares();
            if self.json {
                let classified = (pattern.sequential + pattern.random).max(1) as f64;
                let record = JsonPattern {
                    kind: "biopattern",
                    interval: self.interval,
                    disk: name,
                    major: dev >> 20,
                    minor: dev & 0xf_ffff,
                    random_pct: pattern.random as f64 * 100.0 / classified,
                    sequential_pct: pattern.sequential as f64 * 100.0 / classified,
                    count: pattern.io,
                    random: pattern.random,
                    sequential: pattern.sequential,
                    bytes: pattern.bytes,
                };
                out.push_str(&json::line(TOOL, &record));
                continue;
            }
            if self.timestamp {
                out.push_str(&format!("{:<9}", time::local_hms()));
            }
            out.push_str(&format!(
                "{:<7} {random:>5} {sequential:>5} {:>8} {:>10}\n",
                escape::for_terminal(name.as_bytes()),
                pattern.io,
                pattern.bytes / 1024
            ));
        }
        let drops = maps::drop_counts(ebpf, MAP_DROPS, LOST_REASONS.len() as u32)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_shares() {
        let before = PatternCounter { next_sector: 8, bytes: 4096, io: 1, sequential: 0, random: 0 };
        let now = PatternCounter { next_sector: 800, bytes: 4096 * 11, io: 11, sequential: 9, random: 1 };
        let pattern = Pattern::since(&now, &before);
        assert_eq!(pattern, Pattern { io: 10, bytes: 40960, sequential: 9, random: 1 });
        assert_eq!(pattern.shares(), (10, 90));
        assert_eq!(Pattern::default().shares(), (0, 0));
        // Truncated, as libbpf-tools prints: 2 of 3 is 66%.
        assert_eq!(Pattern { io: 3, bytes: 0, sequential: 2, random: 1 }.shares(), (33, 66));
    }
}
