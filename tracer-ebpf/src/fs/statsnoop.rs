//! statsnoop's kernel logic, shared by its two objects: `statsnoop` (ring
//! buffer) and `statsnoop_compat` (perf buffer, kernels before 5.8). Both
//! hook the classic sys_enter/sys_exit tracepoints of the stat family
//! (`tracer_common::fs::statsnoop::SYSCALLS`), as opensnoop does: the
//! kernel has no BTF or raw tracepoint per syscall.
//!
//! Entry remembers the name pointer and descriptor by thread; exit reads the
//! name (still in the caller's memory) and resolves, in the kernel and at
//! the call, what it referred to: a call on a descriptor (fstat, fstatfs,
//! statx or newfstatat with an empty name) walks that file's own path, a
//! relative name the directory it starts from (the cwd or the directory
//! descriptor). Absolute names are reported as passed.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::statsnoop::{Config, DATA_OFFSET, PendingStat, StatEvent};

use super::paths::Paths;
use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
};

/// The maps and settings of one statsnoop object.
pub struct Statsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub paths: Paths<'a>,
    pub pending: &'a LruHashMap<u32, PendingStat>,
    pub scratch: &'a PerCpuArray<StatEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Statsnoop<'_, S> {
    /// sys_enter_*: remember the call of an admitted process. `name` is a
    /// user pointer (0 for none); `fd` the descriptor the call is made on
    /// or relative to (`AT_FDCWD` for the cwd).
    #[inline(always)]
    pub fn enter(&self, syscall: u32, name: u64, fd: i32, empty_is_fd: bool) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && (pid_tgid >> 32) as u32 != target_tgid {
            return;
        }
        let pending = PendingStat { name, fd, syscall, empty_is_fd: u32::from(empty_is_fd), _pad: 0 };
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
        header.ret = ret as i32;
        header.syscall = pending.syscall;
        header.fd = pending.fd;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        self.paths.read_name(&mut event.path, pending.name);
        let first = event.path.data[0];
        let on_fd = first == 0 && pending.empty_is_fd != 0;
        event.header.fd_used = u32::from(on_fd || (first != 0 && first != b'/'));
        if event.header.fd_used != 0 {
            self.paths.walk_from(&mut event.path, pending.fd);
        }
        let size = opaque(DATA_OFFSET + Paths::used(&event.path));
        if size > core::mem::size_of::<StatEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The syscall tracepoint programs, identical in both objects: one entry
/// program per syscall (its index in `SYSCALLS` is a constant), one exit
/// program attached to every `sys_exit_*`. `$statsnoop` builds the
/// object's `Statsnoop`; `$offsets` is its `STAT_OFFSETS` global.
#[macro_export]
macro_rules! statsnoop_programs {
    ($statsnoop:ident, $offsets:ident) => {
        #[inline(always)]
        fn arg(ctx: &TracePointContext, offset: u32) -> u64 {
            // SAFETY: offsets come from the tracepoints' format files.
            unsafe { ctx.read_at::<u64>(offset as usize) }.unwrap_or(0)
        }

        /// The entry of syscall `index` of `SYSCALLS` (a constant in each
        /// program, so only its shape's code is left).
        #[inline(always)]
        fn enter(ctx: &TracePointContext, index: usize) {
            use tracer_common::fs::{
                paths::AT_FDCWD,
                statsnoop::{AT_EMPTY_PATH, SYSCALLS, Shape},
            };
            let arg0 = arg(ctx, $crate::setting!($offsets, arg0));
            let (name, fd, empty_is_fd) = match SYSCALLS[index].1 {
                Shape::Name => (arg0, AT_FDCWD, false),
                Shape::Fd => (0, arg0 as i32, true),
                Shape::At { flags } => {
                    let flags = match flags {
                        Some(2) => arg(ctx, $crate::setting!($offsets, arg2)),
                        Some(_) => arg(ctx, $crate::setting!($offsets, arg3)),
                        None => 0,
                    };
                    (arg(ctx, $crate::setting!($offsets, arg1)), arg0 as i32, flags & AT_EMPTY_PATH != 0)
                }
            };
            $statsnoop().enter(index as u32, name, fd, empty_is_fd);
        }

        #[tracepoint]
        pub fn statsnoop_enter_statfs_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("statfs") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_fstatfs_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("fstatfs") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_newstat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("newstat") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_newlstat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("newlstat") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_newfstat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("newfstat") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_newfstatat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("newfstatat") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_statx_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("statx") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_access_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("access") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_faccessat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("faccessat") });
            0
        }

        #[tracepoint]
        pub fn statsnoop_enter_faccessat2_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::statsnoop::syscall_index("faccessat2") });
            0
        }

        /// Every traced syscall's exit.
        #[tracepoint]
        pub fn statsnoop_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $statsnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
