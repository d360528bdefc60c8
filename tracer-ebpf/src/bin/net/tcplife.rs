//! tcplife, BTF tracepoint and ring buffer. The logic is
//! `tracer_ebpf::net::tcplife`; `tcplife_compat` serves older kernels.
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
    net::tcplife::{Config, Owner, SOCKET_ENTRIES, SockOffsets},
};
use tracer_ebpf::net::tcplife::Tcplife;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPLIFE_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SOCK_OFFSETS: Global<SockOffsets> = Global::new(SockOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static TCP_BIRTHS: HashMap<u64, u64> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);
#[map]
static TCP_OWNERS: HashMap<u64, Owner> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);

/// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn tcplife_state_btf(ctx: BtfTracePointContext) -> i32 {
    let tcplife = Tcplife {
        config: &TCPLIFE_CONFIG,
        offsets: &SOCK_OFFSETS,
        births: &TCP_BIRTHS,
        owners: &TCP_OWNERS,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    };
    let sk: *const u8 = ctx.arg(0);
    let newstate: i32 = ctx.arg(2);
    tcplife.state_change(&ctx, sk, newstate, tcplife.protocol(sk));
    0
}
