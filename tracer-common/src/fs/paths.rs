//! Paths the syscall tools (opensnoop, statsnoop, syncsnoop, filelife, ...)
//! read in the kernel: a name as the caller passed it, and the directory
//! (or file) it resolves from, walked up through the dentries and mounts.

/// Bytes of a name as passed (PATH_MAX).
pub const NAME_BYTES: usize = 4096;
/// Room for the name and the components walked. A power of two: write
/// positions are masked with it.
pub const DATA_BYTES: usize = 8192;
/// One path component (NAME_MAX + NUL).
pub const COMPONENT_BYTES: usize = 256;
/// The data area plus one component of slack, so a masked position plus a
/// component read stays inside the event where the verifier can see it.
pub const DATA_CAPACITY: usize = DATA_BYTES + COMPONENT_BYTES;
/// Most directory levels walked.
pub const MAX_DEPTH: u32 = 48;
/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;

/// `PathData::dir_state` values.
pub mod dir_state {
    /// Nothing was walked (an absolute name, or the tool did not ask).
    pub const NONE: u32 = 0;
    /// The walk reached the root: the components are the whole path.
    pub const COMPLETE: u32 = 1;
    /// The walk stopped early (too deep, too long, or a failed read).
    pub const TRUNCATED: u32 = 2;
    /// The walk met a dentry that is its own parent but no mount's root: a
    /// file outside the tree (pipe, socket, anonymous inode, memfd). Its
    /// one component is its own name.
    pub const DETACHED: u32 = 3;
}

/// The tail of a path event: `data` holds the name as passed
/// (NUL-terminated, `name_len` bytes with the NUL), then the components of
/// the directory or file it starts from, innermost first, each
/// NUL-terminated (`dir_len` bytes). Events are sent with only the bytes
/// used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PathData {
    pub name_len: u32,
    pub dir_len: u32,
    /// A `dir_state` value.
    pub dir_state: u32,
    /// For a `DETACHED` file: its super block's magic and inode number,
    /// which name it the way /proc/PID/fd does (`pipe:[1234]`).
    pub magic: u32,
    pub ino: u64,
    pub data: [u8; DATA_CAPACITY],
}

/// Offset of `data` in `PathData`.
pub const PATH_DATA_OFFSET: usize = core::mem::offset_of!(PathData, data);

/// Read-only global `PATH_OFFSETS` (BTF): from a task to its cwd and open
/// files, and up the dentry and mount trees.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PathOffsets {
    /// task_struct.fs, fs_struct.pwd (a struct path).
    pub task_fs: u32,
    pub fs_pwd: u32,
    /// path.mnt, path.dentry.
    pub path_mnt: u32,
    pub path_dentry: u32,
    /// dentry.d_parent, dentry.d_name.name.
    pub dentry_parent: u32,
    pub dentry_name: u32,
    /// vfsmount.mnt_root.
    pub vfsmount_root: u32,
    /// Where `struct vfsmount mnt` sits inside `struct mount`, and
    /// mount.mnt_parent, mount.mnt_mountpoint.
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    /// task_struct.files -> files_struct.fdt -> fdtable.{max_fds, fd}, file.f_path.
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_max_fds: u32,
    pub fdtable_fd: u32,
    pub file_path: u32,
    /// file.f_inode, inode.i_ino, inode.i_sb, super_block.s_magic: what
    /// names a file outside the tree.
    pub file_inode: u32,
    pub inode_ino: u32,
    pub inode_sb: u32,
    pub sb_magic: u32,
}

impl PathOffsets {
    pub const UNRESOLVED: Self = Self {
        task_fs: u32::MAX,
        fs_pwd: u32::MAX,
        path_mnt: u32::MAX,
        path_dentry: u32::MAX,
        dentry_parent: u32::MAX,
        dentry_name: u32::MAX,
        vfsmount_root: u32::MAX,
        mount_mnt: u32::MAX,
        mount_parent: u32::MAX,
        mount_mountpoint: u32::MAX,
        task_files: u32::MAX,
        files_fdt: u32::MAX,
        fdtable_max_fds: u32::MAX,
        fdtable_fd: u32::MAX,
        file_path: u32::MAX,
        file_inode: u32::MAX,
        inode_ino: u32::MAX,
        inode_sb: u32::MAX,
        sb_magic: u32::MAX,
    };
}

crate::impl_pod!(PathData, PathOffsets);
