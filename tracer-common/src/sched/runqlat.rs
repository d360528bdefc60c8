//! `runqlat`: shared configuration and map names.

/// How histograms are split.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keying {
    /// One histogram for everything.
    Total = 0,
    /// One per process (tgid), `-P`.
    Process = 1,
    /// One per thread (tid), `-L`.
    Thread = 2,
    /// One per PID namespace, `--pidnss`.
    PidNamespace = 3,
}

/// Read-only global `RUNQLAT_CONFIG`, set by userspace before load. Fields
/// that are off let the verifier prune their branches entirely.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (tgid); 0 traces all.
    pub target_tgid: u32,
    /// A `Keying` value.
    pub keying: u32,
    /// 1: only tasks inside the cgroup v2 `cgroup_id` (at depth `cgroup_level`).
    pub filter_cgroup: u32,
    /// Depth of the filter cgroup below the cgroup v2 root.
    pub cgroup_level: u32,
    /// Id (inode number) of the filter cgroup.
    pub cgroup_id: u64,
    /// 1 when the BTF/raw `sched_switch` tracepoint passes `prev_state` as its
    /// fourth argument (kernel 5.18+); else the state is read from the task.
    pub switch_has_prev_state: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_tgid: 0,
        keying: Keying::Total as u32,
        filter_cgroup: 0,
        cgroup_level: 0,
        cgroup_id: 0,
        switch_has_prev_state: 1,
        _pad: 0,
    };
}

crate::impl_pod!(Config);

/// Reasons a sample can be lost, indexes into the `RUNQLAT_DROPS` per-CPU array.
pub mod drop_reason {
    /// The wakeup-timestamp map was full: the task's latency is not recorded.
    pub const START_MAP_FULL: u32 = 0;
    /// The per-process/thread histogram map was full.
    pub const HIST_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}

/// Maximum number of tasks with a pending wakeup timestamp (the kernel
/// preallocates this many entries).
pub const START_MAP_ENTRIES: u32 = 16384;
/// Maximum number of (owner, bucket) entries of per-process histograms.
pub const SPARSE_MAP_ENTRIES: u32 = 65536;
/// Maximum number of owners whose comm is remembered.
pub const COMM_MAP_ENTRIES: u32 = 8192;
