//! statsnoop with a ring buffer (5.8+); `statsnoop_compat` serves older kernels. The logic is `tracer_ebpf::fs::statsnoop`.
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
    fs::{
        paths::PathOffsets,
        statsnoop::{Config, PENDING_ENTRIES, PendingStat, StatEvent, StatOffsets},
    },
};
use tracer_ebpf::fs::{paths::Paths, statsnoop::Statsnoop};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static STATSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static STAT_OFFSETS: Global<StatOffsets> = Global::new(StatOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static PATH_OFFSETS: Global<PathOffsets> = Global::new(PathOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static STAT_SCRATCH: PerCpuArray<StatEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static STAT_PENDING: LruHashMap<u32, PendingStat> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn statsnoop() -> Statsnoop<'static, RingBuf> {
    Statsnoop {
        config: &STATSNOOP_CONFIG,
        paths: Paths { offsets: &PATH_OFFSETS },
        pending: &STAT_PENDING,
        scratch: &STAT_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::statsnoop_programs!(statsnoop, STAT_OFFSETS);
