//! runqlat for kernels without BTF tracepoints or task-local storage: raw
//! tracepoints (4.17+, untyped task pointers read with the probe-read helper)
//! and classic tracepoints (record fields only), wakeup times hashed by tid.
//! The logic itself is `tracer_ebpf::sched::runqlat`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    offsets::{SchedTracepointOffsets, TaskOffsets},
    sched::runqlat::{COMM_MAP_ENTRIES, Config, SPARSE_MAP_ENTRIES, START_MAP_ENTRIES, drop_reason},
};
use tracer_ebpf::{
    sched::{runq::by_tid, runqlat::Runqlat},
    setting,
    task::{ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQLAT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static SCHED_TP_OFFSETS: Global<SchedTracepointOffsets> = Global::new(SchedTracepointOffsets::UNRESOLVED);

/// tid -> pending wakeup time.
#[map]
static RUNQLAT_START: HashMap<u32, u64> = HashMap::with_max_entries(START_MAP_ENTRIES, 0);
#[map]
static RUNQLAT_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
#[map]
static RUNQLAT_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_MAP_ENTRIES, 0);
#[map]
static RUNQLAT_COMMS: HashMap<u32, [u8; TASK_COMM_LEN]> = HashMap::with_max_entries(COMM_MAP_ENTRIES, 0);
#[map]
static RUNQLAT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn runqlat() -> Runqlat<'static, HashMap<u32, u64>> {
    Runqlat {
        config: &RUNQLAT_CONFIG,
        offsets: &TASK_OFFSETS,
        starts: &RUNQLAT_START,
        hist: &RUNQLAT_HIST,
        sparse: &RUNQLAT_SPARSE,
        comms: &RUNQLAT_COMMS,
        drops: &RUNQLAT_DROPS,
    }
}

// --- raw_tp: the tracepoint's arguments, untyped.

#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn runqlat_wakeup_raw(ctx: RawTracePointContext) -> i32 {
    runqlat().enqueue(Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup_new")]
pub fn runqlat_wakeup_new_raw(ctx: RawTracePointContext) -> i32 {
    runqlat().enqueue(Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn runqlat_switch_raw(ctx: RawTracePointContext) -> i32 {
    let runqlat = runqlat();
    let preempt: u64 = ctx.arg(0);
    let prev_state = runqlat.switch_has_prev_state().then(|| ctx.arg::<u64>(3) as u32);
    runqlat.switch(preempt & 0xff != 0, Task::new(ctx.arg(1)), Task::<ProbeRead>::new(ctx.arg(2)), prev_state);
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
    // SAFETY: the offset comes from this tracepoint's format file.
    if let Ok(pid) = unsafe { ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, wakeup_pid) as usize) } {
        runqlat().queue().start(by_tid(), pid);
    }
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn runqlat_switch_tp(ctx: TracePointContext) -> u32 {
    let runqlat = runqlat();
    // SAFETY: offsets come from this tracepoint's format file.
    unsafe {
        let (Ok(prev_pid), Ok(prev_state), Ok(next_pid)) = (
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_prev_pid) as usize),
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_prev_state) as usize),
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_next_pid) as usize),
        ) else {
            return 0;
        };
        let Some(wait) = runqlat.queue().switch_record(prev_pid, prev_state, next_pid, || true) else { return 0 };
        runqlat.record(next_pid, wait, || {
            ctx.read_at::<[u8; TASK_COMM_LEN]>(setting!(SCHED_TP_OFFSETS, switch_next_comm) as usize)
                .unwrap_or([0; TASK_COMM_LEN])
        });
    }
    0
}
