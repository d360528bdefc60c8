//! tcpstates, BTF tracepoint and ring buffer. The logic is
//! `tracer_ebpf::net::tcpstates`; `tcpstates_compat` serves older kernels.
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
    net::tcpstates::{Config, SOCKET_ENTRIES, StateOffsets, drop_reason},
};
use tracer_ebpf::net::tcpstates::Tcpstates;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPSTATES_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static STATE_OFFSETS: Global<StateOffsets> = Global::new(StateOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static TCP_LAST_CHANGE: HashMap<u64, u64> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);

/// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn tcpstates_state_btf(ctx: BtfTracePointContext) -> i32 {
    let tcpstates = Tcpstates {
        config: &TCPSTATES_CONFIG,
        offsets: &STATE_OFFSETS,
        last_change: &TCP_LAST_CHANGE,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    };
    let sk: *const u8 = ctx.arg(0);
    let oldstate: i32 = ctx.arg(1);
    let newstate: i32 = ctx.arg(2);
    tcpstates.state_change(&ctx, sk, oldstate, newstate, tcpstates.protocol(sk));
    0
}
