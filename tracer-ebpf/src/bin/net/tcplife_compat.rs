//! tcplife for kernels without BTF tracepoints or ring buffers: raw or
//! classic inet_sock_set_state, perf buffer. The logic is `tracer_ebpf::net::tcplife`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::net::tcplife::{Config, Owner, SOCKET_ENTRIES, SockOffsets};
use tracer_ebpf::{net::tcplife::Tcplife, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPLIFE_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SOCK_OFFSETS: Global<SockOffsets> = Global::new(SockOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static TCP_BIRTHS: HashMap<u64, u64> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);
#[map]
static TCP_OWNERS: HashMap<u64, Owner> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);

#[inline(always)]
fn tcplife() -> Tcplife<'static, PerfEventByteArray> {
    Tcplife {
        config: &TCPLIFE_CONFIG,
        offsets: &SOCK_OFFSETS,
        births: &TCP_BIRTHS,
        owners: &TCP_OWNERS,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

#[raw_tracepoint(tracepoint = "inet_sock_set_state")]
pub fn tcplife_state_raw(ctx: RawTracePointContext) -> i32 {
    let tcplife = tcplife();
    let sk: *const u8 = ctx.arg(0);
    let newstate: i32 = ctx.arg(2);
    tcplife.state_change(&ctx, sk, newstate, tcplife.protocol(sk));
    0
}

/// The classic record names the socket and carries the protocol itself
/// (useful where `sk_protocol` is a bitfield, before 5.6).
#[tracepoint(category = "sock", name = "inet_sock_set_state")]
pub fn tcplife_state_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(sk), Ok(newstate), Ok(protocol)) = (
            ctx.read_at::<u64>(setting!(SOCK_OFFSETS, record.skaddr) as usize),
            ctx.read_at::<i32>(setting!(SOCK_OFFSETS, record.newstate) as usize),
            ctx.read_at::<u16>(setting!(SOCK_OFFSETS, record.protocol) as usize),
        ) else {
            return 0;
        };
        tcplife().state_change(&ctx, sk as *const u8, newstate, protocol);
    }
    0
}
