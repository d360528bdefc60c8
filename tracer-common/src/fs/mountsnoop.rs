//! `mountsnoop`: the event, its settings and the record offsets it reads.

use crate::TASK_COMM_LEN;

/// Arguments kept per call (the most any traced syscall takes).
pub const ARGS: usize = 5;
/// Arguments read as strings (mount has four: source, target, type, data).
pub const STRINGS: usize = 4;
/// Bytes per string: PATH_MAX, and the page mount(2) copies its data from.
pub const STRING_BYTES: usize = 4096;

/// The traced syscalls, by tracepoint name (`sys_enter_<name>`), and which
/// of their arguments are user strings (bit i: argument i). The index is the
/// event's `syscall` value. Missing tracepoints (the fsopen family came in
/// 5.2) are skipped.
pub const SYSCALLS: [(&str, u8); 7] = [
    ("mount", 0b10111),      // dev_name, dir_name, type, flags, data
    ("umount", 0b00001),     // name, flags (umount2(2); x86's umount is the same call)
    ("fsopen", 0b00001),     // fs_name, flags
    ("fsconfig", 0b01100),   // fd, cmd, key, value, aux
    ("fsmount", 0b00000),    // fs_fd, flags, attr_flags
    ("move_mount", 0b01010), // from_dfd, from_pathname, to_dfd, to_pathname, flags
    ("open_tree", 0b00010),  // dfd, filename, flags
];

/// The index of syscall `name` in `SYSCALLS`.
pub const fn syscall_index(name: &str) -> usize {
    super::syscall_table::index_of(&SYSCALLS, name)
}

/// The arguments of syscall `index` read as strings, in order, padded
/// with `NO_STRING`.
pub const fn string_args(index: usize) -> [u8; STRINGS] {
    let mask = SYSCALLS[index].1;
    let mut slots = [NO_STRING; STRINGS];
    let (mut arg, mut slot) = (0, 0);
    while arg < ARGS {
        if mask & (1 << arg) != 0 && slot < STRINGS {
            slots[slot] = arg as u8;
            slot += 1;
        }
        arg += 1;
    }
    slots
}

/// An unused string slot.
pub const NO_STRING: u8 = u8::MAX;

/// One mount-family call. Sent without the string slots it does not use.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MountEvent {
    /// When the call returned.
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    /// The raw arguments (pointers for the string ones).
    pub args: [u64; ARGS],
    /// 0, a new descriptor (fsopen, fsmount, open_tree) or the negative errno.
    pub ret: i64,
    pub pid: u32,
    pub tid: u32,
    /// The caller's mount namespace (its inode number).
    pub mnt_ns: u32,
    /// Index in `SYSCALLS`.
    pub syscall: u32,
    /// Bytes read into each string slot, with the NUL (0: a null or
    /// unreadable pointer; `STRING_BYTES`: possibly cut).
    pub string_lens: [u32; STRINGS],
    pub comm: [u8; TASK_COMM_LEN],
    pub strings: [[u8; STRING_BYTES]; STRINGS],
}

/// Offset of the strings: the size of an event without any.
pub const STRINGS_OFFSET: usize = core::mem::offset_of!(MountEvent, strings);

/// What sys_enter_* saw, kept by thread id until sys_exit_*.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingMount {
    pub start_ns: u64,
    pub args: [u64; ARGS],
    pub syscall: u32,
    /// `string_args(syscall)`.
    pub strings: [u8; STRINGS],
}

/// Threads inside a mount call at once (an LRU: never full).
pub const PENDING_ENTRIES: u32 = 4096;

/// Read-only global `MOUNTSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, _pad: 0 };
}

/// Read-only global `MOUNT_OFFSETS`: arguments 0 to 4 of a sys_enter_*
/// record and `ret` of a sys_exit_* record (tracefs, the same for every
/// traced syscall, checked by userspace), and the way from a task to its
/// mount namespace's inode number (BTF).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MountOffsets {
    pub args: [u32; ARGS],
    pub exit_ret: u32,
    /// task_struct.nsproxy, nsproxy.mnt_ns, mnt_namespace.ns.inum.
    pub task_nsproxy: u32,
    pub nsproxy_mnt_ns: u32,
    pub mnt_ns_inum: u32,
    pub _pad: u32,
}

impl MountOffsets {
    pub const UNRESOLVED: Self = Self {
        args: [u32::MAX; ARGS],
        exit_ret: u32::MAX,
        task_nsproxy: u32::MAX,
        nsproxy_mnt_ns: u32::MAX,
        mnt_ns_inum: u32::MAX,
        _pad: 0,
    };
}

crate::impl_pod!(MountEvent, PendingMount, Config, MountOffsets);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_slots_follow_the_argument_masks() {
        assert_eq!(string_args(syscall_index("mount")), [0, 1, 2, 4]);
        assert_eq!(string_args(syscall_index("fsconfig")), [2, 3, NO_STRING, NO_STRING]);
        assert_eq!(string_args(syscall_index("fsmount")), [NO_STRING; STRINGS]);
    }
}
