//! `sigsnoop` (and `killsnoop`): the event, settings and record offsets.
//! Signals are seen where the kernel generates them (signal:signal_generate)
//! or, in kill mode, at the kill/tkill/tgkill syscalls' entry and exit.

use crate::TASK_COMM_LEN;

/// Where an event was seen (`SigEvent::source`).
pub const SOURCE_GENERATE: u32 = 0;
pub const SOURCE_KILL: u32 = 1;
pub const SOURCE_TKILL: u32 = 2;
pub const SOURCE_TGKILL: u32 = 3;

/// One signal sent (or a kill call, in kill mode).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigEvent {
    pub timestamp_ns: u64,
    /// The sender: the current task's process and thread.
    pub pid: u32,
    pub tid: u32,
    /// The target as the kernel names it: a thread id at signal_generate,
    /// the syscall's pid argument in kill mode (0 or negative: a group).
    pub tpid: i32,
    pub sig: i32,
    /// signal_generate's `result` (TRACE_SIGNAL_*), or the syscall's return.
    pub ret: i32,
    /// SOURCE_*.
    pub source: u32,
    pub comm: [u8; TASK_COMM_LEN],
    /// The target's comm; empty when unknown (a kill that failed or named
    /// a group).
    pub tcomm: [u8; TASK_COMM_LEN],
}

impl SigEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        pid: 0,
        tid: 0,
        tpid: 0,
        sig: 0,
        ret: 0,
        source: 0,
        comm: [0; TASK_COMM_LEN],
        tcomm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(SigEvent);

/// Kill calls in flight at once (per thread, entry to exit).
pub const PENDING_ENTRIES: u32 = 10240;

/// Read-only global `SIGSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Bit `sig - 1` set for each signal to trace (0: all).
    pub signals: u64,
    /// Only senders of this process (0: all).
    pub target_pid: u32,
    /// Only this target pid (killsnoop -T; 0: all).
    pub target_tpid: i32,
    /// 1: only failures (result != 0; a kill returning < 0).
    pub failed_only: u32,
    /// 1: kill mode: events from the syscalls; signal_generate only names
    /// the target of a call in flight.
    pub kill_mode: u32,
    /// 1: only senders whose comm is `comm`.
    pub filter_comm: u32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl Config {
    pub const DEFAULT: Self = Self {
        signals: 0,
        target_pid: 0,
        target_tpid: 0,
        failed_only: 0,
        kill_mode: 0,
        filter_comm: 0,
        _pad: 0,
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(Config);

/// Read-only global `SIGNAL_OFFSETS`: where the classic records keep what
/// the programs read (from the tracepoints' format files).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SignalOffsets {
    /// signal_generate's `sig`, `comm`, `pid` and `result`.
    pub generate_sig: u32,
    pub generate_comm: u32,
    pub generate_pid: u32,
    pub generate_result: u32,
    /// sys_enter_kill/tkill: (pid, sig); sys_enter_tgkill: (tgid, pid, sig).
    pub kill_pid: u32,
    pub kill_sig: u32,
    pub tkill_pid: u32,
    pub tkill_sig: u32,
    pub tgkill_pid: u32,
    pub tgkill_sig: u32,
    /// The sys_exit_* records' `ret`.
    pub exit_ret: u32,
    pub _pad: u32,
}

impl SignalOffsets {
    pub const UNRESOLVED: Self = Self {
        generate_sig: u32::MAX,
        generate_comm: u32::MAX,
        generate_pid: u32::MAX,
        generate_result: u32::MAX,
        kill_pid: u32::MAX,
        kill_sig: u32::MAX,
        tkill_pid: u32::MAX,
        tkill_sig: u32::MAX,
        tgkill_pid: u32::MAX,
        tgkill_sig: u32::MAX,
        exit_ret: u32::MAX,
        _pad: 0,
    };
}

crate::impl_pod!(SignalOffsets);
