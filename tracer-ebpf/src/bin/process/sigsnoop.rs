//! sigsnoop, BTF tracepoint and ring buffer (plus the kill syscalls'
//! tracepoints for kill mode). The logic is `tracer_ebpf::process::sigsnoop`;
//! `sigsnoop_compat` serves older kernels.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, tracepoint},
    maps::{LruHashMap, PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, TracePointContext},
};
use tracer_common::{
    events::RING_BYTES,
    offsets::TaskOffsets,
    process::sigsnoop::{Config, PENDING_ENTRIES, SigEvent, SignalOffsets},
};
use tracer_ebpf::{
    process::sigsnoop::Sigsnoop,
    task::{DirectLoad, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static SIGSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SIGNAL_OFFSETS: Global<SignalOffsets> = Global::new(SignalOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SIGNAL_PENDING: LruHashMap<u32, SigEvent> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn sigsnoop() -> Sigsnoop<'static, RingBuf> {
    Sigsnoop { config: &SIGSNOOP_CONFIG, pending: &SIGNAL_PENDING, events: &EVENTS, drops: &EVENT_DROPS }
}

/// signal_generate(int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
#[btf_tracepoint(function = "signal_generate")]
pub fn sigsnoop_generate_btf(ctx: BtfTracePointContext) -> i32 {
    let task = Task::<DirectLoad>::new(ctx.arg(2));
    sigsnoop().generate(&ctx, ctx.arg(0), task.tid(&TASK_OFFSETS) as i32, task.comm(&TASK_OFFSETS), ctx.arg(4));
    0
}

tracer_ebpf::sigsnoop_syscall_programs!(sigsnoop, SIGNAL_OFFSETS);
