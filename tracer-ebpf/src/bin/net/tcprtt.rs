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
    net::sock::AF_INET,
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

/// The classic record carries the addresses (a `sockaddr_in` or
/// `sockaddr_in6`: family at 0, IPv4 at 4, IPv6 at 8), ports and srtt itself
/// (it names the socket only since 6.x). Read field by field: 5.10's
/// verifier refused the program that copied the 28-byte fields whole.
#[tracepoint(category = "tcp", name = "tcp_probe")]
pub fn tcprtt_probe_tp(ctx: TracePointContext) -> u32 {
    let (saddr, daddr) = (setting!(RTT_OFFSETS, tp_saddr) as usize, setting!(RTT_OFFSETS, tp_daddr) as usize);
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(family), Ok(sport), Ok(dport), Ok(srtt)) = (
            ctx.read_at::<u16>(saddr),
            ctx.read_at::<u16>(setting!(RTT_OFFSETS, tp_sport) as usize),
            ctx.read_at::<u16>(setting!(RTT_OFFSETS, tp_dport) as usize),
            ctx.read_at::<u32>(setting!(RTT_OFFSETS, tp_srtt) as usize),
        ) else {
            return 0;
        };
        let (mut laddr, mut raddr) = ([0u8; 16], [0u8; 16]);
        if family == AF_INET {
            let (Ok(local), Ok(remote)) = (ctx.read_at::<[u8; 4]>(saddr + 4), ctx.read_at::<[u8; 4]>(daddr + 4)) else {
                return 0;
            };
            laddr[..4].copy_from_slice(&local);
            raddr[..4].copy_from_slice(&remote);
        } else {
            let (Ok(local), Ok(remote)) = (ctx.read_at::<[u8; 16]>(saddr + 8), ctx.read_at::<[u8; 16]>(daddr + 8))
            else {
                return 0;
            };
            (laddr, raddr) = (local, remote);
        }
        tcprtt().record_fields(family, laddr, raddr, sport, dport, srtt);
    }
    0
}
