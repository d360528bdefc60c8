//! runqlat, BTF-typed tracepoints (5.11+): typed task pointers are read with
//! plain loads and wakeup times live in task-local storage, so the hot path
//! has no hashing and no probe-read helpers. Older kernels use
//! `runqlat_compat`. The logic itself is `tracer_ebpf::sched::runqlat`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_map, btf_tracepoint, map},
    maps::{HashMap, PerCpuArray},
    programs::BtfTracePointContext,
};
use tracer_common::{
    TASK_COMM_LEN,
    hist::{Histogram, SparseKey},
    offsets::TaskOffsets,
    sched::runqlat::{COMM_MAP_ENTRIES, Config, SPARSE_MAP_ENTRIES, drop_reason},
};
use tracer_ebpf::{
    sched::runqlat::Runqlat,
    storage::TaskStorage,
    task::{DirectLoad, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQLAT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

/// Each task's pending wakeup time.
#[btf_map]
static RUNQLAT_START: TaskStorage<u64> = TaskStorage::new();
#[map]
static RUNQLAT_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
#[map]
static RUNQLAT_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_MAP_ENTRIES, 0);
#[map]
static RUNQLAT_COMMS: HashMap<u32, [u8; TASK_COMM_LEN]> = HashMap::with_max_entries(COMM_MAP_ENTRIES, 0);
#[map]
static RUNQLAT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn runqlat() -> Runqlat<'static, TaskStorage<u64>> {
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

#[btf_tracepoint(function = "sched_wakeup")]
pub fn runqlat_wakeup_btf(ctx: BtfTracePointContext) -> i32 {
    runqlat().enqueue(Task::<DirectLoad>::new(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_wakeup_new")]
pub fn runqlat_wakeup_new_btf(ctx: BtfTracePointContext) -> i32 {
    runqlat().enqueue(Task::<DirectLoad>::new(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_switch")]
pub fn runqlat_switch_btf(ctx: BtfTracePointContext) -> i32 {
    let runqlat = runqlat();
    let preempt: u64 = ctx.arg(0);
    let prev_state = runqlat.switch_has_prev_state().then(|| ctx.arg::<u64>(3) as u32);
    runqlat.switch(preempt & 0xff != 0, Task::new(ctx.arg(1)), Task::<DirectLoad>::new(ctx.arg(2)), prev_state);
    0
}
