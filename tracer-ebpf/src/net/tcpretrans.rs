//! tcpretrans' kernel logic, shared by `tcpretrans` (tp_btf, ring buffer)
//! and `tcpretrans_compat` (raw_tp or classic tracepoint, perf buffer), on
//! tcp:tcp_retransmit_skb; tail loss probes (`-l`) by fentry or kprobe on
//! tcp_send_loss_probe, which has no tracepoint, in both objects.
//!
//! The tracepoint fires once per retransmitted skb, which may carry several
//! segments (GSO); the kernel adds `tcp_skb_pcount(skb)` to TcpRetransSegs,
//! so that is what is counted.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::{
    sock::EndpointOffsets,
    tcpretrans::{Config, FlowKey, RetransEvent, RetransOffsets, drop_reason, kind},
};

use crate::{
    count_drop,
    counters::{self, Added},
    events::{EventSink, send_or_count},
    global_ptr,
    net::sock,
    setting,
    task::probe_read,
};

pub struct Tcpretrans<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<RetransOffsets>,
    pub flows: &'a HashMap<FlowKey, u64>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Tcpretrans<'_, S> {
    #[inline(always)]
    fn endpoint_offsets(&self) -> *const EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// A retransmit of `skb` on socket `sk`.
    #[inline(always)]
    pub fn retransmit<C: EbpfContext>(&self, ctx: &C, sk: *const u8, skb: *const u8) {
        // SAFETY: skb is the tracepoint's; the read goes through the probe-read helper.
        let segs = unsafe { probe_read::<u16>(skb, setting!(*self.offsets, skb_gso_segs)) }.unwrap_or(1).max(1);
        self.record(ctx, sk, kind::RETRANSMIT, segs);
    }

    /// A tail loss probe attempt on socket `sk`.
    #[inline(always)]
    pub fn loss_probe<C: EbpfContext>(&self, ctx: &C, sk: *const u8) {
        self.record(ctx, sk, kind::LOSS_PROBE, 0);
    }

    #[inline(always)]
    fn record<C: EbpfContext>(&self, ctx: &C, sk: *const u8, what: u16, segs: u16) {
        // SAFETY: every read goes through the probe-read helper.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        let target_family = setting!(*self.config, target_family);
        if target_family != 0 && u32::from(endpoints.family) != target_family {
            return;
        }
        if setting!(*self.config, count) != 0 {
            let key = FlowKey { endpoints, kind: what, _pad: [0; 3] };
            let amount = if what == kind::RETRANSMIT { u64::from(segs) } else { 1 };
            if counters::add(self.flows, &key, amount) == Added::Full {
                count_drop!(self.drops, drop_reason::FLOWS_FULL);
            }
            return;
        }
        let mut event = RetransEvent::ZERO;
        // SAFETY: helper without arguments.
        event.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        event.segs = segs;
        event.kind = what;
        // SAFETY: as above.
        event.state = u32::from(unsafe { probe_read::<u8>(sk, setting!(*self.offsets, skc_state)) }.unwrap_or(0));
        event.endpoints = endpoints;
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<RetransEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The entry points both objects share: tail loss probes (fentry, kprobe)
/// and the raw and classic tracepoints, given the object's statics.
#[macro_export]
macro_rules! tcpretrans_tlp_programs {
    ($tool:expr) => {
        /// tcp_send_loss_probe(struct sock *sk)
        #[aya_ebpf::macros::fentry]
        pub fn tcpretrans_tlp_fentry(ctx: aya_ebpf::programs::FEntryContext) -> u32 {
            let sk: *const u8 = ctx.arg(0);
            $tool.loss_probe(&ctx, sk);
            0
        }

        #[aya_ebpf::macros::kprobe]
        pub fn tcpretrans_tlp_kprobe(ctx: aya_ebpf::programs::ProbeContext) -> u32 {
            if let Some(sk) = ctx.arg::<*const u8>(0) {
                $tool.loss_probe(&ctx, sk);
            }
            0
        }
    };
}
