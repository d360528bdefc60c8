//! runqlat: time from a task becoming runnable (wakeup, new task, or
//! preemption while still runnable) to it running on a CPU.
//!
//! One program per tracepoint and hook kind: tp_btf and raw_tp receive the
//! task pointers of the tracepoint's prototype; the classic tracepoint only
//! its record fields. Userspace loads the best kind this kernel supports.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    helpers::bpf_ktime_get_ns,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    offsets::{SchedTracepointOffsets, TaskOffsets},
    runqlat::{COMM_MAP_ENTRIES, Config, Keying, SPARSE_MAP_ENTRIES, START_MAP_ENTRIES, drop_reason},
};
use tracer_ebpf::{
    count_drop,
    hist::{record_dense, record_sparse},
    task::Task,
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQLAT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static SCHED_TP_OFFSETS: Global<SchedTracepointOffsets> = Global::new(SchedTracepointOffsets::UNRESOLVED);

/// tid -> time it became runnable.
#[map]
static RUNQLAT_START: HashMap<u32, u64> = HashMap::with_max_entries(START_MAP_ENTRIES, 0);
/// The single histogram when not split by owner (index 0, per CPU).
#[map]
static RUNQLAT_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
/// Per-owner histograms (-P, -L, --pidnss).
#[map]
static RUNQLAT_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_MAP_ENTRIES, 0);
/// Owner -> comm of the first task seen for it.
#[map]
static RUNQLAT_COMMS: HashMap<u32, [u8; TASK_COMM_LEN]> = HashMap::with_max_entries(COMM_MAP_ENTRIES, 0);
/// Per-CPU counters of lost samples, indexed by `drop_reason`.
#[map]
static RUNQLAT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

/// Linux reports a preempted task's state as TASK_REPORT_MAX (0x100 since 4.14)
/// in the classic sched_switch record; real sleep states are below it.
const TASK_REPORT_MAX: u32 = 0x100;

#[inline(always)]
fn store_start(tid: u32) {
    if tid == 0 {
        return;
    }
    // SAFETY: helper call without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    if RUNQLAT_START.insert(tid, now, 0).is_err() {
        count_drop!(RUNQLAT_DROPS, drop_reason::START_MAP_FULL);
    }
}

/// A task became runnable: start its clock if it passes the filters.
#[inline(always)]
fn enqueue(task: Task) {
    let config = RUNQLAT_CONFIG.load();
    let offsets = TASK_OFFSETS.load();
    if config.target_tgid != 0 && task.tgid(&offsets) != config.target_tgid {
        return;
    }
    if config.filter_cgroup != 0 && !task.in_cgroup(&offsets, config.cgroup_level, config.cgroup_id) {
        return;
    }
    store_start(task.tid(&offsets));
}

/// Takes the pending start time of `tid`, if any, and returns how long it waited.
#[inline(always)]
fn take_wait(tid: u32) -> Option<u64> {
    if tid == 0 {
        return None;
    }
    // SAFETY: the value is copied out before the entry is removed.
    let start = unsafe { *RUNQLAT_START.get(tid)? };
    let _ = RUNQLAT_START.remove(tid);
    // SAFETY: helper call without arguments.
    Some(unsafe { bpf_ktime_get_ns() }.saturating_sub(start))
}

#[inline(always)]
fn record(owner: u32, wait: u64, comm: impl FnOnce() -> [u8; TASK_COMM_LEN]) {
    let config = RUNQLAT_CONFIG.load();
    if config.keying == Keying::Total as u32 {
        record_dense(RUNQLAT_HIST.get_ptr_mut(0), wait);
        return;
    }
    if !record_sparse(&RUNQLAT_SPARSE, owner, wait) {
        count_drop!(RUNQLAT_DROPS, drop_reason::HIST_MAP_FULL);
        return;
    }
    if RUNQLAT_COMMS.get_ptr(owner).is_none() {
        let _ = RUNQLAT_COMMS.insert(owner, comm(), aya_ebpf::bindings::BPF_NOEXIST.into());
    }
}

/// The shared sched_switch logic for the hooks that see task pointers.
#[inline(always)]
fn switch(preempt: bool, prev: Task, next: Task, prev_state: Option<u32>) {
    let offsets = TASK_OFFSETS.load();
    let config = RUNQLAT_CONFIG.load();
    let state = match prev_state {
        Some(state) if config.switch_has_prev_state != 0 => state,
        _ => prev.state(&offsets),
    };
    // A task leaving the CPU while still runnable goes straight back on a run queue.
    if preempt || state == 0 {
        enqueue(prev);
    }
    let tid = next.tid(&offsets);
    let Some(wait) = take_wait(tid) else { return };
    let owner = match config.keying {
        k if k == Keying::Process as u32 => next.tgid(&offsets),
        k if k == Keying::PidNamespace as u32 => next.pid_ns_inum(&offsets),
        _ => tid,
    };
    record(owner, wait, || next.comm(&offsets));
}

// --- tp_btf: typed arguments, cheapest to enter.

#[btf_tracepoint(function = "sched_wakeup")]
pub fn runqlat_wakeup_btf(ctx: BtfTracePointContext) -> i32 {
    enqueue(Task(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_wakeup_new")]
pub fn runqlat_wakeup_new_btf(ctx: BtfTracePointContext) -> i32 {
    enqueue(Task(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_switch")]
pub fn runqlat_switch_btf(ctx: BtfTracePointContext) -> i32 {
    let preempt: u64 = ctx.arg(0);
    let prev_state = if RUNQLAT_CONFIG.load().switch_has_prev_state != 0 {
        Some(ctx.arg::<u64>(3) as u32)
    } else {
        None
    };
    switch(preempt & 0xff != 0, Task(ctx.arg(1)), Task(ctx.arg(2)), prev_state);
    0
}

// --- raw_tp: same arguments, untyped (kernels without tp_btf, 4.17+).

#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn runqlat_wakeup_raw(ctx: RawTracePointContext) -> i32 {
    enqueue(Task(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup_new")]
pub fn runqlat_wakeup_new_raw(ctx: RawTracePointContext) -> i32 {
    enqueue(Task(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn runqlat_switch_raw(ctx: RawTracePointContext) -> i32 {
    let preempt: u64 = ctx.arg(0);
    let prev_state = if RUNQLAT_CONFIG.load().switch_has_prev_state != 0 {
        Some(ctx.arg::<u64>(3) as u32)
    } else {
        None
    };
    switch(preempt & 0xff != 0, Task(ctx.arg(1)), Task(ctx.arg(2)), prev_state);
    0
}

// --- classic tracepoints: record fields only (pids, state, comm), so only
// whole-system and per-thread histograms; userspace refuses the rest.

#[tracepoint(category = "sched", name = "sched_wakeup")]
pub fn runqlat_wakeup_tp(ctx: TracePointContext) -> u32 {
    wakeup_tp(&ctx);
    0
}

#[tracepoint(category = "sched", name = "sched_wakeup_new")]
pub fn runqlat_wakeup_new_tp(ctx: TracePointContext) -> u32 {
    wakeup_tp(&ctx);
    0
}

#[inline(always)]
fn wakeup_tp(ctx: &TracePointContext) {
    let offsets = SCHED_TP_OFFSETS.load();
    // SAFETY: offsets come from this tracepoint's format file.
    if let Ok(pid) = unsafe { ctx.read_at::<u32>(offsets.wakeup_pid as usize) } {
        store_start(pid);
    }
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn runqlat_switch_tp(ctx: TracePointContext) -> u32 {
    let offsets = SCHED_TP_OFFSETS.load();
    // SAFETY: offsets come from this tracepoint's format file.
    unsafe {
        let (Ok(prev_pid), Ok(prev_state), Ok(next_pid)) = (
            ctx.read_at::<u32>(offsets.switch_prev_pid as usize),
            ctx.read_at::<u32>(offsets.switch_prev_state as usize),
            ctx.read_at::<u32>(offsets.switch_next_pid as usize),
        ) else {
            return 0;
        };
        if prev_state == 0 || prev_state >= TASK_REPORT_MAX {
            store_start(prev_pid);
        }
        let Some(wait) = take_wait(next_pid) else { return 0 };
        record(next_pid, wait, || {
            ctx.read_at::<[u8; TASK_COMM_LEN]>(offsets.switch_next_comm as usize).unwrap_or([0; TASK_COMM_LEN])
        });
    }
    0
}
