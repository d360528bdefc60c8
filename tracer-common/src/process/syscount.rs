//! `syscount`: settings, offsets, counters and map sizes.

use crate::TASK_COMM_LEN;

/// Read-only global `SYSCOUNT_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (tgid); 0 traces all.
    pub target_tgid: u32,
    /// 1 (`-P`): count per process instead of per syscall.
    pub by_process: u32,
    /// 1 (`-L`): time each syscall (sys_enter is attached too).
    pub latency: u32,
    /// 1 (`-x`): only failed syscalls (negative return).
    pub failed_only: u32,
    /// Only syscalls returning `-errno` (`-e`); 0: any.
    pub errno: u32,
    /// Syscalls that never return (exit, exit_group): not timed, so no start
    /// time is left behind. `u32::MAX` when the architecture lacks one.
    pub no_return_a: u32,
    pub no_return_b: u32,
    /// The tracer itself (its map reads are syscalls too): never counted.
    pub self_tgid: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_tgid: 0,
        by_process: 0,
        latency: 0,
        failed_only: 0,
        errno: 0,
        no_return_a: u32::MAX,
        no_return_b: u32::MAX,
        self_tgid: 0,
    };
}

/// Read-only global `SYSCOUNT_OFFSETS`: where the syscall number is in the
/// saved user registers (BTF: `pt_regs.orig_ax` on x86-64, `syscallno` on
/// arm64), and the classic records' fields (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallOffsets {
    /// `pt_regs` field holding the syscall number (read as its low 32 bits).
    pub regs_nr: u32,
    /// `raw_syscalls:sys_exit` record: `id` and `ret`.
    pub tp_exit_id: u32,
    pub tp_exit_ret: u32,
    /// `raw_syscalls:sys_enter` record: `id`.
    pub tp_enter_id: u32,
}

impl SyscallOffsets {
    pub const UNRESOLVED: Self =
        Self { regs_nr: u32::MAX, tp_exit_id: u32::MAX, tp_exit_ret: u32::MAX, tp_enter_id: u32::MAX };
}

/// One syscall's counters on one CPU. Cumulative: userspace subtracts
/// snapshots to get an interval.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallStats {
    pub count: u64,
    /// Sum of latencies in nanoseconds (with `-L`).
    pub total_ns: u64,
}

/// One process's counters on one CPU (`-P`), with the command name seen
/// when the entry was made.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ProcessStats {
    pub count: u64,
    pub total_ns: u64,
    pub comm: [u8; TASK_COMM_LEN],
}

crate::impl_pod!(Config, SyscallOffsets, SyscallStats, ProcessStats);

/// Slots of the per-syscall array: syscall numbers at or above this are
/// counted as lost (no architecture has that many; x32 ids have bit 30 set).
pub const MAX_SYSCALLS: u32 = 1024;
/// Processes counted at once with `-P` (idle ones are deleted each interval).
pub const PROCESS_ENTRIES: u32 = 10240;
/// Threads inside a timed syscall at once (`-L`).
pub const START_ENTRIES: u32 = 32768;

/// Indexes into `SYSCOUNT_DROPS`.
pub mod drop_reason {
    /// `-L`: the start-time map was full, the syscall was not timed.
    pub const START_MAP_FULL: u32 = 0;
    /// `-P`: the per-process map was full.
    pub const PROCESS_MAP_FULL: u32 = 1;
    /// A syscall number beyond `MAX_SYSCALLS`.
    pub const UNKNOWN_SYSCALL: u32 = 2;
    pub const COUNT: u32 = 3;
}
