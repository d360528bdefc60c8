//! Counters in hash maps shared by all CPUs.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{bindings::BPF_NOEXIST, maps::HashMap};

const EEXIST: i32 = 17;

/// What `add` did.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Added to a counter that existed.
    Existing,
    /// This call created the counter.
    Created,
    /// The map is full: nothing was added.
    Full,
}

/// Adds `delta` to the counter at `key`, creating it if needed. Other CPUs
/// update the same counters, so the add is atomic.
#[inline(always)]
pub fn add<K>(map: &HashMap<K, u64>, key: &K, delta: u64) -> Added {
    if let Some(counter) = map.get_ptr_mut(key) {
        atomic_add(counter, delta);
        return Added::Existing;
    }
    match map.insert(key, &delta, BPF_NOEXIST.into()) {
        Ok(()) => Added::Created,
        // Another CPU created it between our lookup and insert.
        Err(err) if err == -EEXIST => match map.get_ptr_mut(key) {
            Some(counter) => {
                atomic_add(counter, delta);
                Added::Existing
            }
            None => Added::Full,
        },
        Err(_) => Added::Full,
    }
}

/// A BPF atomic add (`lock xadd`). The BPF target has no compare-and-swap, so
/// core's `AtomicU64::fetch_add` is unavailable; the intrinsic maps straight
/// to the instruction.
#[inline(always)]
pub fn atomic_add(counter: *mut u64, delta: u64) {
    // SAFETY: `counter` is a live, 8-byte aligned map value.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(counter, delta) };
}
