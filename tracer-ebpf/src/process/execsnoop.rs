//! execsnoop's kernel logic, shared by its two objects: `execsnoop` (tp_btf,
//! ring buffer) and `execsnoop_compat` (raw_tp or classic tracepoint, perf
//! buffer).
//!
//! A successful exec is reported from sched_process_exec, reading argv from
//! the new process's `mm->arg_start..arg_end`: the kernel has just copied the
//! strings there, so they are resident (reading the caller's argv at syscall
//! entry misses pages that are not). The file name comes from
//! `bprm->filename`. Failed execs (-x) remember the syscall's user pointers
//! at entry and read them at exit, only when the exec failed.

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid,
        bpf_ktime_get_ns, bpf_probe_read_user,
        generated::{bpf_probe_read_kernel_str, bpf_probe_read_user_str},
    },
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::process::execsnoop::{
    ARG_CHUNK, ARGS_BYTES, ARGS_CAPACITY, ARGS_OFFSET, Config, ExecEvent, FILENAME_CHUNK, MAX_ARGS_LIMIT, PendingExec,
};

use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
    task::{FieldReader, Offsets, ProbeRead, Task},
};

/// The maps and settings of one execsnoop object.
pub struct Execsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Offsets,
    pub scratch: &'a PerCpuArray<ExecEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
    pub pending: &'a LruHashMap<u32, PendingExec>,
}

impl<S: EventSink> Execsnoop<'_, S> {
    /// uid, parent and cgroup filters; returns (uid, ppid) of an admitted task.
    #[inline(always)]
    fn admit<R: FieldReader>(&self, task: Task<R>) -> Option<(u32, u32)> {
        let uid = bpf_get_current_uid_gid() as u32;
        let target_uid = setting!(*self.config, target_uid);
        if target_uid != u32::MAX && uid != target_uid {
            return None;
        }
        let ppid = task.ppid(self.offsets);
        let target_ppid = setting!(*self.config, target_ppid);
        if target_ppid != 0 && ppid != target_ppid {
            return None;
        }
        if setting!(*self.config, filter_cgroup) != 0
            && !task.in_cgroup(self.offsets, setting!(*self.config, cgroup_level), setting!(*self.config, cgroup_id))
        {
            return None;
        }
        Some((uid, ppid))
    }

    /// The scratch event with its header filled in.
    #[inline(always)]
    fn start_event(&self, uid: u32, ppid: u32, retval: i32) -> Option<&mut ExecEvent> {
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let event = unsafe { &mut *self.scratch.get_ptr_mut(0)? };
        let header = &mut event.header;
        // SAFETY: helper without arguments.
        header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        header.pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        header.ppid = ppid;
        header.uid = uid;
        header.retval = retval;
        header.args_len = 0;
        header.args_truncated = 0;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        Some(event)
    }

    /// Sends the event's header and the used part of its arguments.
    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, event: &ExecEvent) {
        let size = opaque(ARGS_OFFSET + event.header.args_len as usize);
        if size > core::mem::size_of::<ExecEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// sched_process_exec: `task` (current) now runs the new image;
    /// `filename` is the kernel string `bprm->filename`.
    #[inline(always)]
    pub fn exec<R: FieldReader, C: EbpfContext>(&self, ctx: &C, task: Task<R>, filename: *const u8) {
        let Some((uid, ppid)) = self.admit(task) else { return };
        let Some(event) = self.start_event(uid, ppid, 0) else { return };
        // SAFETY: a kernel string, read with the helper into the event.
        let name = unsafe {
            bpf_probe_read_kernel_str(event.args.as_mut_ptr().cast(), FILENAME_CHUNK as u32, filename.cast())
        };
        let name_len = if name > 0 { opaque(name as usize) } else { 0 };
        if name_len > FILENAME_CHUNK {
            return;
        }
        let mut used = name_len;
        if let Some((start, end)) = task.argv_range(self.offsets) {
            let total = end.saturating_sub(start) as usize;
            let wanted = opaque(if total > ARGS_BYTES { ARGS_BYTES } else { total });
            if wanted <= ARGS_BYTES && wanted > 0 {
                let dst = event.args.as_mut_ptr().wrapping_add(name_len);
                // SAFETY: dst + wanted <= FILENAME_CHUNK + ARGS_BYTES <= ARGS_CAPACITY.
                let read = unsafe {
                    aya_ebpf::helpers::generated::bpf_probe_read_user(dst.cast(), wanted as u32, start as *const c_void)
                };
                if read == 0 {
                    used += wanted;
                }
            }
            event.header.args_truncated = u32::from(total > wanted);
        }
        event.header.args_len = used as u32;
        self.send(ctx, event);
    }

    /// sys_enter_execve(at): remember where the file name and argv are, in
    /// case the exec fails.
    #[inline(always)]
    pub fn enter(&self, filename: u64, argv: u64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        let _ = self.pending.insert(&tid, &PendingExec { filename, argv }, 0);
    }

    /// sys_exit_execve(at): report a failed exec with its arguments, read
    /// from the caller's memory (which the failed exec left in place).
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        if ret >= 0 {
            return;
        }
        // SAFETY: the current task pointer.
        let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
        let Some((uid, ppid)) = self.admit(task) else { return };
        let Some(event) = self.start_event(uid, ppid, ret as i32) else { return };
        let mut used = 0usize;
        let mut truncated = 0u32;
        // The file name, then argv[0..max_args], each NUL-terminated.
        let max_args = setting!(*self.config, max_args);
        for index in 0..=MAX_ARGS_LIMIT as usize {
            let source = if index == 0 {
                pending.filename
            } else {
                // SAFETY: a user pointer read with the helper.
                match unsafe { bpf_probe_read_user((pending.argv + (index as u64 - 1) * 8) as *const u64) } {
                    Ok(pointer) => pointer,
                    Err(_) => break,
                }
            };
            if source == 0 {
                break;
            }
            if index as u32 > max_args || used >= ARGS_BYTES {
                truncated = 1;
                break;
            }
            let dst = event.args.as_mut_ptr().wrapping_add(opaque(used) & (ARGS_BYTES - 1));
            // SAFETY: dst + ARG_CHUNK <= ARGS_BYTES - 1 + ARG_CHUNK < ARGS_CAPACITY.
            let read = unsafe { bpf_probe_read_user_str(dst.cast(), ARG_CHUNK as u32, source as *const c_void) };
            if read <= 0 {
                break;
            }
            used += read as usize;
            if read as usize == ARG_CHUNK {
                truncated = 1;
            }
        }
        event.header.args_len = used.min(ARGS_CAPACITY) as u32;
        event.header.args_truncated = truncated;
        self.send(ctx, event);
    }
}

/// The failed-exec programs (classic syscall tracepoints, which every
/// kernel has), identical in both objects. `$execsnoop` builds the
/// object's `Execsnoop`; `$offsets` is its `EXEC_OFFSETS` global.
#[macro_export]
macro_rules! execsnoop_syscall_programs {
    ($execsnoop:ident, $offsets:ident) => {
        #[tracepoint(category = "syscalls", name = "sys_enter_execve")]
        pub fn execsnoop_enter_execve_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: offsets come from the tracepoint's format file.
            unsafe {
                if let (Ok(filename), Ok(argv)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, execve_filename) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, execve_argv) as usize),
                ) {
                    $execsnoop().enter(filename, argv);
                }
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_enter_execveat")]
        pub fn execsnoop_enter_execveat_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: offsets come from the tracepoint's format file.
            unsafe {
                if let (Ok(filename), Ok(argv)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, execveat_filename) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, execveat_argv) as usize),
                ) {
                    $execsnoop().enter(filename, argv);
                }
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_execve")]
        pub fn execsnoop_exit_execve_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoint's format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $execsnoop().exit(&ctx, ret);
            }
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_execveat")]
        pub fn execsnoop_exit_execveat_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoint's format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $execsnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
