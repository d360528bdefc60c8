//! tcpaccept for kernels without ring buffers: perf buffer. The logic is `tracer_ebpf::net::tcpaccept`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, tracepoint},
    maps::{PerCpuArray, PerfEventByteArray},
    programs::TracePointContext,
};
use tracer_common::net::tcpaccept::{AcceptOffsets, Config};
use tracer_ebpf::net::tcpaccept::Tcpaccept;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static TCPACCEPT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static ACCEPT_OFFSETS: Global<AcceptOffsets> = Global::new(AcceptOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn tcpaccept() -> Tcpaccept<'static, PerfEventByteArray> {
    Tcpaccept { config: &TCPACCEPT_CONFIG, offsets: &ACCEPT_OFFSETS, events: &EVENTS, drops: &EVENT_DROPS }
}

tracer_ebpf::tcpaccept_programs!(tcpaccept, ACCEPT_OFFSETS);
