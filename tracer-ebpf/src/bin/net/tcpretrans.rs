//! tcpretrans, BTF tracepoint and ring buffer (plus the tail loss probe
//! programs). The logic is `tracer_ebpf::net::tcpretrans`;
//! `tcpretrans_compat` serves older kernels.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
};
use tracer_common::{
    events::RING_BYTES,
    net::tcpretrans::{Config, FLOW_ENTRIES, FlowKey, RetransOffsets, drop_reason},
};
use tracer_ebpf::net::tcpretrans::Tcpretrans;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPRETRANS_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static RETRANS_OFFSETS: Global<RetransOffsets> = Global::new(RetransOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static FLOW_COUNTS: HashMap<FlowKey, u64> = HashMap::with_max_entries(FLOW_ENTRIES, 0);

#[inline(always)]
fn tcpretrans() -> Tcpretrans<'static, RingBuf> {
    Tcpretrans {
        config: &TCPRETRANS_CONFIG,
        offsets: &RETRANS_OFFSETS,
        flows: &FLOW_COUNTS,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

/// tcp_retransmit_skb(const struct sock *sk, const struct sk_buff *skb, ...)
#[btf_tracepoint(function = "tcp_retransmit_skb")]
pub fn tcpretrans_retransmit_btf(ctx: BtfTracePointContext) -> i32 {
    let sk: *const u8 = ctx.arg(0);
    let skb: *const u8 = ctx.arg(1);
    tcpretrans().retransmit(&ctx, sk, skb);
    0
}

tracer_ebpf::tcpretrans_tlp_programs!(tcpretrans());
