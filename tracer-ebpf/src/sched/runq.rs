//! The run-queue clock runqlat and runqslower share: a task's clock starts
//! when it becomes runnable (wakeup, new task, or switched out while still
//! runnable) and stops when it is switched in. What a tool does with the
//! wait (a histogram sample, an event above a threshold) is its own.

use aya_ebpf::{
    helpers::bpf_ktime_get_ns,
    maps::{HashMap, PerCpuArray},
};

use crate::{
    count_drop,
    storage::TaskStorage,
    task::{FieldReader, Offsets, ProbeRead, Task},
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

/// The classic tracepoint records a preempted task's state as
/// TASK_REPORT_MAX (0x100 since 4.14); real sleep states are below it.
pub const TASK_REPORT_MAX: u32 = 0x100;

#[inline(always)]
pub fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

/// The clock of one object: its start-time map and where a full map is counted.
pub struct RunQueue<'a, S> {
    pub offsets: &'a Offsets,
    pub starts: &'a S,
    pub drops: &'a PerCpuArray<u64>,
    /// The slot of `drops` counting waits lost to a full start map.
    pub start_full: u32,
}

impl<S: StartTimes> RunQueue<'_, S> {
    /// A task became runnable: start its clock if `admit(task, tid)` says so.
    #[inline(always)]
    pub fn enqueue<R: FieldReader>(&self, task: Task<R>, admit: impl FnOnce(Task<R>, u32) -> bool) {
        let tid = task.tid(self.offsets);
        if admit(task, tid) {
            self.start(task, tid);
        }
    }

    /// Starts the clock of `tid` (0, the idle task, is never timed).
    #[inline(always)]
    pub fn start<R: FieldReader>(&self, task: Task<R>, tid: u32) {
        if tid != 0 && !self.starts.set(task, tid, now()) {
            count_drop!(self.drops, self.start_full);
        }
    }

    /// sched_switch for hooks that see task pointers: `prev` leaving the CPU
    /// while still runnable goes straight back on a run queue (if admitted);
    /// returns `next`'s tid and how long it waited, if its clock was running.
    #[inline(always)]
    pub fn switch<R: FieldReader>(
        &self,
        preempt: bool,
        prev: Task<R>,
        next: Task<R>,
        prev_state: Option<u32>,
        admit: impl FnOnce(Task<R>, u32) -> bool,
    ) -> Option<(u32, u64)> {
        let state = match prev_state {
            Some(state) => state,
            None => prev.state(self.offsets),
        };
        if preempt || state == 0 {
            self.enqueue(prev, admit);
        }
        let tid = next.tid(self.offsets);
        if tid == 0 {
            return None;
        }
        let start = self.starts.take(next, tid)?;
        Some((tid, now().saturating_sub(start)))
    }

    /// sched_switch from the classic record's fields (no task pointers):
    /// returns how long `next_pid` waited, if its clock was running.
    #[inline(always)]
    pub fn switch_record(
        &self,
        prev_pid: u32,
        prev_state: u32,
        next_pid: u32,
        admit_prev: impl FnOnce() -> bool,
    ) -> Option<u64> {
        if (prev_state == 0 || prev_state >= TASK_REPORT_MAX) && admit_prev() {
            self.start(by_tid(), prev_pid);
        }
        if next_pid == 0 {
            return None;
        }
        let start = self.starts.take(by_tid(), next_pid)?;
        Some(now().saturating_sub(start))
    }
}

/// A task known only by its tid (the classic records carry no pointers).
#[inline(always)]
pub fn by_tid() -> Task<ProbeRead> {
    Task::new(core::ptr::null())
}
