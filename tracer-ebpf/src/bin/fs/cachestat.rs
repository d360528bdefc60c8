//! cachestat: page cache accesses through fentry or a kprobe on
//! folio_mark_accessed (mark_page_accessed before folios), and additions
//! and dirtying through tracepoints, into per-CPU counters (one object for
//! every kernel). The logic is `tracer_ebpf::fs::cachestat`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fentry, kprobe, map, tracepoint},
    maps::PerCpuArray,
    programs::{FEntryContext, ProbeContext, TracePointContext},
};
use tracer_common::fs::cachestat::{Config, event};
use tracer_ebpf::{fs::cachestat::Cachestat, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static CACHESTAT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);

#[map]
static CACHESTAT_COUNTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(event::COUNT, 0);

#[inline(always)]
fn cachestat() -> Cachestat<'static> {
    Cachestat { counts: &CACHESTAT_COUNTS }
}

#[fentry]
pub fn cachestat_accessed_fentry(_ctx: FEntryContext) -> u32 {
    cachestat().accessed();
    0
}

#[kprobe]
pub fn cachestat_accessed_kprobe(_ctx: ProbeContext) -> u32 {
    cachestat().accessed();
    0
}

#[tracepoint]
pub fn cachestat_added_tp(ctx: TracePointContext) -> u32 {
    let offset = setting!(CACHESTAT_CONFIG, added_order);
    // SAFETY: the offset comes from the tracepoint's format file.
    let order = if offset == u32::MAX { 0 } else { unsafe { ctx.read_at::<u8>(offset as usize) }.unwrap_or(0) };
    cachestat().added(order);
    0
}

#[tracepoint]
pub fn cachestat_dirtied_tp(_ctx: TracePointContext) -> u32 {
    cachestat().dirtied();
    0
}

#[tracepoint]
pub fn cachestat_buffer_dirtied_tp(_ctx: TracePointContext) -> u32 {
    cachestat().buffer_dirtied();
    0
}
