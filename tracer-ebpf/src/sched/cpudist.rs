//! cpudist's kernel logic: at every sched_switch, the task leaving the CPU
//! (`prev`, still `current`) ends its on-CPU time and starts its off-CPU
//! time; the task arriving (`next`) the reverse. Which of the two is
//! recorded depends on `-O`. Only `next`'s thread id is needed from the
//! hook: everything about `prev` comes from the current-task helpers, so
//! the same logic serves tp_btf, raw_tp and classic tracepoints. The idle
//! tasks (pid 0, one per CPU) are never timed.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    sched::cpudist::{Config, Start, drop_reason, keying},
};

use crate::{
    count_drop,
    hist::{record_dense, record_sparse},
    setting,
};

/// The maps and settings of the cpudist object.
pub struct Cpudist<'a> {
    pub config: &'a Global<Config>,
    pub starts: &'a HashMap<u32, Start>,
    pub hist: &'a PerCpuArray<Histogram>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub comms: &'a HashMap<u32, [u8; TASK_COMM_LEN]>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Cpudist<'_> {
    /// sched_switch from the current task to thread `next_tid`.
    #[inline(always)]
    pub fn switch(&self, next_tid: u32) {
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        let pid_tgid = bpf_get_current_pid_tgid();
        let (prev_tid, prev_tgid) = (pid_tgid as u32, (pid_tgid >> 32) as u32);
        let target = setting!(*self.config, target_tgid);
        let prev_wanted = prev_tid != 0 && (target == 0 || prev_tgid == target);
        if setting!(*self.config, offcpu) != 0 {
            // prev goes off the CPU: start its clock (its process is known now).
            if prev_wanted
                && self.starts.insert(&prev_tid, &Start { timestamp_ns: now, tgid: prev_tgid, _pad: 0 }, 0).is_err()
            {
                count_drop!(self.drops, drop_reason::START_MAP_FULL);
            }
            if prev_wanted {
                self.remember_comm(prev_tid, prev_tgid);
            }
            // next comes back: its off-CPU time ends (filtered when it started).
            if next_tid != 0
                && let Some(start) = self.take(next_tid)
            {
                self.record(next_tid, start.tgid, now.saturating_sub(start.timestamp_ns));
            }
            return;
        }
        // prev leaves the CPU: its on-CPU time ends.
        // (Taken even when filtered out, so no entry outlives its thread.)
        if prev_tid != 0
            && let Some(start) = self.take(prev_tid)
            && prev_wanted
        {
            self.remember_comm(prev_tid, prev_tgid);
            self.record(prev_tid, prev_tgid, now.saturating_sub(start.timestamp_ns));
        }
        // next's process is unknown here (classic records carry only its
        // pid): its start is kept unfiltered and filtered when it ends.
        if next_tid != 0 && self.starts.insert(&next_tid, &Start { timestamp_ns: now, tgid: 0, _pad: 0 }, 0).is_err() {
            count_drop!(self.drops, drop_reason::START_MAP_FULL);
        }
    }

    #[inline(always)]
    fn take(&self, tid: u32) -> Option<Start> {
        // SAFETY: copied out before the entry is removed.
        let start = unsafe { self.starts.get(&tid) }.copied()?;
        let _ = self.starts.remove(&tid);
        Some(start)
    }

    #[inline(always)]
    fn owner(&self, tid: u32, tgid: u32) -> u32 {
        if setting!(*self.config, keying) == keying::PROCESS { tgid } else { tid }
    }

    /// Keeps the current task's comm for its owner (per-process/thread histograms).
    #[inline(always)]
    fn remember_comm(&self, tid: u32, tgid: u32) {
        if setting!(*self.config, keying) == keying::TOTAL {
            return;
        }
        let owner = self.owner(tid, tgid);
        if self.comms.get_ptr(&owner).is_none() {
            let comm = bpf_get_current_comm().unwrap_or([0; TASK_COMM_LEN]);
            let _ = self.comms.insert(&owner, &comm, BPF_NOEXIST.into());
        }
    }

    #[inline(always)]
    fn record(&self, tid: u32, tgid: u32, elapsed: u64) {
        if setting!(*self.config, keying) == keying::TOTAL {
            record_dense(self.hist.get_ptr_mut(0), elapsed);
            return;
        }
        if !record_sparse(self.sparse, self.owner(tid, tgid), elapsed) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }
}
