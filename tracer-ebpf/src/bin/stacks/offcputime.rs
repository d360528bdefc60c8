//! offcputime: time threads spend off CPU, summed per thread and pair of
//! stacks at the moment they left, on sched_switch through tp_btf, raw_tp or
//! the classic tracepoint. The logic is `tracer_ebpf::stacks::Offcpu`.
//! Only hash and array maps: any kernel with BPF stack maps can create them.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    helpers::bpf_get_current_task,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    offsets::{SchedTracepointOffsets, TaskOffsets},
    stacks::{
        COUNTS_MAP_ENTRIES, FILTER_MAP_ENTRIES, OffcpuConfig, OffcpuStart, PROCESS_MAP_ENTRIES, STACK_STORAGE_DEFAULT,
        StackFrames, StackKey, total,
    },
};
use tracer_ebpf::{
    sched::runq::TASK_REPORT_MAX,
    setting,
    stacks::{Offcpu, StackMaps},
    task::{DirectLoad, ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static OFFCPU_CONFIG: Global<OffcpuConfig> = Global::new(OffcpuConfig::DEFAULT);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static SCHED_TP_OFFSETS: Global<SchedTracepointOffsets> = Global::new(SchedTracepointOffsets::UNRESOLVED);

/// Threads off CPU right now: a 64k-thread system fits.
const START_MAP_ENTRIES: u32 = 65_536;

#[map]
static OFFCPU_START: HashMap<u32, OffcpuStart> = HashMap::with_max_entries(START_MAP_ENTRIES, 0);
#[map]
static STACK_COUNTS: HashMap<StackKey, u64> = HashMap::with_max_entries(COUNTS_MAP_ENTRIES, 0);
/// Stacks by the hash of their frames; userspace sets the size from
/// --stack-storage-size (preallocated: perf_event programs need that on
/// older kernels).
#[map]
static STACK_TRACES: HashMap<u64, StackFrames> = HashMap::with_max_entries(STACK_STORAGE_DEFAULT, 0);
#[map]
static STACK_SCRATCH: PerCpuArray<StackFrames> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FILTER_PIDS: HashMap<u32, u8> = HashMap::with_max_entries(FILTER_MAP_ENTRIES, 0);
#[map]
static FILTER_TIDS: HashMap<u32, u8> = HashMap::with_max_entries(FILTER_MAP_ENTRIES, 0);
#[map]
static NEW_PROCESSES: HashMap<u32, u8> = HashMap::with_max_entries(PROCESS_MAP_ENTRIES, 0);
#[map]
static STACK_TOTALS: PerCpuArray<u64> = PerCpuArray::with_max_entries(total::COUNT, 0);

#[inline(always)]
fn offcpu() -> Offcpu<'static> {
    Offcpu {
        config: &OFFCPU_CONFIG,
        offsets: &TASK_OFFSETS,
        starts: &OFFCPU_START,
        maps: StackMaps {
            counts: &STACK_COUNTS,
            stacks: &STACK_TRACES,
            scratch: &STACK_SCRATCH,
            pids: &FILTER_PIDS,
            tids: &FILTER_TIDS,
            processes: &NEW_PROCESSES,
            totals: &STACK_TOTALS,
        },
    }
}

/// A preempted task is still runnable: its state reads as running.
#[inline(always)]
fn effective_state(preempt: u64, state: u32) -> u32 {
    if preempt & 0xff != 0 { 0 } else { state }
}

#[btf_tracepoint(function = "sched_switch")]
pub fn offcputime_switch_btf(ctx: BtfTracePointContext) -> i32 {
    let offcpu = offcpu();
    let preempt: u64 = ctx.arg(0);
    let prev = Task::<DirectLoad>::new(ctx.arg(1));
    let next = Task::<DirectLoad>::new(ctx.arg(2));
    let state = if offcpu.switch_has_prev_state() { ctx.arg::<u64>(3) as u32 } else { prev.state(&TASK_OFFSETS) };
    offcpu.switch(&ctx, prev, Some(effective_state(preempt, state)), next.tid(&TASK_OFFSETS));
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn offcputime_switch_raw(ctx: RawTracePointContext) -> i32 {
    let offcpu = offcpu();
    let preempt: u64 = ctx.arg(0);
    let prev = Task::<ProbeRead>::new(ctx.arg(1));
    let next = Task::<ProbeRead>::new(ctx.arg(2));
    let state = if offcpu.switch_has_prev_state() { ctx.arg::<u64>(3) as u32 } else { prev.state(&TASK_OFFSETS) };
    offcpu.switch(&ctx, prev, Some(effective_state(preempt, state)), next.tid(&TASK_OFFSETS));
    0
}

/// The classic record carries pids and the state (a preempted task is
/// reported as TASK_REPORT_MAX); the leaving task is the current one.
#[tracepoint(category = "sched", name = "sched_switch")]
pub fn offcputime_switch_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from this tracepoint's format file.
    let (Ok(state), Ok(next_pid)) =
        (unsafe { ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_prev_state) as usize) }, unsafe {
            ctx.read_at::<u32>(setting!(SCHED_TP_OFFSETS, switch_next_pid) as usize)
        })
    else {
        return 0;
    };
    let state = if state >= TASK_REPORT_MAX { 0 } else { state };
    // SAFETY: helper without arguments; the pointer is only probe-read.
    let prev = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
    offcpu().switch(&ctx, prev, Some(state), next_pid);
    0
}
