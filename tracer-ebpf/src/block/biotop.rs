//! biotop's kernel logic: per (submitter, disk, direction) counts of I/O,
//! bytes and latency, added at completion into a per-CPU hash that
//! userspace sums each interval. Requests are followed from their
//! submitter by `request::Submitters`.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::bpf_ktime_get_ns,
    maps::{PerCpuArray, PerCpuHashMap},
};
use tracer_common::block::{
    BlockOffsets, InFlight,
    biotop::{TopKey, TopStats, drop_reason},
};

use super::request::{Done, Request, RequestTool, Submitters};
use crate::count_drop;

pub struct Biotop<'a> {
    pub offsets: &'a Global<BlockOffsets>,
    pub submitters: Submitters<'a>,
    pub stats: &'a PerCpuHashMap<TopKey, TopStats>,
    pub drops: &'a PerCpuArray<u64>,
}

impl RequestTool for Biotop<'_> {
    #[inline(always)]
    fn submitters(&self) -> &Submitters<'_> {
        &self.submitters
    }

    #[inline(always)]
    fn request(&self) -> Request<'_> {
        Request { offsets: self.offsets }
    }

    #[inline(always)]
    fn completed<C: EbpfContext>(&self, _ctx: &C, request: InFlight, done: &Done) {
        // SAFETY: helper without arguments.
        let latency = unsafe { bpf_ktime_get_ns() }.saturating_sub(request.issue_ns);
        let key =
            TopKey { pid: request.pid, dev: done.dev, write: u32::from(done.is_write()), _pad: 0, comm: request.comm };
        if let Some(stats) = self.stats.get_ptr_mut(&key) {
            // SAFETY: this CPU's slot of a live entry; only this CPU writes it.
            unsafe {
                (*stats).io += 1;
                (*stats).bytes += u64::from(done.bytes);
                (*stats).ns += latency;
            }
            return;
        }
        let first = TopStats { io: 1, bytes: u64::from(done.bytes), ns: latency };
        // A new entry holds this CPU's counts; the other CPUs' start at zero.
        if self.stats.insert(&key, &first, 0).is_err() {
            count_drop!(self.drops, drop_reason::STATS_FULL);
        }
    }
}
