//! tcpconnect and tcpconnlat with a ring buffer (5.8+): tcpconnect's fexit,
//! kprobe and syscall-tracepoint paths, tcpconnlat's BTF tracepoint (and
//! classic one). `tcpconnect_compat` serves older kernels. The logic is
//! `tracer_ebpf::net::connect`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, fexit, kprobe, kretprobe, map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, FExitContext, ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::{
    events::RING_BYTES,
    net::connect::{
        COUNT_ENTRIES, Config, ConnectOffsets, CountKey, DROP_REASONS, PendingConnect, SOCKET_ENTRIES, Start,
        THREAD_ENTRIES,
    },
    offsets::TaskOffsets,
};
use tracer_ebpf::net::connect::Connect;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static CONNECT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static CONNECT_OFFSETS: Global<ConnectOffsets> = Global::new(ConnectOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(DROP_REASONS, 0);
#[map]
static CONNECT_THREADS: HashMap<u32, PendingConnect> = HashMap::with_max_entries(THREAD_ENTRIES, 0);
#[map]
static CONNECT_STARTS: HashMap<u64, Start> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);
#[map]
static CONNECT_COUNTS: HashMap<CountKey, u64> = HashMap::with_max_entries(COUNT_ENTRIES, 0);

#[inline(always)]
fn connect() -> Connect<'static, RingBuf> {
    Connect {
        config: &CONNECT_CONFIG,
        offsets: &CONNECT_OFFSETS,
        task_offsets: &TASK_OFFSETS,
        threads: &CONNECT_THREADS,
        starts: &CONNECT_STARTS,
        counts: &CONNECT_COUNTS,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::connect_programs!(connect, CONNECT_OFFSETS);

/// `tcp_v4_connect(sk, uaddr, addr_len)` returned (the return follows the
/// three parameters).
#[fexit]
pub fn tcpconnect_v4_fexit(ctx: FExitContext) -> u32 {
    connect().function_exit(&ctx, ctx.arg(0), ctx.arg::<i32>(3), false);
    0
}

/// `tcp_v6_connect(sk, uaddr, addr_len)` returned.
#[fexit]
pub fn tcpconnect_v6_fexit(ctx: FExitContext) -> u32 {
    connect().function_exit(&ctx, ctx.arg(0), ctx.arg::<i32>(3), true);
    0
}

/// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn tcpconnlat_state_btf(ctx: BtfTracePointContext) -> i32 {
    let connect = connect();
    let sk: *const u8 = ctx.arg(0);
    connect.latency_state(&ctx, sk, ctx.arg(1), ctx.arg(2), connect.protocol(sk));
    0
}
