//! `cpudist`: settings and map sizes.

/// How histograms are split.
pub mod keying {
    pub const TOTAL: u32 = 0;
    /// `-P`: one per process (tgid).
    pub const PROCESS: u32 = 1;
    /// `-L`: one per thread (tid).
    pub const THREAD: u32 = 2;
}

/// Read-only global `CPUDIST_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 1 (`-O`): time off the CPU instead of on it.
    pub offcpu: u32,
    /// A `keying` value.
    pub keying: u32,
    /// Only this process (tgid); 0 traces all.
    pub target_tgid: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { offcpu: 0, keying: keying::TOTAL, target_tgid: 0, _pad: 0 };
}

/// When a thread got on (or, with `-O`, off) the CPU, and its process.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub timestamp_ns: u64,
    pub tgid: u32,
    pub _pad: u32,
}

/// Read-only global `CPUDIST_OFFSETS`: `task_struct.pid` (BTF) for the
/// BTF/raw tracepoints' `next` task; `sched_switch.next_pid` (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SwitchOffsets {
    pub task_pid: u32,
    pub tp_next_pid: u32,
}

impl SwitchOffsets {
    pub const UNRESOLVED: Self = Self { task_pid: u32::MAX, tp_next_pid: u32::MAX };
}

crate::impl_pod!(Config, Start, SwitchOffsets);

/// Threads with a pending start time (on CPU, or with `-O` off it).
pub const START_ENTRIES: u32 = 32768;
/// (owner, bucket) entries of per-process/thread histograms.
pub const SPARSE_ENTRIES: u32 = 65536;
/// Owners whose comm is remembered.
pub const COMM_ENTRIES: u32 = 8192;

/// Indexes into `CPUDIST_DROPS`.
pub mod drop_reason {
    pub const START_MAP_FULL: u32 = 0;
    pub const HIST_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
