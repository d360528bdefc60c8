//! `vfsstat`: the counted VFS operations (slots of a per-CPU counter array,
//! in libbpf-tools' column order) and settings.

/// Counter slots.
pub mod stat {
    pub const READ: u32 = 0;
    pub const WRITE: u32 = 1;
    pub const FSYNC: u32 = 2;
    pub const OPEN: u32 = 3;
    pub const CREATE: u32 = 4;
    pub const UNLINK: u32 = 5;
    pub const MKDIR: u32 = 6;
    pub const RMDIR: u32 = 7;
    pub const COUNT: u32 = 8;
}

/// Read-only global `VFSSTAT_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Offset of the first argument in a `sys_enter_*` record (syscall path).
    pub syscall_args: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { syscall_args: u32::MAX, _pad: 0 };
}

crate::impl_pod!(Config);
