//! Block devices. What every block tool shares comes first: the key of a
//! request in flight, the offsets that lead from a request to its disk,
//! position, size and flags, and the task that submitted it; then one module
//! per tool.

pub mod biolatency;
pub mod biopattern;
pub mod biosnoop;
pub mod biotop;
pub mod bitesize;

use crate::TASK_COMM_LEN;

/// A request in flight: its address (BTF/raw paths), or its disk and start
/// sector (classic records carry no pointer). A bio waiting for its request
/// (the `block_getrq` start of kernels before 6.5) is keyed by its address
/// with `dev == RequestKey::BIO`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestKey {
    pub id: u64,
    pub dev: u64,
}

impl RequestKey {
    /// `dev` of a bio's key: no disk's dev_t has all bits set.
    pub const BIO: u64 = u64::MAX;
}

crate::impl_pod!(RequestKey);

/// Read-only global `BLOCK_OFFSETS`: from a request to its disk, position,
/// size and flags (BTF), where the BTF/raw tracepoints pass their request or
/// bio, and the classic records' fields (tracefs).
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
    /// `request.__sector` (u64) and `__data_len` (u32).
    pub rq_sector: u32,
    pub rq_data_len: u32,
    /// `request.bio`: the request's first bio (getrq start only).
    pub rq_bio: u32,
    /// Which argument of block_rq_issue/insert is the request: 0 since
    /// 5.11, 1 before (they passed the queue first).
    pub rq_arg: u32,
    /// Which argument of block_getrq is the bio: 0 since 5.11, 1 before.
    pub bio_arg: u32,
    /// 1: the start hook is block_getrq (kernels before 6.5), so a request
    /// is first seen at issue and found through its first bio.
    pub getrq: u32,
    /// Classic `block_rq_*` records: `dev` and `sector` (the same in every
    /// block tracepoint the tools use; userspace checks), and
    /// block_rq_complete's `nr_sector` and `rwbs`.
    pub tp_dev: u32,
    pub tp_sector: u32,
    pub tp_nr_sector: u32,
    pub tp_rwbs: u32,
}

impl BlockOffsets {
    pub const UNRESOLVED: Self = Self {
        rq_disk: u32::MAX,
        rq_q: u32::MAX,
        queue_disk: u32::MAX,
        disk_major: u32::MAX,
        disk_first_minor: u32::MAX,
        rq_cmd_flags: u32::MAX,
        rq_sector: u32::MAX,
        rq_data_len: u32::MAX,
        rq_bio: u32::MAX,
        rq_arg: 0,
        bio_arg: 0,
        getrq: 0,
        tp_dev: u32::MAX,
        tp_sector: u32::MAX,
        tp_nr_sector: u32::MAX,
        tp_rwbs: u32::MAX,
    };
}

crate::impl_pod!(BlockOffsets);

/// A request in flight and the task that submitted it, captured at the start
/// hook (block_io_start or block_getrq), which runs in that task's context;
/// issue and completion run wherever the kernel dispatches them (kworkers,
/// interrupts).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct InFlight {
    /// When the request was made (0: before tracing started, or unseen).
    pub start_ns: u64,
    /// When it was last issued to the driver (0: not yet).
    pub issue_ns: u64,
    /// The submitting process (0 with an empty comm: unknown).
    pub pid: u32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl InFlight {
    pub const UNKNOWN: Self = Self { start_ns: 0, issue_ns: 0, pid: 0, _pad: 0, comm: [0; TASK_COMM_LEN] };
}

crate::impl_pod!(InFlight);

/// Read-only global `BLOCK_FILTER`: which requests the tools that follow
/// submitters keep. Submitter filters apply at the start hook, in the
/// submitter's context.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RequestFilter {
    /// 1: only the disk `dev` (dev_t as the kernel encodes it, major << 20 | minor).
    pub filter_dev: u32,
    pub dev: u32,
    /// 1: only I/O submitted by process `tgid`.
    pub filter_tgid: u32,
    pub tgid: u32,
    /// 1: only I/O submitted by tasks named exactly `comm`.
    pub filter_comm: u32,
    /// 1: only I/O submitted by tasks in the cgroup `cgroup_id` at `cgroup_level`.
    pub filter_cgroup: u32,
    pub cgroup_id: u64,
    pub cgroup_level: u32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl RequestFilter {
    pub const NONE: Self = Self {
        filter_dev: 0,
        dev: 0,
        filter_tgid: 0,
        tgid: 0,
        filter_comm: 0,
        filter_cgroup: 0,
        cgroup_id: 0,
        cgroup_level: 0,
        _pad: 0,
        comm: [0; TASK_COMM_LEN],
    };

    /// Whether any filter needs to know the submitter (requests whose start
    /// was not seen are then dropped rather than reported as unknown).
    pub const fn on_submitter(&self) -> bool {
        self.filter_tgid != 0 || self.filter_comm != 0 || self.filter_cgroup != 0
    }
}

crate::impl_pod!(RequestFilter);

/// Requests in flight at once (and bios waiting for their request).
pub const REQUEST_ENTRIES: u32 = 16384;
