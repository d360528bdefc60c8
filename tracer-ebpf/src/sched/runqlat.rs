//! runqlat's kernel logic, shared by its two objects: `runqlat` (tp_btf,
//! wakeup times in task-local storage) and `runqlat_compat` (raw_tp and
//! classic tracepoints, wakeup times in a hash by tid).
//!
//! The clock of a task starts when it becomes runnable (wakeup, new task, or
//! preempted while still runnable) and stops when it is switched in.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    helpers::bpf_ktime_get_ns,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    sched::runqlat::{Config, Keying, drop_reason},
};

use crate::{
    count_drop,
    hist::{record_dense, record_sparse},
    setting,
    storage::TaskStorage,
    task::{FieldReader, Offsets, Task},
};

/// Where a task's wakeup time waits for its switch-in.
pub trait StartTimes {
    /// Stores `now` for the task; false if there was no room.
    fn set<R: FieldReader>(&self, task: Task<R>, tid: u32, now: u64) -> bool;
    /// Takes (and clears) the task's pending time.
    fn take<R: FieldReader>(&self, task: Task<R>, tid: u32) -> Option<u64>;
}

/// Per-task storage: no hashing, no deletes, freed with the task.
impl StartTimes for TaskStorage<u64> {
    #[inline(always)]
    fn set<R: FieldReader>(&self, task: Task<R>, _tid: u32, now: u64) -> bool {
        // SAFETY: only used by BTF-typed hooks, whose task pointers the helper accepts.
        match unsafe { self.get(task.ptr, true) } {
            Some(slot) => {
                // SAFETY: a live storage slot of this task.
                unsafe { *slot = now };
                true
            }
            None => false,
        }
    }

    #[inline(always)]
    fn take<R: FieldReader>(&self, task: Task<R>, _tid: u32) -> Option<u64> {
        // SAFETY: as above.
        let slot = unsafe { self.get(task.ptr, false) }?;
        // SAFETY: a live storage slot of this task.
        let start = unsafe { *slot };
        if start == 0 {
            return None;
        }
        // SAFETY: as above.
        unsafe { *slot = 0 };
        Some(start)
    }
}

/// By thread id in a hash map (hooks without typed task pointers).
impl StartTimes for HashMap<u32, u64> {
    #[inline(always)]
    fn set<R: FieldReader>(&self, _task: Task<R>, tid: u32, now: u64) -> bool {
        self.insert(&tid, &now, 0).is_ok()
    }

    #[inline(always)]
    fn take<R: FieldReader>(&self, _task: Task<R>, tid: u32) -> Option<u64> {
        // SAFETY: the value is copied out before the entry is removed.
        let start = unsafe { *self.get(&tid)? };
        let _ = self.remove(&tid);
        Some(start)
    }
}

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

/// The classic tracepoint records a preempted task's state as
/// TASK_REPORT_MAX (0x100 since 4.14); real sleep states are below it.
pub const TASK_REPORT_MAX: u32 = 0x100;

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl<S: StartTimes> Runqlat<'_, S> {
    /// A task became runnable: start its clock if it passes the filters.
    #[inline(always)]
    pub fn enqueue<R: FieldReader>(&self, task: Task<R>) {
        let target = setting!(*self.config, target_tgid);
        if target != 0 && task.tgid(self.offsets) != target {
            return;
        }
        if setting!(*self.config, filter_cgroup) != 0
            && !task.in_cgroup(self.offsets, setting!(*self.config, cgroup_level), setting!(*self.config, cgroup_id))
        {
            return;
        }
        let tid = task.tid(self.offsets);
        self.start(task, tid);
    }

    /// Starts the clock of `tid` (0, the idle task, is never timed).
    #[inline(always)]
    pub fn start<R: FieldReader>(&self, task: Task<R>, tid: u32) {
        if tid != 0 && !self.starts.set(task, tid, now()) {
            count_drop!(self.drops, drop_reason::START_MAP_FULL);
        }
    }

    /// Whether sched_switch passes `prev_state` (5.18+); else read the task.
    #[inline(always)]
    pub fn switch_has_prev_state(&self) -> bool {
        setting!(*self.config, switch_has_prev_state) != 0
    }

    /// sched_switch for hooks that see task pointers.
    #[inline(always)]
    pub fn switch<R: FieldReader>(&self, preempt: bool, prev: Task<R>, next: Task<R>, prev_state: Option<u32>) {
        let state = match prev_state {
            Some(state) => state,
            None => prev.state(self.offsets),
        };
        // Leaving the CPU while still runnable: straight back on a run queue.
        if preempt || state == 0 {
            self.enqueue(prev);
        }
        let tid = next.tid(self.offsets);
        if tid == 0 {
            return;
        }
        let Some(start) = self.starts.take(next, tid) else { return };
        let owner = match setting!(*self.config, keying) {
            k if k == Keying::Process as u32 => next.tgid(self.offsets),
            k if k == Keying::PidNamespace as u32 => next.pid_ns_inum(self.offsets),
            _ => tid,
        };
        self.record(owner, now().saturating_sub(start), || next.comm(self.offsets));
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
