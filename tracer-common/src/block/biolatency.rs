//! `biolatency`: settings, offsets and map sizes.

/// How histograms are split.
pub mod keying {
    pub const TOTAL: u32 = 0;
    /// `-D`: one per disk (owner = dev_t in the kernel's encoding).
    pub const DISK: u32 = 1;
    /// `-F`: one per request flag set (owner = cmd_flags).
    pub const FLAGS: u32 = 2;
}

/// Read-only global `BIOLATENCY_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 1 (`-Q`): start the clock when the request is queued, not issued.
    pub queued: u32,
    /// A `keying` value.
    pub keying: u32,
    /// 1: only the disk `dev`.
    pub filter_dev: u32,
    /// dev_t as the kernel encodes it (major << 20 | minor).
    pub dev: u32,
    /// 1: only I/O issued by tasks in the cgroup `cgroup_id` at `cgroup_level`.
    pub filter_cgroup: u32,
    pub cgroup_level: u32,
    pub cgroup_id: u64,
    /// Which argument of the BTF/raw block_rq_issue/insert tracepoints is
    /// the request: 0 since 5.11, 1 before (they passed the queue first).
    pub rq_arg: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        queued: 0,
        keying: keying::TOTAL,
        filter_dev: 0,
        dev: 0,
        filter_cgroup: 0,
        cgroup_level: 0,
        cgroup_id: 0,
        rq_arg: 0,
        _pad: 0,
    };
}

crate::impl_pod!(Config);

/// Read-only global `BLOCK_OFFSETS`: from a request to its disk and flags
/// (BTF), and the classic records' fields (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockOffsets {
    /// `request.rq_disk` (before 5.17), else unresolved and `q` -> `disk` is used.
    pub rq_disk: u32,
    pub rq_q: u32,
    pub queue_disk: u32,
    pub disk_major: u32,
    pub disk_first_minor: u32,
    pub rq_cmd_flags: u32,
    /// Classic `block_rq_*` records: `dev` and `sector`.
    pub tp_dev: u32,
    pub tp_sector: u32,
}

impl BlockOffsets {
    pub const UNRESOLVED: Self = Self {
        rq_disk: u32::MAX,
        rq_q: u32::MAX,
        queue_disk: u32::MAX,
        disk_major: u32::MAX,
        disk_first_minor: u32::MAX,
        rq_cmd_flags: u32::MAX,
        tp_dev: u32::MAX,
        tp_sector: u32::MAX,
    };
}

crate::impl_pod!(BlockOffsets);

/// A request in flight: its address (BTF/raw paths), or its disk and start
/// sector (classic records carry no pointer).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestKey {
    pub id: u64,
    pub dev: u64,
}

crate::impl_pod!(RequestKey);

/// Requests in flight at once.
pub const REQUEST_ENTRIES: u32 = 16384;
/// (owner, bucket) entries of per-disk or per-flag histograms.
pub const SPARSE_ENTRIES: u32 = 16384;
/// Per-CPU drop reasons.
pub mod drop_reason {
    pub const START_MAP_FULL: u32 = 0;
    pub const HIST_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
