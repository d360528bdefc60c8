//! runqslower, BTF-typed tracepoints (5.11+): typed task pointers read with
//! plain loads, wakeup times in task-local storage, events through a ring
//! buffer. Older kernels use `runqslower_compat`. The logic is
//! `tracer_ebpf::sched::runqslower` on runqlat's clock (`sched::runq`).
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_map, btf_tracepoint, map},
    maps::{PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
};
use tracer_common::{
    events::RING_BYTES,
    offsets::TaskOffsets,
    sched::runqslower::{Config, drop_reason},
};
use tracer_ebpf::{
    sched::runqslower::Runqslower,
    storage::TaskStorage,
    task::{DirectLoad, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQSLOWER_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

/// Each task's pending wakeup time.
#[btf_map]
static RUNQSLOWER_START: TaskStorage<u64> = TaskStorage::new();
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn runqslower() -> Runqslower<'static, TaskStorage<u64>, RingBuf> {
    Runqslower {
        config: &RUNQSLOWER_CONFIG,
        offsets: &TASK_OFFSETS,
        starts: &RUNQSLOWER_START,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

#[btf_tracepoint(function = "sched_wakeup")]
pub fn runqslower_wakeup_btf(ctx: BtfTracePointContext) -> i32 {
    runqslower().enqueue(Task::<DirectLoad>::new(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_wakeup_new")]
pub fn runqslower_wakeup_new_btf(ctx: BtfTracePointContext) -> i32 {
    runqslower().enqueue(Task::<DirectLoad>::new(ctx.arg(0)));
    0
}

#[btf_tracepoint(function = "sched_switch")]
pub fn runqslower_switch_btf(ctx: BtfTracePointContext) -> i32 {
    let runqslower = runqslower();
    let preempt: u64 = ctx.arg(0);
    let prev_state = runqslower.switch_has_prev_state().then(|| ctx.arg::<u64>(3) as u32);
    runqslower.switch(
        &ctx,
        preempt & 0xff != 0,
        Task::new(ctx.arg(1)),
        Task::<DirectLoad>::new(ctx.arg(2)),
        prev_state,
    );
    0
}
