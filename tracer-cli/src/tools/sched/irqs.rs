//! What hardirqs and softirqs share: one kernel object shape (time per
//! handler or vector, per CPU, into sparse histograms keyed by (CPU, IRQ
//! number or vector)), the options, hook fallback, owner labels and the
//! libbpf-tools totals tables. The tools differ in their tracepoints, how
//! an IRQ is named, their flag letters and their columns.

use std::fmt::Write as _;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::sched::irqs::{Config, NAME_LEN, split_owner};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::Common,
    error::refuse,
    hist::{TableUnit, report::HistogramReport, report::Owner},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, tracefs,
    },
    output::escape,
    runner::Runner,
    tools::hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
};

/// The options both tools take with the same letters.
#[derive(clap::Args, Debug, Clone)]
pub struct IrqArgs {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Show distributions as histograms
    #[arg(short = 'd', long = "distributed")]
    pub distributed: bool,
    /// Output in nanoseconds
    #[arg(short = 'N', long = "nanoseconds", conflicts_with = "milliseconds")]
    pub nanoseconds: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// Which of the two tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Hard,
    Soft,
}

impl Kind {
    pub const fn tool(self) -> &'static str {
        match self {
            Self::Hard => "hardirqs",
            Self::Soft => "softirqs",
        }
    }

    fn object(self) -> &'static bpf::Embedded {
        match self {
            Self::Hard => bpf::objects::HARDIRQS,
            Self::Soft => bpf::objects::SOFTIRQS,
        }
    }

    const fn hooks(self) -> [TracepointHook; 2] {
        match self {
            Self::Hard => [
                TracepointHook { category: "irq", name: "irq_handler_entry", program: "hardirqs_entry" },
                TracepointHook { category: "irq", name: "irq_handler_exit", program: "hardirqs_exit" },
            ],
            Self::Soft => [
                TracepointHook { category: "irq", name: "softirq_entry", program: "softirqs_entry" },
                TracepointHook { category: "irq", name: "softirq_exit", program: "softirqs_exit" },
            ],
        }
    }

    /// The JSON/text field of the name, and of the number.
    const fn fields(self) -> (&'static str, &'static str) {
        match self {
            Self::Hard => ("hardirq", "irq"),
            Self::Soft => ("softirq", "vec"),
        }
    }
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: Kind,
    pub config: Config,
    pub hooks: Vec<HookKind>,
    /// One row or histogram per CPU.
    pub per_cpu: bool,
    /// softirqs' `-C`: a TOTAL_count column.
    pub count_column: bool,
}

impl Plan {
    pub fn new(kind: Kind, args: &IrqArgs, cpu: Option<u32>, per_cpu: bool, count_column: bool) -> Result<Self> {
        let mut config = Config::DEFAULT;
        if let Some(cpu) = cpu {
            let online = crate::kernel::online_cpus()?;
            if !online.contains(&cpu) {
                refuse!("CPU {cpu} is not online on this host (online: {}): pick one of those", cpu_list(&online));
            }
            config.target_cpu = cpu;
        }
        Ok(Self {
            kind,
            config,
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
            per_cpu,
            count_column,
        })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: Kind, hook: HookKind) -> Self {
        Self { kind, config: Config::DEFAULT, hooks: vec![hook], per_cpu: false, count_column: false }
    }
}

fn cpu_list(cpus: &[u32]) -> String {
    cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

const MAP_SPARSE: &str = "IRQS_SPARSE";
const MAP_START: &str = "IRQS_START";
const MAP_NAMES: &str = "IRQS_NAMES";
const MAP_DROPS: &str = "IRQS_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("hist_map_full", "samples: too many IRQs on too many CPUs for the histogram map"),
    ("name_map_full", "IRQ names: too many IRQ numbers for the name map"),
];

/// The softirq names libbpf-tools prints, in vector order since 2.6.
const SOFTIRQ_NAMES: [&str; 10] =
    ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];

/// The kernel's softirq numbering from its BTF (`NET_RX_SOFTIRQ`, ...),
/// else the stable list. Index: vector; value: name.
fn softirq_names(btf: Option<&KernelBtf>) -> Vec<String> {
    let mut names: Vec<String> = SOFTIRQ_NAMES.iter().map(|name| (*name).to_owned()).collect();
    let Some(btf) = btf else { return names };
    let numbered: Vec<(usize, &str)> = SOFTIRQ_NAMES
        .iter()
        .filter_map(|name| {
            let value = btf.enumerator(&format!("{}_SOFTIRQ", name.to_uppercase())).ok()?;
            Some((usize::try_from(value).ok()?, *name))
        })
        .collect();
    if numbered.len() == SOFTIRQ_NAMES.len() {
        let len = numbered.iter().map(|(vec, _)| vec + 1).max().unwrap_or(0);
        names = (0..len).map(|vec| format!("vec{vec}")).collect();
        for (vec, name) in numbered {
            names[vec] = name.to_owned();
        }
    }
    names
}

pub fn run(plan: Plan, args: &IrqArgs, common: &Common) -> Result<()> {
    let tool = plan.kind.tool();
    privileges::require_bpf_privileges(tool)?;
    let runner = Runner::new()?;
    let (setup, softirqs) = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        (prepare(&plan, btf.as_ref())?, softirq_names(btf.as_ref()))
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    let [entry, exit] = plan.kind.hooks();
    log::info!("{tool}: using {kind} on irq:{} and irq:{}", entry.name, exit.name);
    let labels = IrqLabels { kind: plan.kind, per_cpu: plan.per_cpu, softirqs };
    let mut reporter = HistogramReporter::new(
        tool,
        HistogramMaps { dense: MAP_START, sparse: MAP_SPARSE, drops: MAP_DROPS },
        Some(labels),
        LOST_REASONS,
        &args.output,
    );
    if args.nanoseconds {
        reporter.unit = TableUnit::Nsecs;
    }
    let unit = reporter.unit;
    if !args.distributed {
        let (kind, per_cpu, count_column) = (plan.kind, plan.per_cpu, plan.count_column);
        reporter.table = Some(Box::new(move |reports| table(kind, unit, per_cpu, count_column, reports)));
    }
    let what = match plan.kind {
        Kind::Hard => "hard irq",
        Kind::Soft => "soft irq",
    };
    hist_tool::run(runner, ebpf, &format!("Tracing {what} event time... Hit Ctrl-C to end.\n"), &args.output, reporter)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    kind: Kind,
    config: Config,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut config = plan.config;
    let mut kinds = plan.hooks.clone();
    if plan.kind == Kind::Hard {
        match btf.map(|btf| btf.field("irqaction", "name")) {
            Some(Ok(field)) => config.action_name = field.offset,
            // Without BTF only the classic record names the handler.
            _ => kinds.retain(|&kind| kind == HookKind::Tracepoint),
        }
        if kinds.is_empty() {
            refuse!(
                "--hook tp_btf and raw_tp need irqaction.name from the kernel's BTF, which this kernel lacks: use --hook tracepoint"
            );
        }
    }
    let hooks = plan.kind.hooks();
    Ok(Setup {
        kind: plan.kind,
        config,
        kinds,
        targets: btf.map(|btf| btf.attach_targets(&hooks::tracepoint_names(&hooks), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    let hooks = setup.kind.hooks();
    hooks::first_that_attaches(setup.kind.tool(), &setup.kinds, |kind| {
        let mut config = setup.config;
        if kind == HookKind::Tracepoint {
            classic_offsets(setup.kind, &mut config)?;
        }
        let mut ebpf = bpf::load_object(setup.kind.object(), |loader: &mut EbpfLoader<'_>| {
            loader.override_global("IRQS_CONFIG", &config, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

/// The classic records' field offsets (the entry and exit records put the
/// number at the same place; checked, since one setting serves both).
fn classic_offsets(kind: Kind, config: &mut Config) -> Result<()> {
    let [entry, exit] = kind.hooks();
    let id = kind.fields().1;
    let exit_format = tracefs::tracepoint_format(exit.category, exit.name)?;
    config.tp_id = tracefs::field(&exit_format, exit.name, id)?.offset;
    if kind == Kind::Hard {
        let entry_format = tracefs::tracepoint_format(entry.category, entry.name)?;
        let entry_id = tracefs::field(&entry_format, entry.name, id)?.offset;
        anyhow::ensure!(
            entry_id == config.tp_id,
            "irq is at {entry_id} in {} but {} in {}",
            entry.name,
            config.tp_id,
            exit.name
        );
        config.tp_name = tracefs::field(&entry_format, entry.name, "name")?.offset;
    }
    Ok(())
}

/// `hardirq = virtio0-input.0, irq = 24` / `softirq = net_rx, vec = 3`,
/// with `cpu = 1` under per-CPU splitting.
struct IrqLabels {
    kind: Kind,
    per_cpu: bool,
    softirqs: Vec<String>,
}

impl OwnerLabels for IrqLabels {
    fn owner(&mut self, ebpf: &Ebpf, owner: u32) -> Owner {
        let (cpu, number) = split_owner(owner);
        let name = match self.kind {
            Kind::Soft => self.softirqs.get(number as usize).cloned().unwrap_or_else(|| format!("vec{number}")),
            Kind::Hard => match maps::lookup_bytes::<NAME_LEN>(ebpf, MAP_NAMES, number) {
                Some(bytes) => {
                    let len = bytes.iter().position(|&byte| byte == 0).unwrap_or(NAME_LEN);
                    escape::for_json(&bytes[..len])
                }
                None => format!("irq{number}"),
            },
        };
        let (name_field, number_field) = self.kind.fields();
        let mut id = serde_json::Map::new();
        id.insert(name_field.into(), name.into());
        id.insert(number_field.into(), number.into());
        if self.per_cpu {
            id.insert("cpu".into(), cpu.into());
        }
        Owner { field: name_field, id: id.into(), comm: None }
    }
}

/// One row of a totals table.
struct Row {
    name: String,
    number: u64,
    cpu: Option<u64>,
    count: u64,
    total: u64,
    max: u64,
}

/// libbpf-tools' tables: `SOFTIRQ TOTAL_usecs [TOTAL_count]` and
/// `HARDIRQ TOTAL_count TOTAL_usecs MAX_usecs [CPU]` (softirqs adds CPU
/// too under --per-cpu). Rows by IRQ number or vector, then CPU.
fn table(kind: Kind, unit: TableUnit, per_cpu: bool, count_column: bool, reports: &[HistogramReport]) -> String {
    let (name_field, number_field) = kind.fields();
    let mut rows: Vec<Row> = reports
        .iter()
        .filter_map(|report| {
            let id = report.owner.as_ref()?.id.as_object()?;
            let summary = report.counts.summary();
            Some(Row {
                name: escape::for_terminal(id.get(name_field)?.as_str()?.as_bytes()),
                number: id.get(number_field)?.as_u64()?,
                cpu: id.get("cpu").and_then(serde_json::Value::as_u64),
                count: summary.count,
                total: report.counts.sum / unit.nanos(),
                max: summary.max / unit.nanos(),
            })
        })
        .filter(|row| row.count > 0)
        .collect();
    rows.sort_by_key(|row| (row.number, row.cpu));
    let units = unit.name();
    let mut out = String::new();
    match kind {
        Kind::Soft => {
            let _ = write!(out, "{:<16} {:>11}", "SOFTIRQ", format!("TOTAL_{units}"));
            if count_column {
                let _ = write!(out, "  {:>11}", "TOTAL_count");
            }
            if per_cpu {
                let _ = write!(out, " {:>3}", "CPU");
            }
            out.push('\n');
            for row in &rows {
                let _ = write!(out, "{:<16} {:>11}", row.name, row.total);
                if count_column {
                    let _ = write!(out, "  {:>11}", row.count);
                }
                if let Some(cpu) = row.cpu {
                    let _ = write!(out, " {cpu:>3}");
                }
                out.push('\n');
            }
        }
        Kind::Hard => {
            let _ = write!(
                out,
                "{:<33} {:>11} {:>11} {:>9}",
                "HARDIRQ",
                "TOTAL_count",
                format!("TOTAL_{units}"),
                format!("MAX_{units}")
            );
            if per_cpu {
                let _ = write!(out, " {:>3}", "CPU");
            }
            out.push('\n');
            for row in &rows {
                let _ = write!(out, "{:<33} {:>11} {:>11} {:>9}", row.name, row.count, row.total, row.max);
                if let Some(cpu) = row.cpu {
                    let _ = write!(out, " {cpu:>3}");
                }
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Counts;
    use tracer_common::hist::bucket_of;

    fn report(id: serde_json::Value, values: &[u64]) -> HistogramReport {
        let mut counts = Counts::default();
        for &value in values {
            counts.buckets[bucket_of(value)] += 1;
            counts.sum += value;
        }
        HistogramReport { owner: Some(Owner { field: "softirq", id, comm: None }), counts, unit: TableUnit::Usecs }
    }

    #[test]
    fn softirq_table_in_vector_order_with_counts() {
        let reports = [
            report(serde_json::json!({"softirq": "rcu", "vec": 9}), &[3_000]),
            report(serde_json::json!({"softirq": "net_rx", "vec": 3}), &[10_000, 20_000]),
        ];
        let text = table(Kind::Soft, TableUnit::Usecs, false, true, &reports);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["SOFTIRQ", "TOTAL_usecs", "TOTAL_count"]);
        assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["net_rx", "30", "2"]);
        assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["rcu", "3", "1"]);
    }

    #[test]
    fn hardirq_table_escapes_names_and_splits_cpus() {
        let reports = [report(serde_json::json!({"hardirq": "bad\u{1b}name", "irq": 24, "cpu": 1}), &[5_000])];
        let text = table(Kind::Hard, TableUnit::Nsecs, true, false, &reports);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["HARDIRQ", "TOTAL_count", "TOTAL_nsecs", "MAX_nsecs", "CPU"]
        );
        assert!(!lines[1].contains('\u{1b}'), "{}", lines[1]);
        assert_eq!(lines[1].split_whitespace().skip(1).take(2).collect::<Vec<_>>(), ["1", "5000"]);
        assert!(lines[1].ends_with("  1"), "{}", lines[1]);
    }
}
