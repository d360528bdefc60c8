//! `biosnoop`: the event and settings.

use crate::TASK_COMM_LEN;

/// One completed block I/O.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BioEvent {
    /// Completion time (CLOCK_MONOTONIC).
    pub timestamp_ns: u64,
    /// From issue to the driver to completion.
    pub latency_ns: u64,
    /// From the request's start (made by its submitter) to its issue;
    /// `u64::MAX` when the start was not seen.
    pub queued_ns: u64,
    pub sector: u64,
    pub bytes: u32,
    /// The submitting process (0 with an empty comm: not seen).
    pub pid: u32,
    /// dev_t as the kernel encodes it (major << 20 | minor).
    pub dev: u32,
    /// `request.cmd_flags` (BTF/raw paths; 0 on the classic path).
    pub flags: u32,
    /// The kernel's own rwbs text (classic path; empty on the others, where
    /// userspace spells it from `flags`).
    pub rwbs: [u8; 8],
    pub comm: [u8; TASK_COMM_LEN],
}

impl BioEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        queued_ns: 0,
        sector: 0,
        bytes: 0,
        pid: 0,
        dev: 0,
        flags: 0,
        rwbs: [0; 8],
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(BioEvent);

/// Read-only global `BIOSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only I/O at least this slow (issue to completion).
    pub min_ns: u64,
}

impl Config {
    pub const DEFAULT: Self = Self { min_ns: 0 };
}

crate::impl_pod!(Config);

/// Slots of `EVENT_DROPS`: 0 is the ring buffer's (every event tool's).
pub mod drop_reason {
    pub const IN_FLIGHT_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
