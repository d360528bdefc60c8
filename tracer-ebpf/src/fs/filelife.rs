//! filelife's kernel logic on the syscall tracepoints, shared by its two
//! objects: `filelife` (ring buffer) and `filelife_compat` (perf buffer,
//! kernels before 5.8). Opens with O_CREAT, creat and mknod(at) report a
//! file created, unlink(at) one deleted, each with its full path resolved
//! in the kernel at the call (`fs::paths`): a new descriptor's own file, a
//! relative name's start directory. Userspace pairs a deletion with the
//! creation of the same path and prints its age.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::filelife::{Config, DATA_OFFSET, LifeEvent, Op, PendingLife, SYSCALLS, Shape};

use super::paths::Paths;
use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
};

/// The maps and settings of one filelife object.
pub struct Filelife<'a, S> {
    pub config: &'a Global<Config>,
    pub paths: Paths<'a>,
    pub pending: &'a LruHashMap<u32, PendingLife>,
    pub scratch: &'a PerCpuArray<LifeEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Filelife<'_, S> {
    /// sys_enter_*: remember a call of an admitted process that may create
    /// or delete a file. `name` is a user pointer, `dfd` the directory a
    /// relative name starts from.
    #[inline(always)]
    pub fn enter(&self, syscall: usize, name: u64, dfd: i32, exclusive: bool) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && (pid_tgid >> 32) as u32 != target_tgid {
            return;
        }
        let pending = PendingLife { name, dfd, syscall: syscall as u32, exclusive: u32::from(exclusive), _pad: 0 };
        let _ = self.pending.insert(&(pid_tgid as u32), &pending, 0);
    }

    /// sys_exit_*: report the file a successful call created or deleted.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        if ret < 0 {
            return;
        }
        let Some(&(_, shape)) = SYSCALLS.get(pending.syscall as usize) else { return };
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(event) = self.scratch.get_ptr_mut(0).map(|event| unsafe { &mut *event }) else { return };
        let header = &mut event.header;
        // SAFETY: helper without arguments.
        header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        header.pid = (pid_tgid >> 32) as u32;
        header.tid = tid;
        header.syscall = pending.syscall;
        header.exclusive = pending.exclusive;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        match shape {
            Shape::Open { .. } => {
                header.op = Op::Created as u32;
                // The new descriptor's own file: its real path.
                self.paths.read_name(&mut event.path, 0);
                self.paths.walk_from(&mut event.path, ret as i32);
            }
            Shape::Name { op, .. } => {
                header.op = op as u32;
                self.paths.read_name(&mut event.path, pending.name);
                let first = event.path.data[0];
                if first != 0 && first != b'/' {
                    self.paths.walk_from(&mut event.path, pending.dfd);
                }
            }
        }
        let size = opaque(DATA_OFFSET + Paths::used(&event.path));
        if size > core::mem::size_of::<LifeEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The syscall tracepoint programs, identical in both objects: one entry
/// program per syscall (its index in `SYSCALLS` a constant), one exit
/// program attached to every `sys_exit_*`. `$filelife` builds the object's
/// `Filelife`; `$offsets` is its `LIFE_OFFSETS` global.
#[macro_export]
macro_rules! filelife_programs {
    ($filelife:ident, $offsets:ident) => {
        #[inline(always)]
        fn arg(ctx: &TracePointContext, offset: u32) -> u64 {
            // SAFETY: offsets come from the tracepoints' format files.
            unsafe { ctx.read_at::<u64>(offset as usize) }.unwrap_or(0)
        }

        #[inline(always)]
        fn enter(ctx: &TracePointContext, index: usize) {
            use tracer_common::fs::{
                filelife::{O_CREAT, O_EXCL, SYSCALLS, Shape},
                paths::AT_FDCWD,
            };
            let args = [
                arg(ctx, $crate::setting!($offsets, arg0)),
                arg(ctx, $crate::setting!($offsets, arg1)),
                arg(ctx, $crate::setting!($offsets, arg2)),
            ];
            let (dfd, name, rest) = match SYSCALLS[index].1 {
                Shape::Open { dfd: true, .. } | Shape::Name { dfd: true, .. } => (args[0] as i32, args[1], args[2]),
                _ => (AT_FDCWD, args[0], args[1]),
            };
            let flags = match SYSCALLS[index].1 {
                Shape::Open { flags: Some(_), .. } => rest,
                // openat2: the flags lead its `struct open_how`.
                // SAFETY: a user read with the helper.
                Shape::Open { flags: None, dfd: true } => {
                    unsafe { aya_ebpf::helpers::bpf_probe_read_user(rest as *const u64) }.unwrap_or(0)
                }
                // creat: O_CREAT | O_WRONLY | O_TRUNC.
                Shape::Open { flags: None, dfd: false } => O_CREAT,
                Shape::Name { .. } => O_CREAT | O_EXCL,
            };
            if flags & O_CREAT != 0 {
                $filelife().enter(index, name, dfd, flags & O_EXCL != 0);
            }
        }

        #[tracepoint]
        pub fn filelife_enter_open_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("open") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_openat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("openat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_openat2_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("openat2") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_creat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("creat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_mknod_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("mknod") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_mknodat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("mknodat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_unlink_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("unlink") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_unlinkat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("unlinkat") });
            0
        }

        /// Every traced syscall's exit.
        #[tracepoint]
        pub fn filelife_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $filelife().exit(&ctx, ret);
            }
            0
        }
    };
}
