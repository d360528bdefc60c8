//! runqlen: a perf_event program on every CPU's software clock. The logic
//! is `tracer_ebpf::sched::runqlen`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, perf_event},
    maps::PerCpuArray,
    programs::PerfEventContext,
};
use tracer_common::sched::runqlen::{Config, QueueHistogram, RunqOffsets};
use tracer_ebpf::sched::runqlen::Runqlen;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static RUNQLEN_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static RUNQLEN_OFFSETS: Global<RunqOffsets> = Global::new(RunqOffsets::UNRESOLVED);

#[map]
static RUNQLEN_HIST: PerCpuArray<QueueHistogram> = PerCpuArray::with_max_entries(1, 0);

#[perf_event]
pub fn runqlen_sample_perf(_ctx: PerfEventContext) -> u32 {
    Runqlen { config: &RUNQLEN_CONFIG, offsets: &RUNQLEN_OFFSETS, hist: &RUNQLEN_HIST }.sample();
    0
}
