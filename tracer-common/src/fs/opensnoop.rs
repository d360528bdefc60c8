//! `opensnoop`: the event, its settings and the offsets it reads through.

use crate::TASK_COMM_LEN;

/// Bytes of the file name as passed (PATH_MAX).
pub const NAME_BYTES: usize = 4096;
/// Room for the name and, with `-F`, the components of the directory it
/// is relative to. A power of two: write positions are masked with it.
pub const DATA_BYTES: usize = 8192;
/// One path component (NAME_MAX + NUL).
pub const COMPONENT_BYTES: usize = 256;
/// The data area plus one component of slack, so a masked position plus a
/// component read stays inside the event where the verifier can see it.
pub const DATA_CAPACITY: usize = DATA_BYTES + COMPONENT_BYTES;
/// Most directory levels walked for `-F`.
pub const MAX_DEPTH: u32 = 48;

/// `dir_state` values.
pub mod dir_state {
    /// No directory was walked (absolute name, or no `-F`).
    pub const NONE: u32 = 0;
    /// The walk reached the root: the components are the whole directory.
    pub const COMPLETE: u32 = 1;
    /// The walk stopped early (too deep, too long, or a failed read).
    pub const TRUNCATED: u32 = 2;
}

/// One open: a header, then `data`: the name as passed (NUL-terminated,
/// `name_len` bytes with the NUL), then with `-F` the components of the
/// directory a relative name starts from, innermost first, each
/// NUL-terminated (`dir_len` bytes). Sent with only the bytes used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenEvent {
    pub header: OpenHeader,
    pub data: [u8; DATA_CAPACITY],
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
    pub name_len: u32,
    pub dir_len: u32,
    /// A `dir_state` value.
    pub dir_state: u32,
    pub _pad: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl OpenHeader {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        pid: 0,
        tid: 0,
        uid: 0,
        ret: 0,
        flags: 0,
        mode: 0,
        name_len: 0,
        dir_len: 0,
        dir_state: dir_state::NONE,
        _pad: 0,
        comm: [0; TASK_COMM_LEN],
    };
}

/// Offset of `data` in `OpenEvent`: the size of an event without a name.
pub const DATA_OFFSET: usize = core::mem::offset_of!(OpenEvent, data);

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
/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;

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

/// Read-only global `OPEN_OFFSETS`: the syscall records' fields (tracefs)
/// and, for `-F`, the way from a task to its directories (BTF).
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
    };
}

crate::impl_pod!(OpenEvent, OpenHeader, PendingOpen, Config, OpenOffsets);
