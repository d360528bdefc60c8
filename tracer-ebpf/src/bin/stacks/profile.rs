//! profile: CPU samples from perf_event (CPU clock), counted per thread and
//! pair of stacks. The logic is `tracer_ebpf::stacks`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, perf_event},
    maps::{HashMap, PerCpuArray},
    programs::PerfEventContext,
};
use tracer_common::stacks::{
    COUNTS_MAP_ENTRIES, FILTER_MAP_ENTRIES, PROCESS_MAP_ENTRIES, ProfileConfig, STACK_STORAGE_DEFAULT, StackFrames,
    StackKey, total,
};
use tracer_ebpf::stacks::{StackMaps, profile_sample};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static PROFILE_CONFIG: Global<ProfileConfig> = Global::new(ProfileConfig::DEFAULT);

#[map]
static STACK_COUNTS: HashMap<StackKey, u64> = HashMap::with_max_entries(COUNTS_MAP_ENTRIES, 0);
/// Stacks by the hash of their frames; userspace sets the size from
/// --stack-storage-size (preallocated: perf_event programs need that on
/// older kernels).
#[map]
static STACK_TRACES: HashMap<u64, StackFrames> = HashMap::with_max_entries(STACK_STORAGE_DEFAULT, 0);
#[map]
static STACK_SCRATCH: PerCpuArray<StackFrames> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FILTER_PIDS: HashMap<u32, u8> = HashMap::with_max_entries(FILTER_MAP_ENTRIES, 0);
#[map]
static FILTER_TIDS: HashMap<u32, u8> = HashMap::with_max_entries(FILTER_MAP_ENTRIES, 0);
#[map]
static NEW_PROCESSES: HashMap<u32, u8> = HashMap::with_max_entries(PROCESS_MAP_ENTRIES, 0);
#[map]
static STACK_TOTALS: PerCpuArray<u64> = PerCpuArray::with_max_entries(total::COUNT, 0);

#[perf_event]
pub fn profile_perf(ctx: PerfEventContext) -> u32 {
    let maps = StackMaps {
        counts: &STACK_COUNTS,
        stacks: &STACK_TRACES,
        scratch: &STACK_SCRATCH,
        pids: &FILTER_PIDS,
        tids: &FILTER_TIDS,
        processes: &NEW_PROCESSES,
        totals: &STACK_TOTALS,
    };
    profile_sample(&ctx, &PROFILE_CONFIG, &maps);
    0
}
