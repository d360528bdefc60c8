//! `runqslower`: the event and its settings.

use crate::TASK_COMM_LEN;

/// One task that waited on a run queue longer than the threshold.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RunqslowerEvent {
    /// When it was switched in (CLOCK_MONOTONIC ns).
    pub timestamp_ns: u64,
    /// How long it waited to run.
    pub latency_ns: u64,
    pub tid: u32,
    /// The task it took the CPU from (0: the idle task).
    pub prev_tid: u32,
    pub comm: [u8; TASK_COMM_LEN],
    pub prev_comm: [u8; TASK_COMM_LEN],
}

impl RunqslowerEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        tid: 0,
        prev_tid: 0,
        comm: [0; TASK_COMM_LEN],
        prev_comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(RunqslowerEvent);

/// Read-only global `RUNQSLOWER_CONFIG`, set by userspace before load.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only waits longer than this (ns); 0 reports every wait.
    pub min_ns: u64,
    /// Only this process (tgid); 0 traces all.
    pub target_tgid: u32,
    /// Only this thread; 0 traces all.
    pub target_tid: u32,
    /// 1: only tasks whose comm starts with `comm`.
    pub filter_comm: u32,
    /// 1 when the BTF/raw `sched_switch` passes `prev_state` (5.18+).
    pub switch_has_prev_state: u32,
    /// The comm prefix, NUL-padded.
    pub comm: [u8; TASK_COMM_LEN],
}

impl Config {
    pub const DEFAULT: Self = Self {
        min_ns: 0,
        target_tgid: 0,
        target_tid: 0,
        filter_comm: 0,
        switch_has_prev_state: 1,
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(Config);

/// runqslower's own loss reasons: slots of `EVENT_DROPS` after the event
/// buffer's slot 0.
pub mod drop_reason {
    /// The wakeup-timestamp map was full: the task's wait is not measured.
    pub const START_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}

/// Tasks with a pending wakeup timestamp (compat object's hash).
pub const START_MAP_ENTRIES: u32 = crate::sched::runqlat::START_MAP_ENTRIES;
