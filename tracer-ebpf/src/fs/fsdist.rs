//! fsdist's kernel logic: time one file system's reads, writes, opens,
//! fsyncs and getattrs (the three paths of `fs::ops`, shared with fsslower)
//! into one per-CPU histogram per operation.

use aya_ebpf::maps::PerCpuArray;
use tracer_common::{fs::fsdist::slot_of, hist::Histogram};

use super::ops::FsOps;
use crate::hist::record_dense;

pub struct Fsdist<'a> {
    pub ops: FsOps<'a>,
    /// One histogram per operation, in `OPERATIONS` order.
    pub hists: &'a PerCpuArray<Histogram>,
}

impl Fsdist<'_> {
    /// Exit of any traced operation (`ret` matters only to an openat).
    #[inline(always)]
    pub fn exit(&self, ret: i64) {
        if let Some(done) = self.ops.finish(ret) {
            record_dense(self.hists.get_ptr_mut(slot_of(done.op)), done.latency_ns);
        }
    }
}
