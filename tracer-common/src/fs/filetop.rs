//! `filetop`: the per-file, per-thread counters, settings and loss reasons.

use crate::TASK_COMM_LEN;

/// Bytes of a file name: a dentry name is at most 255 bytes (NAME_MAX), so
/// only names of pseudo files longer than that are cut (and counted).
pub const NAME_BYTES: usize = 256;

/// Reads and writes of one file by one thread, as libbpf-tools keys them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub inode: u64,
    /// `s_dev` of the file's super block.
    pub dev: u32,
    /// `i_rdev` (device files).
    pub rdev: u32,
    pub pid: u32,
    pub tid: u32,
}

crate::impl_pod!(FileKey);

/// Counters since the entry was created, and what identifies the file and
/// thread. The counters are shared by all CPUs (atomic adds): the key holds
/// the thread, which runs on one CPU at a time, so there is no contention,
/// and a per-CPU copy of the name would cost a CPU count of 256 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FileEntry {
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub write_bytes: u64,
    pub comm: [u8; TASK_COMM_LEN],
    pub name: [u8; NAME_BYTES],
    /// `b'R'` regular, `b'S'` socket, `b'O'` other (as libbpf-tools).
    pub kind: u8,
    /// 1: the name did not fit `name`.
    pub truncated: u8,
    pub _pad: [u8; 6],
}

impl FileEntry {
    pub const ZERO: Self = Self {
        reads: 0,
        read_bytes: 0,
        writes: 0,
        write_bytes: 0,
        comm: [0; TASK_COMM_LEN],
        name: [0; NAME_BYTES],
        kind: 0,
        truncated: 0,
        _pad: [0; 6],
    };
}

crate::impl_pod!(FileEntry);

/// A read or write in flight (kprobe and syscall paths): its file and op.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingIo {
    /// `struct file *`.
    pub file: u64,
    /// `op::READ` or `op::WRITE` (from `fs::ops`).
    pub op: u32,
    pub _pad: u32,
}

/// Read-only global `FILETOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// 1: regular files only (the default; `-a` clears it).
    pub regular_only: u32,
    /// The tracer's own process, never counted (it reads /proc each interval).
    pub self_tgid: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, regular_only: 1, self_tgid: 0, _pad: 0 };
}

crate::impl_pod!(Config);

/// (file, thread) entries kept at once, as libbpf-tools.
pub const ENTRIES: u32 = 10240;
/// Threads inside a read or write at once.
pub const PENDING_ENTRIES: u32 = 8192;

/// Reasons a read or write goes uncounted, indexes into `FILETOP_DROPS`.
pub mod drop_reason {
    pub const ENTRY_MAP_FULL: u32 = 0;
    pub const START_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
