//! `tracer runqlen`: scheduler run queue length, sampled on every CPU at
//! a fixed frequency, as libbpf-tools' runqlen: a linear histogram of how
//! many tasks were waiting (`-C` per CPU), or with `-O` the share of
//! samples in which any task was waiting (occupancy).

use std::{fmt::Write as _, time::Duration};

use anyhow::{Context, Result};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray},
    programs::{
        PerfEvent,
        perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent},
    },
};
use serde::Serialize;
use tracer_common::sched::runqlen::{Config, MAX_SLOTS, QueueHistogram, RunqOffsets};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind},
    },
    cli::{Common, count_arg, interval_arg},
    error::{refuse, user_error},
    kernel::{btf::KernelBtf, privileges},
    output::{self, json, time},
    runner::{Runner, Schedule},
};

const TOOL: &str = "runqlen";

/// Summarize scheduler run queue length as a histogram.
///
/// Examples:
///   tracer runqlen         # summarize run queue length as a histogram
///   tracer runqlen 1 10    # print 1 second summaries, 10 times
///   tracer runqlen -T 1    # 1s summaries and timestamps
///   tracer runqlen -O      # report run queue occupancy
///   tracer runqlen -C      # show each CPU separately
///   tracer runqlen -H      # the whole run queue of each CPU, not the sampled task's group
///   tracer runqlen -f 199  # sample at 199Hz
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Number of outputs
    #[arg(value_parser = count_arg, requires = "interval")]
    pub count: Option<u64>,
    /// Show each CPU separately
    #[arg(short = 'C', long = "cpus")]
    pub per_cpu: bool,
    /// Report run queue occupancy
    #[arg(short = 'O', long = "runqocc")]
    pub occupancy: bool,
    /// The CPU's whole run queue (all classes and cgroups), not the CFS queue of the sampled task's group
    #[arg(short = 'H', long = "host")]
    pub host: bool,
    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Sample with a certain frequency (Hz)
    #[arg(short = 'f', long = "frequency", value_name = "HZ", default_value_t = 99,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub frequency: u64,
    /// One JSON object per histogram per interval (schema in README)
    #[arg(long)]
    pub json: bool,
}

pub(crate) const MAP_HIST: &str = "RUNQLEN_HIST";

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub frequency: u64,
}

impl Plan {
    pub fn from_args(args: &Args) -> Self {
        let mut config = Config::DEFAULT;
        config.host = u32::from(args.host);
        Self { config, frequency: args.frequency }
    }

    /// The plan `tracer doctor` tries.
    pub fn probe() -> Self {
        Self { config: Config::DEFAULT, frequency: 1 }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let offsets = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&plan, &offsets)?;
    log::info!("{TOOL}: using {kind} (CPU clock at {} Hz on every online CPU)", plan.frequency);
    if !args.json {
        output::emit("Sampling run queue length... Hit Ctrl-C to end.\n")?;
    }
    let mut reporter = Reporter::new(&args)?;
    let schedule = Schedule { interval: args.interval.map(Duration::from_secs), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(plan, &prepare(plan, btf)?)
}

/// The way from the current task to its run queue's length, from BTF
/// (renamed `nr_running` -> `nr_queued` in 6.14).
fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<RunqOffsets> {
    let btf = KernelBtf::required(btf, TOOL, "reads the run queue through kernel structures")?;
    let resolve = || -> Result<RunqOffsets> {
        let mut offsets = RunqOffsets::UNRESOLVED;
        offsets.task_cfs_rq = btf.field("task_struct", "se")?.offset + btf.field("sched_entity", "cfs_rq")?.offset;
        offsets.cfs_rq_nr = btf.field_any("cfs_rq", &["nr_queued", "nr_running"])?.offset;
        Ok(offsets)
    };
    let mut offsets = resolve().map_err(|err| user_error!("this kernel cannot serve runqlen: {err:#}"))?;
    if plan.config.host != 0 {
        let Ok(rq) = btf.field("cfs_rq", "rq") else {
            refuse!("-H needs cfs_rq.rq, which this kernel lacks (built without group scheduling): run without -H");
        };
        offsets.cfs_rq_rq = rq.offset;
        offsets.rq_nr_running = btf.field("rq", "nr_running")?.offset;
    }
    Ok(offsets)
}

fn attach_prepared(plan: &Plan, offsets: &RunqOffsets) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &[HookKind::PerfEvent], |_| {
        let mut ebpf = bpf::load_object(bpf::objects::RUNQLEN, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("RUNQLEN_CONFIG", &plan.config, true);
            loader.override_global("RUNQLEN_OFFSETS", offsets, true);
        })?;
        let program: &mut PerfEvent = ebpf
            .program_mut("runqlen_sample_perf")
            .context("BPF object has no program runqlen_sample_perf")?
            .try_into()?;
        program.load().context("perf_event program")?;
        for cpu in crate::kernel::online_cpus()? {
            program
                .attach(
                    PerfEventConfig::Software(SoftwareEvent::CpuClock),
                    PerfEventScope::AllProcessesOneCpu { cpu },
                    SamplePolicy::Frequency(plan.frequency),
                    false,
                )
                .with_context(|| format!("perf_event on CPU {cpu}"))?;
        }
        Ok(ebpf)
    })
}

/// A linear histogram of queue lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lengths(pub [u64; MAX_SLOTS]);

impl Lengths {
    fn since(&self, earlier: &Lengths) -> Lengths {
        Lengths(std::array::from_fn(|i| self.0[i].saturating_sub(earlier.0[i])))
    }

    pub fn samples(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Share of samples in which some task was waiting, in percent.
    pub fn occupancy(&self) -> f64 {
        let queued: u64 = self.0[1..].iter().sum();
        100.0 * queued as f64 / self.samples().max(1) as f64
    }

    /// libbpf-tools' linear histogram: rows from the first to the last
    /// non-empty length, 40 stars for the largest count.
    pub fn table(&self) -> String {
        let Some(first) = self.0.iter().position(|&c| c > 0) else { return String::new() };
        let last = self.0.iter().rposition(|&c| c > 0).unwrap_or(first);
        let max = self.0.iter().copied().max().unwrap_or(1).max(1);
        let mut out = format!("     {:<13} : count     distribution\n", "runqlen");
        for (length, &count) in self.0.iter().enumerate().take(last + 1).skip(first) {
            let stars = (count * 40 / max) as usize;
            let _ =
                writeln!(out, "        {length:<10} : {count:<8} |{}{}|", "*".repeat(stars), " ".repeat(40 - stars));
        }
        out
    }
}

#[derive(Serialize)]
struct JsonRow {
    len: usize,
    count: u64,
}

#[derive(Serialize)]
struct JsonRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<u32>,
    samples: u64,
    /// Percent of samples with at least one task waiting.
    occupancy: f64,
    /// `len` = tasks waiting (the last slot holds that many or more).
    buckets: Vec<JsonRow>,
}

struct Reporter {
    args: Args,
    cpus: Vec<u32>,
    interval: u64,
    previous: Vec<Lengths>,
}

impl Reporter {
    fn new(args: &Args) -> Result<Self> {
        Ok(Self { args: args.clone(), cpus: crate::kernel::online_cpus()?, interval: 0, previous: Vec::new() })
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let map: PerCpuArray<&MapData, QueueHistogram> =
            PerCpuArray::try_from(ebpf.map(MAP_HIST).context("BPF object has no RUNQLEN_HIST")?)?;
        let now: Vec<Lengths> =
            map.get(&0, 0).context("cannot read RUNQLEN_HIST")?.iter().map(|h| Lengths(h.slots)).collect();
        let interval: Vec<Lengths> = now
            .iter()
            .enumerate()
            .map(|(cpu, lengths)| match self.previous.get(cpu) {
                Some(before) => lengths.since(before),
                None => lengths.clone(),
            })
            .collect();
        self.previous = now;
        // (CPU id, its lengths) for -C, else the sum as one row without an id.
        let rows: Vec<(Option<u32>, Lengths)> = if self.args.per_cpu {
            self.cpus.iter().filter_map(|&cpu| Some((Some(cpu), interval.get(cpu as usize)?.clone()))).collect()
        } else {
            let mut total = Lengths([0; MAX_SLOTS]);
            for lengths in &interval {
                for (sum, count) in total.0.iter_mut().zip(lengths.0) {
                    *sum += count;
                }
            }
            vec![(None, total)]
        };
        let out = if self.args.json { self.json(&rows) } else { self.text(&rows) };
        output::emit(&out)
    }

    fn text(&self, rows: &[(Option<u32>, Lengths)]) -> String {
        let mut out = String::from("\n");
        if self.args.timestamp {
            let _ = writeln!(out, "{:<8}", time::local_hms());
        }
        for (cpu, lengths) in rows {
            if self.args.occupancy {
                match cpu {
                    Some(cpu) => writeln!(out, "runqocc, CPU {cpu:<3} {:6.2}%", lengths.occupancy()),
                    None => writeln!(out, "runqocc: {:0.2}%", lengths.occupancy()),
                }
                .expect("writing to a String");
                continue;
            }
            if let Some(cpu) = cpu {
                let _ = writeln!(out, "cpu = {cpu}");
            }
            out.push_str(&lengths.table());
        }
        out
    }

    fn json(&self, rows: &[(Option<u32>, Lengths)]) -> String {
        rows.iter()
            .map(|(cpu, lengths)| {
                let last = lengths.0.iter().rposition(|&c| c > 0).unwrap_or(0);
                let record = JsonRecord {
                    kind: "runqlen",
                    interval: self.interval,
                    cpu: *cpu,
                    samples: lengths.samples(),
                    occupancy: lengths.occupancy(),
                    buckets: lengths.0[..=last]
                        .iter()
                        .enumerate()
                        .map(|(len, &count)| JsonRow { len, count })
                        .collect(),
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
    fn linear_table_and_occupancy() {
        let mut slots = [0; MAX_SLOTS];
        slots[0] = 10;
        slots[2] = 30;
        let lengths = Lengths(slots);
        assert_eq!(lengths.samples(), 40);
        assert_eq!(lengths.occupancy(), 75.0);
        let table = lengths.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "     runqlen       : count     distribution");
        assert_eq!(lines[1], format!("        0          : 10       |{}{}|", "*".repeat(13), " ".repeat(27)));
        assert_eq!(lines[3], format!("        2          : 30       |{}|", "*".repeat(40)));
        assert_eq!(lines.len(), 4);
        assert_eq!(Lengths([0; MAX_SLOTS]).table(), "");
    }

    #[test]
    fn queue_length_field_follows_the_6_14_rename() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let host = Plan { config: Config { host: 1, _pad: 0 }, frequency: 99 };
        let offsets = prepare(&host, Some(&btf)).unwrap();
        let renamed = btf.field("cfs_rq", "nr_queued").or_else(|_| btf.field("cfs_rq", "nr_running")).unwrap();
        assert_eq!(offsets.cfs_rq_nr, renamed.offset);
        assert_ne!(offsets.task_cfs_rq, u32::MAX);
        assert_ne!(offsets.rq_nr_running, u32::MAX);
    }
}
