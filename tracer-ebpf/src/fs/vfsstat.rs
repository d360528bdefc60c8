//! vfsstat's kernel logic: count VFS operations into per-CPU counters (no
//! atomics, no shared cache lines). Userspace sums the CPUs.
//!
//! On the syscall path each call is counted at entry, from its arguments:
//! an open with O_CREAT is also a create, unlinkat with AT_REMOVEDIR a
//! rmdir, mknod of a regular file a create.

use aya_ebpf::{helpers::bpf_probe_read_user, maps::PerCpuArray, programs::TracePointContext};
use tracer_common::fs::vfsstat::stat;

use super::ops::syscall_arg;

/// uapi fcntl.h and stat.h values (asm-generic: x86, arm64, riscv).
const O_CREAT: u64 = 0o100;
const AT_REMOVEDIR: u64 = 0x200;
const S_IFMT: u64 = 0o170000;
const S_IFREG: u64 = 0o100000;

pub struct Vfsstat<'a> {
    pub counts: &'a PerCpuArray<u64>,
    /// Offset of the syscall arguments in the classic records.
    pub syscall_args: u32,
}

impl Vfsstat<'_> {
    #[inline(always)]
    pub fn count(&self, slot: u32) {
        if let Some(counter) = self.counts.get_ptr_mut(slot) {
            // SAFETY: this CPU's slot; nothing else writes it while we run.
            unsafe { *counter += 1 };
        }
    }

    #[inline(always)]
    fn arg(&self, ctx: &TracePointContext, index: u32) -> Option<u64> {
        syscall_arg(ctx, self.syscall_args, index)
    }

    /// open(filename, flags, mode) (`flags_index` 1), openat(dfd, filename,
    /// flags, mode) (2).
    #[inline(always)]
    pub fn open_flags(&self, ctx: &TracePointContext, flags_index: u32) {
        self.count(stat::OPEN);
        if self.arg(ctx, flags_index).is_some_and(|flags| flags & O_CREAT != 0) {
            self.count(stat::CREATE);
        }
    }

    /// openat2(dfd, filename, struct open_how *how, size): the flags are the
    /// first field of `how`, in the caller's memory.
    #[inline(always)]
    pub fn openat2(&self, ctx: &TracePointContext) {
        self.count(stat::OPEN);
        let Some(how) = self.arg(ctx, 2) else { return };
        // SAFETY: the helper checks the user address.
        if unsafe { bpf_probe_read_user(how as *const u64) }.is_ok_and(|flags| flags & O_CREAT != 0) {
            self.count(stat::CREATE);
        }
    }

    /// mknod(filename, mode, dev) (`mode_index` 1), mknodat(dfd, ...) (2):
    /// a regular file is a create, as vfs_create serves it.
    #[inline(always)]
    pub fn mknod(&self, ctx: &TracePointContext, mode_index: u32) {
        if self.arg(ctx, mode_index).is_some_and(|mode| matches!(mode & S_IFMT, 0 | S_IFREG)) {
            self.count(stat::CREATE);
        }
    }

    /// unlinkat(dfd, pathname, flag): a rmdir with AT_REMOVEDIR.
    #[inline(always)]
    pub fn unlinkat(&self, ctx: &TracePointContext) {
        let rmdir = self.arg(ctx, 2).is_some_and(|flag| flag & AT_REMOVEDIR != 0);
        self.count(if rmdir { stat::RMDIR } else { stat::UNLINK });
    }
}
