//! `biolatency`: settings and map sizes (request keys and offsets are the
//! block family's, in `super`).

pub use super::{BlockOffsets, REQUEST_ENTRIES, RequestKey};

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
    };
}

crate::impl_pod!(Config);

/// (owner, bucket) entries of per-disk or per-flag histograms.
pub const SPARSE_ENTRIES: u32 = 16384;
/// Per-CPU drop reasons.
pub mod drop_reason {
    pub const START_MAP_FULL: u32 = 0;
    pub const HIST_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
