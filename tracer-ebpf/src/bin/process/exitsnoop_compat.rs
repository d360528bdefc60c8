//! exitsnoop for kernels without BTF tracepoints or ring buffers: raw or
//! classic sched_process_exit, perf buffer. The logic is `tracer_ebpf::process::exitsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    helpers::bpf_get_current_task,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{offsets::TaskOffsets, process::exitsnoop::Config};
use tracer_ebpf::{
    process::exitsnoop::Exitsnoop,
    task::{ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static EXITSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn exitsnoop() -> Exitsnoop<'static, PerfEventByteArray> {
    Exitsnoop { config: &EXITSNOOP_CONFIG, offsets: &TASK_OFFSETS, events: &EVENTS, drops: &EVENT_DROPS }
}

#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn exitsnoop_exit_raw(ctx: RawTracePointContext) -> i32 {
    exitsnoop().exit(&ctx, Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

/// The exiting task is the current one.
#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn exitsnoop_exit_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the current task pointer.
    let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
    exitsnoop().exit(&ctx, task);
    0
}
