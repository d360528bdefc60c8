//! oomkill with a ring buffer: fentry on oom_kill_process and the BTF
//! tracepoint oom:mark_victim. The logic is `tracer_ebpf::memory::oomkill`;
//! `oomkill_compat` holds the kprobe, raw and classic tracepoint programs.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, fentry, map},
    maps::{PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, FEntryContext},
};
use tracer_common::{
    events::RING_BYTES,
    memory::oomkill::{OomOffsets, VictimRecord},
    offsets::TaskOffsets,
};
use tracer_ebpf::{
    memory::oomkill::Oomkill,
    task::{DirectLoad, Task},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static OOM_OFFSETS: Global<OomOffsets> = Global::new(OomOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static VICTIM_RECORD: Global<VictimRecord> = Global::new(VictimRecord::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn oomkill() -> Oomkill<'static, RingBuf> {
    Oomkill { oom: &OOM_OFFSETS, task: &TASK_OFFSETS, record: &VICTIM_RECORD, events: &EVENTS, drops: &EVENT_DROPS }
}

/// `oom_kill_process(struct oom_control *oc, const char *message)`.
#[fentry]
pub fn oomkill_kill_fentry(ctx: FEntryContext) -> u32 {
    oomkill().kill_process(&ctx, ctx.arg(0));
    0
}

/// `mark_victim(struct task_struct *task, uid_t uid)` (6.8+).
#[btf_tracepoint(function = "mark_victim")]
pub fn oomkill_victim_btf(ctx: BtfTracePointContext) -> i32 {
    oomkill().mark_victim(&ctx, Task::<DirectLoad>::new(ctx.arg(0)));
    0
}
