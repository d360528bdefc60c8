//! The report loop every histogram tool shares: each interval, read the
//! kernel's cumulative counters (one dense per-CPU histogram, or sparse
//! per-owner histograms), turn them into the interval's histograms, print
//! them (table + percentiles, JSON, or OpenMetrics), save them (HdrHistogram
//! log), and report losses.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use anyhow::Result;
use aya::Ebpf;

use crate::{
    bpf::maps,
    cli::{count_arg, interval_arg},
    hist::{
        Counts, TableUnit,
        hdr_log::{SaveLog, owner_tag},
        openmetrics,
        report::{HistogramReport, Owner},
        sparse::SparseTracker,
    },
    output::{self, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
};

/// The options every histogram tool takes, as libbpf-tools spells them.
#[derive(clap::Args, Debug, Clone)]
pub struct HistogramArgs {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Number of outputs
    #[arg(value_parser = count_arg, requires = "interval")]
    pub count: Option<u64>,
    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Millisecond histogram
    #[arg(short = 'm', long = "milliseconds")]
    pub milliseconds: bool,
    /// One JSON object per histogram per interval (schema in README)
    #[arg(long, conflicts_with = "openmetrics")]
    pub json: bool,
    /// Print OpenMetrics text each interval (cumulative since the start;
    /// for node_exporter's textfile collector)
    #[arg(long)]
    pub openmetrics: bool,
    /// Also write each interval's histograms to FILE as an HdrHistogram
    /// interval log (combine logs from many hosts with `tracer merge`)
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
}

/// Prints `banner` (not with --json), then one report per interval until
/// the count is reached or a signal ends the run (reporting the partial
/// interval). Dropping `ebpf` afterwards detaches everything.
pub fn run<L: OwnerLabels>(
    runner: Runner,
    mut ebpf: Ebpf,
    banner: &str,
    args: &HistogramArgs,
    mut reporter: HistogramReporter<L>,
) -> Result<()> {
    if !args.json && !args.openmetrics {
        output::emit(banner)?;
    }
    if let Some(path) = &args.save {
        reporter.save = Some(SaveLog::create(path, reporter.tool)?);
    }
    let schedule = Schedule { interval: args.interval.map(Duration::from_secs), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

/// The HELP line of a tool's OpenMetrics family.
fn help(tool: &str) -> &'static str {
    match tool {
        "runqlat" => "Run queue latency: from a task becoming runnable to running",
        "biolatency" => "Block I/O latency: from issue (or queueing with -Q) to completion",
        "cpudist" => "Time spent on a CPU per scheduling (off CPU with -O)",
        "fsdist" => "File system operation latency, from entry to return, by operation",
        "bitesize" => "Block I/O size per submitting process",
        "tcprtt" => "Smoothed TCP round-trip time, sampled at each segment an established socket receives",
        _ => "Latency histogram",
    }
}

/// The maps a histogram tool's object declares.
pub struct HistogramMaps {
    /// `PerCpuArray<Histogram>`: slot 0 is the whole-system histogram (or
    /// each slot an owner's, see `OwnerLabels::dense_slots`).
    pub dense: &'static str,
    /// `HashMap<SparseKey, u64>`: per-owner histograms.
    pub sparse: &'static str,
    /// `PerCpuArray<u64>` of loss counters, one per reason.
    pub drops: &'static str,
}

/// Names the owners of per-owner histograms (`pid = 42 nginx`, `disk = vda`).
pub trait OwnerLabels {
    fn owner(&mut self, ebpf: &Ebpf, owner: u32) -> Owner;
    /// How many owners are slots 0..N of the dense per-CPU array (fsdist:
    /// one per operation, no atomics) instead of keys of the sparse map;
    /// 0, the default: the sparse map.
    fn dense_slots(&self) -> u32 {
        0
    }
    /// Owners whose entries were all idle for an interval and were deleted:
    /// drop whatever side data the tool keeps for them.
    fn forget(&mut self, _ebpf: &mut Ebpf, _owners: &[u32]) -> Result<()> {
        Ok(())
    }
}

/// One OpenMetrics series: its labels and its counts since the start.
type Totals = (Vec<(&'static str, String)>, Counts);

pub struct HistogramReporter<L> {
    pub tool: &'static str,
    pub maps: HistogramMaps,
    /// None: one whole-system histogram; Some: one per owner.
    pub labels: Option<L>,
    pub unit: TableUnit,
    pub timestamp: bool,
    pub json: bool,
    /// A tool's own text heading of each histogram (tcprtt's `Local Address
    /// = ...`), instead of the owner line.
    pub heading: Option<fn(&HistogramReport) -> String>,
    /// A tool's own text rendering of an interval's histograms as one table
    /// (hardirqs' and softirqs' totals), instead of a histogram each.
    pub table: Option<Box<dyn Fn(&[HistogramReport]) -> String>>,
    /// `--openmetrics`: each series' counts since the start, by owner tag.
    openmetrics: Option<BTreeMap<String, Totals>>,
    save: Option<SaveLog>,
    /// When the previous interval ended (for the saved log's timestamps).
    interval_start: std::time::SystemTime,
    interval: u64,
    dense: Counts,
    /// The previous snapshot of each dense slot, when owners are slots.
    dense_owners: Vec<Counts>,
    sparse: SparseTracker,
    lost: LostReporter,
}

impl<L: OwnerLabels> HistogramReporter<L> {
    pub fn new(
        tool: &'static str,
        maps: HistogramMaps,
        labels: Option<L>,
        lost_reasons: &'static [(&'static str, &'static str)],
        args: &HistogramArgs,
    ) -> Self {
        Self {
            tool,
            maps,
            labels,
            unit: if args.milliseconds { TableUnit::Msecs } else { TableUnit::Usecs },
            timestamp: args.timestamp,
            json: args.json,
            heading: None,
            table: None,
            openmetrics: args.openmetrics.then(BTreeMap::new),
            save: None,
            interval_start: std::time::SystemTime::now(),
            interval: 0,
            dense: Counts::default(),
            dense_owners: Vec::new(),
            sparse: SparseTracker::default(),
            lost: LostReporter::new(tool, lost_reasons),
        }
    }

    /// Prints one interval.
    pub fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let reports = self.histograms(ebpf)?;
        self.save(&reports)?;
        let reasons = self.lost.reason_count() as u32;
        let drops = maps::drop_counts(ebpf, self.maps.drops, reasons)?;
        if self.openmetrics.is_some() {
            // Losses go to stderr: the exposition must stay parseable.
            eprint!("{}", self.lost.report(&drops, false));
            return output::emit(&self.exposition(&reports));
        }
        let mut out = String::new();
        if !self.json {
            out.push('\n');
            if self.timestamp {
                out.push_str(&format!("{:<8}\n", time::local_hms()));
            }
        }
        if let (Some(table), false) = (&self.table, self.json) {
            out.push_str(&table(&reports));
        }
        for report in reports.iter().filter(|_| self.json || self.table.is_none()) {
            if self.json {
                out.push_str(&json::line(self.tool, &report.json(self.interval)));
            } else if let Some(heading) = self.heading {
                let body = report.body();
                if !body.is_empty() {
                    out.push_str(&format!("{}\n{body}", heading(report)));
                }
            } else {
                out.push_str(&report.text());
            }
        }
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    /// Appends this interval to the `--save` log.
    fn save(&mut self, reports: &[HistogramReport]) -> Result<()> {
        let now = std::time::SystemTime::now();
        let Some(log) = self.save.as_mut() else { return Ok(()) };
        let histograms: Vec<(Option<String>, &Counts)> = reports
            .iter()
            .map(|report| (report.owner.as_ref().map(|owner| owner_tag(owner.field, &owner.id)), &report.counts))
            .collect();
        let start = self.interval_start.duration_since(log.base()).unwrap_or_default();
        let length = now.duration_since(self.interval_start).unwrap_or_default();
        self.interval_start = now;
        log.write(&histograms, start, length)
    }

    /// Adds this interval to the running totals and renders them all.
    fn exposition(&mut self, reports: &[HistogramReport]) -> String {
        let totals = self.openmetrics.get_or_insert_with(BTreeMap::new);
        for report in reports {
            let (key, labels) = match &report.owner {
                None => (String::new(), Vec::new()),
                Some(owner) => {
                    let id = match &owner.id {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    let mut labels = vec![(owner.field, id)];
                    if let Some(comm) = &owner.comm {
                        labels.push(("comm", crate::output::escape::for_json(comm)));
                    }
                    (owner_tag(owner.field, &owner.id), labels)
                }
            };
            totals.entry(key).or_insert_with(|| (labels, Counts::default())).1.add(&report.counts);
        }
        if totals.is_empty() {
            totals.insert(String::new(), (Vec::new(), Counts::default()));
        }
        let series: Vec<openmetrics::Series<'_>> = totals
            .values()
            .map(|(labels, counts)| openmetrics::Series {
                labels: labels.iter().map(|(key, value)| (*key, value.clone())).collect(),
                counts,
            })
            .collect();
        openmetrics::render(self.tool, help(self.tool), &series, self.unit.is_bytes())
    }

    /// This interval's histograms: one in total, or one per owner.
    fn histograms(&mut self, ebpf: &mut Ebpf) -> Result<Vec<HistogramReport>> {
        let Some(labels) = self.labels.as_mut() else {
            let now = maps::dense_histogram(ebpf, self.maps.dense)?;
            let interval = now.since(&self.dense);
            self.dense = now;
            return Ok(vec![HistogramReport { owner: None, counts: interval, unit: self.unit }]);
        };
        let slots = labels.dense_slots();
        if slots > 0 {
            self.dense_owners.resize(slots as usize, Counts::default());
            let mut reports = Vec::new();
            for (slot, previous) in (0..slots).zip(self.dense_owners.iter_mut()) {
                let now = maps::dense_histogram_at(ebpf, self.maps.dense, slot)?;
                let interval = now.since(previous);
                *previous = now;
                if interval.total() > 0 {
                    reports.push(HistogramReport {
                        owner: Some(labels.owner(ebpf, slot)),
                        counts: interval,
                        unit: self.unit,
                    });
                }
            }
            return Ok(reports);
        }
        let snapshot = maps::sparse_histograms(ebpf, self.maps.sparse)?;
        let interval = self.sparse.interval(snapshot);
        // Owners that render the same (processes of one name, for bitesize) are one histogram.
        let mut reports: Vec<HistogramReport> = Vec::new();
        for (owner, counts) in interval.owners {
            let owner = labels.owner(ebpf, owner);
            match reports.iter_mut().find(|report| report.owner.as_ref().is_some_and(|known| known.same(&owner))) {
                Some(report) => report.counts.add(&counts),
                None => reports.push(HistogramReport { owner: Some(owner), counts, unit: self.unit }),
            }
        }
        maps::delete_sparse(ebpf, self.maps.sparse, &interval.idle)?;
        labels.forget(ebpf, &interval.gone)?;
        Ok(reports)
    }
}
