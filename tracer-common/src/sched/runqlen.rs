//! `runqlen`: the sampled histogram, settings and offsets.

/// Run-queue lengths 0..MAX_SLOTS-1; longer queues count in the last slot.
pub const MAX_SLOTS: usize = 32;

/// One CPU's samples by queue length. The map is a per-CPU array with one
/// slot: each CPU's own value is that CPU's histogram (for `-C`), and
/// userspace sums them for the whole system. Counters only grow.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QueueHistogram {
    pub slots: [u64; MAX_SLOTS],
}

impl QueueHistogram {
    pub const ZERO: Self = Self { slots: [0; MAX_SLOTS] };
}

/// Read-only global `RUNQLEN_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 1 (`-H`): the whole run queue of the CPU (every scheduling class,
    /// every cgroup), not the CFS queue of the running task's group.
    pub host: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { host: 0, _pad: 0 };
}

/// Read-only global `RUNQLEN_OFFSETS`, from BTF.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RunqOffsets {
    /// `task_struct.se.cfs_rq` (struct cfs_rq *).
    pub task_cfs_rq: u32,
    /// `cfs_rq.nr_queued` (6.14+) or `cfs_rq.nr_running` (before): queued
    /// entities, the running one included.
    pub cfs_rq_nr: u32,
    /// `cfs_rq.rq` (struct rq *, with group scheduling) and `rq.nr_running` (`-H`).
    pub cfs_rq_rq: u32,
    pub rq_nr_running: u32,
}

impl RunqOffsets {
    pub const UNRESOLVED: Self =
        Self { task_cfs_rq: u32::MAX, cfs_rq_nr: u32::MAX, cfs_rq_rq: u32::MAX, rq_nr_running: u32::MAX };
}

crate::impl_pod!(QueueHistogram, Config, RunqOffsets);
