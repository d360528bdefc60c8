//! `fsslower` (and `ext4slower`): the event and settings (operation codes
//! and offsets are in `ops`, shared with fsdist).

use crate::TASK_COMM_LEN;

/// Bytes of the file name (the dentry's name, as libbpf-tools shows it).
pub const NAME_BYTES: usize = 64;

/// One slow operation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FsEvent {
    /// When the operation ended.
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    /// File offset at the start of a read or write, in bytes.
    pub offset: i64,
    /// Bytes read or written (the syscall's or function's return value).
    pub size: i64,
    pub pid: u32,
    /// An `op` code.
    pub op: u32,
    pub comm: [u8; TASK_COMM_LEN],
    pub name: [u8; NAME_BYTES],
}

impl FsEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        offset: 0,
        size: 0,
        pid: 0,
        op: 0,
        comm: [0; TASK_COMM_LEN],
        name: [0; NAME_BYTES],
    };
}

crate::impl_pod!(FsEvent);

/// Read-only global `FSSLOWER_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Report operations at least this slow (0: all).
    pub min_ns: u64,
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// `super_block.s_magic` of the file system to trace (syscall path).
    pub magic: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { min_ns: 10_000_000, target_tgid: 0, magic: 0xEF53 };
}

crate::impl_pod!(Config);
