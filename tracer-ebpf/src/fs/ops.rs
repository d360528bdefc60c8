//! Timing one file system's operations from entry to exit, the logic fsslower
//! and fsdist share. Three ways in, chosen by userspace:
//!
//! - fentry/fexit on the file system's own functions (ext4_file_read_iter,
//!   ..._write_iter, ..._open, ext4_sync_file): exact, sees io_uring and
//!   kernel callers too;
//! - kprobes/kretprobes on the same functions;
//! - the read/write/pread64/pwrite64/readv/writev/openat/fsync/fdatasync
//!   syscall tracepoints, keeping only files whose super block has the file
//!   system's magic (fd -> file -> inode -> super_block). Misses io_uring and
//!   mmap, which do not go through these syscalls.
//!
//! An operation's entry is kept per thread until its exit.

use aya_ebpf::{
    Global,
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns, bpf_probe_read_user},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::fs::ops::{FsOffsets, Pending, op};

use crate::{count_drop, setting, task::probe_read};

/// `AT_EMPTY_PATH` (uapi fcntl.h): the path is empty and the fd is the file.
pub const AT_EMPTY_PATH: u64 = 0x1000;

#[inline(always)]
pub fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

/// The settings and maps of a tool that times operations.
pub struct FsOps<'a> {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// `super_block.s_magic` of the traced file system (syscall path).
    pub magic: u32,
    pub offsets: &'a Global<FsOffsets>,
    pub pending: &'a HashMap<u32, Pending>,
    /// Where an operation the full `pending` map could not hold is counted
    /// (slot 0), if the tool reports that.
    pub pending_full: Option<&'a PerCpuArray<u64>>,
}

/// A traced operation that just ended.
pub struct Finished {
    pub op: u32,
    pub end_ns: u64,
    pub latency_ns: u64,
    /// Null when neither entry nor exit knew it.
    pub file: *const u8,
    pub offset: i64,
}

impl FsOps<'_> {
    #[inline(always)]
    fn wanted_process(&self) -> bool {
        self.target_tgid == 0 || (bpf_get_current_pid_tgid() >> 32) as u32 == self.target_tgid
    }

    /// The `struct file *` behind `fd` in the current task.
    #[inline(always)]
    pub fn file_of_fd(&self, fd: u64) -> Option<*const u8> {
        file_of_fd(self.offsets, fd)
    }

    /// Whether `file` lives on the traced file system (by its super block's magic).
    #[inline(always)]
    fn on_traced_fs(&self, file: *const u8) -> bool {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let Some(inode) = probe_read::<*const u8>(file, setting!(*offsets, file_inode)) else { return false };
            let Some(sb) = probe_read::<*const u8>(inode, setting!(*offsets, inode_sb)) else { return false };
            // s_magic is an unsigned long; every file system magic fits its low 32 bits.
            probe_read::<u32>(sb, setting!(*offsets, sb_magic)) == Some(self.magic)
        }
    }

    #[inline(always)]
    fn remember(&self, file: *const u8, op: u32, offset: i64, file_from_ret: bool) {
        let tid = bpf_get_current_pid_tgid() as u32;
        let pending =
            Pending { start_ns: now(), file: file as u64, offset, op, file_from_ret: u32::from(file_from_ret) };
        if self.pending.insert(&tid, &pending, 0).is_err()
            && let Some(drops) = self.pending_full
        {
            count_drop!(drops, 0);
        }
    }

    /// Syscall entry on an open file: traced only if it is on our file system.
    /// `offset` is the explicit position (pread64/pwrite64), else `f_pos`.
    #[inline(always)]
    pub fn enter_fd(&self, fd: u64, op: u32, offset: Option<i64>) {
        if !self.wanted_process() {
            return;
        }
        let Some(file) = self.file_of_fd(fd) else { return };
        if !self.on_traced_fs(file) {
            return;
        }
        let offset = offset.unwrap_or_else(|| {
            // SAFETY: a field of the file, through the helper.
            unsafe { probe_read::<i64>(file, setting!(*self.offsets, file_pos)) }.unwrap_or(0)
        });
        self.remember(file, op, offset, false);
    }

    /// openat entry: the file does not exist yet; its fd comes back at exit.
    #[inline(always)]
    pub fn enter_open_syscall(&self) {
        if self.wanted_process() {
            self.remember(core::ptr::null(), op::OPEN, 0, true);
        }
    }

    /// Entry of the file system's own function (fentry, kprobe): no need to
    /// check the file system.
    #[inline(always)]
    pub fn enter_file(&self, file: *const u8, op: u32, offset: i64) {
        if self.wanted_process() {
            self.remember(file, op, offset, false);
        }
    }

    /// Entry of the file system's function when only its duration matters.
    #[inline(always)]
    pub fn enter_function(&self, op: u32) {
        self.enter_file(core::ptr::null(), op, 0);
    }

    /// Entry of `*_read_iter`/`*_write_iter(struct kiocb *iocb, ...)`.
    #[inline(always)]
    pub fn enter_kiocb(&self, iocb: *const u8, op: u32) {
        if !self.wanted_process() {
            return;
        }
        // SAFETY: fields of the kiocb, through the helper.
        unsafe {
            let file = probe_read::<*const u8>(iocb, setting!(*self.offsets, kiocb_filp)).unwrap_or(core::ptr::null());
            let offset = probe_read::<i64>(iocb, setting!(*self.offsets, kiocb_pos)).unwrap_or(0);
            self.remember(file, op, offset, false);
        }
    }

    /// Exit of any traced operation, with its return value: the operation
    /// this thread started, if it is one we trace.
    #[inline(always)]
    pub fn finish(&self, ret: i64) -> Option<Finished> {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let pending = (unsafe { self.pending.get(&tid) }).copied()?;
        let _ = self.pending.remove(&tid);
        let file = if pending.file_from_ret != 0 {
            // openat through the syscall: the new fd is the return value.
            if ret < 0 {
                return None;
            }
            match self.file_of_fd(ret as u64) {
                Some(file) if self.on_traced_fs(file) => file,
                _ => return None,
            }
        } else {
            pending.file as *const u8
        };
        let end_ns = now();
        Some(Finished {
            op: pending.op,
            end_ns,
            latency_ns: end_ns.saturating_sub(pending.start_ns),
            file,
            offset: pending.offset,
        })
    }
}

/// The `struct file *` behind `fd` in the current task
/// (task -> files -> fdt -> fd[fd]).
#[inline(always)]
pub fn file_of_fd(offsets: &Global<FsOffsets>, fd: u64) -> Option<*const u8> {
    // SAFETY: every hop goes through the probe-read helper.
    unsafe {
        let task = bpf_get_current_task() as *const u8;
        let files = probe_read::<*const u8>(task, setting!(*offsets, task_files))?;
        let fdt = probe_read::<*const u8>(files, setting!(*offsets, files_fdt))?;
        let max_fds = probe_read::<u32>(fdt, setting!(*offsets, fdtable_max_fds))?;
        if fd >= u64::from(max_fds) {
            return None;
        }
        let table = probe_read::<*const u8>(fdt, setting!(*offsets, fdtable_fd))?;
        let file = probe_read::<*const u8>(table, (fd * 8) as u32)?;
        (!file.is_null()).then_some(file)
    }
}

/// Reads syscall argument `index` of a classic `sys_enter_*` record.
#[inline(always)]
pub fn syscall_arg(ctx: &aya_ebpf::programs::TracePointContext, base: u32, index: u32) -> Option<u64> {
    // SAFETY: `base` comes from the tracepoint's format file; arguments are 8 bytes each.
    unsafe { ctx.read_at::<u64>((base + index * 8) as usize) }.ok()
}

/// Whether a user-space path is empty (`""`, or NULL, which 6.11+ accepts
/// with AT_EMPTY_PATH): with AT_EMPTY_PATH the call is then about the fd.
#[inline(always)]
pub fn empty_user_path(path: u64) -> bool {
    if path == 0 {
        return true;
    }
    // SAFETY: the helper checks the user address; an unreadable one is not "empty".
    matches!(unsafe { bpf_probe_read_user(path as *const u8) }, Ok(0))
}
