//! tcpstates for kernels without BTF tracepoints or ring buffers: raw or
//! classic inet_sock_set_state, perf buffer. The logic is `tracer_ebpf::net::tcpstates`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::net::tcpstates::{Config, SOCKET_ENTRIES, StateOffsets, drop_reason};
use tracer_ebpf::{net::tcpstates::Tcpstates, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPSTATES_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static STATE_OFFSETS: Global<StateOffsets> = Global::new(StateOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static TCP_LAST_CHANGE: HashMap<u64, u64> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);

#[inline(always)]
fn tcpstates() -> Tcpstates<'static, PerfEventByteArray> {
    Tcpstates {
        config: &TCPSTATES_CONFIG,
        offsets: &STATE_OFFSETS,
        last_change: &TCP_LAST_CHANGE,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

#[raw_tracepoint(tracepoint = "inet_sock_set_state")]
pub fn tcpstates_state_raw(ctx: RawTracePointContext) -> i32 {
    let tcpstates = tcpstates();
    let sk: *const u8 = ctx.arg(0);
    let oldstate: i32 = ctx.arg(1);
    let newstate: i32 = ctx.arg(2);
    tcpstates.state_change(&ctx, sk, oldstate, newstate, tcpstates.protocol(sk));
    0
}

/// The classic record names the socket and carries the protocol itself
/// (where `sk_protocol` is a bitfield, before 5.6, only it can tell).
#[tracepoint(category = "sock", name = "inet_sock_set_state")]
pub fn tcpstates_state_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(sk), Ok(oldstate), Ok(newstate), Ok(protocol)) = (
            ctx.read_at::<u64>(setting!(STATE_OFFSETS, tp_skaddr) as usize),
            ctx.read_at::<i32>(setting!(STATE_OFFSETS, tp_oldstate) as usize),
            ctx.read_at::<i32>(setting!(STATE_OFFSETS, tp_newstate) as usize),
            ctx.read_at::<u16>(setting!(STATE_OFFSETS, tp_protocol) as usize),
        ) else {
            return 0;
        };
        tcpstates().state_change(&ctx, sk as *const u8, oldstate, newstate, protocol);
    }
    0
}
