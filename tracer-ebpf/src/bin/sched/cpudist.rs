//! cpudist: sched_switch through tp_btf, raw_tp or the classic tracepoint
//! (all maps exist on every kernel, so one object). The logic is
//! `tracer_ebpf::sched::cpudist`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    sched::cpudist::{COMM_ENTRIES, Config, SPARSE_ENTRIES, START_ENTRIES, Start, SwitchOffsets, drop_reason},
};
use tracer_ebpf::{
    sched::cpudist::Cpudist,
    setting,
    task::{DirectLoad, FieldReader, ProbeRead},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static CPUDIST_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static CPUDIST_OFFSETS: Global<SwitchOffsets> = Global::new(SwitchOffsets::UNRESOLVED);

#[map]
static CPUDIST_START: HashMap<u32, Start> = HashMap::with_max_entries(START_ENTRIES, 0);
#[map]
static CPUDIST_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
#[map]
static CPUDIST_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static CPUDIST_COMMS: HashMap<u32, [u8; TASK_COMM_LEN]> = HashMap::with_max_entries(COMM_ENTRIES, 0);
#[map]
static CPUDIST_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn cpudist() -> Cpudist<'static> {
    Cpudist {
        config: &CPUDIST_CONFIG,
        starts: &CPUDIST_START,
        hist: &CPUDIST_HIST,
        sparse: &CPUDIST_SPARSE,
        comms: &CPUDIST_COMMS,
        drops: &CPUDIST_DROPS,
    }
}

/// `next->pid` (offset from BTF).
#[inline(always)]
fn next_tid<R: FieldReader>(next: *const u8) -> u32 {
    // SAFETY: `next` is the tracepoint's task pointer.
    unsafe { R::read::<u32>(next, setting!(CPUDIST_OFFSETS, task_pid)) }.unwrap_or(0)
}

/// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...)
#[btf_tracepoint(function = "sched_switch")]
pub fn cpudist_switch_btf(ctx: BtfTracePointContext) -> i32 {
    cpudist().switch(next_tid::<DirectLoad>(ctx.arg(2)));
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn cpudist_switch_raw(ctx: RawTracePointContext) -> i32 {
    cpudist().switch(next_tid::<ProbeRead>(ctx.arg(2)));
    0
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn cpudist_switch_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the offset comes from this tracepoint's format file.
    if let Ok(next) = unsafe { ctx.read_at::<u32>(setting!(CPUDIST_OFFSETS, tp_next_pid) as usize) } {
        cpudist().switch(next);
    }
    0
}
