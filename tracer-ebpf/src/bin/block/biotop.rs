//! biotop: block_io_start (or block_getrq), block_rq_issue and
//! block_rq_complete through tp_btf, raw_tp or the classic tracepoints (all
//! maps exist on every kernel, so one object). The logic is
//! `tracer_ebpf::block::biotop` and `block::request`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::map,
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
};
use tracer_common::{
    block::{
        BlockOffsets, InFlight, REQUEST_ENTRIES, RequestFilter, RequestKey,
        biotop::{TOP_ENTRIES, TopKey, TopStats, drop_reason},
    },
    offsets::TaskOffsets,
};
use tracer_ebpf::block::{biotop::Biotop, request::Submitters};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static BLOCK_FILTER: Global<RequestFilter> = Global::new(RequestFilter::NONE);
#[unsafe(no_mangle)]
static BLOCK_OFFSETS: Global<BlockOffsets> = Global::new(BlockOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static BLOCK_IN_FLIGHT: HashMap<RequestKey, InFlight> = HashMap::with_max_entries(REQUEST_ENTRIES, 0);
#[map]
static BIOTOP_STATS: PerCpuHashMap<TopKey, TopStats> = PerCpuHashMap::with_max_entries(TOP_ENTRIES, 0);
#[map]
static BIOTOP_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn biotop() -> Biotop<'static> {
    Biotop {
        offsets: &BLOCK_OFFSETS,
        submitters: Submitters {
            offsets: &BLOCK_OFFSETS,
            filter: &BLOCK_FILTER,
            task_offsets: &TASK_OFFSETS,
            in_flight: &BLOCK_IN_FLIGHT,
            drops: &BIOTOP_DROPS,
            full_reason: drop_reason::IN_FLIGHT_FULL,
        },
        stats: &BIOTOP_STATS,
        drops: &BIOTOP_DROPS,
    }
}

tracer_ebpf::block_btf_programs!(biotop, BLOCK_OFFSETS;
    biotop_start_btf, biotop_getrq_btf, biotop_issue_btf, biotop_complete_btf);
tracer_ebpf::block_compat_programs!(biotop, BLOCK_OFFSETS;
    biotop_start_raw, biotop_getrq_raw, biotop_issue_raw, biotop_complete_raw;
    biotop_start_tp, biotop_getrq_tp, biotop_issue_tp, biotop_complete_tp);
