//! biopattern: block_rq_complete through tp_btf, raw_tp or the classic
//! tracepoint (all maps exist on every kernel, so one object). The logic is
//! `tracer_ebpf::block::biopattern`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::block::{
    BlockOffsets,
    biopattern::{Config, DISK_ENTRIES, PatternCounter, drop_reason},
};
use tracer_ebpf::block::{
    biopattern::Biopattern,
    request::{Done, Request},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static BIOPATTERN_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static BLOCK_OFFSETS: Global<BlockOffsets> = Global::new(BlockOffsets::UNRESOLVED);

#[map]
static BIOPATTERN_COUNTERS: HashMap<u32, PatternCounter> = HashMap::with_max_entries(DISK_ENTRIES, 0);
#[map]
static BIOPATTERN_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn biopattern() -> Biopattern<'static> {
    Biopattern { config: &BIOPATTERN_CONFIG, counters: &BIOPATTERN_COUNTERS, drops: &BIOPATTERN_DROPS }
}

/// block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes)
#[btf_tracepoint(function = "block_rq_complete")]
pub fn biopattern_complete_btf(ctx: BtfTracePointContext) -> i32 {
    let rq: *const u8 = ctx.arg(0);
    biopattern().complete(&Request { offsets: &BLOCK_OFFSETS }.done(rq));
    0
}

#[raw_tracepoint(tracepoint = "block_rq_complete")]
pub fn biopattern_complete_raw(ctx: RawTracePointContext) -> i32 {
    let rq: *const u8 = ctx.arg(0);
    biopattern().complete(&Request { offsets: &BLOCK_OFFSETS }.done(rq));
    0
}

/// The record's disk, sector and size, as libbpf-tools reads them.
#[tracepoint(category = "block", name = "block_rq_complete")]
pub fn biopattern_complete_tp(ctx: TracePointContext) -> u32 {
    if let Some((_, done)) = Done::of_record(&ctx, &BLOCK_OFFSETS) {
        biopattern().complete(&done);
    }
    0
}
