//! What the file system tools share: the operation codes and an operation
//! in flight (fsslower, fsdist), and the offsets from a task's fd to its
//! file's inode, super block and name (those and filetop).

/// Operation codes, printed as fsslower's T column.
pub mod op {
    pub const READ: u32 = b'R' as u32;
    pub const WRITE: u32 = b'W' as u32;
    pub const OPEN: u32 = b'O' as u32;
    pub const FSYNC: u32 = b'F' as u32;
    pub const GETATTR: u32 = b'G' as u32;
}

/// An operation in flight on one thread, from entry to exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Pending {
    pub start_ns: u64,
    /// `struct file *`, when the entry knew it (0 otherwise).
    pub file: u64,
    pub offset: i64,
    pub op: u32,
    /// 1: the file is the fd the operation returns (openat through the syscall).
    pub file_from_ret: u32,
}

/// Threads that may be inside a traced operation at once.
pub const PENDING_ENTRIES: u32 = 8192;

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
    /// `inode.i_mode`, `i_ino`, `i_rdev` and `super_block.s_dev` (filetop's key and type).
    pub inode_mode: u32,
    pub inode_ino: u32,
    pub inode_rdev: u32,
    pub sb_dev: u32,
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
        inode_mode: u32::MAX,
        inode_ino: u32::MAX,
        inode_rdev: u32::MAX,
        sb_dev: u32::MAX,
        kiocb_filp: u32::MAX,
        kiocb_pos: u32::MAX,
        syscall_args: u32::MAX,
        syscall_ret: u32::MAX,
    };
}

crate::impl_pod!(FsOffsets);
