//! filetop's kernel logic: count each thread's reads and writes, and their
//! bytes, per file. Three ways in, chosen by userspace:
//!
//! - fexit on vfs_read/vfs_write: file, and bytes done, in one place;
//! - a kprobe on them keeps the file per thread for the kretprobe;
//! - the read/write/pread64/pwrite64 syscall tracepoints: the entry finds
//!   the file from the fd (task -> files -> fdt), the exit counts.
//!
//! Bytes are those the call returned (done), not those asked for.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, generated::bpf_probe_read_kernel_str},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::fs::{
    filetop::{Config, FileEntry, FileKey, NAME_BYTES, PendingIo, drop_reason},
    ops::{FsOffsets, op},
};

use super::ops::file_of_fd;
use crate::{count_drop, counters::atomic_add, setting, task::probe_read};

/// File type bits of `i_mode` (uapi stat.h).
const S_IFMT: u16 = 0o170000;
const S_IFREG: u16 = 0o100000;
const S_IFSOCK: u16 = 0o140000;
const EEXIST: i32 = 17;

pub struct Filetop<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<FsOffsets>,
    pub entries: &'a HashMap<FileKey, FileEntry>,
    pub pending: &'a HashMap<u32, PendingIo>,
    /// One slot: a new entry is built here (it is larger than the BPF stack).
    pub scratch: &'a PerCpuArray<FileEntry>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Filetop<'_> {
    #[inline(always)]
    fn wanted_process(&self) -> bool {
        let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        let target = setting!(*self.config, target_tgid);
        (target == 0 || tgid == target) && tgid != setting!(*self.config, self_tgid)
    }

    /// Syscall entry: the file behind `fd`, kept for the exit.
    #[inline(always)]
    pub fn enter_fd(&self, fd: u64, op: u32) {
        if self.wanted_process()
            && let Some(file) = file_of_fd(self.offsets, fd)
        {
            self.remember(file, op);
        }
    }

    /// kprobe entry of vfs_read/vfs_write(struct file *file, ...).
    #[inline(always)]
    pub fn enter_file(&self, file: *const u8, op: u32) {
        if self.wanted_process() && !file.is_null() {
            self.remember(file, op);
        }
    }

    #[inline(always)]
    fn remember(&self, file: *const u8, op: u32) {
        let tid = bpf_get_current_pid_tgid() as u32;
        if self.pending.insert(&tid, &PendingIo { file: file as u64, op, _pad: 0 }, 0).is_err() {
            count_drop!(self.drops, drop_reason::START_MAP_FULL);
        }
    }

    /// Syscall or kretprobe exit: counts the call this thread started.
    #[inline(always)]
    pub fn exit(&self, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        self.count(pending.file as *const u8, pending.op, ret);
    }

    /// Counts one finished read or write of `file` that returned `ret`.
    #[inline(always)]
    pub fn count(&self, file: *const u8, op: u32, ret: i64) {
        if !self.wanted_process() {
            return;
        }
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        let (key, mode) = unsafe {
            let Some(inode) = probe_read::<*const u8>(file, setting!(*offsets, file_inode)) else { return };
            let Some(mode) = probe_read::<u16>(inode, setting!(*offsets, inode_mode)) else { return };
            if setting!(*self.config, regular_only) != 0 && mode & S_IFMT != S_IFREG {
                return;
            }
            let dev = probe_read::<*const u8>(inode, setting!(*offsets, inode_sb))
                .and_then(|sb| probe_read::<u32>(sb, setting!(*offsets, sb_dev)))
                .unwrap_or(0);
            let pid_tgid = bpf_get_current_pid_tgid();
            let key = FileKey {
                inode: probe_read::<u64>(inode, setting!(*offsets, inode_ino)).unwrap_or(0),
                dev,
                rdev: probe_read::<u32>(inode, setting!(*offsets, inode_rdev)).unwrap_or(0),
                pid: (pid_tgid >> 32) as u32,
                tid: pid_tgid as u32,
            };
            (key, mode)
        };
        let entry = match self.entries.get_ptr_mut(&key) {
            Some(entry) => entry,
            None => {
                if !self.create(&key, file, mode) {
                    return;
                }
                let Some(entry) = self.entries.get_ptr_mut(&key) else { return };
                entry
            }
        };
        let bytes = if ret > 0 { ret as u64 } else { 0 };
        // SAFETY: a live map value; other CPUs may update it too, hence atomics.
        unsafe {
            if op == op::READ {
                atomic_add(&raw mut (*entry).reads, 1);
                atomic_add(&raw mut (*entry).read_bytes, bytes);
            } else {
                atomic_add(&raw mut (*entry).writes, 1);
                atomic_add(&raw mut (*entry).write_bytes, bytes);
            }
        }
    }

    /// Creates the entry of a (file, thread) seen for the first time, with
    /// the thread's comm and the file's name and type. False if the map is full.
    #[inline(always)]
    fn create(&self, key: &FileKey, file: *const u8, mode: u16) -> bool {
        let Some(slot) = self.scratch.get_ptr_mut(0) else { return false };
        // SAFETY: this CPU's scratch slot; kernel pointers read through the helpers.
        let entry = unsafe { &mut *slot };
        entry.reads = 0;
        entry.read_bytes = 0;
        entry.writes = 0;
        entry.write_bytes = 0;
        entry.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        entry.kind = match mode & S_IFMT {
            S_IFREG => b'R',
            S_IFSOCK => b'S',
            _ => b'O',
        };
        entry.name[0] = 0;
        entry.truncated = 0;
        let offsets = self.offsets;
        // SAFETY: as above.
        unsafe {
            if let Some(dentry) = probe_read::<*const u8>(file, setting!(*offsets, file_dentry))
                && let Some(name) = probe_read::<*const u8>(dentry, setting!(*offsets, dentry_name))
            {
                let copied = bpf_probe_read_kernel_str(entry.name.as_mut_ptr().cast(), NAME_BYTES as u32, name.cast());
                // The helper counts the NUL: a full buffer may have cut the name.
                entry.truncated = u8::from(copied >= NAME_BYTES as i64);
            }
        }
        match self.entries.insert(key, entry, BPF_NOEXIST.into()) {
            // Another CPU created it first: count into theirs.
            Ok(()) => true,
            Err(err) if err == -EEXIST => true,
            Err(_) => {
                count_drop!(self.drops, drop_reason::ENTRY_MAP_FULL);
                false
            }
        }
    }
}
