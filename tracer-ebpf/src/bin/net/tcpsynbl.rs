//! tcpsynbl: fentry or kprobes on tcp_v4_syn_recv_sock and
//! tcp_v6_syn_recv_sock (libbpf-tools' hooks), else sock:inet_sock_set_state
//! through tp_btf, raw_tp or the classic tracepoint; a sparse hash
//! histogram works on every kernel, so one object. The logic is
//! `tracer_ebpf::net::tcpsynbl`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, fentry, kprobe, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, FEntryContext, ProbeContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    hist::SparseKey,
    net::tcpsynbl::{Config, SPARSE_ENTRIES, SynblOffsets, drop_reason},
};
use tracer_ebpf::{net::tcpsynbl::Tcpsynbl, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPSYNBL_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SYNBL_OFFSETS: Global<SynblOffsets> = Global::new(SynblOffsets::UNRESOLVED);

#[map]
static TCPSYNBL_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static TCPSYNBL_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn tcpsynbl() -> Tcpsynbl<'static> {
    Tcpsynbl { config: &TCPSYNBL_CONFIG, offsets: &SYNBL_OFFSETS, sparse: &TCPSYNBL_SPARSE, drops: &TCPSYNBL_DROPS }
}

/// tcp_v4_syn_recv_sock(const struct sock *sk, ...): the listener.
#[fentry]
pub fn tcpsynbl_v4_fentry(ctx: FEntryContext) -> u32 {
    tcpsynbl().sample(ctx.arg(0));
    0
}

/// tcp_v6_syn_recv_sock(const struct sock *sk, ...): the listener.
#[fentry]
pub fn tcpsynbl_v6_fentry(ctx: FEntryContext) -> u32 {
    tcpsynbl().sample(ctx.arg(0));
    0
}

/// Both functions: the listener is the first argument of each.
#[kprobe]
pub fn tcpsynbl_kprobe(ctx: ProbeContext) -> u32 {
    if let Some(sk) = ctx.arg::<*const u8>(0) {
        tcpsynbl().sample(sk);
    }
    0
}

/// inet_sock_set_state(const struct sock *sk, const int oldstate, const int newstate)
#[btf_tracepoint(function = "inet_sock_set_state")]
pub fn tcpsynbl_state_btf(ctx: BtfTracePointContext) -> i32 {
    let tcpsynbl = tcpsynbl();
    let sk: *const u8 = ctx.arg(0);
    tcpsynbl.state_change(sk, ctx.arg(1), ctx.arg(2), tcpsynbl.protocol(sk));
    0
}

#[raw_tracepoint(tracepoint = "inet_sock_set_state")]
pub fn tcpsynbl_state_raw(ctx: RawTracePointContext) -> i32 {
    let tcpsynbl = tcpsynbl();
    let sk: *const u8 = ctx.arg(0);
    tcpsynbl.state_change(sk, ctx.arg(1), ctx.arg(2), tcpsynbl.protocol(sk));
    0
}

/// The classic record carries the protocol itself (useful where
/// `sk_protocol` is a bitfield, before 5.6).
#[tracepoint(category = "sock", name = "inet_sock_set_state")]
pub fn tcpsynbl_state_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from the tracepoint's format file.
    unsafe {
        let (Ok(sk), Ok(old), Ok(new), Ok(protocol)) = (
            ctx.read_at::<u64>(setting!(SYNBL_OFFSETS, tp_skaddr) as usize),
            ctx.read_at::<i32>(setting!(SYNBL_OFFSETS, tp_oldstate) as usize),
            ctx.read_at::<i32>(setting!(SYNBL_OFFSETS, tp_newstate) as usize),
            ctx.read_at::<u16>(setting!(SYNBL_OFFSETS, tp_protocol) as usize),
        ) else {
            return 0;
        };
        tcpsynbl().state_change(sk as *const u8, old, new, protocol);
    }
    0
}
