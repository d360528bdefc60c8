//! biolatency's kernel logic: block I/O latency from issue (or, with -Q,
//! insertion into the queue) to completion, into histograms. One object:
//! tp_btf and raw_tp programs key requests by address; the classic
//! tracepoints carry no pointer, so they key by disk and start sector.

use aya_ebpf::{
    Global,
    helpers::{bpf_get_current_task, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    block::biolatency::{BlockOffsets, Config, RequestKey, drop_reason, keying},
    hist::{Histogram, SparseKey},
    offsets::TaskOffsets,
};

use super::request::Request;
use crate::{
    count_drop,
    hist::{record_dense, record_sparse},
    setting,
    task::{ProbeRead, Task},
};

pub struct Biolatency<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<BlockOffsets>,
    pub task_offsets: &'a Global<TaskOffsets>,
    pub starts: &'a HashMap<RequestKey, u64>,
    pub hist: &'a PerCpuArray<Histogram>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Biolatency<'_> {
    /// Reading the request's disk and flags (shared with the other block tools).
    #[inline(always)]
    pub fn request(&self) -> Request<'_> {
        Request { offsets: self.offsets }
    }

    /// Whether the task issuing the I/O (current) is in the cgroup filter.
    #[inline(always)]
    fn cgroup_allows(&self) -> bool {
        if setting!(*self.config, filter_cgroup) == 0 {
            return true;
        }
        // SAFETY: the current task pointer.
        let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
        task.in_cgroup(self.task_offsets, setting!(*self.config, cgroup_level), setting!(*self.config, cgroup_id))
    }

    /// block_rq_insert (attached only with -Q).
    #[inline(always)]
    pub fn insert(&self, key: RequestKey) {
        if self.cgroup_allows() {
            self.store(key, 0);
        }
    }

    /// block_rq_issue: starts the clock, unless -Q already did at insertion.
    #[inline(always)]
    pub fn issue(&self, key: RequestKey) {
        if !self.cgroup_allows() {
            return;
        }
        let keep_insert_time = setting!(*self.config, queued) != 0;
        self.store(key, if keep_insert_time { aya_ebpf::bindings::BPF_NOEXIST.into() } else { 0 });
    }

    #[inline(always)]
    fn store(&self, key: RequestKey, flags: u64) {
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        match self.starts.insert(&key, &now, flags) {
            Ok(()) => {}
            // -EEXIST with BPF_NOEXIST: the insertion time stays, as wanted.
            Err(-17) => {}
            Err(_) => count_drop!(self.drops, drop_reason::START_MAP_FULL),
        }
    }

    /// block_rq_complete: stops the clock and records the latency for the
    /// request's disk (`dev`) and flags.
    #[inline(always)]
    pub fn complete(&self, key: RequestKey, dev: u32, flags: impl FnOnce() -> u32) {
        // SAFETY: copied out before the entry is removed.
        let Some(start) = (unsafe { self.starts.get(&key) }).copied() else { return };
        let _ = self.starts.remove(&key);
        if setting!(*self.config, filter_dev) != 0 && dev != setting!(*self.config, dev) {
            return;
        }
        // SAFETY: helper without arguments.
        let latency = unsafe { bpf_ktime_get_ns() }.saturating_sub(start);
        let owner = match setting!(*self.config, keying) {
            keying::TOTAL => {
                record_dense(self.hist.get_ptr_mut(0), latency);
                return;
            }
            keying::DISK => dev,
            _ => flags(),
        };
        if !record_sparse(self.sparse, owner, latency) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }
}
