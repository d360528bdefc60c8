//! The kernel logic of the stack tools: `profile` (perf_event samples) and
//! `offcputime` (sched_switch). Both aggregate into `STACK_COUNTS`, keyed by
//! thread and stack ids, and tell userspace about each new process so it can
//! capture the process's memory maps for symbolization while it still lives.

use aya_ebpf::{
    EbpfContext, Global,
    bindings::{BPF_F_USER_STACK, BPF_NOEXIST},
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated::bpf_get_stack},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::stacks::{
    MAX_STACK_DEPTH, OffcpuConfig, OffcpuStart, ProfileConfig, STACK_ABSENT, STACK_NO_ROOM, STACK_NOT_COLLECTED,
    STACK_STORED, StackFilters, StackFrames, StackKey, ThreadKind, stack_hash, total,
};

use crate::{
    count_drop,
    counters::{self, Added},
    setting,
    task::{FieldReader, Offsets, Task},
};

/// The maps both tools share.
pub struct StackMaps<'a> {
    pub counts: &'a HashMap<StackKey, u64>,
    /// Stacks by the hash of their frames.
    pub stacks: &'a HashMap<u64, StackFrames>,
    /// One per-CPU slot where a stack is walked before it is hashed.
    pub scratch: &'a PerCpuArray<StackFrames>,
    pub pids: &'a HashMap<u32, u8>,
    pub tids: &'a HashMap<u32, u8>,
    pub processes: &'a HashMap<u32, u8>,
    pub totals: &'a PerCpuArray<u64>,
}

/// The current thread: (tid, tgid).
#[inline(always)]
fn current_ids() -> (u32, u32) {
    let pid_tgid = bpf_get_current_pid_tgid();
    (pid_tgid as u32, (pid_tgid >> 32) as u32)
}

impl StackMaps<'_> {
    /// Whether the -p/-L filters let this thread through.
    #[inline(always)]
    fn wanted(&self, filters: &Global<StackFilters>, tid: u32, tgid: u32) -> bool {
        if setting!(*filters, filter_pids) != 0 && self.pids.get_ptr(&tgid).is_none() {
            return false;
        }
        if setting!(*filters, filter_tids) != 0 && self.tids.get_ptr(&tid).is_none() {
            return false;
        }
        true
    }

    /// The key for the current thread and its stacks right now.
    #[inline(always)]
    fn current_key<C: EbpfContext>(&self, ctx: &C, filters: &Global<StackFilters>, tid: u32, tgid: u32) -> StackKey {
        let (user_stack, user_status) = if setting!(*filters, user_stacks) != 0 {
            self.store_stack(ctx, BPF_F_USER_STACK.into())
        } else {
            (0, STACK_NOT_COLLECTED)
        };
        let (kernel_stack, kernel_status) =
            if setting!(*filters, kernel_stacks) != 0 { self.store_stack(ctx, 0) } else { (0, STACK_NOT_COLLECTED) };
        StackKey {
            tid,
            tgid,
            user_stack,
            kernel_stack,
            user_status,
            kernel_status,
            comm: bpf_get_current_comm().unwrap_or([0; 16]),
        }
    }

    /// Walks the current user (`BPF_F_USER_STACK`) or kernel stack, stores
    /// it under the hash of its frames unless already there, and returns
    /// (hash, status).
    #[inline(always)]
    fn store_stack<C: EbpfContext>(&self, ctx: &C, flags: u64) -> (u64, i32) {
        let Some(frames) = self.scratch.get_ptr_mut(0) else { return (0, STACK_NO_ROOM) };
        // SAFETY: a per-CPU map slot: only this CPU uses it while we run.
        let frames = unsafe { &mut *frames };
        let size = (MAX_STACK_DEPTH * 8) as u32;
        // SAFETY: the helper writes at most `size` bytes into the slot.
        let bytes = unsafe { bpf_get_stack(ctx.as_ptr(), frames.ips.as_mut_ptr().cast(), size, flags) };
        if bytes < 0 {
            return (0, bytes as i32);
        }
        let len = (bytes as usize) / 8;
        if len == 0 {
            return (0, STACK_ABSENT);
        }
        frames.len = len as u32;
        let hash = stack_hash(&frames.ips, len);
        if self.stacks.get_ptr(&hash).is_some() {
            return (hash, STACK_STORED);
        }
        match self.stacks.insert(&hash, frames, BPF_NOEXIST.into()) {
            Ok(()) => (hash, STACK_STORED),
            // Another CPU stored the same stack meanwhile.
            Err(err) if err == -17 => (hash, STACK_STORED),
            Err(_) => (0, STACK_NO_ROOM),
        }
    }

    /// Adds `value` to the key's counter; a new key may be a new process,
    /// which userspace learns through `NEW_PROCESSES`.
    #[inline(always)]
    fn count(&self, key: &StackKey, value: u64) {
        match counters::add(self.counts, key, value) {
            Added::Existing => {}
            Added::Full => count_drop!(self.totals, total::COUNTS_MAP_FULL),
            Added::Created => {
                if key.tgid != 0
                    && self.processes.get_ptr(&key.tgid).is_none()
                    && self.processes.insert(&key.tgid, &0, BPF_NOEXIST.into()).is_err()
                    && self.processes.get_ptr(&key.tgid).is_none()
                {
                    count_drop!(self.totals, total::PROCESSES_MAP_FULL);
                }
            }
        }
        count_drop!(self.totals, total::EVENTS);
    }
}

/// One perf_event sample: count the current thread's stacks.
#[inline(always)]
pub fn profile_sample<C: EbpfContext>(ctx: &C, config: &Global<ProfileConfig>, maps: &StackMaps) {
    let (tid, tgid) = current_ids();
    if tid == 0 && setting!(*config, include_idle) == 0 {
        return;
    }
    let filters = filters_of_profile(config);
    if !maps.wanted(filters, tid, tgid) {
        return;
    }
    let key = maps.current_key(ctx, filters, tid, tgid);
    maps.count(&key, 1);
}

/// The filters inside a config global (the first field of both configs).
#[inline(always)]
fn filters_of_profile(config: &Global<ProfileConfig>) -> &Global<StackFilters> {
    // SAFETY: `Global` is transparent and `filters` is the first field of the
    // #[repr(C)] config, so the address is the same.
    unsafe { &*core::ptr::from_ref(config).cast::<Global<StackFilters>>() }
}

#[inline(always)]
fn filters_of_offcpu(config: &Global<OffcpuConfig>) -> &Global<StackFilters> {
    // SAFETY: as `filters_of_profile`.
    unsafe { &*core::ptr::from_ref(config).cast::<Global<StackFilters>>() }
}

/// offcputime's maps and settings.
pub struct Offcpu<'a> {
    pub config: &'a Global<OffcpuConfig>,
    pub offsets: &'a Offsets,
    pub maps: StackMaps<'a>,
    /// tid -> where and when it left the CPU.
    pub starts: &'a HashMap<u32, OffcpuStart>,
}

impl Offcpu<'_> {
    /// Whether sched_switch passes `prev_state` (5.18+); else read the task.
    #[inline(always)]
    pub fn switch_has_prev_state(&self) -> bool {
        setting!(*self.config, switch_has_prev_state) != 0
    }

    /// sched_switch: `prev` is the current task, leaving the CPU in
    /// `prev_state` (None: read it from the task); `next_tid` comes back.
    #[inline(always)]
    pub fn switch<C: EbpfContext, R: FieldReader>(
        &self,
        ctx: &C,
        prev: Task<R>,
        prev_state: Option<u32>,
        next_tid: u32,
    ) {
        self.switch_out(ctx, prev, prev_state);
        self.switch_in(next_tid);
    }

    #[inline(always)]
    fn switch_out<C: EbpfContext, R: FieldReader>(&self, ctx: &C, prev: Task<R>, prev_state: Option<u32>) {
        let (tid, tgid) = current_ids();
        if tid == 0 {
            return;
        }
        let filters = filters_of_offcpu(self.config);
        if !self.maps.wanted(filters, tid, tgid) {
            return;
        }
        let kind = setting!(*self.config, thread_kind);
        if kind != ThreadKind::All as u32 && prev.has_mm(self.offsets) != (kind == ThreadKind::User as u32) {
            return;
        }
        if setting!(*self.config, filter_state) != 0 {
            let state = match prev_state {
                Some(state) => state,
                None => prev.state(self.offsets),
            };
            let wanted = setting!(*self.config, state);
            let matches = if wanted == 0 { state == 0 } else { state & wanted != 0 };
            if !matches {
                return;
            }
        }
        let start = OffcpuStart { key: self.maps.current_key(ctx, filters, tid, tgid), since_ns: now() };
        if self.starts.insert(&tid, &start, 0).is_err() {
            count_drop!(self.maps.totals, total::START_MAP_FULL);
        }
    }

    #[inline(always)]
    fn switch_in(&self, tid: u32) {
        if tid == 0 {
            return;
        }
        // SAFETY: copied out before the entry is removed.
        let Some(start) = (unsafe { self.starts.get(&tid) }).copied() else { return };
        let _ = self.starts.remove(&tid);
        let off_cpu = now().saturating_sub(start.since_ns);
        if off_cpu < setting!(*self.config, min_ns) || off_cpu > setting!(*self.config, max_ns) {
            return;
        }
        self.maps.count(&start.key, off_cpu);
    }
}

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}
