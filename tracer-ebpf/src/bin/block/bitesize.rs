//! bitesize: block_io_start (or block_getrq), block_rq_issue and
//! block_rq_complete through tp_btf, raw_tp or the classic tracepoints (all
//! maps exist on every kernel, so one object). The logic is
//! `tracer_ebpf::block::bitesize` and `block::request`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::map,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    block::{
        BlockOffsets, InFlight, REQUEST_ENTRIES, RequestFilter, RequestKey,
        bitesize::{COMM_ENTRIES, SPARSE_ENTRIES, drop_reason},
    },
    hist::SparseKey,
    offsets::TaskOffsets,
};
use tracer_ebpf::block::{bitesize::Bitesize, request::Submitters};

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
static BITESIZE_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static BITESIZE_COMMS: HashMap<u32, [u8; TASK_COMM_LEN]> = HashMap::with_max_entries(COMM_ENTRIES, 0);
#[map]
static BITESIZE_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn bitesize() -> Bitesize<'static> {
    Bitesize {
        offsets: &BLOCK_OFFSETS,
        submitters: Submitters {
            offsets: &BLOCK_OFFSETS,
            filter: &BLOCK_FILTER,
            task_offsets: &TASK_OFFSETS,
            in_flight: &BLOCK_IN_FLIGHT,
            drops: &BITESIZE_DROPS,
            full_reason: drop_reason::IN_FLIGHT_FULL,
        },
        sparse: &BITESIZE_SPARSE,
        comms: &BITESIZE_COMMS,
        drops: &BITESIZE_DROPS,
    }
}

tracer_ebpf::block_btf_programs!(bitesize, BLOCK_OFFSETS;
    bitesize_start_btf, bitesize_getrq_btf, bitesize_issue_btf, bitesize_complete_btf);
tracer_ebpf::block_compat_programs!(bitesize, BLOCK_OFFSETS;
    bitesize_start_raw, bitesize_getrq_raw, bitesize_issue_raw, bitesize_complete_raw;
    bitesize_start_tp, bitesize_getrq_tp, bitesize_issue_tp, bitesize_complete_tp);
