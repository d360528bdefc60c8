//! softirqs: irq:softirq_entry/softirq_exit through tp_btf, raw_tp or the
//! classic tracepoint (one object: its maps exist on every kernel). The
//! logic is `tracer_ebpf::sched::irqs`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    hist::SparseKey,
    sched::irqs::{Config, SPARSE_ENTRIES, drop_reason},
};
use tracer_ebpf::{sched::irqs::Irqs, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static IRQS_CONFIG: Global<Config> = Global::new(Config::DEFAULT);

#[map]
static IRQS_START: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static IRQS_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static IRQS_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn irqs() -> Irqs<'static> {
    Irqs { config: &IRQS_CONFIG, start: &IRQS_START, sparse: &IRQS_SPARSE, drops: &IRQS_DROPS }
}

/// The classic record's `vec`.
#[inline(always)]
fn tp_vec(ctx: &TracePointContext) -> Option<u32> {
    // SAFETY: the offset comes from this tracepoint's format file.
    unsafe { ctx.read_at::<u32>(setting!(IRQS_CONFIG, tp_id) as usize) }.ok()
}

/// softirq_entry(unsigned int vec_nr)
#[btf_tracepoint(function = "softirq_entry")]
pub fn softirqs_entry_btf(_ctx: BtfTracePointContext) -> i32 {
    irqs().entry();
    0
}

#[btf_tracepoint(function = "softirq_exit")]
pub fn softirqs_exit_btf(ctx: BtfTracePointContext) -> i32 {
    irqs().exit(ctx.arg::<u64>(0) as u32);
    0
}

#[raw_tracepoint(tracepoint = "softirq_entry")]
pub fn softirqs_entry_raw(_ctx: RawTracePointContext) -> i32 {
    irqs().entry();
    0
}

#[raw_tracepoint(tracepoint = "softirq_exit")]
pub fn softirqs_exit_raw(ctx: RawTracePointContext) -> i32 {
    irqs().exit(ctx.arg::<u64>(0) as u32);
    0
}

#[tracepoint(category = "irq", name = "softirq_entry")]
pub fn softirqs_entry_tp(_ctx: TracePointContext) -> u32 {
    irqs().entry();
    0
}

#[tracepoint(category = "irq", name = "softirq_exit")]
pub fn softirqs_exit_tp(ctx: TracePointContext) -> u32 {
    if let Some(vec) = tp_vec(&ctx) {
        irqs().exit(vec);
    }
    0
}
