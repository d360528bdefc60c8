//! filelife for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::fs::filelife`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{kprobe, kretprobe, map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::{ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::fs::{
    filelife::{BIRTH_ENTRIES, Birth, Config, LifeEvent, LifeOffsets, PENDING_ENTRIES, PendingLife},
    paths::PathOffsets,
};
use tracer_ebpf::fs::{filelife::Filelife, paths::Paths};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static FILELIFE_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static LIFE_OFFSETS: Global<LifeOffsets> = Global::new(LifeOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static PATH_OFFSETS: Global<PathOffsets> = Global::new(PathOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static LIFE_SCRATCH: PerCpuArray<LifeEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static LIFE_PENDING: LruHashMap<u32, PendingLife> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);
#[map]
static LIFE_BIRTHS: LruHashMap<u64, Birth> = LruHashMap::with_max_entries(BIRTH_ENTRIES, 0);

#[inline(always)]
fn filelife() -> Filelife<'static, PerfEventByteArray> {
    Filelife {
        config: &FILELIFE_CONFIG,
        paths: Paths { offsets: &PATH_OFFSETS },
        pending: &LIFE_PENDING,
        births: &LIFE_BIRTHS,
        scratch: &LIFE_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::filelife_programs!(filelife, LIFE_OFFSETS);
tracer_ebpf::filelife_kprobes!(filelife);
