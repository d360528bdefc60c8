//! runqlat's kernel logic, shared by its two objects: `runqlat` (tp_btf,
//! wakeup times in task-local storage) and `runqlat_compat` (raw_tp and
//! classic tracepoints, wakeup times in a hash by tid). The run-queue clock
//! itself is `sched::runq`, shared with runqslower; runqlat turns each wait
//! into a histogram sample.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    sched::runqlat::{Config, Keying, drop_reason},
};

use super::runq::{RunQueue, StartTimes};
use crate::{
    count_drop,
    hist::{record_dense, record_sparse},
    setting,
    task::{FieldReader, Offsets, Task},
};

/// The maps and read-only settings of one runqlat object.
pub struct Runqlat<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Offsets,
    pub starts: &'a S,
    pub hist: &'a PerCpuArray<Histogram>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub comms: &'a HashMap<u32, [u8; TASK_COMM_LEN]>,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: StartTimes> Runqlat<'_, S> {
    #[inline(always)]
    pub fn queue(&self) -> RunQueue<'_, S> {
        RunQueue {
            offsets: self.offsets,
            starts: self.starts,
            drops: self.drops,
            start_full: drop_reason::START_MAP_FULL,
        }
    }

    /// Whether a task passes the -p and -c filters.
    #[inline(always)]
    fn admits<R: FieldReader>(&self, task: Task<R>) -> bool {
        let target = setting!(*self.config, target_tgid);
        if target != 0 && task.tgid(self.offsets) != target {
            return false;
        }
        !(setting!(*self.config, filter_cgroup) != 0
            && !task.in_cgroup(self.offsets, setting!(*self.config, cgroup_level), setting!(*self.config, cgroup_id)))
    }

    /// A task became runnable: start its clock if it passes the filters.
    #[inline(always)]
    pub fn enqueue<R: FieldReader>(&self, task: Task<R>) {
        self.queue().enqueue(task, |task, _| self.admits(task));
    }

    /// Whether sched_switch passes `prev_state` (5.18+); else read the task.
    #[inline(always)]
    pub fn switch_has_prev_state(&self) -> bool {
        setting!(*self.config, switch_has_prev_state) != 0
    }

    /// sched_switch for hooks that see task pointers.
    #[inline(always)]
    pub fn switch<R: FieldReader>(&self, preempt: bool, prev: Task<R>, next: Task<R>, prev_state: Option<u32>) {
        let Some((tid, wait)) = self.queue().switch(preempt, prev, next, prev_state, |task, _| self.admits(task))
        else {
            return;
        };
        let owner = match setting!(*self.config, keying) {
            k if k == Keying::Process as u32 => next.tgid(self.offsets),
            k if k == Keying::PidNamespace as u32 => next.pid_ns_inum(self.offsets),
            _ => tid,
        };
        self.record(owner, wait, || next.comm(self.offsets));
    }

    /// Adds one wait to the owner's histogram (or the single one).
    #[inline(always)]
    pub fn record(&self, owner: u32, wait: u64, comm: impl FnOnce() -> [u8; TASK_COMM_LEN]) {
        if setting!(*self.config, keying) == Keying::Total as u32 {
            record_dense(self.hist.get_ptr_mut(0), wait);
            return;
        }
        if !record_sparse(self.sparse, owner, wait) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
            return;
        }
        if self.comms.get_ptr(&owner).is_none() {
            let _ = self.comms.insert(&owner, &comm(), BPF_NOEXIST.into());
        }
    }
}
