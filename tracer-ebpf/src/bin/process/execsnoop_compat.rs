//! execsnoop for kernels without BTF tracepoints or ring buffers: raw or
//! classic sched_process_exec, perf buffer. The logic is `tracer_ebpf::process::execsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    EbpfContext, Global,
    helpers::bpf_get_current_task,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    offsets::TaskOffsets,
    process::execsnoop::{Config, ExecEvent, ExecOffsets, PENDING_ENTRIES, PendingExec},
};
use tracer_ebpf::{
    process::execsnoop::Execsnoop,
    setting,
    task::{ProbeRead, Task, probe_read},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static EXECSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static EXEC_OFFSETS: Global<ExecOffsets> = Global::new(ExecOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static EXEC_SCRATCH: PerCpuArray<ExecEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static EXEC_PENDING: LruHashMap<u32, PendingExec> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn execsnoop() -> Execsnoop<'static, PerfEventByteArray> {
    Execsnoop {
        config: &EXECSNOOP_CONFIG,
        offsets: &TASK_OFFSETS,
        scratch: &EXEC_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
        pending: &EXEC_PENDING,
    }
}

#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn execsnoop_exec_raw(ctx: RawTracePointContext) -> i32 {
    let bprm: *const u8 = ctx.arg(2);
    // SAFETY: bprm is the tracepoint's binprm pointer.
    let filename = unsafe { probe_read::<*const u8>(bprm, setting!(EXEC_OFFSETS, binprm_filename)) };
    execsnoop().exec(&ctx, Task::<ProbeRead>::new(ctx.arg(0)), filename.unwrap_or(core::ptr::null()));
    0
}

/// The classic record has the file name as a __data_loc string; the task is current.
#[tracepoint(category = "sched", name = "sched_process_exec")]
pub fn execsnoop_exec_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the offset comes from this tracepoint's format file.
    let Ok(location) = (unsafe { ctx.read_at::<u32>(setting!(EXEC_OFFSETS, tp_exec_filename) as usize) }) else {
        return 0;
    };
    let filename = ctx.as_ptr().cast::<u8>().wrapping_add((location & 0xffff) as usize);
    // SAFETY: the current task pointer.
    let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
    execsnoop().exec(&ctx, task, filename);
    0
}

tracer_ebpf::execsnoop_syscall_programs!(execsnoop, EXEC_OFFSETS);
