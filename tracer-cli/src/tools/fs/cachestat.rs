//! `tracer cachestat`: page cache hits, misses, dirtied buffers and the hit
//! ratio per interval, with the buffers and cached sizes, as libbpf-tools'
//! cachestat. Counted in the kernel into per-CPU counters.

use std::time::Duration;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use procfs::Current;
use serde::Serialize;
use tracer_common::fs::cachestat::{Config, event};

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

const TOOL: &str = "cachestat";

/// Count page cache hits and misses, per interval.
///
/// Examples:
///   tracer cachestat          # hits and misses of the page cache, every second
///   tracer cachestat -T       # include timestamps
///   tracer cachestat 1 10     # 1 second summaries, 10 times
///
/// As in BCC: accesses are folio_mark_accessed (mark_page_accessed) calls
/// less dirtied buffers; MISSES are pages added to the cache less pages
/// dirtied (writes add pages too); HITS the accesses that were not misses;
/// DIRTIES the buffers dirtied (mark_buffer_dirty). Additions and dirtying
/// come from tracepoints; accesses need fentry or a kprobe: without them
/// HITS and HITRATIO show '-' (said once on stderr).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(default_value_t = 1, value_parser = interval_arg)]
    pub interval: u64,
    /// Number of outputs
    #[arg(value_parser = count_arg)]
    pub count: Option<u64>,
    /// Print a timestamp on each line
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// One JSON object per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

/// The page-access function, newest name first (folios came in 5.16).
const ACCESS_FUNCTIONS: [&str; 2] = ["folio_mark_accessed", "mark_page_accessed"];

/// Why hits cannot be counted on the tracepoint path (the clear line).
pub const NO_HITS: &str = "page cache hits cannot be counted on this kernel: they need fentry or a kprobe on \
                           folio_mark_accessed, and no tracepoint marks a page access; HITS and HITRATIO show '-', \
                           MISSES and DIRTIES come from tracepoints";

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

const MAP_COUNTS: &str = "CACHESTAT_COUNTS";

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} ({})", describe(kind, setup.access_function));
    let hits = kind != HookKind::Tracepoint;
    if !hits {
        eprintln!("{TOOL}: {NO_HITS}");
    }
    if !args.json {
        output::emit(&header(args.timestamp))?;
    }
    let mut reporter = Reporter { hits, timestamp: args.timestamp, json: args.json, interval: 0, previous: [0; 4] };
    let schedule = Schedule { interval: Some(Duration::from_secs(args.interval)), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

fn describe(kind: HookKind, access: Option<&str>) -> String {
    let tracepoints = "filemap:mm_filemap_add_to_page_cache, writeback:writeback_dirty_folio (or _page), \
                       block:block_dirty_buffer";
    match (kind, access) {
        (HookKind::Tracepoint, _) | (_, None) => format!("{tracepoints}; no page accesses (no HITS)"),
        (kind, Some(function)) => format!("{kind} {function}, {tracepoints}"),
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    kinds: Vec<HookKind>,
    /// The page-access function this kernel has (fentry and kprobe paths).
    access_function: Option<&'static str>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let targets = btf.map(|btf| btf.attach_targets(&[], &ACCESS_FUNCTIONS));
    let access_function =
        targets.as_ref().and_then(|targets| ACCESS_FUNCTIONS.into_iter().find(|name| targets.has_function(name)));
    let mut kinds = plan.hooks.clone();
    if access_function.is_none() {
        kinds.retain(|&kind| kind == HookKind::Tracepoint);
    }
    if kinds.is_empty() {
        refuse!(
            "--hook fentry and kprobe need {} in the kernel's BTF, which this kernel lacks: use --hook tracepoint \
             (misses and dirties, no hits)",
            ACCESS_FUNCTIONS.join(" or ")
        );
    }
    Ok(Setup { kinds, access_function, targets })
}

/// The tracepoint of each counted event this kernel has (dirtying was
/// renamed with folios in 5.17).
fn tracepoints() -> Result<Vec<TracepointHook>> {
    let hook = |category, name, program| TracepointHook { category, name, program };
    let dirtied = ["writeback_dirty_folio", "writeback_dirty_page"]
        .into_iter()
        .find(|name| tracefs::tracepoint_exists("writeback", name))
        .ok_or_else(|| anyhow::anyhow!("no writeback:writeback_dirty_folio or _page tracepoint"))?;
    Ok(vec![
        hook("filemap", "mm_filemap_add_to_page_cache", "cachestat_added"),
        hook("writeback", dirtied, "cachestat_dirtied"),
        hook("block", "block_dirty_buffer", "cachestat_buffer_dirtied"),
    ])
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let format = tracefs::tracepoint_format("filemap", "mm_filemap_add_to_page_cache")?;
        let mut config = Config::DEFAULT;
        if let Ok(order) = tracefs::field(&format, "mm_filemap_add_to_page_cache", "order") {
            config.added_order = order.offset;
        }
        let mut ebpf = bpf::load_object(bpf::objects::CACHESTAT, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("CACHESTAT_CONFIG", &config, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, HookKind::Tracepoint, &tracepoints()?, None)?;
        if kind != HookKind::Tracepoint {
            let function = setup.access_function.unwrap_or(ACCESS_FUNCTIONS[0]);
            let program =
                if kind == HookKind::Fentry { "cachestat_accessed_fentry" } else { "cachestat_accessed_kprobe" };
            hooks::attach_function_programs(
                &mut ebpf,
                &[FunctionProgram { function: function.into(), program: program.into() }],
                setup.targets.as_ref(),
            )?;
        }
        Ok(ebpf)
    })
}

/// One interval's numbers, computed as BCC and libbpf-tools do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// None where accesses cannot be counted.
    pub hits: Option<u64>,
    pub misses: u64,
    pub dirties: u64,
    /// Percent of accesses that hit.
    pub ratio: Option<f64>,
}

/// `counts` are the interval's events, by `event` slot.
pub fn stats(counts: &[u64; 4], hits_counted: bool) -> Stats {
    let [accessed, added, dirtied, buffers_dirtied] = counts.map(|count| count as i64);
    // Writes add pages to the cache and dirty them: those are not read misses.
    let mut misses = (added - dirtied).max(0);
    if !hits_counted {
        return Stats { hits: None, misses: misses as u64, dirties: buffers_dirtied as u64, ratio: None };
    }
    // mark_buffer_dirty marks its page accessed: not a read either.
    let total = (accessed - buffers_dirtied).max(0);
    let mut hits = total - misses;
    if hits < 0 {
        // Readahead may add more pages than were read: count them all as misses.
        misses = total;
        hits = 0;
    }
    let ratio = if total > 0 { 100.0 * hits as f64 / total as f64 } else { 0.0 };
    Stats { hits: Some(hits as u64), misses: misses as u64, dirties: buffers_dirtied as u64, ratio: Some(ratio) }
}

fn header(timestamp: bool) -> String {
    let time = if timestamp { format!("{:<8} ", "TIME") } else { String::new() };
    format!(
        "{time}{:>8} {:>8} {:>8} {:>8} {:>12} {:>10}\n",
        "HITS", "MISSES", "DIRTIES", "HITRATIO", "BUFFERS_MB", "CACHED_MB"
    )
}

/// Buffers and Cached of /proc/meminfo, in MiB.
fn meminfo_mb() -> (u64, u64) {
    procfs::Meminfo::current().map_or((0, 0), |info| (info.buffers >> 20, info.cached >> 20))
}

fn row(stats: &Stats, buffers_mb: u64, cached_mb: u64, time: Option<&str>) -> String {
    let time = time.map(|hms| format!("{hms:<8} ")).unwrap_or_default();
    let hits = stats.hits.map_or_else(|| "-".to_string(), |hits| hits.to_string());
    let ratio = stats.ratio.map_or_else(|| "-".to_string(), |ratio| format!("{ratio:.2}%"));
    format!("{time}{hits:>8} {:>8} {:>8} {ratio:>8} {buffers_mb:>12} {cached_mb:>10}\n", stats.misses, stats.dirties)
}

#[derive(Serialize)]
struct JsonStats {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    hits: Option<u64>,
    misses: u64,
    dirties: u64,
    hit_ratio: Option<f64>,
    buffers_mb: u64,
    cached_mb: u64,
}

struct Reporter {
    hits: bool,
    timestamp: bool,
    json: bool,
    interval: u64,
    previous: [u64; 4],
}

impl Reporter {
    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        // Per-CPU counters summed, as every tool's loss counters are.
        let totals = maps::drop_counts(ebpf, MAP_COUNTS, event::COUNT)?;
        let mut counts = [0u64; 4];
        for (slot, (&total, previous)) in totals.iter().zip(self.previous.iter_mut()).enumerate() {
            counts[slot] = total.saturating_sub(*previous);
            *previous = total;
        }
        let stats = stats(&counts, self.hits);
        let (buffers_mb, cached_mb) = meminfo_mb();
        if self.json {
            let record = JsonStats {
                kind: "cachestat",
                interval: self.interval,
                hits: stats.hits,
                misses: stats.misses,
                dirties: stats.dirties,
                hit_ratio: stats.ratio,
                buffers_mb,
                cached_mb,
            };
            return output::emit(&json::line(TOOL, &record));
        }
        let hms = self.timestamp.then(time::local_hms);
        output::emit(&row(&stats, buffers_mb, cached_mb, hms.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_and_misses_follow_bccs_arithmetic() {
        // A cold read of 100 pages: 100 added, 100 accessed.
        assert_eq!(stats(&[100, 100, 0, 0], true), Stats { hits: Some(0), misses: 100, dirties: 0, ratio: Some(0.0) });
        // Read again: all hits.
        assert_eq!(stats(&[100, 0, 0, 0], true).hits, Some(100));
        // A write of 10 new pages: added and dirtied cancel; buffers dirtied are not accesses.
        let write = stats(&[20, 10, 10, 10], true);
        assert_eq!((write.hits, write.misses, write.dirties), (Some(10), 0, 10));
        // Readahead beyond what was read: misses capped at the accesses.
        assert_eq!(stats(&[5, 50, 0, 0], true), Stats { hits: Some(0), misses: 5, dirties: 0, ratio: Some(0.0) });
        let half = stats(&[100, 50, 0, 0], true);
        assert_eq!(half.ratio, Some(50.0));
    }

    #[test]
    fn without_accesses_hits_are_unknown_not_zero() {
        let stats = stats(&[0, 64, 4, 2], false);
        assert_eq!((stats.hits, stats.misses, stats.dirties, stats.ratio), (None, 60, 2, None));
        let line = row(&stats, 12, 3456, Some("01:02:03"));
        assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["01:02:03", "-", "60", "2", "-", "12", "3456"]);
        assert_eq!(header(true).len(), line.len());
    }
}
