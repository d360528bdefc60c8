//! Paths for the syscall tools (opensnoop, statsnoop, ...): the name a
//! caller passed, read from its memory at the syscall's exit, and the
//! directory or file it resolves from (the cwd, or an open descriptor's
//! file), walked up through the dentries to the root, crossing mounts.
//! Offsets come from BTF through the `PATH_OFFSETS` global.

use core::ffi::c_void;

use aya_ebpf::{
    Global,
    helpers::{
        bpf_get_current_task,
        generated::{bpf_probe_read_kernel_str, bpf_probe_read_user_str},
    },
};
use tracer_common::fs::paths::{
    AT_FDCWD, COMPONENT_BYTES, DATA_BYTES, MAX_DEPTH, NAME_BYTES, PathData, PathOffsets, dir_state,
};

use crate::{events::opaque, setting, task::probe_read};

/// Where a walk starts: a `struct path`'s dentry and vfsmount, and the
/// `struct file` it belongs to (null for the cwd).
#[derive(Clone, Copy)]
pub struct Start {
    pub file: *const u8,
    pub dentry: *const u8,
    pub vfsmount: *const u8,
}

/// Path reading through one object's `PATH_OFFSETS`.
#[derive(Clone, Copy)]
pub struct Paths<'a> {
    pub offsets: &'a Global<PathOffsets>,
}

impl Paths<'_> {
    /// Reads the caller's string at `name` into `path` as its name (empty
    /// when `name` is null or unreadable); resets the walked part.
    #[inline(always)]
    pub fn read_name(self, path: &mut PathData, name: u64) {
        path.dir_len = 0;
        path.dir_state = dir_state::NONE;
        path.magic = 0;
        path.ino = 0;
        let read = if name == 0 {
            0
        } else {
            // SAFETY: a user string read with the helper into the event.
            unsafe { bpf_probe_read_user_str(path.data.as_mut_ptr().cast(), NAME_BYTES as u32, name as *const c_void) }
        };
        let name_len = if read > 0 { opaque(read as usize).min(NAME_BYTES) } else { 0 };
        if name_len == 0 {
            path.data[0] = 0;
        }
        path.name_len = name_len.max(1) as u32;
    }

    /// Bytes of `path` used after its `data` starts.
    #[inline(always)]
    pub fn used(path: &PathData) -> usize {
        opaque(path.name_len as usize + path.dir_len as usize)
    }

    /// The cwd (`AT_FDCWD`) or the file open as `fd` in the current task.
    #[inline(always)]
    pub fn start(self, fd: i32) -> Option<Start> {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let task = bpf_get_current_task() as *const u8;
            let (file, path) = if fd == AT_FDCWD {
                let fs = probe_read::<*const u8>(task, setting!(*offsets, task_fs))?;
                (core::ptr::null(), fs.wrapping_add(setting!(*offsets, fs_pwd) as usize))
            } else {
                let file = self.file(fd)?;
                (file, file.wrapping_add(setting!(*offsets, file_path) as usize))
            };
            let dentry = probe_read::<*const u8>(path, setting!(*offsets, path_dentry))?;
            let vfsmount = probe_read::<*const u8>(path, setting!(*offsets, path_mnt))?;
            Some(Start { file, dentry, vfsmount })
        }
    }

    /// The `struct file *` open as `fd` in the current task.
    #[inline(always)]
    pub fn file(self, fd: i32) -> Option<*const u8> {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let task = bpf_get_current_task() as *const u8;
            let files = probe_read::<*const u8>(task, setting!(*offsets, task_files))?;
            let fdt = probe_read::<*const u8>(files, setting!(*offsets, files_fdt))?;
            let max_fds = probe_read::<u32>(fdt, setting!(*offsets, fdtable_max_fds))?;
            if fd < 0 || fd as u32 >= max_fds {
                return None;
            }
            let table = probe_read::<*const u8>(fdt, setting!(*offsets, fdtable_fd))?;
            let file = probe_read::<*const u8>(table, (fd as u32).wrapping_mul(8))?;
            (!file.is_null()).then_some(file)
        }
    }

    /// Walks from the cwd (`AT_FDCWD`) or `fd`'s file (`start`, `walk`);
    /// a start that cannot be read leaves the path marked truncated.
    #[inline(always)]
    pub fn walk_from(self, path: &mut PathData, fd: i32) {
        let Some(start) = self.start(fd) else {
            path.dir_state = dir_state::TRUNCATED;
            return;
        };
        self.walk(path, start);
        if path.dir_state == dir_state::DETACHED && !start.file.is_null() {
            self.name_outside_tree(path, start.file);
        }
    }

    /// A file outside the tree (pipe, socket) is named by its file system
    /// and inode number, as /proc/PID/fd names it (`pipe:[1234]`).
    #[inline(always)]
    fn name_outside_tree(self, path: &mut PathData, file: *const u8) {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let Some(inode) = probe_read::<*const u8>(file, setting!(*offsets, file_inode)) else { return };
            path.ino = probe_read::<u64>(inode, setting!(*offsets, inode_ino)).unwrap_or(0);
            if let Some(sb) = probe_read::<*const u8>(inode, setting!(*offsets, inode_sb)) {
                // s_magic is an unsigned long; every magic fits its low 32 bits.
                path.magic = probe_read::<u32>(sb, setting!(*offsets, sb_magic)).unwrap_or(0);
            }
        }
    }

    /// Appends the components from `start` up to the root, innermost
    /// first, crossing mount points, and sets `dir_state`.
    #[inline(always)]
    pub fn walk(self, path: &mut PathData, start: Start) {
        let offsets = self.offsets;
        path.dir_state = dir_state::TRUNCATED;
        let (mut dentry, mut vfsmount) = (start.dentry, start.vfsmount);
        for _ in 0..MAX_DEPTH {
            // SAFETY: every hop goes through the probe-read helper.
            unsafe {
                let Some(root) = probe_read::<*const u8>(vfsmount, setting!(*offsets, vfsmount_root)) else { return };
                let Some(parent) = probe_read::<*const u8>(dentry, setting!(*offsets, dentry_parent)) else { return };
                if dentry == root {
                    // The top of a mount: continue from where it is mounted.
                    let mount = vfsmount.wrapping_sub(setting!(*offsets, mount_mnt) as usize);
                    let Some(up) = probe_read::<*const u8>(mount, setting!(*offsets, mount_parent)) else { return };
                    if up == mount {
                        path.dir_state = dir_state::COMPLETE;
                        return;
                    }
                    let Some(point) = probe_read::<*const u8>(mount, setting!(*offsets, mount_mountpoint)) else {
                        return;
                    };
                    dentry = point;
                    vfsmount = up.wrapping_add(setting!(*offsets, mount_mnt) as usize);
                    continue;
                }
                // The write position is re-read from the event (map memory)
                // each time: to the verifier it is then the same unknown
                // value in every iteration, so their states merge instead
                // of multiplying with each iteration's possible lengths.
                let used = core::ptr::read_volatile(&raw const path.name_len) as usize
                    + core::ptr::read_volatile(&raw const path.dir_len) as usize;
                if used + COMPONENT_BYTES > DATA_BYTES {
                    return;
                }
                let Some(name) = probe_read::<*const u8>(dentry, setting!(*offsets, dentry_name)) else { return };
                let dst = path.data.as_mut_ptr().wrapping_add(opaque(used) & (DATA_BYTES - 1));
                // SAFETY: dst + COMPONENT_BYTES <= DATA_CAPACITY (masked position).
                let read = bpf_probe_read_kernel_str(dst.cast(), COMPONENT_BYTES as u32, name.cast());
                if read <= 0 {
                    return;
                }
                core::ptr::write_volatile(&raw mut path.dir_len, path.dir_len + read as u32);
                if dentry == parent {
                    // Its own parent but no mount's root: not in the tree
                    // (a pipe, a socket); its name is all there is.
                    path.dir_state = dir_state::DETACHED;
                    return;
                }
                dentry = parent;
            }
        }
    }
}
