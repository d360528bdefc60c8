//! `statsnoop`: the event, its settings and the record offsets it reads.
//! The path is a `PathData` (`fs::paths`), shared with opensnoop.

use super::paths::PathData;
use crate::TASK_COMM_LEN;

/// The traced syscalls, by tracepoint name (`sys_enter_<name>`). The
/// index is the event's `syscall` value; the shape says where the name or
/// descriptor is. Missing tracepoints (arm64 has no newstat) are skipped.
pub const SYSCALLS: [(&str, Shape); 10] = [
    ("statfs", Shape::Name),
    ("fstatfs", Shape::Fd),
    ("newstat", Shape::Name),
    ("newlstat", Shape::Name),
    ("newfstat", Shape::Fd),
    ("newfstatat", Shape::At { flags: Some(3) }),
    ("statx", Shape::At { flags: Some(2) }),
    ("access", Shape::Name),
    ("faccessat", Shape::At { flags: None }),
    ("faccessat2", Shape::At { flags: Some(3) }),
];

/// Where a syscall's subject is in its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A name (argument 0), relative to the cwd.
    Name,
    /// A descriptor (argument 0).
    Fd,
    /// A directory descriptor (argument 0) and a name (argument 1); with
    /// `AT_EMPTY_PATH` in the flags (argument `flags`), an empty name means
    /// the descriptor itself.
    At { flags: Option<u32> },
}

/// The index of syscall `name` in `SYSCALLS`.
pub const fn syscall_index(name: &str) -> usize {
    super::syscall_table::index_of(&SYSCALLS, name)
}

/// `AT_EMPTY_PATH`.
pub const AT_EMPTY_PATH: u64 = 0x1000;

/// One stat-family call: a header, then its path. Sent with only the
/// bytes used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StatEvent {
    pub header: StatHeader,
    pub path: PathData,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StatHeader {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// 0 or the negative errno.
    pub ret: i32,
    /// Index in `SYSCALLS`.
    pub syscall: u32,
    /// The descriptor the call was made on or relative to (`AT_FDCWD`:
    /// the cwd); meaningful when `fd_used` is 1.
    pub fd: i32,
    pub fd_used: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl StatHeader {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, pid: 0, tid: 0, ret: 0, syscall: 0, fd: 0, fd_used: 0, comm: [0; TASK_COMM_LEN] };
}

/// Offset of the path in `StatEvent`: the size of an event without one.
pub const PATH_OFFSET: usize = core::mem::offset_of!(StatEvent, path);
/// Offset of the name bytes: the size of an event with an empty path.
pub const DATA_OFFSET: usize = PATH_OFFSET + super::paths::PATH_DATA_OFFSET;

/// What sys_enter_* saw, kept by thread id until sys_exit_*.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingStat {
    /// User pointer to the name (0: none).
    pub name: u64,
    /// The descriptor, or the directory a relative name starts from.
    pub fd: i32,
    pub syscall: u32,
    /// 1: an empty name means the descriptor itself (Fd and At shapes).
    pub empty_is_fd: u32,
    pub _pad: u32,
}

/// Threads inside a stat call at once (an LRU: never full).
pub const PENDING_ENTRIES: u32 = 16384;

/// Read-only global `STATSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// 1: only failed calls.
    pub failed_only: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, failed_only: 0 };
}

/// Read-only global `STAT_OFFSETS`: where the syscall records keep their
/// arguments (tracefs; the same for every traced syscall, checked by
/// userspace).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StatOffsets {
    /// Arguments 0 to 3 of a sys_enter_* record.
    pub arg0: u32,
    pub arg1: u32,
    pub arg2: u32,
    pub arg3: u32,
    /// `ret` of a sys_exit_* record.
    pub exit_ret: u32,
    pub _pad: u32,
}

impl StatOffsets {
    pub const UNRESOLVED: Self =
        Self { arg0: u32::MAX, arg1: u32::MAX, arg2: u32::MAX, arg3: u32::MAX, exit_ret: u32::MAX, _pad: 0 };
}

crate::impl_pod!(StatEvent, StatHeader, PendingStat, Config, StatOffsets);
