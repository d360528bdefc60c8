//! tcptop: bytes per process and TCP flow, through sock:sock_send_length and
//! sock_recv_length (tp_btf, raw_tp or classic; 6.3+), else fexit/fentry or
//! kprobes on tcp_sendmsg and tcp_cleanup_rbuf. Its maps exist on every
//! kernel, so one object. The logic is `tracer_ebpf::net::tcptop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, fentry, fexit, kprobe, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{
        BtfTracePointContext, FEntryContext, FExitContext, ProbeContext, RawTracePointContext, TracePointContext,
    },
};
use tracer_common::net::{
    sock::IPPROTO_TCP,
    tcptop::{Config, FLOW_ENTRIES, FlowKey, MSG_PEEK, TopOffsets, direction, drop_reason},
};
use tracer_ebpf::{net::tcptop::Tcptop, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPTOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TOP_OFFSETS: Global<TopOffsets> = Global::new(TopOffsets::UNRESOLVED);

#[map]
static TCPTOP_BYTES: HashMap<FlowKey, u64> = HashMap::with_max_entries(FLOW_ENTRIES, 0);
#[map]
static TCPTOP_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn tcptop() -> Tcptop<'static> {
    Tcptop { config: &TCPTOP_CONFIG, offsets: &TOP_OFFSETS, bytes: &TCPTOP_BYTES, drops: &TCPTOP_DROPS }
}

/// A receive that only peeked took nothing off the socket.
#[inline(always)]
fn received(ret: i32, flags: i32) -> i64 {
    if flags & MSG_PEEK != 0 { 0 } else { i64::from(ret) }
}

// --- sock_send_length/sock_recv_length(struct sock *sk, int ret, int flags)

#[btf_tracepoint(function = "sock_send_length")]
pub fn tcptop_send_btf(ctx: BtfTracePointContext) -> i32 {
    let (top, sk) = (tcptop(), ctx.arg::<*const u8>(0));
    top.count(sk, top.protocol(sk), i64::from(ctx.arg::<i32>(1)), direction::SENT);
    0
}

#[btf_tracepoint(function = "sock_recv_length")]
pub fn tcptop_recv_btf(ctx: BtfTracePointContext) -> i32 {
    let (top, sk) = (tcptop(), ctx.arg::<*const u8>(0));
    top.count(sk, top.protocol(sk), received(ctx.arg(1), ctx.arg(2)), direction::RECEIVED);
    0
}

#[raw_tracepoint(tracepoint = "sock_send_length")]
pub fn tcptop_send_raw(ctx: RawTracePointContext) -> i32 {
    let (top, sk) = (tcptop(), ctx.arg::<*const u8>(0));
    top.count(sk, top.protocol(sk), i64::from(ctx.arg::<i32>(1)), direction::SENT);
    0
}

#[raw_tracepoint(tracepoint = "sock_recv_length")]
pub fn tcptop_recv_raw(ctx: RawTracePointContext) -> i32 {
    let (top, sk) = (tcptop(), ctx.arg::<*const u8>(0));
    top.count(sk, top.protocol(sk), received(ctx.arg(1), ctx.arg(2)), direction::RECEIVED);
    0
}

/// The classic record: (sk, protocol, ret, flags) at offsets from tracefs.
#[inline(always)]
fn record(ctx: &TracePointContext) -> Option<(*const u8, u16, i32, i32)> {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        Some((
            ctx.read_at::<u64>(setting!(TOP_OFFSETS, tp_sk) as usize).ok()? as *const u8,
            ctx.read_at::<u16>(setting!(TOP_OFFSETS, tp_protocol) as usize).ok()?,
            ctx.read_at::<i32>(setting!(TOP_OFFSETS, tp_ret) as usize).ok()?,
            ctx.read_at::<i32>(setting!(TOP_OFFSETS, tp_flags) as usize).ok()?,
        ))
    }
}

#[tracepoint(category = "sock", name = "sock_send_length")]
pub fn tcptop_send_tp(ctx: TracePointContext) -> u32 {
    if let Some((sk, protocol, ret, _)) = record(&ctx) {
        tcptop().count(sk, protocol, i64::from(ret), direction::SENT);
    }
    0
}

#[tracepoint(category = "sock", name = "sock_recv_length")]
pub fn tcptop_recv_tp(ctx: TracePointContext) -> u32 {
    if let Some((sk, protocol, ret, flags)) = record(&ctx) {
        tcptop().count(sk, protocol, received(ret, flags), direction::RECEIVED);
    }
    0
}

// --- functions: tcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
// and tcp_cleanup_rbuf(struct sock *sk, int copied).

/// fexit: what tcp_sendmsg returned (bytes queued), not what was asked.
#[fexit]
pub fn tcptop_sendmsg_fexit(ctx: FExitContext) -> u32 {
    tcptop().count(ctx.arg(0), IPPROTO_TCP, i64::from(ctx.arg::<i32>(3)), direction::SENT);
    0
}

#[fentry]
pub fn tcptop_cleanup_rbuf_fentry(ctx: FEntryContext) -> u32 {
    tcptop().count(ctx.arg(0), IPPROTO_TCP, i64::from(ctx.arg::<i32>(1)), direction::RECEIVED);
    0
}

/// kprobe: the size asked for, as libbpf-tools counts it.
#[kprobe]
pub fn tcptop_sendmsg_kprobe(ctx: ProbeContext) -> u32 {
    let (Some(sk), Some(size)) = (ctx.arg::<*const u8>(0), ctx.arg::<u64>(2)) else { return 0 };
    tcptop().count(sk, IPPROTO_TCP, size as i64, direction::SENT);
    0
}

#[kprobe]
pub fn tcptop_cleanup_rbuf_kprobe(ctx: ProbeContext) -> u32 {
    let (Some(sk), Some(copied)) = (ctx.arg::<*const u8>(0), ctx.arg::<i32>(1)) else { return 0 };
    tcptop().count(sk, IPPROTO_TCP, i64::from(copied), direction::RECEIVED);
    0
}
