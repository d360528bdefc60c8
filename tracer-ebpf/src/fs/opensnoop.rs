//! opensnoop's kernel logic, shared by its two objects: `opensnoop` (ring
//! buffer) and `opensnoop_compat` (perf buffer, kernels before 5.8). Both
//! hook the classic syscalls:sys_{enter,exit}_open{,at,at2} tracepoints:
//! the kernel has no BTF or raw tracepoint per syscall, and hooking
//! raw_syscalls would run a program on every syscall of the system.
//!
//! Entry remembers the name pointer, flags, mode and directory fd by
//! thread; exit reads the name (still in the caller's memory) and, with
//! `-F` and a relative name, walks the directory it was resolved from
//! (the cwd, or the directory fd) up to the root, crossing mounts.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::opensnoop::{Config, DATA_OFFSET, OpenEvent, OpenOffsets, PendingOpen};

use super::paths::Paths;
use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
};

const O_CREAT: u32 = 0o100;
const O_TMPFILE: u32 = 0o20200000;

/// The maps and settings of one opensnoop object.
pub struct Opensnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<OpenOffsets>,
    pub paths: Paths<'a>,
    pub pending: &'a LruHashMap<u32, PendingOpen>,
    pub scratch: &'a PerCpuArray<OpenEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Opensnoop<'_, S> {
    /// sys_enter_open*: remember the arguments of an admitted thread.
    #[inline(always)]
    pub fn enter(&self, filename: u64, flags: u32, mode: u32, dfd: i32) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let (tgid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && tgid != target_tgid {
            return;
        }
        let target_tid = setting!(*self.config, target_tid);
        if target_tid != 0 && tid != target_tid {
            return;
        }
        let target_uid = setting!(*self.config, target_uid);
        if target_uid != u32::MAX && bpf_get_current_uid_gid() as u32 != target_uid {
            return;
        }
        let _ = self.pending.insert(&tid, &PendingOpen { filename, flags, mode, dfd, _pad: 0 }, 0);
    }

    /// sys_exit_open*: report the open that returned `ret`.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        if setting!(*self.config, failed_only) != 0 && ret >= 0 {
            return;
        }
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(event) = self.scratch.get_ptr_mut(0).map(|event| unsafe { &mut *event }) else { return };
        let header = &mut event.header;
        // SAFETY: helper without arguments.
        header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        header.pid = (pid_tgid >> 32) as u32;
        header.tid = tid;
        header.uid = bpf_get_current_uid_gid() as u32;
        header.ret = ret as i32;
        header.flags = pending.flags;
        header.mode =
            if pending.flags & O_CREAT != 0 || pending.flags & O_TMPFILE == O_TMPFILE { pending.mode } else { 0 };
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        self.paths.read_name(&mut event.path, pending.filename);
        if setting!(*self.config, full_path) != 0 && event.path.data[0] != b'/' {
            self.paths.walk_from(&mut event.path, pending.dfd);
        }
        let size = opaque(DATA_OFFSET + Paths::used(&event.path));
        if size > core::mem::size_of::<OpenEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The syscall tracepoint programs, identical in both objects. `$opensnoop`
/// builds the object's `Opensnoop`; `$offsets` is its `OPEN_OFFSETS` global.
#[macro_export]
macro_rules! opensnoop_programs {
    ($opensnoop:ident, $offsets:ident) => {
        #[inline(always)]
        fn field<T: Copy>(ctx: &TracePointContext, offset: u32) -> Option<T> {
            // SAFETY: offsets come from the tracepoints' format files.
            unsafe { ctx.read_at::<T>(offset as usize) }.ok()
        }

        #[tracepoint(category = "syscalls", name = "sys_enter_open")]
        pub fn opensnoop_enter_open_tp(ctx: TracePointContext) -> u32 {
            if let (Some(name), Some(flags), Some(mode)) = (
                field::<u64>(&ctx, $crate::setting!($offsets, open_filename)),
                field::<u64>(&ctx, $crate::setting!($offsets, open_flags)),
                field::<u64>(&ctx, $crate::setting!($offsets, open_mode)),
            ) {
                $opensnoop().enter(name, flags as u32, mode as u32, tracer_common::fs::paths::AT_FDCWD);
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_enter_openat")]
        pub fn opensnoop_enter_openat_tp(ctx: TracePointContext) -> u32 {
            if let (Some(dfd), Some(name), Some(flags), Some(mode)) = (
                field::<u64>(&ctx, $crate::setting!($offsets, openat_dfd)),
                field::<u64>(&ctx, $crate::setting!($offsets, openat_filename)),
                field::<u64>(&ctx, $crate::setting!($offsets, openat_flags)),
                field::<u64>(&ctx, $crate::setting!($offsets, openat_mode)),
            ) {
                $opensnoop().enter(name, flags as u32, mode as u32, dfd as i32);
            }
            0
        }

        /// openat2 passes flags and mode in a `struct open_how` (u64 flags, u64 mode, ...).
        #[tracepoint(category = "syscalls", name = "sys_enter_openat2")]
        pub fn opensnoop_enter_openat2_tp(ctx: TracePointContext) -> u32 {
            if let (Some(dfd), Some(name), Some(how)) = (
                field::<u64>(&ctx, $crate::setting!($offsets, openat2_dfd)),
                field::<u64>(&ctx, $crate::setting!($offsets, openat2_filename)),
                field::<u64>(&ctx, $crate::setting!($offsets, openat2_how)),
            ) {
                // SAFETY: a user pointer read with the helper.
                let how = unsafe { aya_ebpf::helpers::bpf_probe_read_user(how as *const [u64; 2]) }.unwrap_or([0, 0]);
                $opensnoop().enter(name, how[0] as u32, how[1] as u32, dfd as i32);
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_open")]
        pub fn opensnoop_exit_open_tp(ctx: TracePointContext) -> u32 {
            if let Some(ret) = field::<i64>(&ctx, $crate::setting!($offsets, exit_ret)) {
                $opensnoop().exit(&ctx, ret);
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_openat")]
        pub fn opensnoop_exit_openat_tp(ctx: TracePointContext) -> u32 {
            if let Some(ret) = field::<i64>(&ctx, $crate::setting!($offsets, exit_ret)) {
                $opensnoop().exit(&ctx, ret);
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_openat2")]
        pub fn opensnoop_exit_openat2_tp(ctx: TracePointContext) -> u32 {
            if let Some(ret) = field::<i64>(&ctx, $crate::setting!($offsets, exit_ret)) {
                $opensnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
