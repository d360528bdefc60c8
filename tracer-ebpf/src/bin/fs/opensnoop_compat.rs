//! opensnoop for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::fs::opensnoop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::TracePointContext,
};
use tracer_common::fs::{
    opensnoop::{Config, OpenEvent, OpenOffsets, PENDING_ENTRIES, PendingOpen},
    paths::PathOffsets,
};
use tracer_ebpf::fs::{opensnoop::Opensnoop, paths::Paths};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static OPENSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static OPEN_OFFSETS: Global<OpenOffsets> = Global::new(OpenOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static PATH_OFFSETS: Global<PathOffsets> = Global::new(PathOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static OPEN_SCRATCH: PerCpuArray<OpenEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static OPEN_PENDING: LruHashMap<u32, PendingOpen> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn opensnoop() -> Opensnoop<'static, PerfEventByteArray> {
    Opensnoop {
        config: &OPENSNOOP_CONFIG,
        offsets: &OPEN_OFFSETS,
        paths: Paths { offsets: &PATH_OFFSETS },
        pending: &OPEN_PENDING,
        scratch: &OPEN_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::opensnoop_programs!(opensnoop, OPEN_OFFSETS);
