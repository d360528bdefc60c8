//! fsslower's kernel logic: time reads, writes, opens and fsyncs on one file
//! system (the three paths of `fs::ops`, shared with fsdist) and report the
//! slow ones.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, generated::bpf_probe_read_kernel_str},
    maps::PerCpuArray,
};
use tracer_common::fs::{
    fsslower::{Config, FsEvent, NAME_BYTES},
    ops::op,
};

use super::ops::FsOps;
use crate::{
    events::{EventSink, send_or_count},
    setting,
    task::probe_read,
};

pub struct Fsslower<'a, S> {
    /// Entries and the exit's bookkeeping: the operation's file and duration.
    pub ops: FsOps<'a>,
    pub config: &'a Global<Config>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Fsslower<'_, S> {
    /// Exit of any traced operation, with its return value.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let Some(done) = self.ops.finish(ret) else { return };
        if done.latency_ns < setting!(*self.config, min_ns) {
            return;
        }
        let mut event = FsEvent {
            timestamp_ns: done.end_ns,
            latency_ns: done.latency_ns,
            offset: done.offset,
            size: if done.op == op::READ || done.op == op::WRITE { ret } else { 0 },
            pid: (bpf_get_current_pid_tgid() >> 32) as u32,
            op: done.op,
            comm: bpf_get_current_comm().unwrap_or([0; 16]),
            name: [0; NAME_BYTES],
        };
        let offsets = self.ops.offsets;
        // SAFETY: kernel pointers read through the helpers.
        unsafe {
            if let Some(dentry) = probe_read::<*const u8>(done.file, setting!(*offsets, file_dentry))
                && let Some(name) = probe_read::<*const u8>(dentry, setting!(*offsets, dentry_name))
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

/// The kprobe and syscall-tracepoint programs, identical in both objects.
/// `$fsslower` builds the object's `Fsslower`; `$offsets` is its
/// `FS_OFFSETS` global.
#[macro_export]
macro_rules! fsslower_common_programs {
    ($fsslower:ident, $offsets:ident) => {
        use tracer_common::fs::ops::op;
        use tracer_ebpf::fs::ops::syscall_arg;

        // --- kprobes on the file system's functions.

        #[kprobe]
        pub fn fsslower_read_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().ops.enter_kiocb(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::READ);
            0
        }

        #[kprobe]
        pub fn fsslower_write_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().ops.enter_kiocb(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::WRITE);
            0
        }

        /// `*_file_open(struct inode *inode, struct file *file)`
        #[kprobe]
        pub fn fsslower_open_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().ops.enter_file(ctx.arg::<*const u8>(1).unwrap_or(core::ptr::null()), op::OPEN, 0);
            0
        }

        /// `*_sync_file(struct file *file, loff_t start, loff_t end, int datasync)`
        #[kprobe]
        pub fn fsslower_sync_kprobe(ctx: ProbeContext) -> u32 {
            $fsslower().ops.enter_file(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::FSYNC, 0);
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
                $fsslower().ops.enter_fd(fd, op::READ, None);
            }
            0
        }

        /// pread64 (the position is argument 3).
        #[tracepoint]
        pub fn fsslower_enter_pread_tp(ctx: TracePointContext) -> u32 {
            let base = $crate::setting!($offsets, syscall_args);
            if let (Some(fd), Some(pos)) = (syscall_arg(&ctx, base, 0), syscall_arg(&ctx, base, 3)) {
                $fsslower().ops.enter_fd(fd, op::READ, Some(pos as i64));
            }
            0
        }

        /// write, writev.
        #[tracepoint]
        pub fn fsslower_enter_write_tp(ctx: TracePointContext) -> u32 {
            if let Some(fd) = syscall_arg(&ctx, $crate::setting!($offsets, syscall_args), 0) {
                $fsslower().ops.enter_fd(fd, op::WRITE, None);
            }
            0
        }

        /// pwrite64.
        #[tracepoint]
        pub fn fsslower_enter_pwrite_tp(ctx: TracePointContext) -> u32 {
            let base = $crate::setting!($offsets, syscall_args);
            if let (Some(fd), Some(pos)) = (syscall_arg(&ctx, base, 0), syscall_arg(&ctx, base, 3)) {
                $fsslower().ops.enter_fd(fd, op::WRITE, Some(pos as i64));
            }
            0
        }

        #[tracepoint]
        pub fn fsslower_enter_open_tp(_ctx: TracePointContext) -> u32 {
            $fsslower().ops.enter_open_syscall();
            0
        }

        /// fsync, fdatasync.
        #[tracepoint]
        pub fn fsslower_enter_sync_tp(ctx: TracePointContext) -> u32 {
            if let Some(fd) = syscall_arg(&ctx, $crate::setting!($offsets, syscall_args), 0) {
                $fsslower().ops.enter_fd(fd, op::FSYNC, None);
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
