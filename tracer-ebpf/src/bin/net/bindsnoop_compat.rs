//! bindsnoop for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::net::bindsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::TracePointContext,
};
use tracer_common::{
    net::bindsnoop::{BindOffsets, Config, PENDING_ENTRIES, PendingBind},
    offsets::TaskOffsets,
};
use tracer_ebpf::net::bindsnoop::Bindsnoop;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static BINDSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static BIND_OFFSETS: Global<BindOffsets> = Global::new(BindOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static BIND_PENDING: LruHashMap<u32, PendingBind> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn bindsnoop() -> Bindsnoop<'static, PerfEventByteArray> {
    Bindsnoop {
        config: &BINDSNOOP_CONFIG,
        offsets: &BIND_OFFSETS,
        task_offsets: &TASK_OFFSETS,
        pending: &BIND_PENDING,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::bindsnoop_programs!(bindsnoop, BIND_OFFSETS);
