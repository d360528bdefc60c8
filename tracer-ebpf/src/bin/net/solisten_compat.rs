//! solisten for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::net::solisten`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerfEventByteArray},
    programs::TracePointContext,
};
use tracer_common::net::solisten::{Config, ListenOffsets, PENDING_ENTRIES, PendingListen};
use tracer_ebpf::net::solisten::Solisten;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static SOLISTEN_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static LISTEN_OFFSETS: Global<ListenOffsets> = Global::new(ListenOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static LISTEN_PENDING: LruHashMap<u32, PendingListen> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn solisten() -> Solisten<'static, PerfEventByteArray> {
    Solisten {
        config: &SOLISTEN_CONFIG,
        offsets: &LISTEN_OFFSETS,
        pending: &LISTEN_PENDING,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::solisten_programs!(solisten, LISTEN_OFFSETS);
