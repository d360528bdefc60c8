//! biolatency: block_rq_insert/issue/complete through tp_btf, raw_tp or the
//! classic tracepoints (all maps exist on every kernel, so one object). The
//! logic is `tracer_ebpf::block::biolatency`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    block::biolatency::{BlockOffsets, Config, REQUEST_ENTRIES, RequestKey, SPARSE_ENTRIES, drop_reason},
    hist::{Histogram, SparseKey},
    offsets::TaskOffsets,
};
use tracer_ebpf::block::{
    biolatency::Biolatency,
    request::{by_address, record_key},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static BIOLATENCY_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static BLOCK_OFFSETS: Global<BlockOffsets> = Global::new(BlockOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static TASK_OFFSETS: Global<TaskOffsets> = Global::new(TaskOffsets::UNRESOLVED);

#[map]
static BIO_START: HashMap<RequestKey, u64> = HashMap::with_max_entries(REQUEST_ENTRIES, 0);
#[map]
static BIO_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(1, 0);
#[map]
static BIO_SPARSE: HashMap<SparseKey, u64> = HashMap::with_max_entries(SPARSE_ENTRIES, 0);
#[map]
static BIO_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn biolatency() -> Biolatency<'static> {
    Biolatency {
        config: &BIOLATENCY_CONFIG,
        offsets: &BLOCK_OFFSETS,
        task_offsets: &TASK_OFFSETS,
        starts: &BIO_START,
        hist: &BIO_HIST,
        sparse: &BIO_SPARSE,
        drops: &BIO_DROPS,
    }
}

/// The request of block_rq_insert/issue: argument 0, or 1 before 5.11.
macro_rules! request_arg {
    ($ctx:expr) => {
        tracer_ebpf::block_request_arg!($ctx, BLOCK_OFFSETS)
    };
}

// --- tp_btf

#[btf_tracepoint(function = "block_rq_insert")]
pub fn biolatency_insert_btf(ctx: BtfTracePointContext) -> i32 {
    biolatency().insert(by_address(request_arg!(ctx)));
    0
}

#[btf_tracepoint(function = "block_rq_issue")]
pub fn biolatency_issue_btf(ctx: BtfTracePointContext) -> i32 {
    biolatency().issue(by_address(request_arg!(ctx)));
    0
}

/// block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes)
#[btf_tracepoint(function = "block_rq_complete")]
pub fn biolatency_complete_btf(ctx: BtfTracePointContext) -> i32 {
    let rq: *const u8 = ctx.arg(0);
    let biolatency = biolatency();
    let request = biolatency.request();
    biolatency.complete(by_address(rq), request.dev(rq), || request.flags(rq));
    0
}

// --- raw_tp

#[raw_tracepoint(tracepoint = "block_rq_insert")]
pub fn biolatency_insert_raw(ctx: RawTracePointContext) -> i32 {
    biolatency().insert(by_address(request_arg!(ctx)));
    0
}

#[raw_tracepoint(tracepoint = "block_rq_issue")]
pub fn biolatency_issue_raw(ctx: RawTracePointContext) -> i32 {
    biolatency().issue(by_address(request_arg!(ctx)));
    0
}

#[raw_tracepoint(tracepoint = "block_rq_complete")]
pub fn biolatency_complete_raw(ctx: RawTracePointContext) -> i32 {
    let rq: *const u8 = ctx.arg(0);
    let biolatency = biolatency();
    let request = biolatency.request();
    biolatency.complete(by_address(rq), request.dev(rq), || request.flags(rq));
    0
}

// --- classic tracepoints: requests known by disk and start sector; no
// flags in the records (userspace refuses -F on this path).

#[inline(always)]
fn by_sector(ctx: &TracePointContext) -> Option<(RequestKey, u32)> {
    record_key(ctx, &BLOCK_OFFSETS)
}

#[tracepoint(category = "block", name = "block_rq_insert")]
pub fn biolatency_insert_tp(ctx: TracePointContext) -> u32 {
    if let Some((key, _)) = by_sector(&ctx) {
        biolatency().insert(key);
    }
    0
}

#[tracepoint(category = "block", name = "block_rq_issue")]
pub fn biolatency_issue_tp(ctx: TracePointContext) -> u32 {
    if let Some((key, _)) = by_sector(&ctx) {
        biolatency().issue(key);
    }
    0
}

#[tracepoint(category = "block", name = "block_rq_complete")]
pub fn biolatency_complete_tp(ctx: TracePointContext) -> u32 {
    if let Some((key, dev)) = by_sector(&ctx) {
        biolatency().complete(key, dev, || 0);
    }
    0
}
