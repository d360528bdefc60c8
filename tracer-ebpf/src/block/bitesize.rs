//! bitesize's kernel logic: each completed request's size into the sparse
//! histogram of the process that submitted it (followed by
//! `request::Submitters`), and that process's name into a side map.

use aya_ebpf::{
    EbpfContext, Global,
    bindings::BPF_NOEXIST,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    block::{BlockOffsets, InFlight, bitesize::drop_reason},
    hist::SparseKey,
};

use super::request::{Done, Request, RequestTool, Submitters};
use crate::{count_drop, hist::record_sparse};

pub struct Bitesize<'a> {
    pub offsets: &'a Global<BlockOffsets>,
    pub submitters: Submitters<'a>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub comms: &'a HashMap<u32, [u8; TASK_COMM_LEN]>,
    pub drops: &'a PerCpuArray<u64>,
}

impl RequestTool for Bitesize<'_> {
    #[inline(always)]
    fn submitters(&self) -> &Submitters<'_> {
        &self.submitters
    }

    #[inline(always)]
    fn request(&self) -> Request<'_> {
        Request { offsets: self.offsets }
    }

    #[inline(always)]
    fn completed<C: EbpfContext>(&self, _ctx: &C, request: InFlight, done: &Done) {
        // The name seen first stays; -EEXIST is the common case.
        match self.comms.insert(&request.pid, &request.comm, BPF_NOEXIST.into()) {
            Ok(()) | Err(-17) => {}
            Err(_) => count_drop!(self.drops, drop_reason::COMM_MAP_FULL),
        }
        if !record_sparse(self.sparse, request.pid, u64::from(done.bytes)) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }
}
