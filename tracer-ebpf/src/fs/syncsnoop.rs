//! syncsnoop's kernel logic, shared by its two objects: `syncsnoop` (ring
//! buffer) and `syncsnoop_compat` (perf buffer, kernels before 5.8). Both
//! hook the classic sys_enter/sys_exit tracepoints of sync, syncfs, fsync,
//! fdatasync, msync and sync_file_range (`tracer_common::fs::syncsnoop::SYSCALLS`),
//! as statsnoop does: the kernel has no BTF or raw tracepoint per syscall.
//!
//! Entry stamps the call and keeps its descriptor (or msync's range) by
//! thread; exit reports it with its latency and, for a descriptor, the
//! file's path walked in the kernel (`fs::paths`).

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::syncsnoop::{Config, DATA_OFFSET, PendingSync, SYSCALLS, Subject, SyncEvent};

use super::paths::Paths;
use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
};

/// The maps and settings of one syncsnoop object.
pub struct Syncsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub paths: Paths<'a>,
    pub pending: &'a LruHashMap<u32, PendingSync>,
    pub scratch: &'a PerCpuArray<SyncEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl<S: EventSink> Syncsnoop<'_, S> {
    /// sys_enter_*: stamp the call of an admitted process; `arg0`/`arg1`
    /// are its first two arguments (a descriptor, or msync's range).
    #[inline(always)]
    pub fn enter(&self, syscall: usize, arg0: u64, arg1: u64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && (pid_tgid >> 32) as u32 != target_tgid {
            return;
        }
        let (fd, addr, len) = match SYSCALLS[syscall].1 {
            Subject::Everything => (-1, 0, 0),
            Subject::Fd => (arg0 as i32, 0, 0),
            Subject::Mapping => (-1, arg0, arg1),
        };
        let pending = PendingSync { start_ns: now(), addr, len, fd, syscall: syscall as u32 };
        let _ = self.pending.insert(&(pid_tgid as u32), &pending, 0);
    }

    /// sys_exit_*: report the call that returned `ret`.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(event) = self.scratch.get_ptr_mut(0).map(|event| unsafe { &mut *event }) else { return };
        let header = &mut event.header;
        header.timestamp_ns = now();
        header.latency_ns = header.timestamp_ns.saturating_sub(pending.start_ns);
        header.addr = pending.addr;
        header.len = pending.len;
        header.pid = (pid_tgid >> 32) as u32;
        header.tid = tid;
        header.ret = ret as i32;
        header.syscall = pending.syscall;
        header.fd = pending.fd;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        self.paths.read_name(&mut event.path, 0);
        if pending.fd >= 0 {
            self.paths.walk_from(&mut event.path, pending.fd);
        }
        let size = opaque(DATA_OFFSET + Paths::used(&event.path));
        if size > core::mem::size_of::<SyncEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The syscall tracepoint programs, identical in both objects: one entry
/// program per syscall (its index in `SYSCALLS` a constant), one exit
/// program attached to every `sys_exit_*`. `$syncsnoop` builds the
/// object's `Syncsnoop`; `$offsets` is its `SYNC_OFFSETS` global.
#[macro_export]
macro_rules! syncsnoop_programs {
    ($syncsnoop:ident, $offsets:ident) => {
        #[inline(always)]
        fn enter(ctx: &TracePointContext, index: usize) {
            // SAFETY: offsets come from the tracepoints' format files.
            let arg = |offset: u32| unsafe { ctx.read_at::<u64>(offset as usize) }.unwrap_or(0);
            $syncsnoop().enter(index, arg($crate::setting!($offsets, arg0)), arg($crate::setting!($offsets, arg1)));
        }

        #[tracepoint]
        pub fn syncsnoop_enter_sync_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("sync") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_syncfs_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("syncfs") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_fsync_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("fsync") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_fdatasync_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("fdatasync") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_msync_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("msync") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_sync_file_range_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("sync_file_range") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_sync_file_range2_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("sync_file_range2") });
            0
        }

        #[tracepoint]
        pub fn syncsnoop_enter_arm_sync_file_range_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::syncsnoop::syscall_index("arm_sync_file_range") });
            0
        }

        /// Every traced syscall's exit.
        #[tracepoint]
        pub fn syncsnoop_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $syncsnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
