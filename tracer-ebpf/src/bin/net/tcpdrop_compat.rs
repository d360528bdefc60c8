//! tcpdrop for kernels without BTF tracepoints or ring buffers: raw or
//! classic kfree_skb, perf buffer. The logic is `tracer_ebpf::net::tcpdrop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::net::tcpdrop::{Config, DropEvent, DropOffsets, drop_reason};
use tracer_ebpf::{net::tcpdrop::Tcpdrop, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPDROP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static DROP_OFFSETS: Global<DropOffsets> = Global::new(DropOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static DROP_SCRATCH: PerCpuArray<DropEvent> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn tcpdrop() -> Tcpdrop<'static, PerfEventByteArray> {
    Tcpdrop {
        config: &TCPDROP_CONFIG,
        offsets: &DROP_OFFSETS,
        scratch: &DROP_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

/// kfree_skb(skb, location): before 5.17. A raw tracepoint refuses to
/// attach when its program reads past the tracepoint's arguments, hence
/// one program per shape.
#[raw_tracepoint(tracepoint = "kfree_skb")]
pub fn tcpdrop_kfree_raw(ctx: RawTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), None, core::ptr::null());
    0
}

/// kfree_skb(skb, location, reason): 5.17 to 6.10.
#[raw_tracepoint(tracepoint = "kfree_skb")]
pub fn tcpdrop_reason_raw(ctx: RawTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), Some(ctx.arg::<u64>(2) as u32), core::ptr::null());
    0
}

/// kfree_skb(skb, location, reason, rx_sk): 6.11+.
#[raw_tracepoint(tracepoint = "kfree_skb")]
pub fn tcpdrop_rxsk_raw(ctx: RawTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), Some(ctx.arg::<u64>(2) as u32), ctx.arg(3));
    0
}

/// The classic record: `reason` and `rx_sk` where its format has them.
#[tracepoint(category = "skb", name = "kfree_skb")]
pub fn tcpdrop_kfree_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let Ok(skb) = ctx.read_at::<u64>(setting!(DROP_OFFSETS, tp_skbaddr) as usize) else { return 0 };
        let at = setting!(DROP_OFFSETS, tp_reason);
        let reason = if at == u32::MAX { None } else { ctx.read_at::<u32>(at as usize).ok() };
        let at = setting!(DROP_OFFSETS, tp_rx_sk);
        let rx_sk = if at == u32::MAX { 0 } else { ctx.read_at::<u64>(at as usize).unwrap_or(0) };
        tcpdrop().kfree_skb(&ctx, skb as *const u8, reason, rx_sk as *const u8);
    }
    0
}
