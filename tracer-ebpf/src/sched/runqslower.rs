//! runqslower's kernel logic, shared by `runqslower` (tp_btf, task-local
//! storage, ring buffer) and `runqslower_compat` (raw_tp and classic
//! tracepoints, a hash by tid, perf buffer). The run-queue clock is
//! `sched::runq`, runqlat's; runqslower sends one event per wait above the
//! threshold, with the task it took the CPU from.

use aya_ebpf::{EbpfContext, Global, maps::PerCpuArray};
use tracer_common::{
    TASK_COMM_LEN,
    sched::runqslower::{Config, RunqslowerEvent, drop_reason},
};

use super::runq::{RunQueue, StartTimes, now};
use crate::{
    events::{EventSink, send_or_count},
    setting,
    task::{FieldReader, Offsets, Task},
};

/// The maps and read-only settings of one runqslower object.
pub struct Runqslower<'a, S, E> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Offsets,
    pub starts: &'a S,
    pub events: &'a E,
    /// `EVENT_DROPS`: slot 0 the event buffer, then `drop_reason`.
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: StartTimes, E: EventSink> Runqslower<'_, S, E> {
    #[inline(always)]
    pub fn queue(&self) -> RunQueue<'_, S> {
        RunQueue {
            offsets: self.offsets,
            starts: self.starts,
            drops: self.drops,
            start_full: drop_reason::START_MAP_FULL,
        }
    }

    /// Whether sched_switch passes `prev_state` (5.18+); else read the task.
    #[inline(always)]
    pub fn switch_has_prev_state(&self) -> bool {
        setting!(*self.config, switch_has_prev_state) != 0
    }

    /// The -t and -c filters, on what every hook knows: tid and comm.
    #[inline(always)]
    pub fn admits_thread(&self, tid: u32, comm: impl FnOnce() -> [u8; TASK_COMM_LEN]) -> bool {
        let target = setting!(*self.config, target_tid);
        if target != 0 && tid != target {
            return false;
        }
        setting!(*self.config, filter_comm) == 0 || self.comm_matches(&comm())
    }

    /// `comm` starts with the -c prefix.
    #[inline(always)]
    fn comm_matches(&self, comm: &[u8; TASK_COMM_LEN]) -> bool {
        let prefix = setting!(*self.config, comm);
        for i in 0..TASK_COMM_LEN {
            if prefix[i] == 0 {
                return true;
            }
            if comm[i] != prefix[i] {
                return false;
            }
        }
        true
    }

    /// The -p, -t and -c filters for hooks with task pointers.
    #[inline(always)]
    fn admits<R: FieldReader>(&self, task: Task<R>, tid: u32) -> bool {
        let target = setting!(*self.config, target_tgid);
        if target != 0 && task.tgid(self.offsets) != target {
            return false;
        }
        self.admits_thread(tid, || task.comm(self.offsets))
    }

    /// A task became runnable: start its clock if it passes the filters.
    #[inline(always)]
    pub fn enqueue<R: FieldReader>(&self, task: Task<R>) {
        self.queue().enqueue(task, |task, tid| self.admits(task, tid));
    }

    /// sched_switch for hooks that see task pointers.
    #[inline(always)]
    pub fn switch<R: FieldReader, C: EbpfContext>(
        &self,
        ctx: &C,
        preempt: bool,
        prev: Task<R>,
        next: Task<R>,
        prev_state: Option<u32>,
    ) {
        let Some((tid, wait)) =
            self.queue().switch(preempt, prev, next, prev_state, |task, tid| self.admits(task, tid))
        else {
            return;
        };
        if !self.slow(wait) {
            return;
        }
        let event = RunqslowerEvent {
            timestamp_ns: now(),
            latency_ns: wait,
            tid,
            prev_tid: prev.tid(self.offsets),
            comm: next.comm(self.offsets),
            prev_comm: prev.comm(self.offsets),
        };
        self.send(ctx, &event);
    }

    /// Above the threshold (strictly, as libbpf-tools compares).
    #[inline(always)]
    pub fn slow(&self, wait: u64) -> bool {
        wait > setting!(*self.config, min_ns)
    }

    #[inline(always)]
    pub fn send<C: EbpfContext>(&self, ctx: &C, event: &RunqslowerEvent) {
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(
                core::ptr::from_ref(event).cast::<u8>(),
                core::mem::size_of::<RunqslowerEvent>(),
            )
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
