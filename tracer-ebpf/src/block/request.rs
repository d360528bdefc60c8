//! What the block tools share on the kernel side: reading a request's disk,
//! position, size and flags; the keys of classic records; and following a
//! request from the task that submitted it, through its issue to the driver,
//! to its completion.
//!
//! The submitter is only current at the start hook: `block_io_start` (6.5+,
//! called where the request is made for the submitter's bio) or, before,
//! `block_getrq` (the same place, passing the bio). Issue and completion run
//! in whatever context the kernel dispatches them (a kworker flushing a
//! plug, the interrupt of another task), so the start's pid and comm are kept
//! with the request until it completes.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
    programs::TracePointContext,
};
use tracer_common::{
    TASK_COMM_LEN,
    block::{BlockOffsets, InFlight, RequestFilter, RequestKey},
    offsets::TaskOffsets,
};

use crate::{
    count_drop, setting,
    task::{ProbeRead, Task, probe_read},
};

/// A `struct request *` read through the offsets userspace found in BTF.
pub struct Request<'a> {
    pub offsets: &'a Global<BlockOffsets>,
}

impl Request<'_> {
    /// The request's disk as a dev_t (the kernel's major << 20 | minor).
    #[inline(always)]
    pub fn dev(&self, rq: *const u8) -> u32 {
        let offsets = self.offsets;
        // SAFETY: every hop goes through the probe-read helper.
        unsafe {
            let disk = if setting!(*offsets, rq_disk) != u32::MAX {
                probe_read::<*const u8>(rq, setting!(*offsets, rq_disk))
            } else {
                probe_read::<*const u8>(rq, setting!(*offsets, rq_q))
                    .and_then(|q| probe_read::<*const u8>(q, setting!(*offsets, queue_disk)))
            };
            let Some(disk) = disk else { return 0 };
            let major = probe_read::<u32>(disk, setting!(*offsets, disk_major)).unwrap_or(0);
            let minor = probe_read::<u32>(disk, setting!(*offsets, disk_first_minor)).unwrap_or(0);
            (major << 20) | (minor & 0xf_ffff)
        }
    }

    #[inline(always)]
    pub fn flags(&self, rq: *const u8) -> u32 {
        // SAFETY: a field of the request, through the helper.
        unsafe { probe_read::<u32>(rq, setting!(*self.offsets, rq_cmd_flags)) }.unwrap_or(0)
    }

    /// The key of the request's first bio (getrq start).
    #[inline(always)]
    pub fn first_bio(&self, rq: *const u8) -> Option<RequestKey> {
        // SAFETY: a field of the request, through the helper.
        let bio = unsafe { probe_read::<u64>(rq, setting!(*self.offsets, rq_bio)) }?;
        Some(bio_key(bio))
    }

    /// What a completing request says about itself: read before the kernel
    /// advances it (block_rq_complete runs first in blk_update_request).
    #[inline(always)]
    pub fn done(&self, rq: *const u8) -> Done {
        let offsets = self.offsets;
        // SAFETY: fields of the request, through the helper.
        unsafe {
            Done {
                dev: self.dev(rq),
                sector: probe_read::<u64>(rq, setting!(*offsets, rq_sector)).unwrap_or(0),
                bytes: probe_read::<u32>(rq, setting!(*offsets, rq_data_len)).unwrap_or(0),
                flags: self.flags(rq),
                rwbs: [0; 8],
            }
        }
    }
}

/// A request known by its address (BTF and raw tracepoints).
#[inline(always)]
pub fn by_address(rq: *const u8) -> RequestKey {
    RequestKey { id: rq as u64, dev: 0 }
}

/// A bio waiting for its request (getrq start), known by its address.
#[inline(always)]
pub fn bio_key(bio: u64) -> RequestKey {
    RequestKey { id: bio, dev: RequestKey::BIO }
}

/// Argument 1 of a BTF or raw tracepoint context when `second`, else 0.
/// Which one is a setting (the verifier prunes the other branch). Written as
/// two loads, LLVM merges them into one load from a computed address
/// (ctx + 8), which the verifier refuses ("dereference of modified ctx
/// ptr", seen on 5.10); the second is therefore read with the probe-read
/// helper, which LLVM cannot merge with a load. Only kernels before 5.11
/// take that branch.
#[inline(always)]
pub fn arg_0_or_1<C: EbpfContext>(ctx: &C, second: bool) -> u64 {
    let args = ctx.as_ptr() as *const u8;
    if second {
        // SAFETY: the context is the tracepoint's argument array in kernel memory.
        unsafe { probe_read::<u64>(args, 8) }.unwrap_or(0)
    } else {
        // SAFETY: argument 0 exists in every tracepoint used here.
        unsafe { core::ptr::read(args.cast::<u64>()) }
    }
}

/// The request argument of block_rq_issue/insert (the second before 5.11),
/// from `$ctx` (a tp_btf or raw_tp context) and the `BLOCK_OFFSETS` global.
#[macro_export]
macro_rules! block_request_arg {
    ($ctx:expr, $offsets:expr) => {
        $crate::block::request::arg_0_or_1(&$ctx, $crate::setting!($offsets, rq_arg) != 0) as *const u8
    };
}

/// The bio argument of block_getrq (the second before 5.11).
#[macro_export]
macro_rules! block_bio_arg {
    ($ctx:expr, $offsets:expr) => {
        $crate::block::request::arg_0_or_1(&$ctx, $crate::setting!($offsets, bio_arg) != 0)
    };
}

/// The (dev, sector) key of a classic block record, and its dev.
#[inline(always)]
pub fn record_key(ctx: &TracePointContext, offsets: &Global<BlockOffsets>) -> Option<(RequestKey, u32)> {
    // SAFETY: offsets come from the tracepoints' format files.
    unsafe {
        let dev = ctx.read_at::<u32>(setting!(*offsets, tp_dev) as usize).ok()?;
        let sector = ctx.read_at::<u64>(setting!(*offsets, tp_sector) as usize).ok()?;
        Some((RequestKey { id: sector, dev: u64::from(dev) }, dev))
    }
}

/// A request as block_rq_complete sees it.
#[derive(Clone, Copy)]
pub struct Done {
    pub dev: u32,
    pub sector: u64,
    pub bytes: u32,
    /// `cmd_flags` (BTF/raw) or 0 (classic).
    pub flags: u32,
    /// The record's rwbs (classic) or empty.
    pub rwbs: [u8; 8],
}

impl Done {
    /// A write, as libbpf-tools' biotop tells (operation REQ_OP_WRITE; the
    /// classic rwbs spells it W, after an F for a preflush).
    #[inline(always)]
    pub fn is_write(&self) -> bool {
        if self.rwbs[0] == 0 { self.flags & 0xff == 1 } else { self.rwbs[0] == b'W' || self.rwbs[1] == b'W' }
    }

    /// From a classic block_rq_complete record: its key and what it says.
    #[inline(always)]
    pub fn of_record(ctx: &TracePointContext, offsets: &Global<BlockOffsets>) -> Option<(RequestKey, Self)> {
        let (key, dev) = record_key(ctx, offsets)?;
        // SAFETY: offsets come from the format file.
        let (nr_sector, rwbs) = unsafe {
            (
                ctx.read_at::<u32>(setting!(*offsets, tp_nr_sector) as usize).ok()?,
                ctx.read_at::<[u8; 8]>(setting!(*offsets, tp_rwbs) as usize).ok()?,
            )
        };
        Some((key, Self { dev, sector: key.id, bytes: nr_sector << 9, flags: 0, rwbs }))
    }
}

/// Requests in flight with their submitters, and the filters that choose
/// them (`BLOCK_FILTER`).
pub struct Submitters<'a> {
    pub offsets: &'a Global<BlockOffsets>,
    pub filter: &'a Global<RequestFilter>,
    pub task_offsets: &'a Global<TaskOffsets>,
    pub in_flight: &'a HashMap<RequestKey, InFlight>,
    /// Where a full `in_flight` is counted, and in which slot.
    pub drops: &'a PerCpuArray<u64>,
    pub full_reason: u32,
}

impl Submitters<'_> {
    #[inline(always)]
    fn wants_disk(&self, dev: u32) -> bool {
        setting!(*self.filter, filter_dev) == 0 || dev == setting!(*self.filter, dev)
    }

    /// The current task as a submitter, if the filters keep it.
    #[inline(always)]
    fn current_submitter(&self, now: u64) -> Option<InFlight> {
        let filter = self.filter;
        let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        if setting!(*filter, filter_tgid) != 0 && tgid != setting!(*filter, tgid) {
            return None;
        }
        let comm = bpf_get_current_comm().unwrap_or([0; TASK_COMM_LEN]);
        if setting!(*filter, filter_comm) != 0 && !same_comm(&comm, filter) {
            return None;
        }
        if setting!(*filter, filter_cgroup) != 0 {
            // SAFETY: the current task pointer.
            let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
            if !task.in_cgroup(self.task_offsets, setting!(*filter, cgroup_level), setting!(*filter, cgroup_id)) {
                return None;
            }
        }
        Some(InFlight { start_ns: now, issue_ns: 0, pid: tgid, _pad: 0, comm })
    }

    #[inline(always)]
    fn store(&self, key: &RequestKey, entry: &InFlight) {
        if self.in_flight.insert(key, entry, 0).is_err() {
            count_drop!(self.drops, self.full_reason);
        }
    }

    /// The start hook: the current task submits the request (or bio) `key`
    /// of disk `dev` (None for a bio, whose disk is checked at issue).
    #[inline(always)]
    pub fn start(&self, key: RequestKey, dev: Option<u32>) {
        if let Some(dev) = dev
            && !self.wants_disk(dev)
        {
            return;
        }
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        if let Some(entry) = self.current_submitter(now) {
            self.store(&key, &entry);
        }
    }

    /// block_rq_issue of request `key` on disk `dev`. A request whose start
    /// was keyed by its first bio (`first_bio`, getrq start) moves to its own
    /// key; one never started while we watched is kept as of an unknown
    /// submitter, unless a filter needs to know the submitter.
    #[inline(always)]
    pub fn issue(&self, key: RequestKey, dev: u32, first_bio: impl FnOnce() -> Option<RequestKey>) {
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        if let Some(entry) = self.in_flight.get_ptr_mut(&key) {
            // SAFETY: a live map value; a requeued request is issued again.
            unsafe { (*entry).issue_ns = now };
            return;
        }
        let mut entry = InFlight::UNKNOWN;
        if setting!(*self.offsets, getrq) != 0
            && let Some(bio) = first_bio()
        {
            // SAFETY: copied out before the entry is removed.
            if let Some(started) = unsafe { self.in_flight.get(&bio) } {
                entry = *started;
                let _ = self.in_flight.remove(&bio);
            }
        }
        if !self.wants_disk(dev) {
            return;
        }
        let filter = self.filter;
        let needs_submitter = setting!(*filter, filter_tgid) != 0
            || setting!(*filter, filter_comm) != 0
            || setting!(*filter, filter_cgroup) != 0;
        if entry.start_ns == 0 && needs_submitter {
            return;
        }
        entry.issue_ns = now;
        self.store(&key, &entry);
    }

    /// block_rq_complete: the request's entry, removed; None if it was not
    /// followed (filtered out, or in flight before tracing started).
    #[inline(always)]
    pub fn complete(&self, key: RequestKey) -> Option<InFlight> {
        // SAFETY: copied out before the entry is removed.
        let entry = unsafe { self.in_flight.get(&key) }.copied()?;
        let _ = self.in_flight.remove(&key);
        Some(entry)
    }
}

/// `comm == filter.comm`, both NUL-padded to 16 bytes, as two word compares.
#[inline(always)]
fn same_comm(comm: &[u8; TASK_COMM_LEN], filter: &Global<RequestFilter>) -> bool {
    let wanted = setting!(*filter, comm);
    let word = |bytes: &[u8; TASK_COMM_LEN], at: usize| {
        u64::from_ne_bytes([
            bytes[at],
            bytes[at + 1],
            bytes[at + 2],
            bytes[at + 3],
            bytes[at + 4],
            bytes[at + 5],
            bytes[at + 6],
            bytes[at + 7],
        ])
    };
    word(comm, 0) == word(&wanted, 0) && word(comm, 8) == word(&wanted, 8)
}

/// A block tool that follows requests from their submitters: it holds the
/// shared tracking and says what to do with a completed request.
pub trait RequestTool {
    fn submitters(&self) -> &Submitters<'_>;
    fn request(&self) -> Request<'_>;
    /// A followed request completed: `request` is what its start and issue
    /// recorded, `done` what the completion says.
    fn completed<C: EbpfContext>(&self, ctx: &C, request: InFlight, done: &Done);
}

/// block_rq_complete of request `key`.
#[inline(always)]
pub fn complete<T: RequestTool, C: EbpfContext>(tool: &T, ctx: &C, key: RequestKey, done: &Done) {
    if let Some(request) = tool.submitters().complete(key)
        && request.issue_ns != 0
    {
        tool.completed(ctx, request, done);
    }
}

/// The tp_btf entry points of a request-following tool, named by the
/// caller (`<tool>_start_btf`, ...): block_io_start, block_getrq,
/// block_rq_issue, block_rq_complete. `$tool` makes the tool, `$offsets` is
/// the object's `BLOCK_OFFSETS`.
#[macro_export]
macro_rules! block_btf_programs {
    ($tool:ident, $offsets:ident; $start:ident, $getrq:ident, $issue:ident, $complete:ident) => {
        /// block_io_start(struct request *rq), 6.5+.
        #[aya_ebpf::macros::btf_tracepoint(function = "block_io_start")]
        pub fn $start(ctx: aya_ebpf::programs::BtfTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq: *const u8 = ctx.arg(0);
            tool.submitters().start($crate::block::request::by_address(rq), Some(tool.request().dev(rq)));
            0
        }

        /// block_getrq(struct bio *bio), or (q, bio, rw) before 5.11.
        #[aya_ebpf::macros::btf_tracepoint(function = "block_getrq")]
        pub fn $getrq(ctx: aya_ebpf::programs::BtfTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let bio = $crate::block_bio_arg!(ctx, $offsets);
            $tool().submitters().start($crate::block::request::bio_key(bio), None);
            0
        }

        #[aya_ebpf::macros::btf_tracepoint(function = "block_rq_issue")]
        pub fn $issue(ctx: aya_ebpf::programs::BtfTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq = $crate::block_request_arg!(ctx, $offsets);
            let request = tool.request();
            tool.submitters().issue($crate::block::request::by_address(rq), request.dev(rq), || request.first_bio(rq));
            0
        }

        /// block_rq_complete(struct request *rq, blk_status_t error, unsigned int nr_bytes)
        #[aya_ebpf::macros::btf_tracepoint(function = "block_rq_complete")]
        pub fn $complete(ctx: aya_ebpf::programs::BtfTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq: *const u8 = ctx.arg(0);
            let done = tool.request().done(rq);
            $crate::block::request::complete(&tool, &ctx, $crate::block::request::by_address(rq), &done);
            0
        }
    };
}

/// The raw_tp and classic tracepoint entry points of a request-following
/// tool (`<tool>_start_raw`, ..., `<tool>_start_tp`, ...), as
/// `block_btf_programs`. Classic records carry no pointers: requests are
/// keyed by disk and start sector.
#[macro_export]
macro_rules! block_compat_programs {
    ($tool:ident, $offsets:ident;
     $start_raw:ident, $getrq_raw:ident, $issue_raw:ident, $complete_raw:ident;
     $start_tp:ident, $getrq_tp:ident, $issue_tp:ident, $complete_tp:ident) => {
        #[aya_ebpf::macros::raw_tracepoint(tracepoint = "block_io_start")]
        pub fn $start_raw(ctx: aya_ebpf::programs::RawTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq: *const u8 = ctx.arg(0);
            tool.submitters().start($crate::block::request::by_address(rq), Some(tool.request().dev(rq)));
            0
        }

        #[aya_ebpf::macros::raw_tracepoint(tracepoint = "block_getrq")]
        pub fn $getrq_raw(ctx: aya_ebpf::programs::RawTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let bio = $crate::block_bio_arg!(ctx, $offsets);
            $tool().submitters().start($crate::block::request::bio_key(bio), None);
            0
        }

        #[aya_ebpf::macros::raw_tracepoint(tracepoint = "block_rq_issue")]
        pub fn $issue_raw(ctx: aya_ebpf::programs::RawTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq = $crate::block_request_arg!(ctx, $offsets);
            let request = tool.request();
            tool.submitters().issue($crate::block::request::by_address(rq), request.dev(rq), || request.first_bio(rq));
            0
        }

        #[aya_ebpf::macros::raw_tracepoint(tracepoint = "block_rq_complete")]
        pub fn $complete_raw(ctx: aya_ebpf::programs::RawTracePointContext) -> i32 {
            use $crate::block::request::RequestTool as _;
            let tool = $tool();
            let rq: *const u8 = ctx.arg(0);
            let done = tool.request().done(rq);
            $crate::block::request::complete(&tool, &ctx, $crate::block::request::by_address(rq), &done);
            0
        }

        #[aya_ebpf::macros::tracepoint(category = "block", name = "block_io_start")]
        pub fn $start_tp(ctx: aya_ebpf::programs::TracePointContext) -> u32 {
            use $crate::block::request::RequestTool as _;
            if let Some((key, dev)) = $crate::block::request::record_key(&ctx, &$offsets) {
                $tool().submitters().start(key, Some(dev));
            }
            0
        }

        /// The record names the bio's disk and start sector: the request's
        /// key at issue (a partition's I/O on 5.12-6.4 carries the
        /// partition's dev here, and is then not matched).
        #[aya_ebpf::macros::tracepoint(category = "block", name = "block_getrq")]
        pub fn $getrq_tp(ctx: aya_ebpf::programs::TracePointContext) -> u32 {
            use $crate::block::request::RequestTool as _;
            if let Some((key, dev)) = $crate::block::request::record_key(&ctx, &$offsets) {
                $tool().submitters().start(key, Some(dev));
            }
            0
        }

        #[aya_ebpf::macros::tracepoint(category = "block", name = "block_rq_issue")]
        pub fn $issue_tp(ctx: aya_ebpf::programs::TracePointContext) -> u32 {
            use $crate::block::request::RequestTool as _;
            if let Some((key, dev)) = $crate::block::request::record_key(&ctx, &$offsets) {
                $tool().submitters().issue(key, dev, || None);
            }
            0
        }

        #[aya_ebpf::macros::tracepoint(category = "block", name = "block_rq_complete")]
        pub fn $complete_tp(ctx: aya_ebpf::programs::TracePointContext) -> u32 {
            if let Some((key, done)) = $crate::block::request::Done::of_record(&ctx, &$offsets) {
                $crate::block::request::complete(&$tool(), &ctx, key, &done);
            }
            0
        }
    };
}
