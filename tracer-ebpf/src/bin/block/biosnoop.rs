//! biosnoop, BTF tracepoints and ring buffer. The logic is
//! `tracer_ebpf::block::biosnoop` and `block::request`; `biosnoop_compat`
//! serves kernels without them.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::map,
    maps::{HashMap, PerCpuArray, RingBuf},
};
use tracer_common::{
    block::{
        BlockOffsets, InFlight, REQUEST_ENTRIES, RequestFilter, RequestKey,
        biosnoop::{Config, drop_reason},
    },
    events::RING_BYTES,
    offsets::TaskOffsets,
};
use tracer_ebpf::block::{biosnoop::Biosnoop, request::Submitters};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static BIOSNOOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static BLOCK_FILTER: Global<RequestFilter> = Global::new(RequestFilter::NONE);
#[unsafe(no_mangle)]
static BLOCK_OFFSETS: Global<BlockOffsets> = Global::new(BlockOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);
#[map]
static BLOCK_IN_FLIGHT: HashMap<RequestKey, InFlight> = HashMap::with_max_entries(REQUEST_ENTRIES, 0);

#[inline(always)]
fn biosnoop() -> Biosnoop<'static, RingBuf> {
    Biosnoop {
        config: &BIOSNOOP_CONFIG,
        offsets: &BLOCK_OFFSETS,
        submitters: Submitters {
            offsets: &BLOCK_OFFSETS,
            filter: &BLOCK_FILTER,
            task_offsets: &TASK_OFFSETS,
            in_flight: &BLOCK_IN_FLIGHT,
            drops: &EVENT_DROPS,
            full_reason: drop_reason::IN_FLIGHT_FULL,
        },
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::block_btf_programs!(biosnoop, BLOCK_OFFSETS;
    biosnoop_start_btf, biosnoop_getrq_btf, biosnoop_issue_btf, biosnoop_complete_btf);
