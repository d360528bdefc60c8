//! tcpretrans for kernels without BTF tracepoints or ring buffers: raw or
//! classic tcp_retransmit_skb, perf buffer (plus the tail loss probe
//! programs). The logic is `tracer_ebpf::net::tcpretrans`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::net::tcpretrans::{Config, FLOW_ENTRIES, FlowKey, RetransOffsets, drop_reason};
use tracer_ebpf::{net::tcpretrans::Tcpretrans, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPRETRANS_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static RETRANS_OFFSETS: Global<RetransOffsets> = Global::new(RetransOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static FLOW_COUNTS: HashMap<FlowKey, u64> = HashMap::with_max_entries(FLOW_ENTRIES, 0);

#[inline(always)]
fn tcpretrans() -> Tcpretrans<'static, PerfEventByteArray> {
    Tcpretrans {
        config: &TCPRETRANS_CONFIG,
        offsets: &RETRANS_OFFSETS,
        flows: &FLOW_COUNTS,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

#[raw_tracepoint(tracepoint = "tcp_retransmit_skb")]
pub fn tcpretrans_retransmit_raw(ctx: RawTracePointContext) -> i32 {
    let sk: *const u8 = ctx.arg(0);
    let skb: *const u8 = ctx.arg(1);
    tcpretrans().retransmit(&ctx, sk, skb);
    0
}

/// The classic record names the socket and the skb.
#[tracepoint(category = "tcp", name = "tcp_retransmit_skb")]
pub fn tcpretrans_retransmit_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(sk), Ok(skb)) = (
            ctx.read_at::<u64>(setting!(RETRANS_OFFSETS, tp_skaddr) as usize),
            ctx.read_at::<u64>(setting!(RETRANS_OFFSETS, tp_skbaddr) as usize),
        ) else {
            return 0;
        };
        tcpretrans().retransmit(&ctx, sk as *const u8, skb as *const u8);
    }
    0
}

tracer_ebpf::tcpretrans_tlp_programs!(tcpretrans());
