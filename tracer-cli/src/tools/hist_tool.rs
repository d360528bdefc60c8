//! The report loop every histogram tool shares: each interval, read the
//! kernel's cumulative counters (one dense per-CPU histogram, or sparse
//! per-owner histograms), turn them into the interval's histograms, print
//! them (table + percentiles, or JSON), and report losses.

use std::time::Duration;

use anyhow::Result;
use aya::Ebpf;

use crate::{
    bpf::maps,
    cli::{count_arg, interval_arg},
    hist::{
        Counts, TableUnit,
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
    #[arg(long)]
    pub json: bool,
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
    if !args.json {
        output::emit(banner)?;
    }
    let schedule = Schedule { interval: args.interval.map(Duration::from_secs), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

/// The maps a histogram tool's object declares.
pub struct HistogramMaps {
    /// `PerCpuArray<Histogram>` with one slot: the whole-system histogram.
    pub dense: &'static str,
    /// `HashMap<SparseKey, u64>`: per-owner histograms.
    pub sparse: &'static str,
    /// `PerCpuArray<u64>` of loss counters, one per reason.
    pub drops: &'static str,
}

/// Names the owners of per-owner histograms (`pid = 42 nginx`, `disk = vda`).
pub trait OwnerLabels {
    fn owner(&mut self, ebpf: &Ebpf, owner: u32) -> Owner;
    /// Owners whose entries were all idle for an interval and were deleted:
    /// drop whatever side data the tool keeps for them.
    fn forget(&mut self, _ebpf: &mut Ebpf, _owners: &[u32]) -> Result<()> {
        Ok(())
    }
}

pub struct HistogramReporter<L> {
    pub tool: &'static str,
    pub maps: HistogramMaps,
    /// None: one whole-system histogram; Some: one per owner.
    pub labels: Option<L>,
    pub unit: TableUnit,
    pub timestamp: bool,
    pub json: bool,
    interval: u64,
    dense: Counts,
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
            interval: 0,
            dense: Counts::default(),
            sparse: SparseTracker::default(),
            lost: LostReporter::new(tool, lost_reasons),
        }
    }

    /// Prints one interval.
    pub fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let mut out = String::new();
        if !self.json {
            out.push('\n');
            if self.timestamp {
                out.push_str(&format!("{:<8}\n", time::local_hms()));
            }
        }
        for report in self.histograms(ebpf)? {
            if self.json {
                out.push_str(&json::line(self.tool, &report.json(self.interval)));
            } else {
                out.push_str(&report.text());
            }
        }
        let reasons = self.lost.reason_count() as u32;
        let drops = maps::drop_counts(ebpf, self.maps.drops, reasons)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    /// This interval's histograms: one in total, or one per owner.
    fn histograms(&mut self, ebpf: &mut Ebpf) -> Result<Vec<HistogramReport>> {
        let Some(labels) = self.labels.as_mut() else {
            let now = maps::dense_histogram(ebpf, self.maps.dense)?;
            let interval = now.since(&self.dense);
            self.dense = now;
            return Ok(vec![HistogramReport { owner: None, counts: interval, unit: self.unit }]);
        };
        let snapshot = maps::sparse_histograms(ebpf, self.maps.sparse)?;
        let interval = self.sparse.interval(snapshot);
        let reports = interval
            .owners
            .into_iter()
            .map(|(owner, counts)| HistogramReport { owner: Some(labels.owner(ebpf, owner)), counts, unit: self.unit })
            .collect();
        maps::delete_sparse(ebpf, self.maps.sparse, &interval.idle)?;
        labels.forget(ebpf, &interval.gone)?;
        Ok(reports)
    }
}
