//! sigsnoop's kernel logic, shared by `sigsnoop` (tp_btf, ring buffer) and
//! `sigsnoop_compat` (raw_tp or classic tracepoint, perf buffer).
//!
//! By default one event per signal_generate: the sender is the current
//! task, the target the tracepoint's task, RESULT its `result`
//! (TRACE_SIGNAL_DELIVERED = 0, ...). In kill mode (-k, killsnoop) the
//! events come from the kill syscalls: entry keeps the call per thread,
//! exit sends it with the syscall's return, and signal_generate, firing in
//! between, only names the target of a call in flight.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    process::sigsnoop::{Config, SOURCE_GENERATE, SigEvent},
};

use crate::{
    events::{EventSink, send_or_count},
    setting,
};

pub struct Sigsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub pending: &'a LruHashMap<u32, SigEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Sigsnoop<'_, S> {
    /// The signal, sender process and target filters.
    #[inline(always)]
    fn wanted(&self, pid: u32, sig: i32, tpid: i32) -> bool {
        let signals = setting!(*self.config, signals);
        if signals != 0 && !(1..=64).contains(&sig) {
            return false;
        }
        if signals != 0 && (signals >> ((sig - 1) as u64 & 63)) & 1 == 0 {
            return false;
        }
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && pid != target_pid {
            return false;
        }
        let target_tpid = setting!(*self.config, target_tpid);
        target_tpid == 0 || tpid == target_tpid
    }

    /// The sender's comm, if it passes --comm.
    #[inline(always)]
    fn sender_comm(&self) -> Option<[u8; TASK_COMM_LEN]> {
        let comm = bpf_get_current_comm().unwrap_or([0; TASK_COMM_LEN]);
        if setting!(*self.config, filter_comm) != 0 {
            let wanted = setting!(*self.config, comm);
            let mut i = 0;
            while i < TASK_COMM_LEN {
                if comm[i] != wanted[i] {
                    return None;
                }
                if comm[i] == 0 {
                    break;
                }
                i += 1;
            }
        }
        Some(comm)
    }

    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, event: &SigEvent) {
        // SAFETY: the event is plain data.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), core::mem::size_of::<SigEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// signal_generate(sig, ..., task, group, result): `tpid` and `tcomm`
    /// are the task's.
    #[inline(always)]
    pub fn generate<C: EbpfContext>(&self, ctx: &C, sig: i32, tpid: i32, tcomm: [u8; TASK_COMM_LEN], result: i32) {
        let pid_tgid = bpf_get_current_pid_tgid();
        if setting!(*self.config, kill_mode) != 0 {
            let Some(call) = self.pending.get_ptr_mut(&(pid_tgid as u32)) else { return };
            // SAFETY: the entry is this thread's; only it writes it.
            unsafe {
                if (*call).tcomm[0] == 0 && (*call).tpid == tpid {
                    (*call).tcomm = tcomm;
                }
            }
            return;
        }
        if setting!(*self.config, failed_only) != 0 && result == 0 {
            return;
        }
        let pid = (pid_tgid >> 32) as u32;
        if !self.wanted(pid, sig, tpid) {
            return;
        }
        let Some(comm) = self.sender_comm() else { return };
        let event = SigEvent {
            // SAFETY: helper without arguments.
            timestamp_ns: unsafe { bpf_ktime_get_ns() },
            pid,
            tid: pid_tgid as u32,
            tpid,
            sig,
            ret: result,
            source: SOURCE_GENERATE,
            comm,
            tcomm,
        };
        self.send(ctx, &event);
    }

    /// sys_enter_kill/tkill/tgkill: keep the call until its exit.
    #[inline(always)]
    pub fn enter(&self, source: u32, tpid: i32, sig: i32) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let pid = (pid_tgid >> 32) as u32;
        if !self.wanted(pid, sig, tpid) {
            return;
        }
        let Some(comm) = self.sender_comm() else { return };
        let event = SigEvent {
            // SAFETY: helper without arguments.
            timestamp_ns: unsafe { bpf_ktime_get_ns() },
            pid,
            tid: pid_tgid as u32,
            tpid,
            sig,
            ret: 0,
            source,
            comm,
            tcomm: [0; TASK_COMM_LEN],
        };
        let _ = self.pending.insert(&(pid_tgid as u32), &event, 0);
    }

    /// sys_exit_kill/tkill/tgkill: send the call with its return.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(mut event) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        if setting!(*self.config, failed_only) != 0 && ret >= 0 {
            return;
        }
        event.ret = ret as i32;
        self.send(ctx, &event);
    }
}

/// The syscall programs, identical in both objects; `$tool` builds the
/// object's `Sigsnoop`, `$offsets` is its `SIGNAL_OFFSETS` global.
#[macro_export]
macro_rules! sigsnoop_syscall_programs {
    ($tool:ident, $offsets:ident) => {
        #[tracepoint]
        pub fn sigsnoop_kill_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: offsets come from the tracepoint's format file.
            unsafe {
                if let (Ok(pid), Ok(sig)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, kill_pid) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, kill_sig) as usize),
                ) {
                    $tool().enter(tracer_common::process::sigsnoop::SOURCE_KILL, pid as i32, sig as i32);
                }
            }
            0
        }

        #[tracepoint]
        pub fn sigsnoop_tkill_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: as above.
            unsafe {
                if let (Ok(pid), Ok(sig)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, tkill_pid) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, tkill_sig) as usize),
                ) {
                    $tool().enter(tracer_common::process::sigsnoop::SOURCE_TKILL, pid as i32, sig as i32);
                }
            }
            0
        }

        #[tracepoint]
        pub fn sigsnoop_tgkill_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: as above.
            unsafe {
                if let (Ok(pid), Ok(sig)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, tgkill_pid) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, tgkill_sig) as usize),
                ) {
                    $tool().enter(tracer_common::process::sigsnoop::SOURCE_TGKILL, pid as i32, sig as i32);
                }
            }
            0
        }

        /// One program on the exits of all three.
        #[tracepoint]
        pub fn sigsnoop_kill_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: as above.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $tool().exit(&ctx, ret);
            }
            0
        }

        /// The classic signal_generate record.
        #[tracepoint]
        pub fn sigsnoop_generate_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: as above.
            unsafe {
                if let (Ok(sig), Ok(comm), Ok(pid), Ok(result)) = (
                    ctx.read_at::<i32>($crate::setting!($offsets, generate_sig) as usize),
                    ctx.read_at::<[u8; 16]>($crate::setting!($offsets, generate_comm) as usize),
                    ctx.read_at::<i32>($crate::setting!($offsets, generate_pid) as usize),
                    ctx.read_at::<i32>($crate::setting!($offsets, generate_result) as usize),
                ) {
                    $tool().generate(&ctx, sig, pid, comm, result);
                }
            }
            0
        }
    };
}
