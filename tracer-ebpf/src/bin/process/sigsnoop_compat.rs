//! sigsnoop for kernels without BTF tracepoints or ring buffers: raw or
//! classic signal_generate, perf buffer. The logic is `tracer_ebpf::process::sigsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    offsets::TaskOffsets,
    process::sigsnoop::{Config, PENDING_ENTRIES, SigEvent, SignalOffsets},
};
use tracer_ebpf::{
    process::sigsnoop::Sigsnoop,
    task::{ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static SIGSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SIGNAL_OFFSETS: Global<SignalOffsets> = Global::new(SignalOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SIGNAL_PENDING: LruHashMap<u32, SigEvent> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn sigsnoop() -> Sigsnoop<'static, PerfEventByteArray> {
    Sigsnoop { config: &SIGSNOOP_CONFIG, pending: &SIGNAL_PENDING, events: &EVENTS, drops: &EVENT_DROPS }
}

/// signal_generate(int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
#[raw_tracepoint(tracepoint = "signal_generate")]
pub fn sigsnoop_generate_raw(ctx: RawTracePointContext) -> i32 {
    let task = Task::<ProbeRead>::new(ctx.arg(2));
    let sig: u64 = ctx.arg(0);
    let result: u64 = ctx.arg(4);
    sigsnoop().generate(&ctx, sig as i32, task.tid(&TASK_OFFSETS) as i32, task.comm(&TASK_OFFSETS), result as i32);
    0
}

tracer_ebpf::sigsnoop_syscall_programs!(sigsnoop, SIGNAL_OFFSETS);
