//! `fsslower` (and `ext4slower`): the event, settings and offsets.

use crate::TASK_COMM_LEN;

/// Operation codes, printed as the T column.
pub mod op {
    pub const READ: u32 = b'R' as u32;
    pub const WRITE: u32 = b'W' as u32;
    pub const OPEN: u32 = b'O' as u32;
    pub const FSYNC: u32 = b'F' as u32;
}

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

/// An operation in flight on one thread, from entry to exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Pending {
    pub start_ns: u64,
    /// `struct file *` (0 for an openat whose file does not exist yet).
    pub file: u64,
    pub offset: i64,
    pub op: u32,
    pub _pad: u32,
}

/// Threads that may be inside a traced operation at once.
pub const PENDING_ENTRIES: u32 = 8192;

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

/// Read-only global `FS_OFFSETS`: the chain from a task's fd to the file's
/// super block and name (BTF), and where syscall arguments sit in the
/// classic syscall tracepoint records (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FsOffsets {
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_inode: u32,
    pub file_pos: u32,
    /// `file.f_path.dentry`, both offsets added.
    pub file_dentry: u32,
    /// `dentry.d_name.name`, both offsets added.
    pub dentry_name: u32,
    pub inode_sb: u32,
    pub sb_magic: u32,
    /// `kiocb.ki_filp` and `kiocb.ki_pos` (fentry/kprobe on *_read_iter/_write_iter).
    pub kiocb_filp: u32,
    pub kiocb_pos: u32,
    /// Offset of the first argument in a `sys_enter_*` record (8 bytes each).
    pub syscall_args: u32,
    /// Offset of `ret` in a `sys_exit_*` record.
    pub syscall_ret: u32,
}

impl FsOffsets {
    pub const UNRESOLVED: Self = Self {
        task_files: u32::MAX,
        files_fdt: u32::MAX,
        fdtable_fd: u32::MAX,
        fdtable_max_fds: u32::MAX,
        file_inode: u32::MAX,
        file_pos: u32::MAX,
        file_dentry: u32::MAX,
        dentry_name: u32::MAX,
        inode_sb: u32::MAX,
        sb_magic: u32::MAX,
        kiocb_filp: u32::MAX,
        kiocb_pos: u32::MAX,
        syscall_args: u32::MAX,
        syscall_ret: u32::MAX,
    };
}

crate::impl_pod!(FsOffsets);
