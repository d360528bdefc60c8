//! hardirqs: irq:irq_handler_entry/irq_handler_exit through tp_btf, raw_tp
//! or the classic tracepoint (one object: its maps exist on every kernel).
//! The handler's name is `action->name` (offset from BTF) on tp_btf and
//! raw_tp, the record's `__data_loc char[] name` on the classic path; it is
//! kept once per IRQ number. The logic is `tracer_ebpf::sched::irqs`.
#![no_std]
#![no_main]

use aya_ebpf::{
    EbpfContext, Global,
    helpers::generated::bpf_probe_read_kernel_str,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    hist::SparseKey,
    sched::irqs::{Config, NAME_ENTRIES, NAME_LEN, SPARSE_ENTRIES, drop_reason},
};
use tracer_ebpf::{
    sched::irqs::Irqs,
    setting,
    task::{DirectLoad, FieldReader, ProbeRead},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static IRQS_CONFIG: Global<Config> = Global::new(Config::DEFAULT);

#[map]
static IRQS_START: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static IRQS_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static IRQS_NAMES: HashMap<u32, [u8; NAME_LEN]> = HashMap::with_max_entries(NAME_ENTRIES, 0);
#[map]
static IRQS_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn irqs() -> Irqs<'static> {
    Irqs { config: &IRQS_CONFIG, start: &IRQS_START, sparse: &IRQS_SPARSE, drops: &IRQS_DROPS }
}

/// Copies the NUL-terminated kernel string at `src` and keeps it for `irq`.
#[inline(always)]
fn remember(irq: u32, src: *const u8) {
    let mut name = [0u8; NAME_LEN];
    // SAFETY: a bounded copy into our buffer; a bad pointer only fails.
    if unsafe { bpf_probe_read_kernel_str(name.as_mut_ptr().cast(), NAME_LEN as u32, src.cast()) } > 0 {
        irqs().remember_name(&IRQS_NAMES, irq, &name);
    }
}

/// Entry with `action` the handler's `struct irqaction *`.
#[inline(always)]
fn entry_action<R: FieldReader>(irq: u32, action: *const u8) {
    let irqs = irqs();
    if irqs.needs_name(&IRQS_NAMES, irq) {
        // SAFETY: `action` is the tracepoint's irqaction pointer.
        if let Some(name) = unsafe { R::read::<*const u8>(action, setting!(IRQS_CONFIG, action_name)) } {
            remember(irq, name);
        }
    }
    irqs.entry();
}

/// irq_handler_entry(int irq, struct irqaction *action)
#[btf_tracepoint(function = "irq_handler_entry")]
pub fn hardirqs_entry_btf(ctx: BtfTracePointContext) -> i32 {
    entry_action::<DirectLoad>(ctx.arg::<u64>(0) as u32, ctx.arg(1));
    0
}

/// irq_handler_exit(int irq, struct irqaction *action, int ret)
#[btf_tracepoint(function = "irq_handler_exit")]
pub fn hardirqs_exit_btf(ctx: BtfTracePointContext) -> i32 {
    irqs().exit(ctx.arg::<u64>(0) as u32);
    0
}

#[raw_tracepoint(tracepoint = "irq_handler_entry")]
pub fn hardirqs_entry_raw(ctx: RawTracePointContext) -> i32 {
    entry_action::<ProbeRead>(ctx.arg::<u64>(0) as u32, ctx.arg(1));
    0
}

#[raw_tracepoint(tracepoint = "irq_handler_exit")]
pub fn hardirqs_exit_raw(ctx: RawTracePointContext) -> i32 {
    irqs().exit(ctx.arg::<u64>(0) as u32);
    0
}

/// The classic record's `irq`.
#[inline(always)]
fn tp_irq(ctx: &TracePointContext) -> Option<u32> {
    // SAFETY: the offset comes from this tracepoint's format file.
    unsafe { ctx.read_at::<u32>(setting!(IRQS_CONFIG, tp_id) as usize) }.ok()
}

#[tracepoint(category = "irq", name = "irq_handler_entry")]
pub fn hardirqs_entry_tp(ctx: TracePointContext) -> u32 {
    let Some(irq) = tp_irq(&ctx) else { return 0 };
    let irqs = irqs();
    if irqs.needs_name(&IRQS_NAMES, irq) {
        // SAFETY: the offset comes from the format file; `__data_loc` is
        // (length << 16 | offset from the record's start).
        if let Ok(loc) = unsafe { ctx.read_at::<u32>(setting!(IRQS_CONFIG, tp_name) as usize) } {
            remember(irq, ctx.as_ptr().cast::<u8>().wrapping_add((loc & 0xffff) as usize));
        }
    }
    irqs.entry();
    0
}

#[tracepoint(category = "irq", name = "irq_handler_exit")]
pub fn hardirqs_exit_tp(ctx: TracePointContext) -> u32 {
    if let Some(irq) = tp_irq(&ctx) {
        irqs().exit(irq);
    }
    0
}
