//! mountsnoop's kernel logic, shared by its two objects: `mountsnoop` (ring
//! buffer) and `mountsnoop_compat` (perf buffer, kernels before 5.8). Both
//! hook the classic sys_enter/sys_exit tracepoints of mount, umount, fsopen,
//! fsconfig, fsmount, move_mount and open_tree
//! (`tracer_common::fs::mountsnoop::SYSCALLS`), as libbpf-tools' mountsnoop
//! does: the kernel has no BTF or raw tracepoint per syscall.
//!
//! Entry stamps the call and keeps its raw arguments by thread; exit reads
//! the string arguments (still in the caller's memory) and reports the call
//! with its latency and the caller's mount namespace.

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns,
        generated::bpf_probe_read_user_str,
    },
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::mountsnoop::{
    ARGS, Config, MountEvent, MountOffsets, PendingMount, STRING_BYTES, STRINGS, STRINGS_OFFSET,
};

use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
    task::probe_read,
};

/// The maps and settings of one mountsnoop object.
pub struct Mountsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<MountOffsets>,
    pub pending: &'a LruHashMap<u32, PendingMount>,
    pub scratch: &'a PerCpuArray<MountEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl<S: EventSink> Mountsnoop<'_, S> {
    /// sys_enter_*: stamp the call of an admitted process and keep its
    /// arguments; `strings` says which of them are strings.
    #[inline(always)]
    pub fn enter(&self, syscall: usize, args: [u64; ARGS], strings: [u8; STRINGS]) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && (pid_tgid >> 32) as u32 != target_tgid {
            return;
        }
        let pending = PendingMount { start_ns: now(), args, syscall: syscall as u32, strings };
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
        event.timestamp_ns = now();
        event.latency_ns = event.timestamp_ns.saturating_sub(pending.start_ns);
        event.args = pending.args;
        event.ret = ret;
        event.pid = (pid_tgid >> 32) as u32;
        event.tid = tid;
        event.mnt_ns = self.mount_namespace();
        event.syscall = pending.syscall;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        let mut used = 0;
        for slot in 0..STRINGS {
            event.string_lens[slot] = 0;
            let arg = pending.strings[slot] as usize;
            if arg >= ARGS {
                continue;
            }
            used = slot + 1;
            // From the event (map memory): the verifier refuses variable stack reads.
            let pointer = event.args[arg];
            if pointer == 0 {
                event.strings[slot][0] = 0;
                continue;
            }
            // SAFETY: a user string read with the helper into the event.
            let read = unsafe {
                bpf_probe_read_user_str(
                    event.strings[slot].as_mut_ptr().cast(),
                    STRING_BYTES as u32,
                    pointer as *const c_void,
                )
            };
            event.string_lens[slot] = if read > 0 { read as u32 } else { 0 };
        }
        let size = opaque(STRINGS_OFFSET + used * STRING_BYTES);
        if size > core::mem::size_of::<MountEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// The inode number of the current task's mount namespace (0 if
    /// unreadable).
    #[inline(always)]
    fn mount_namespace(&self) -> u32 {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let task = bpf_get_current_task() as *const u8;
            let Some(nsproxy) = probe_read::<*const u8>(task, setting!(*offsets, task_nsproxy)) else { return 0 };
            let Some(ns) = probe_read::<*const u8>(nsproxy, setting!(*offsets, nsproxy_mnt_ns)) else { return 0 };
            probe_read::<u32>(ns, setting!(*offsets, mnt_ns_inum)).unwrap_or(0)
        }
    }
}

/// The syscall tracepoint programs, identical in both objects: one entry
/// program per syscall (its index in `SYSCALLS` a constant), one exit
/// program attached to every `sys_exit_*`. `$mountsnoop` builds the
/// object's `Mountsnoop`; `$offsets` is its `MOUNT_OFFSETS` global.
#[macro_export]
macro_rules! mountsnoop_programs {
    ($mountsnoop:ident, $offsets:ident) => {
        #[inline(always)]
        fn enter(ctx: &TracePointContext, index: usize, strings: [u8; tracer_common::fs::mountsnoop::STRINGS]) {
            let base = $crate::global_ptr(&$offsets);
            let mut args = [0u64; tracer_common::fs::mountsnoop::ARGS];
            for (arg, value) in args.iter_mut().enumerate() {
                // SAFETY: `Global<T>` wraps an initialised `T`; the offsets come
                // from the tracepoints' format files (MAX: the syscall has fewer).
                let offset = unsafe { core::ptr::read_volatile(&raw const (*base).args[arg]) };
                if offset != u32::MAX {
                    // SAFETY: see above.
                    *value = unsafe { ctx.read_at::<u64>(offset as usize) }.unwrap_or(0);
                }
            }
            $mountsnoop().enter(index, args, strings);
        }

        #[tracepoint]
        pub fn mountsnoop_enter_mount_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("mount");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_umount_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("umount");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_fsopen_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("fsopen");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_fsconfig_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("fsconfig");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_fsmount_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("fsmount");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_move_mount_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("move_mount");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        #[tracepoint]
        pub fn mountsnoop_enter_open_tree_tp(ctx: TracePointContext) -> u32 {
            const INDEX: usize = tracer_common::fs::mountsnoop::syscall_index("open_tree");
            enter(&ctx, INDEX, const { tracer_common::fs::mountsnoop::string_args(INDEX) });
            0
        }

        /// Every traced syscall's exit.
        #[tracepoint]
        pub fn mountsnoop_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $mountsnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
