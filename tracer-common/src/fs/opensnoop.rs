//! `opensnoop`: the event, its settings and the record offsets it reads.
//! The name and the directory walked for `-F` are a `PathData`
//! (`fs::paths`), shared with the other syscall tools.

use super::paths::PathData;
use crate::TASK_COMM_LEN;

/// One open: a header, then the name as passed and, with `-F`, the
/// directory a relative name starts from. Sent with only the bytes used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenEvent {
    pub header: OpenHeader,
    pub path: PathData,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OpenHeader {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    /// The file descriptor, or the negative errno.
    pub ret: i32,
    pub flags: u32,
    /// Only meaningful with O_CREAT or O_TMPFILE (else 0).
    pub mode: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl OpenHeader {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, pid: 0, tid: 0, uid: 0, ret: 0, flags: 0, mode: 0, comm: [0; TASK_COMM_LEN] };
}

/// Offset of the path in `OpenEvent`: the size of an event without one.
pub const PATH_OFFSET: usize = core::mem::offset_of!(OpenEvent, path);
/// Offset of the name bytes: the size of an event with an empty path.
pub const DATA_OFFSET: usize = PATH_OFFSET + super::paths::PATH_DATA_OFFSET;

/// What sys_enter_open* saw, kept by thread id until sys_exit_open*.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingOpen {
    /// User pointer to the name.
    pub filename: u64,
    pub flags: u32,
    pub mode: u32,
    /// The directory fd (`AT_FDCWD` for open and relative-to-cwd opens).
    pub dfd: i32,
    pub _pad: u32,
}

/// Threads inside an open at once (an LRU: never full).
pub const PENDING_ENTRIES: u32 = 16384;

/// Read-only global `OPENSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// Only this thread (0: all).
    pub target_tid: u32,
    /// Only this uid (`u32::MAX`: all).
    pub target_uid: u32,
    /// 1: only failed opens.
    pub failed_only: u32,
    /// 1 (`-F`): walk the directory of relative names.
    pub full_path: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self =
        Self { target_tgid: 0, target_tid: 0, target_uid: u32::MAX, failed_only: 0, full_path: 0, _pad: 0 };
}

/// Read-only global `OPEN_OFFSETS`: the syscall records' fields (tracefs).
/// The way from a task to its directories, for `-F`, is `PATH_OFFSETS`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OpenOffsets {
    /// sys_enter_open: filename, flags, mode.
    pub open_filename: u32,
    pub open_flags: u32,
    pub open_mode: u32,
    /// sys_enter_openat: dfd, filename, flags, mode.
    pub openat_dfd: u32,
    pub openat_filename: u32,
    pub openat_flags: u32,
    pub openat_mode: u32,
    /// sys_enter_openat2: dfd, filename, how (struct open_how __user *).
    pub openat2_dfd: u32,
    pub openat2_filename: u32,
    pub openat2_how: u32,
    /// sys_exit_open*: ret.
    pub exit_ret: u32,
}

impl OpenOffsets {
    pub const UNRESOLVED: Self = Self {
        open_filename: u32::MAX,
        open_flags: u32::MAX,
        open_mode: u32::MAX,
        openat_dfd: u32::MAX,
        openat_filename: u32::MAX,
        openat_flags: u32::MAX,
        openat_mode: u32::MAX,
        openat2_dfd: u32::MAX,
        openat2_filename: u32::MAX,
        openat2_how: u32::MAX,
        exit_ret: u32::MAX,
    };
}

crate::impl_pod!(OpenEvent, OpenHeader, PendingOpen, Config, OpenOffsets);
