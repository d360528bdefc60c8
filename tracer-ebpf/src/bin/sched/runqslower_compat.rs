//! runqslower for kernels without BTF tracepoints, task-local storage or
//! ring buffers: raw tracepoints (untyped task pointers, probe-read) and
//! classic tracepoints (record fields only), wakeup times hashed by tid,
//! events through a perf buffer. The logic is `tracer_ebpf::sched::runqslower`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    TASK_COMM_LEN,
    offsets::{SchedTracepointOffsets, TaskOffsets},
    sched::runqslower::{Config, RunqslowerEvent, START_MAP_ENTRIES, drop_reason},
};
use tracer_ebpf::{
    sched::{
        runq::{by_tid, now},
        runqslower::Runqslower,
    },
    setting,
    task::{ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQSLOWER_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static SCHED_TP_OFFSETS: Global<SchedTracepointOffsets> = Global::new(SchedTracepointOffsets::UNRESOLVED);

/// tid -> pending wakeup time.
#[map]
static RUNQSLOWER_START: HashMap<u32, u64> = HashMap::with_max_entries(START_MAP_ENTRIES, 0);
#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn runqslower() -> Runqslower<'static, HashMap<u32, u64>, PerfEventByteArray> {
    Runqslower {
        config: &RUNQSLOWER_CONFIG,
        offsets: &TASK_OFFSETS,
        starts: &RUNQSLOWER_START,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

// --- raw_tp: the tracepoint's arguments, untyped.

#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn runqslower_wakeup_raw(ctx: RawTracePointContext) -> i32 {
    runqslower().enqueue(Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup_new")]
pub fn runqslower_wakeup_new_raw(ctx: RawTracePointContext) -> i32 {
    runqslower().enqueue(Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn runqslower_switch_raw(ctx: RawTracePointContext) -> i32 {
    let runqslower = runqslower();
    let preempt: u64 = ctx.arg(0);
    let prev_state = runqslower.switch_has_prev_state().then(|| ctx.arg::<u64>(3) as u32);
    runqslower.switch(&ctx, preempt & 0xff != 0, Task::new(ctx.arg(1)), Task::<ProbeRead>::new(ctx.arg(2)), prev_state);
    0
}

// --- classic tracepoints: record fields only (pids, comms, state), so -t
// and -c but not -p (userspace refuses it on this path).

#[tracepoint(category = "sched", name = "sched_wakeup")]
pub fn runqslower_wakeup_tp(ctx: TracePointContext) -> u32 {
    wakeup_tp(&ctx);
    0
}

#[tracepoint(category = "sched", name = "sched_wakeup_new")]
pub fn runqslower_wakeup_new_tp(ctx: TracePointContext) -> u32 {
    wakeup_tp(&ctx);
    0
}

/// A `[u8; 16]` comm field of the record at `offset`.
#[inline(always)]
fn record_comm(ctx: &TracePointContext, offset: u32) -> [u8; TASK_COMM_LEN] {
    // SAFETY: the offset comes from this tracepoint's format file.
    unsafe { ctx.read_at::<[u8; TASK_COMM_LEN]>(offset as usize) }.unwrap_or([0; TASK_COMM_LEN])
}

#[inline(always)]
fn wakeup_tp(ctx: &TracePointContext) {
    let runqslower = runqslower();
    // SAFETY: the offset comes from this tracepoint's format file.
    let Ok(pid) = (unsafe { ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, wakeup_pid) as usize) }) else { return };
    if runqslower.admits_thread(pid, || record_comm(ctx, setting!(SCHED_TP_OFFSETS, wakeup_comm))) {
        runqslower.queue().start(by_tid(), pid);
    }
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn runqslower_switch_tp(ctx: TracePointContext) -> u32 {
    let runqslower = runqslower();
    // SAFETY: offsets come from this tracepoint's format file.
    let (Ok(prev_pid), Ok(prev_state), Ok(next_pid)) = (unsafe {
        (
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_prev_pid) as usize),
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_prev_state) as usize),
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_next_pid) as usize),
        )
    }) else {
        return 0;
    };
    let prev_comm = || record_comm(&ctx, setting!(SCHED_TP_OFFSETS, switch_prev_comm));
    let Some(wait) = runqslower
        .queue()
        .switch_record(prev_pid, prev_state, next_pid, || runqslower.admits_thread(prev_pid, prev_comm))
    else {
        return 0;
    };
    if !runqslower.slow(wait) {
        return 0;
    }
    let event = RunqslowerEvent {
        timestamp_ns: now(),
        latency_ns: wait,
        tid: next_pid,
        prev_tid: prev_pid,
        comm: record_comm(&ctx, setting!(SCHED_TP_OFFSETS, switch_next_comm)),
        prev_comm: prev_comm(),
    };
    runqslower.send(&ctx, &event);
    0
}
