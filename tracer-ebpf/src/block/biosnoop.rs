//! biosnoop's kernel logic: one event per completed request, with its
//! submitter (from `request::Submitters`), disk, sector, size, flags, queue
//! time and latency. Shared by `biosnoop` (tp_btf, ring buffer) and
//! `biosnoop_compat` (raw_tp or classic tracepoints, perf buffer).

use aya_ebpf::{EbpfContext, Global, helpers::bpf_ktime_get_ns, maps::PerCpuArray};
use tracer_common::block::{
    BlockOffsets, InFlight,
    biosnoop::{BioEvent, Config},
};

use super::request::{Done, Request, RequestTool, Submitters};
use crate::{
    events::{EventSink, send_or_count},
    setting,
};

pub struct Biosnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<BlockOffsets>,
    pub submitters: Submitters<'a>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> RequestTool for Biosnoop<'_, S> {
    #[inline(always)]
    fn submitters(&self) -> &Submitters<'_> {
        &self.submitters
    }

    #[inline(always)]
    fn request(&self) -> Request<'_> {
        Request { offsets: self.offsets }
    }

    #[inline(always)]
    fn completed<C: EbpfContext>(&self, ctx: &C, request: InFlight, done: &Done) {
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        let latency_ns = now.saturating_sub(request.issue_ns);
        if latency_ns < setting!(*self.config, min_ns) {
            return;
        }
        let event = BioEvent {
            timestamp_ns: now,
            latency_ns,
            queued_ns: if request.start_ns == 0 { u64::MAX } else { request.issue_ns.saturating_sub(request.start_ns) },
            sector: done.sector,
            bytes: done.bytes,
            pid: request.pid,
            dev: done.dev,
            flags: done.flags,
            rwbs: done.rwbs,
            comm: request.comm,
        };
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<BioEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
