//! exitsnoop, BTF tracepoint and ring buffer. The logic is
//! `tracer_ebpf::process::exitsnoop`; `exitsnoop_compat` serves older kernels.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map},
    maps::{PerCpuArray, RingBuf},
    programs::BtfTracePointContext,
};
use tracer_common::{events::RING_BYTES, offsets::TaskOffsets, process::exitsnoop::Config};
use tracer_ebpf::{
    process::exitsnoop::Exitsnoop,
    task::{DirectLoad, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static EXITSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[btf_tracepoint(function = "sched_process_exit")]
pub fn exitsnoop_exit_btf(ctx: BtfTracePointContext) -> i32 {
    let exitsnoop =
        Exitsnoop { config: &EXITSNOOP_CONFIG, offsets: &TASK_OFFSETS, events: &EVENTS, drops: &EVENT_DROPS };
    exitsnoop.exit(&ctx, Task::<DirectLoad>::new(ctx.arg(0)));
    0
}
