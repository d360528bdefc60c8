//! tcpdrop, BTF tracepoint and ring buffer. The logic is
//! `tracer_ebpf::net::tcpdrop`; `tcpdrop_compat` serves older kernels.
//! One program per shape of kfree_skb's arguments, as the verifier checks
//! every argument read against the kernel's prototype.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map},
    maps::{PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
};
use tracer_common::{
    events::RING_BYTES,
    net::tcpdrop::{Config, DropEvent, DropOffsets, drop_reason},
};
use tracer_ebpf::net::tcpdrop::Tcpdrop;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPDROP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static DROP_OFFSETS: Global<DropOffsets> = Global::new(DropOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static DROP_SCRATCH: PerCpuArray<DropEvent> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn tcpdrop() -> Tcpdrop<'static, RingBuf> {
    Tcpdrop {
        config: &TCPDROP_CONFIG,
        offsets: &DROP_OFFSETS,
        scratch: &DROP_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

/// kfree_skb(skb, location): before 5.17, no reason.
#[btf_tracepoint(function = "kfree_skb")]
pub fn tcpdrop_kfree_btf(ctx: BtfTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), None, core::ptr::null());
    0
}

/// kfree_skb(skb, location, reason): 5.17 to 6.10.
#[btf_tracepoint(function = "kfree_skb")]
pub fn tcpdrop_reason_btf(ctx: BtfTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), Some(ctx.arg::<u32>(2)), core::ptr::null());
    0
}

/// kfree_skb(skb, location, reason, rx_sk): 6.11+.
#[btf_tracepoint(function = "kfree_skb")]
pub fn tcpdrop_rxsk_btf(ctx: BtfTracePointContext) -> i32 {
    tcpdrop().kfree_skb(&ctx, ctx.arg(0), Some(ctx.arg::<u32>(2)), ctx.arg(3));
    0
}
