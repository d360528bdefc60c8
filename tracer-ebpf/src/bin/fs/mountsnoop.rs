//! mountsnoop with a ring buffer (5.8+); `mountsnoop_compat` serves older kernels. The logic is `tracer_ebpf::fs::mountsnoop`.
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
    fs::mountsnoop::{Config, MountEvent, MountOffsets, PENDING_ENTRIES, PendingMount},
};
use tracer_ebpf::fs::mountsnoop::Mountsnoop;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static MOUNTSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static MOUNT_OFFSETS: Global<MountOffsets> = Global::new(MountOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static MOUNT_SCRATCH: PerCpuArray<MountEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static MOUNT_PENDING: LruHashMap<u32, PendingMount> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn mountsnoop() -> Mountsnoop<'static, RingBuf> {
    Mountsnoop {
        config: &MOUNTSNOOP_CONFIG,
        offsets: &MOUNT_OFFSETS,
        pending: &MOUNT_PENDING,
        scratch: &MOUNT_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::mountsnoop_programs!(mountsnoop, MOUNT_OFFSETS);
