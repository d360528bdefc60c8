//! What `profile` and `offcputime` share: their output options (folded
//! lines, BCC's text, a flamegraph SVG), the filter maps, and the run: poll
//! while the kernel aggregates (noting new processes for symbolization and
//! showing progress), then detach, symbolize and render once.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use aya::{
    Ebpf,
    maps::{HashMap as BpfHashMap, MapData},
};
use indicatif::ProgressBar;
use inferno::flamegraph::Palette;
use tracer_common::stacks::{PIDS_MAP, STACK_STORAGE_DEFAULT, TIDS_MAP};

use crate::{
    cli::{IdList, duration_arg},
    flamegraph::{self, Render, SvgStyle},
    output::emit,
    runner::Runner,
    stacks::{self, Aggregates},
    symbols::Symbols,
};

/// Output options of the stack tools.
#[derive(clap::Args, Debug, Clone)]
pub struct StackOutputArgs {
    /// Show stacks from user space only (no kernel space stacks)
    #[arg(short = 'U', long = "user-stacks-only", conflicts_with = "kernel_stacks_only")]
    pub user_stacks_only: bool,
    /// Show stacks from kernel space only (no user space stacks)
    #[arg(short = 'K', long = "kernel-stacks-only")]
    pub kernel_stacks_only: bool,
    /// Output folded format, one line per stack (for flame graphs)
    #[arg(short = 'f', long)]
    pub folded: bool,
    /// Insert a delimiter between kernel and user stacks
    #[arg(short = 'd', long)]
    pub delimited: bool,
    /// Write a flame graph (SVG) to FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Title of the flame graph
    #[arg(long, value_name = "TEXT", requires = "svg")]
    pub title: Option<String>,
    /// Number of distinct stacks that can be stored (kernel memory: about
    /// 1 KiB each, allocated up front)
    #[arg(long, value_name = "N", default_value_t = STACK_STORAGE_DEFAULT,
          value_parser = clap::value_parser!(u32).range(64..=1 << 20))]
    pub stack_storage_size: u32,
    /// Duration of the trace, in seconds (default: until Ctrl-C)
    #[arg(value_name = "DURATION", value_parser = duration_arg)]
    pub duration: Option<u64>,
}

impl StackOutputArgs {
    /// "user + kernel", "user", "kernel": which stacks a run collects.
    pub fn stack_kinds(&self) -> &'static str {
        match (self.user_stacks_only, self.kernel_stacks_only) {
            (true, _) => "user",
            (_, true) => "kernel",
            _ => "user + kernel",
        }
    }

    /// BCC's "for 5 secs." / "... Hit Ctrl-C to end." tail of the header.
    pub fn until(&self) -> String {
        match self.duration {
            Some(seconds) => format!("for {seconds} secs."),
            None => "... Hit Ctrl-C to end.".to_string(),
        }
    }
}

/// Fills the -p/-L filter maps (before attaching, so nothing unfiltered is counted).
pub fn fill_filters(ebpf: &mut Ebpf, pids: Option<&IdList>, tids: Option<&IdList>) -> Result<()> {
    for (name, ids) in [(PIDS_MAP, pids), (TIDS_MAP, tids)] {
        let Some(IdList(ids)) = ids else { continue };
        let mut map: BpfHashMap<&mut MapData, u32, u8> =
            BpfHashMap::try_from(ebpf.map_mut(name).with_context(|| format!("BPF object has no map {name}"))?)?;
        for id in ids {
            map.insert(id, &1, 0).with_context(|| format!("cannot fill the filter map {name}"))?;
        }
    }
    Ok(())
}

/// How a tool's values are shown.
pub struct Presentation {
    pub tool: &'static str,
    /// BCC's header line for the text output.
    pub header: String,
    /// Unit of the values as printed ("samples", "us").
    pub unit: &'static str,
    /// Kernel values are divided by this (offcputime: ns -> us).
    pub divisor: u64,
    pub palette: Palette,
    pub default_title: &'static str,
    /// Stacks are taken inside a tracepoint hook (see `Render`).
    pub hide_hook_frames: bool,
}

/// How often new processes are looked for (and progress redrawn). A process
/// living less than this after its first sample may not be symbolized.
const POLL: Duration = Duration::from_millis(100);

pub fn run(runner: Runner, mut ebpf: Ebpf, args: &StackOutputArgs, show: Presentation) -> Result<()> {
    let text_output = !args.folded && args.svg.is_none();
    if text_output {
        emit(&format!("{}\n", show.header))?;
    }
    let mut symbols = Symbols::new();
    let progress = Progress::new(show.tool, show.unit);
    let started = Instant::now();
    runner.run_polling(args.duration.map(Duration::from_secs), POLL, || {
        stacks::note_new_processes(&ebpf, &mut symbols)?;
        progress.update(started.elapsed(), stacks::totals(&ebpf)?.events);
        Ok(())
    })?;
    stacks::note_new_processes(&ebpf, &mut symbols)?;
    progress.clear();

    // Detach before symbolizing: the report's own work is not sampled.
    let aggregates = Aggregates::take(&mut ebpf)?;
    drop(ebpf);
    let totals = aggregates.totals()?;
    let all = aggregates.stacks()?;
    stacks::symbolize(&all, &mut symbols);

    let scaled = |value: u64| value / show.divisor;
    let render = Render { delimited: args.delimited, hide_hook_frames: show.hide_hook_frames };
    if text_output {
        let blocks =
            flamegraph::merge(all.iter().map(|stack| (flamegraph::text_stack(stack, &symbols, &render), stack.value)));
        let out: String = blocks.iter().map(|(text, value)| flamegraph::text_block(text, scaled(*value))).collect();
        emit(&out)?;
    }
    let folded: Vec<String> =
        flamegraph::merge(all.iter().map(|stack| (flamegraph::folded_stack(stack, &symbols, &render), stack.value)))
            .into_iter()
            .filter(|(_, value)| scaled(*value) > 0)
            .map(|(text, value)| format!("{text} {}", scaled(value)))
            .collect();
    if args.folded {
        let mut out = folded.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        emit(&out)?;
    }
    if let Some(path) = &args.svg {
        let title = args.title.as_deref().unwrap_or(show.default_title);
        let style = SvgStyle { title, count_name: show.unit, palette: show.palette };
        flamegraph::write_svg(path, &folded, &style)?;
        eprintln!("{}: wrote a flame graph of {} stacks to {}", show.tool, folded.len(), path.display());
    }
    summarize(&show, args, &totals, &all, folded.len(), &symbols);
    Ok(())
}

/// The end-of-run summary on stderr: what was counted, what was lost and why.
fn summarize(
    show: &Presentation,
    args: &StackOutputArgs,
    totals: &stacks::Totals,
    all: &[stacks::Stack],
    distinct: usize,
    symbols: &Symbols,
) {
    let tool = show.tool;
    let missed = stacks::missed(all);
    let value_unit = if show.divisor == 1 { show.unit.to_string() } else { format!("{} of time", show.unit) };
    eprintln!(
        "{tool}: {} events recorded, {} distinct stacks from {} processes; lost {}; missed stacks: {} user, {} kernel ({value_unit})",
        totals.events,
        distinct,
        symbols.noted_processes(),
        totals.counts_map_full + totals.start_map_full,
        missed.user / show.divisor,
        missed.kernel / show.divisor,
    );
    if totals.counts_map_full > 0 {
        eprintln!(
            "{tool}: warning: {} events lost because the counts map was full (too many distinct stacks): \
             narrow the run with -p, or trace for a shorter time",
            totals.counts_map_full
        );
    }
    if totals.start_map_full > 0 {
        eprintln!(
            "{tool}: warning: {} switches lost because too many threads were off CPU at once",
            totals.start_map_full
        );
    }
    if missed.for_lack_of_room > 0 {
        eprintln!(
            "{tool}: warning: {} {value_unit} have a missed stack because the stacks map was full: \
             raise --stack-storage-size (now {})",
            missed.for_lack_of_room / show.divisor,
            args.stack_storage_size
        );
    }
    if totals.processes_map_full > 0 {
        eprintln!(
            "{tool}: warning: {} processes were not noted while they ran (map full): \
             those that exited show addresses as module+offset",
            totals.processes_map_full
        );
    }
}

/// A progress line on stderr while tracing (only on a terminal).
struct Progress {
    bar: Option<ProgressBar>,
    unit: &'static str,
}

impl Progress {
    fn new(tool: &'static str, unit: &'static str) -> Self {
        Self { bar: crate::output::progress::spinner(tool), unit }
    }

    fn update(&self, elapsed: Duration, events: u64) {
        if let Some(bar) = &self.bar {
            let unit = if self.unit == "samples" { "samples" } else { "switches" };
            bar.set_message(format!("{:.1} s, {events} {unit} (Ctrl-C to end)", elapsed.as_secs_f64()));
            bar.tick();
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
