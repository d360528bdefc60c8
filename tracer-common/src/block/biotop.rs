//! `biotop`: per-process I/O counters, kept per CPU in the kernel.

use crate::TASK_COMM_LEN;

/// Who did I/O to which disk, and which way (libbpf-tools' key).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TopKey {
    /// The submitting process (0 with an empty comm: not seen).
    pub pid: u32,
    /// dev_t as the kernel encodes it (major << 20 | minor).
    pub dev: u32,
    /// 1: a write; 0: anything else (libbpf-tools' R).
    pub write: u32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

crate::impl_pod!(TopKey);

/// Cumulative counters of one key on one CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopStats {
    pub io: u64,
    pub bytes: u64,
    /// Sum of the latencies, issue to completion.
    pub ns: u64,
}

crate::impl_pod!(TopStats);

/// Keys (process, disk, direction) counted at once.
pub const TOP_ENTRIES: u32 = 10240;

/// Slots of `BIOTOP_DROPS`.
pub mod drop_reason {
    pub const IN_FLIGHT_FULL: u32 = 0;
    pub const STATS_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
