//! execsnoop, BTF tracepoint and ring buffer (5.8+). The logic is
//! `tracer_ebpf::process::execsnoop`; `execsnoop_compat` serves older kernels.
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
    process::execsnoop::{Config, ExecEvent, ExecOffsets, PENDING_ENTRIES, PendingExec},
};
use tracer_ebpf::{
    process::execsnoop::Execsnoop,
    setting,
    task::{DirectLoad, Task, probe_read},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static EXECSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static EXEC_OFFSETS: Global<ExecOffsets> = Global::new(ExecOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static EXEC_SCRATCH: PerCpuArray<ExecEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static EXEC_PENDING: LruHashMap<u32, PendingExec> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn execsnoop() -> Execsnoop<'static, RingBuf> {
    Execsnoop {
        config: &EXECSNOOP_CONFIG,
        offsets: &TASK_OFFSETS,
        scratch: &EXEC_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
        pending: &EXEC_PENDING,
    }
}

/// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
#[btf_tracepoint(function = "sched_process_exec")]
pub fn execsnoop_exec_btf(ctx: BtfTracePointContext) -> i32 {
    let bprm: *const u8 = ctx.arg(2);
    // SAFETY: bprm is the tracepoint's binprm pointer.
    let filename = unsafe { probe_read::<*const u8>(bprm, setting!(EXEC_OFFSETS, binprm_filename)) };
    execsnoop().exec(&ctx, Task::<DirectLoad>::new(ctx.arg(0)), filename.unwrap_or(core::ptr::null()));
    0
}

tracer_ebpf::execsnoop_syscall_programs!(execsnoop, EXEC_OFFSETS);
