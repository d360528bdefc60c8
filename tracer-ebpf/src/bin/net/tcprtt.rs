//! tcprtt: tcp:tcp_probe through tp_btf, raw_tp or the classic tracepoint
//! (its maps exist on every kernel, so one object). The logic is
//! `tracer_ebpf::net::tcprtt`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    hist::{Histogram, SparseKey},
    net::tcprtt::{ADDRESS_ENTRIES, Address, Config, RttOffsets, SPARSE_ENTRIES, drop_reason},
};
use tracer_ebpf::{net::tcprtt::Tcprtt, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPRTT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static RTT_OFFSETS: Global<RttOffsets> = Global::new(RttOffsets::UNRESOLVED);

#[map]
static TCPRTT_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
#[map]
static TCPRTT_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static TCPRTT_ADDRESSES: HashMap<u32, Address> = HashMap::with_max_entries(ADDRESS_ENTRIES, 0);
#[map]
static TCPRTT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn tcprtt() -> Tcprtt<'static> {
    Tcprtt {
        config: &TCPRTT_CONFIG,
        offsets: &RTT_OFFSETS,
        hist: &TCPRTT_HIST,
        sparse: &TCPRTT_SPARSE,
        addresses: &TCPRTT_ADDRESSES,
        drops: &TCPRTT_DROPS,
    }
}

/// tcp_probe(struct sock *sk, struct sk_buff *skb)
#[btf_tracepoint(function = "tcp_probe")]
pub fn tcprtt_probe_btf(ctx: BtfTracePointContext) -> i32 {
    tcprtt().socket(ctx.arg(0));
    0
}

#[raw_tracepoint(tracepoint = "tcp_probe")]
pub fn tcprtt_probe_raw(ctx: RawTracePointContext) -> i32 {
    tcprtt().socket(ctx.arg(0));
    0
}

/// The classic record carries the addresses, ports and srtt itself (it
/// names the socket only since 6.x).
#[tracepoint(category = "tcp", name = "tcp_probe")]
pub fn tcprtt_probe_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(saddr), Ok(daddr), Ok(sport), Ok(dport), Ok(srtt)) = (
            ctx.read_at::<[u8; 28]>(setting!(RTT_OFFSETS, tp_saddr) as usize),
            ctx.read_at::<[u8; 28]>(setting!(RTT_OFFSETS, tp_daddr) as usize),
            ctx.read_at::<u16>(setting!(RTT_OFFSETS, tp_sport) as usize),
            ctx.read_at::<u16>(setting!(RTT_OFFSETS, tp_dport) as usize),
            ctx.read_at::<u32>(setting!(RTT_OFFSETS, tp_srtt) as usize),
        ) else {
            return 0;
        };
        tcprtt().record_fields(&saddr, &daddr, sport, dport, srtt);
    }
    0
}
