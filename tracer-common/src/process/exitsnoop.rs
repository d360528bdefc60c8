//! `exitsnoop`: the event and its settings.

use crate::TASK_COMM_LEN;

/// One task exit.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitEvent {
    pub timestamp_ns: u64,
    /// When the task started (CLOCK_MONOTONIC ns): age = timestamp - start.
    pub start_ns: u64,
    pub pid: u32,
    pub ppid: u32,
    pub tid: u32,
    /// wait(2) status: exit code in bits 8..15, signal in 0..6, core dump 0x80.
    pub exit_code: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl ExitEvent {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, start_ns: 0, pid: 0, ppid: 0, tid: 0, exit_code: 0, comm: [0; TASK_COMM_LEN] };
}

crate::impl_pod!(ExitEvent);

/// Read-only global `EXITSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// 1: every thread's exit; 0: only when the process (its main thread) exits.
    pub all_threads: u32,
    /// 1: only non-zero exit statuses.
    pub failed_only: u32,
    pub filter_cgroup: u32,
    pub cgroup_id: u64,
    pub cgroup_level: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_tgid: 0,
        all_threads: 0,
        failed_only: 0,
        filter_cgroup: 0,
        cgroup_id: 0,
        cgroup_level: 0,
        _pad: 0,
    };
}

crate::impl_pod!(Config);
