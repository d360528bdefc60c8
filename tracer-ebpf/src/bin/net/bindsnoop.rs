//! bindsnoop with a ring buffer (5.8+); `bindsnoop_compat` serves older kernels. The logic is `tracer_ebpf::net::bindsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use tracer_common::{
    events::RING_BYTES,
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
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static BIND_PENDING: LruHashMap<u32, PendingBind> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn bindsnoop() -> Bindsnoop<'static, RingBuf> {
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
