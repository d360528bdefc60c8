//! Recording into histograms kept in maps.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{bindings::BPF_NOEXIST, maps::HashMap};
use tracer_common::hist::{Histogram, SparseKey, bucket_of};

const EEXIST: i32 = 17;

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

/// Adds `delta` to the counter at `key`, creating it if needed. The map is
/// shared by all CPUs, so the add is atomic.
#[inline(always)]
fn add(map: &HashMap<SparseKey, u64>, key: &SparseKey, delta: u64) -> bool {
    if let Some(counter) = map.get_ptr_mut(key) {
        atomic_add(counter, delta);
        return true;
    }
    match map.insert(key, delta, BPF_NOEXIST.into()) {
        Ok(()) => true,
        // Another CPU created it between our lookup and insert.
        Err(err) if err == -EEXIST => match map.get_ptr_mut(key) {
            Some(counter) => {
                atomic_add(counter, delta);
                true
            }
            None => false,
        },
        Err(_) => false,
    }
}

/// A BPF atomic add (`lock xadd`). The BPF target has no compare-and-swap, so
/// core's `AtomicU64::fetch_add` is unavailable; the intrinsic maps straight
/// to the instruction.
#[inline(always)]
fn atomic_add(counter: *mut u64, delta: u64) {
    // SAFETY: `counter` is a live, 8-byte aligned map value.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(counter, delta) };
}
