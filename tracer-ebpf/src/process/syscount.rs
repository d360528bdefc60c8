//! syscount's kernel logic: count (and with `-L` time) every syscall at
//! raw_syscalls:sys_exit, per syscall in a per-CPU array or per process in
//! a per-CPU hash. No atomics, no shared cache lines: userspace sums CPUs.
//!
//! One object serves tp_btf, raw_tp and classic tracepoints: its maps exist
//! on every kernel.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
};
use tracer_common::process::syscount::{Config, MAX_SYSCALLS, ProcessStats, SyscallStats, drop_reason};

use crate::{count_drop, events::opaque, setting};

/// The maps and settings of the syscount object.
pub struct Syscount<'a> {
    pub config: &'a Global<Config>,
    pub starts: &'a HashMap<u32, u64>,
    pub by_id: &'a PerCpuArray<SyscallStats>,
    pub by_process: &'a PerCpuHashMap<u32, ProcessStats>,
    pub drops: &'a PerCpuArray<u64>,
}

const EEXIST: i32 = 17;

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl Syscount<'_> {
    /// sys_enter (attached only with `-L`): remember when the thread entered.
    #[inline(always)]
    pub fn enter(&self, id: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target = setting!(*self.config, target_tgid);
        if target != 0 && (pid_tgid >> 32) as u32 != target {
            return;
        }
        // exit and exit_group never reach sys_exit: their start would stay.
        let id = id as u32;
        if id == setting!(*self.config, no_return_a) || id == setting!(*self.config, no_return_b) {
            return;
        }
        if self.starts.insert(&(pid_tgid as u32), &now(), 0).is_err() {
            count_drop!(self.drops, drop_reason::START_MAP_FULL);
        }
    }

    /// sys_exit: syscall `id` returned `ret`.
    #[inline(always)]
    pub fn exit(&self, id: i64, ret: i64) {
        // -1: not a syscall (e.g. a signal return path, or ptrace skipped it).
        if id < 0 {
            return;
        }
        let pid_tgid = bpf_get_current_pid_tgid();
        let tgid = (pid_tgid >> 32) as u32;
        let target = setting!(*self.config, target_tgid);
        if (target != 0 && tgid != target) || tgid == setting!(*self.config, self_tgid) {
            return;
        }
        if setting!(*self.config, failed_only) != 0 && ret >= 0 {
            return;
        }
        let errno = setting!(*self.config, errno);
        if errno != 0 && ret != -i64::from(errno) {
            return;
        }
        let mut elapsed = 0;
        if setting!(*self.config, latency) != 0 {
            let tid = pid_tgid as u32;
            // SAFETY: copied out before the entry is removed.
            let Some(start) = (unsafe { self.starts.get(&tid) }).copied() else { return };
            let _ = self.starts.remove(&tid);
            elapsed = now().saturating_sub(start);
        }
        if setting!(*self.config, by_process) != 0 {
            self.count_process(tgid, elapsed);
            return;
        }
        let slot = opaque(id as u32);
        if slot >= MAX_SYSCALLS {
            count_drop!(self.drops, drop_reason::UNKNOWN_SYSCALL);
            return;
        }
        if let Some(stats) = self.by_id.get_ptr_mut(slot) {
            // SAFETY: this CPU's slot; nothing else writes it while we run.
            unsafe {
                (*stats).count += 1;
                (*stats).total_ns += elapsed;
            }
        }
    }

    #[inline(always)]
    fn count_process(&self, tgid: u32, elapsed: u64) {
        let stats = match self.by_process.get_ptr_mut(&tgid) {
            Some(stats) => stats,
            None => {
                let fresh = ProcessStats { count: 0, total_ns: 0, comm: bpf_get_current_comm().unwrap_or([0; 16]) };
                // EEXIST: another CPU made the entry meanwhile (ours is zeroed).
                match self.by_process.insert(&tgid, &fresh, BPF_NOEXIST.into()) {
                    Ok(()) => {}
                    Err(err) if err == -EEXIST => {}
                    Err(_) => {
                        count_drop!(self.drops, drop_reason::PROCESS_MAP_FULL);
                        return;
                    }
                }
                let Some(stats) = self.by_process.get_ptr_mut(&tgid) else { return };
                stats
            }
        };
        // SAFETY: this CPU's value of the entry.
        unsafe {
            (*stats).count += 1;
            (*stats).total_ns += elapsed;
        }
    }
}
