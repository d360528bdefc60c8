//! runqlen's kernel logic: on each CPU-clock sample, the length of the
//! interrupted CPU's run queue, read through the current task
//! (`current->se.cfs_rq->nr_queued`, or with `-H` `->rq->nr_running`),
//! minus the running task, into this CPU's histogram.

use aya_ebpf::{Global, helpers::bpf_get_current_task, maps::PerCpuArray};
use tracer_common::sched::runqlen::{Config, MAX_SLOTS, QueueHistogram, RunqOffsets};

use crate::{events::opaque, setting, task::probe_read};

pub struct Runqlen<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<RunqOffsets>,
    pub hist: &'a PerCpuArray<QueueHistogram>,
}

impl Runqlen<'_> {
    #[inline(always)]
    pub fn sample(&self) {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        let queued = unsafe {
            let task = bpf_get_current_task() as *const u8;
            let Some(cfs_rq) = probe_read::<*const u8>(task, setting!(*offsets, task_cfs_rq)) else { return };
            if setting!(*self.config, host) != 0 {
                let Some(rq) = probe_read::<*const u8>(cfs_rq, setting!(*offsets, cfs_rq_rq)) else { return };
                probe_read::<u32>(rq, setting!(*offsets, rq_nr_running))
            } else {
                probe_read::<u32>(cfs_rq, setting!(*offsets, cfs_rq_nr))
            }
        };
        let Some(queued) = queued else { return };
        // The running task is counted in the queue: 0 is idle, 1 one waiting.
        let waiting = queued.saturating_sub(1) as usize;
        let slot = opaque(if waiting >= MAX_SLOTS { MAX_SLOTS - 1 } else { waiting });
        let Some(hist) = self.hist.get_ptr_mut(0) else { return };
        // SAFETY: this CPU's slot; nothing else writes it while we run.
        if let Some(count) = unsafe { (*hist).slots.get_mut(slot) } {
            *count += 1;
        }
    }
}
