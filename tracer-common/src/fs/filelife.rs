//! `filelife`: the event, its settings and the record offsets it reads.
//! The file's path is a `PathData` (`fs::paths`), as statsnoop's.

use super::paths::PathData;
use crate::TASK_COMM_LEN;

/// The traced syscalls, by tracepoint name (`sys_enter_<name>`); the index
/// is the event's `syscall` value. Missing tracepoints (arm64 has no open,
/// creat, mknod, unlink, rename or renameat) are skipped.
pub const SYSCALLS: [(&str, Shape); 11] = [
    ("open", Shape::Open { dfd: false, flags: Some(1) }),
    ("openat", Shape::Open { dfd: true, flags: Some(2) }),
    ("openat2", Shape::Open { dfd: true, flags: None }),
    ("creat", Shape::Open { dfd: false, flags: None }),
    ("mknod", Shape::Name { dfd: false, op: Op::Created }),
    ("mknodat", Shape::Name { dfd: true, op: Op::Created }),
    ("unlink", Shape::Name { dfd: false, op: Op::Deleted }),
    ("unlinkat", Shape::Name { dfd: true, op: Op::Deleted }),
    ("rename", Shape::Rename { dfd: false, flags: false }),
    ("renameat", Shape::Rename { dfd: true, flags: false }),
    ("renameat2", Shape::Rename { dfd: true, flags: true }),
];

/// The kernel functions of the fentry/kprobe path; their `LifeHeader::syscall`
/// value is `FUNCTION_BASE` plus their index here.
pub const FUNCTIONS: [&str; 4] = ["vfs_create", "vfs_open", "security_inode_create", "vfs_unlink"];
pub const FUNCTION_BASE: u32 = 32;

/// `LifeHeader::syscall` of function `name`.
pub const fn function_index(name: &str) -> u32 {
    let mut index = 0;
    while index < FUNCTIONS.len() {
        if super::syscall_table::bytes_equal(FUNCTIONS[index].as_bytes(), name.as_bytes()) {
            return FUNCTION_BASE + index as u32;
        }
        index += 1;
    }
    panic!("not a filelife function")
}

/// The syscall or function a `LifeHeader::syscall` value names.
pub fn call_name(index: u32) -> Option<&'static str> {
    match index.checked_sub(FUNCTION_BASE) {
        Some(function) => FUNCTIONS.get(function as usize).copied(),
        None => SYSCALLS.get(index as usize).map(|(name, _)| *name),
    }
}

/// A file's creation seen on the function path, kept by its dentry until
/// its deletion.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Birth {
    pub timestamp_ns: u64,
    /// `function_index` of the function that created it.
    pub function: u32,
    pub _pad: u32,
}

/// Files created and not yet deleted that the kernel remembers (an LRU:
/// the oldest are forgotten).
pub const BIRTH_ENTRIES: u32 = 65536;

/// Where a syscall's file is in its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An open that may create: the name (after the directory descriptor
    /// when `dfd`) and the flags at argument `flags` (None: creat, which
    /// always creates, or openat2, whose flags are in its `open_how`). The
    /// file is the descriptor it returns.
    Open { dfd: bool, flags: Option<u32> },
    /// A name (after the directory descriptor when `dfd`), resolved from
    /// the cwd or that directory.
    Name { dfd: bool, op: Op },
    /// Two names, each after its directory descriptor when `dfd` (old,
    /// then new), and renameat2's flags after them when `flags`.
    Rename { dfd: bool, flags: bool },
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Created = 0,
    Deleted = 1,
    /// A rename's old name; the same thread's next event is its
    /// `RenamedTo`.
    RenamedFrom = 2,
    /// A rename's new name (`LifeHeader::flags`: renameat2's flags).
    RenamedTo = 3,
}

/// The index of syscall `name` in `SYSCALLS`.
pub const fn syscall_index(name: &str) -> usize {
    super::syscall_table::index_of(&SYSCALLS, name)
}

/// `O_CREAT` and `O_EXCL` (the generic values; x86, arm64 and riscv share them).
pub const O_CREAT: u64 = 0o100;
pub const O_EXCL: u64 = 0o200;
/// renameat2's `RENAME_EXCHANGE`: the two names swap files.
pub const RENAME_EXCHANGE: u32 = 1 << 1;

/// `struct file`'s `f_mode` bit set by an open that created its file
/// (`FMODE_CREATED`, include/linux/fs.h). It is a macro, so BTF does not
/// carry it; it has been `1 << 20` (0x100000) since it was introduced in
/// 4.19 through the renumbering of the other FMODE_* bits in 2024 (see
/// ARCHITECTURE.md), and the matrix checks it on every kernel there.
pub const FMODE_CREATED: u32 = 1 << 20;

/// A file created or deleted: a header, then its path. Sent with only the
/// bytes used.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct LifeEvent {
    pub header: LifeHeader,
    pub path: PathData,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LifeHeader {
    /// When the call returned.
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// An `Op` value.
    pub op: u32,
    /// Index in `SYSCALLS`.
    pub syscall: u32,
    /// 1: an open with O_EXCL.
    pub exclusive: u32,
    /// `RenamedTo`: renameat2's flags (0 for rename and renameat).
    pub flags: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl LifeHeader {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, pid: 0, tid: 0, op: 0, syscall: 0, exclusive: 0, flags: 0, comm: [0; TASK_COMM_LEN] };
}

/// Offset of the path in `LifeEvent`: the size of an event without one.
pub const PATH_OFFSET: usize = core::mem::offset_of!(LifeEvent, path);
/// Offset of the name bytes: the size of an event with an empty path.
pub const DATA_OFFSET: usize = PATH_OFFSET + super::paths::PATH_DATA_OFFSET;

/// What sys_enter_* saw, kept by thread id until sys_exit_*.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingLife {
    /// User pointer to the name (a rename's old name).
    pub name: u64,
    /// A rename's new name (0 for the other calls).
    pub new_name: u64,
    /// The directory a relative name starts from (`AT_FDCWD`: the cwd).
    pub dfd: i32,
    /// The same for a rename's new name.
    pub new_dfd: i32,
    pub syscall: u32,
    pub exclusive: u32,
    /// renameat2's flags.
    pub flags: u32,
    pub _pad: u32,
}

/// Threads inside a traced call at once (an LRU: never full).
pub const PENDING_ENTRIES: u32 = 16384;

/// Read-only global `FILELIFE_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// Offset of `f_mode` in `struct file` (BTF), read for `FMODE_CREATED`.
    pub file_mode: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, file_mode: u32::MAX };
}

/// Read-only global `LIFE_OFFSETS` (tracefs): arguments 0 to 4 of a
/// sys_enter_* record and `ret` of a sys_exit_* record, the same for every
/// traced syscall that has them (checked by userspace).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LifeOffsets {
    pub arg0: u32,
    pub arg1: u32,
    pub arg2: u32,
    pub arg3: u32,
    pub arg4: u32,
    pub exit_ret: u32,
}

impl LifeOffsets {
    pub const UNRESOLVED: Self =
        Self { arg0: u32::MAX, arg1: u32::MAX, arg2: u32::MAX, arg3: u32::MAX, arg4: u32::MAX, exit_ret: u32::MAX };
}

crate::impl_pod!(LifeEvent, LifeHeader, PendingLife, Config, LifeOffsets, Birth);
