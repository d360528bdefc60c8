//! Recording into histograms kept in maps.

use aya_ebpf::maps::HashMap;
use tracer_common::hist::{Histogram, SparseKey, bucket_of};

/// Records `value` into a per-CPU dense histogram slot.
#[inline(always)]
pub fn record_dense(hist: Option<*mut Histogram>, value: u64) {
    let Some(hist) = hist else { return };
    let bucket = crate::events::opaque(bucket_of(value));
    // SAFETY: a per-CPU map slot: only this CPU writes it while we run.
    let hist = unsafe { &mut *hist };
    // LLVM can prove `bucket_of` < BUCKETS and would drop this check, but the
    // verifier cannot follow `leading_zeros`' bit tricks: `opaque` keeps it.
    if let Some(count) = hist.counts.get_mut(bucket) {
        *count += 1;
    }
    hist.sum += value;
}

/// Records `value` into the sparse histogram of `owner`: one hash entry per
/// (owner, bucket) plus one for the sum. Returns false when the map is full.
#[inline(always)]
pub fn record_sparse(map: &HashMap<SparseKey, u64>, owner: u32, value: u64) -> bool {
    let bucket = SparseKey { owner, slot: bucket_of(value) as u32 };
    let sum = SparseKey { owner, slot: SparseKey::SUM_SLOT };
    add(map, &bucket, 1) && add(map, &sum, value)
}

/// Adds `delta` to the counter at `key`, creating it if needed.
#[inline(always)]
fn add(map: &HashMap<SparseKey, u64>, key: &SparseKey, delta: u64) -> bool {
    crate::counters::add(map, key, delta) != crate::counters::Added::Full
}
