//! syncsnoop for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::fs::syncsnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::TracePointContext,
};
use tracer_common::fs::{
    paths::PathOffsets,
    syncsnoop::{Config, PENDING_ENTRIES, PendingSync, SyncEvent, SyncOffsets},
};
use tracer_ebpf::fs::{paths::Paths, syncsnoop::Syncsnoop};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static SYNCSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SYNC_OFFSETS: Global<SyncOffsets> = Global::new(SyncOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static PATH_OFFSETS: Global<PathOffsets> = Global::new(PathOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SYNC_SCRATCH: PerCpuArray<SyncEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SYNC_PENDING: LruHashMap<u32, PendingSync> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn syncsnoop() -> Syncsnoop<'static, PerfEventByteArray> {
    Syncsnoop {
        config: &SYNCSNOOP_CONFIG,
        paths: Paths { offsets: &PATH_OFFSETS },
        pending: &SYNC_PENDING,
        scratch: &SYNC_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::syncsnoop_programs!(syncsnoop, SYNC_OFFSETS);
