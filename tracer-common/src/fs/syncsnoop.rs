//! `syncsnoop`: the event, its settings and the record offsets it reads.
//! The file of a descriptor is a `PathData` (`fs::paths`), as statsnoop's.

use super::paths::PathData;
use crate::TASK_COMM_LEN;

/// The traced syscalls, by tracepoint name (`sys_enter_<name>`); the
/// index is the event's `syscall` value. Missing tracepoints
/// (sync_file_range2 and arm_sync_file_range exist on some architectures
/// only) are skipped.
pub const SYSCALLS: [(&str, Subject); 8] = [
    ("sync", Subject::Everything),
    ("syncfs", Subject::Fd),
    ("fsync", Subject::Fd),
    ("fdatasync", Subject::Fd),
    ("msync", Subject::Mapping),
    ("sync_file_range", Subject::Fd),
    ("sync_file_range2", Subject::Fd),
    ("arm_sync_file_range", Subject::Fd),
];

/// What a sync call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Every file system (sync).
    Everything,
    /// The file open as argument 0 (or its file system: syncfs).
    Fd,
    /// A memory range: start (argument 0) and length (argument 1).
    Mapping,
}

/// The index of syscall `name` in `SYSCALLS`.
pub const fn syscall_index(name: &str) -> usize {
    super::syscall_table::index_of(&SYSCALLS, name)
}

/// One sync call: a header, then the file's path (empty unless the call
/// took a descriptor). Sent with only the bytes used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SyncEvent {
    pub header: SyncHeader,
    pub path: PathData,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyncHeader {
    /// When the call returned.
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    /// msync's range.
    pub addr: u64,
    pub len: u64,
    pub pid: u32,
    pub tid: u32,
    /// 0 or the negative errno.
    pub ret: i32,
    /// Index in `SYSCALLS`.
    pub syscall: u32,
    /// The descriptor (Fd subjects).
    pub fd: i32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl SyncHeader {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        addr: 0,
        len: 0,
        pid: 0,
        tid: 0,
        ret: 0,
        syscall: 0,
        fd: 0,
        _pad: 0,
        comm: [0; TASK_COMM_LEN],
    };
}

/// Offset of the path in `SyncEvent`: the size of an event without one.
pub const PATH_OFFSET: usize = core::mem::offset_of!(SyncEvent, path);
/// Offset of the name bytes: the size of an event with an empty path.
pub const DATA_OFFSET: usize = PATH_OFFSET + super::paths::PATH_DATA_OFFSET;

/// What sys_enter_* saw, kept by thread id until sys_exit_*.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingSync {
    pub start_ns: u64,
    pub addr: u64,
    pub len: u64,
    pub fd: i32,
    pub syscall: u32,
}

/// Threads inside a sync call at once (an LRU: never full).
pub const PENDING_ENTRIES: u32 = 16384;

/// Read-only global `SYNCSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, _pad: 0 };
}

/// Read-only global `SYNC_OFFSETS` (tracefs): arguments 0 and 1 of a
/// sys_enter_* record and `ret` of a sys_exit_* record, the same for every
/// traced syscall (checked by userspace).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyncOffsets {
    pub arg0: u32,
    pub arg1: u32,
    pub exit_ret: u32,
    pub _pad: u32,
}

impl SyncOffsets {
    pub const UNRESOLVED: Self = Self { arg0: u32::MAX, arg1: u32::MAX, exit_ret: u32::MAX, _pad: 0 };
}

crate::impl_pod!(SyncEvent, SyncHeader, PendingSync, Config, SyncOffsets);
