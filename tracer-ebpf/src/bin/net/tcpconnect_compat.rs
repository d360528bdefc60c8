//! tcpconnect and tcpconnlat for kernels without ring buffers: kprobes and
//! syscall tracepoints for tcpconnect, raw or classic inet_sock_set_state
//! for tcpconnlat, perf buffer. The logic is `tracer_ebpf::net::connect`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{kprobe, kretprobe, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{ProbeContext, RawTracePointContext, RetProbeContext, TracePointContext},
};
use tracer_common::{
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
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(DROP_REASONS, 0);
#[map]
static CONNECT_THREADS: HashMap<u32, PendingConnect> = HashMap::with_max_entries(THREAD_ENTRIES, 0);
#[map]
static CONNECT_STARTS: HashMap<u64, Start> = HashMap::with_max_entries(SOCKET_ENTRIES, 0);
#[map]
static CONNECT_COUNTS: HashMap<CountKey, u64> = HashMap::with_max_entries(COUNT_ENTRIES, 0);

#[inline(always)]
fn connect() -> Connect<'static, PerfEventByteArray> {
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

#[raw_tracepoint(tracepoint = "inet_sock_set_state")]
pub fn tcpconnlat_state_raw(ctx: RawTracePointContext) -> i32 {
    let connect = connect();
    let sk: *const u8 = ctx.arg(0);
    connect.latency_state(&ctx, sk, ctx.arg(1), ctx.arg(2), connect.protocol(sk));
    0
}
