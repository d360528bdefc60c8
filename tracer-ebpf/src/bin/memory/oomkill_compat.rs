//! oomkill with a perf buffer: kprobe on oom_kill_process, raw and classic
//! oom:mark_victim. The logic is `tracer_ebpf::memory::oomkill`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{kprobe, map, raw_tracepoint, tracepoint},
    maps::{PerCpuArray, PerfEventByteArray},
    programs::{ProbeContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    memory::oomkill::{OomOffsets, VictimRecord},
    offsets::TaskOffsets,
};
use tracer_ebpf::{
    memory::oomkill::Oomkill,
    task::{ProbeRead, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static OOM_OFFSETS: Global<OomOffsets> = Global::new(OomOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static VICTIM_RECORD: Global<VictimRecord> = Global::new(VictimRecord::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn oomkill() -> Oomkill<'static, PerfEventByteArray> {
    Oomkill { oom: &OOM_OFFSETS, task: &TASK_OFFSETS, record: &VICTIM_RECORD, events: &EVENTS, drops: &EVENT_DROPS }
}

/// `oom_kill_process(struct oom_control *oc, const char *message)`.
#[kprobe]
pub fn oomkill_kill_kprobe(ctx: ProbeContext) -> u32 {
    if let Some(oc) = ctx.arg::<*const u8>(0) {
        oomkill().kill_process(&ctx, oc);
    }
    0
}

/// `mark_victim(task, uid)` (6.8+): the task pointer, read through the helper.
#[raw_tracepoint(tracepoint = "mark_victim")]
pub fn oomkill_victim_raw(ctx: RawTracePointContext) -> i32 {
    oomkill().mark_victim(&ctx, Task::<ProbeRead>::new(ctx.arg(0)));
    0
}

#[tracepoint(category = "oom", name = "mark_victim")]
pub fn oomkill_victim_tp(ctx: TracePointContext) -> u32 {
    oomkill().mark_victim_record(&ctx);
    0
}
