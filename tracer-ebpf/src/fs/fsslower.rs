//! fsslower's kernel logic: time reads, writes, opens and fsyncs on one file
//! system and report the slow ones. Three ways in, chosen by userspace:
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
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns,
        generated::bpf_probe_read_kernel_str,
    },
    maps::{HashMap, PerCpuArray},
};
use tracer_common::fs::fsslower::{Config, FsEvent, FsOffsets, NAME_BYTES, Pending, op};

use crate::{
    events::{EventSink, send_or_count},
    setting,
    task::probe_read,
};

pub struct Fsslower<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<FsOffsets>,
    pub pending: &'a HashMap<u32, Pending>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl<S: EventSink> Fsslower<'_, S> {
    #[inline(always)]
    fn wanted_process(&self) -> bool {
        let target = setting!(*self.config, target_tgid);
        target == 0 || (bpf_get_current_pid_tgid() >> 32) as u32 == target
    }

    /// The `struct file *` behind `fd` in the current task.
    #[inline(always)]
    fn file_of_fd(&self, fd: u64) -> Option<*const u8> {
        let offsets = self.offsets;
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

    /// Whether `file` lives on the traced file system (by its super block's magic).
    #[inline(always)]
    fn on_traced_fs(&self, file: *const u8) -> bool {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let Some(inode) = probe_read::<*const u8>(file, setting!(*offsets, file_inode)) else { return false };
            let Some(sb) = probe_read::<*const u8>(inode, setting!(*offsets, inode_sb)) else { return false };
            // s_magic is an unsigned long; every file system magic fits its low 32 bits.
            probe_read::<u32>(sb, setting!(*offsets, sb_magic)) == Some(setting!(*self.config, magic))
        }
    }

    #[inline(always)]
    fn remember(&self, file: *const u8, op: u32, offset: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        let pending = Pending { start_ns: now(), file: file as u64, offset, op, _pad: 0 };
        let _ = self.pending.insert(&tid, &pending, 0);
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
        self.remember(file, op, offset);
    }

    /// openat entry: the file does not exist yet; its fd comes back at exit.
    #[inline(always)]
    pub fn enter_open_syscall(&self) {
        if self.wanted_process() {
            self.remember(core::ptr::null(), op::OPEN, 0);
        }
    }

    /// Entry of the file system's own function (fentry, kprobe): no need to
    /// check the file system.
    #[inline(always)]
    pub fn enter_file(&self, file: *const u8, op: u32, offset: i64) {
        if self.wanted_process() {
            self.remember(file, op, offset);
        }
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
            self.remember(file, op, offset);
        }
    }

    /// Exit of any traced operation, with its return value.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        let file = if pending.file != 0 {
            pending.file as *const u8
        } else {
            // openat through the syscall: the new fd is the return value.
            if ret < 0 {
                return;
            }
            match self.file_of_fd(ret as u64) {
                Some(file) if self.on_traced_fs(file) => file,
                _ => return,
            }
        };
        let end = now();
        let latency = end.saturating_sub(pending.start_ns);
        if latency < setting!(*self.config, min_ns) {
            return;
        }
        let mut event = FsEvent {
            timestamp_ns: end,
            latency_ns: latency,
            offset: pending.offset,
            size: if pending.op == op::READ || pending.op == op::WRITE { ret } else { 0 },
            pid: (bpf_get_current_pid_tgid() >> 32) as u32,
            op: pending.op,
            comm: bpf_get_current_comm().unwrap_or([0; 16]),
            name: [0; NAME_BYTES],
        };
        // SAFETY: kernel pointers read through the helpers.
        unsafe {
            if let Some(dentry) = probe_read::<*const u8>(file, setting!(*self.offsets, file_dentry))
                && let Some(name) = probe_read::<*const u8>(dentry, setting!(*self.offsets, dentry_name))
            {
                bpf_probe_read_kernel_str(event.name.as_mut_ptr().cast(), NAME_BYTES as u32, name.cast());
            }
        }
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<FsEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// Reads syscall argument `index` of a classic `sys_enter_*` record.
#[inline(always)]
pub fn syscall_arg(ctx: &aya_ebpf::programs::TracePointContext, base: u32, index: u32) -> Option<u64> {
    // SAFETY: `base` comes from the tracepoint's format file; arguments are 8 bytes each.
    unsafe { ctx.read_at::<u64>((base + index * 8) as usize) }.ok()
}

/// The kprobe and syscall-tracepoint programs, identical in both objects.
/// `$fsslower` builds the object's `Fsslower`; `$offsets` is its
/// `FS_OFFSETS` global.
#[macro_export]
macro_rules! fsslower_common_programs {
    ($fsslower:ident, $offsets:ident) => {
        use tracer_common::fs::fsslower::op;
        use tracer_ebpf::fs::fsslower::syscall_arg;

        // --- kprobes on the file system's functions.

        #[kprobe]
        pub fn fsslower_read_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().enter_kiocb(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::READ);
            0
        }

        #[kprobe]
        pub fn fsslower_write_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().enter_kiocb(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::WRITE);
            0
        }

        /// `*_file_open(struct inode *inode, struct file *file)`
        #[kprobe]
        pub fn fsslower_open_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().enter_file(ctx.arg::<*const u8>(1).unwrap_or(core::ptr::null()), op::OPEN, 0);
            0
        }

        /// `*_sync_file(struct file *file, loff_t start, loff_t end, int datasync)`
        #[kprobe]
        pub fn fsslower_sync_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().enter_file(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::FSYNC, 0);
            0
        }

        /// One return probe serves every function: the entry said which op it was.
        #[kretprobe]
        pub fn fsslower_exit_kretprobe(ctx: RetProbeContext) -> u32 {
            $fsslower().exit(&ctx, ctx.ret::<i64>());
            0
        }

        // --- syscall tracepoints, for kernels where neither reaches the functions.

        /// read, readv (fd is argument 0).
        #[tracepoint]
        pub fn fsslower_enter_read_tp(ctx: TracePointContext) -> u32 {
            if let Some(fd) = syscall_arg(&ctx, $crate::setting!($offsets, syscall_args), 0) {
                $fsslower().enter_fd(fd, op::READ, None);
            }
            0
        }

        /// pread64 (the position is argument 3).
        #[tracepoint]
        pub fn fsslower_enter_pread_tp(ctx: TracePointContext) -> u32 {
            let base = $crate::setting!($offsets, syscall_args);
            if let (Some(fd), Some(pos)) = (syscall_arg(&ctx, base, 0), syscall_arg(&ctx, base, 3)) {
                $fsslower().enter_fd(fd, op::READ, Some(pos as i64));
            }
            0
        }

        /// write, writev.
        #[tracepoint]
        pub fn fsslower_enter_write_tp(ctx: TracePointContext) -> u32 {
            if let Some(fd) = syscall_arg(&ctx, $crate::setting!($offsets, syscall_args), 0) {
                $fsslower().enter_fd(fd, op::WRITE, None);
            }
            0
        }

        /// pwrite64.
        #[tracepoint]
        pub fn fsslower_enter_pwrite_tp(ctx: TracePointContext) -> u32 {
            let base = $crate::setting!($offsets, syscall_args);
            if let (Some(fd), Some(pos)) = (syscall_arg(&ctx, base, 0), syscall_arg(&ctx, base, 3)) {
                $fsslower().enter_fd(fd, op::WRITE, Some(pos as i64));
            }
            0
        }

        #[tracepoint]
        pub fn fsslower_enter_open_tp(_ctx: TracePointContext) -> u32 {
            $fsslower().enter_open_syscall();
            0
        }

        /// fsync, fdatasync.
        #[tracepoint]
        pub fn fsslower_enter_sync_tp(ctx: TracePointContext) -> u32 {
            if let Some(fd) = syscall_arg(&ctx, $crate::setting!($offsets, syscall_args), 0) {
                $fsslower().enter_fd(fd, op::FSYNC, None);
            }
            0
        }

        /// Every traced syscall's exit.
        #[tracepoint]
        pub fn fsslower_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, syscall_ret) as usize) } {
                $fsslower().exit(&ctx, ret);
            }
            0
        }
    };
}
