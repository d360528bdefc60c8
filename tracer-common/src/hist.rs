//! The log-linear histogram bucket scheme shared by the kernel and userspace.
//!
//! Values (nanoseconds, bytes, ...) below 2^SUB_BUCKET_BITS get one bucket each.
//! Above that, every power-of-two range [2^e, 2^(e+1)) is split into
//! 2^SUB_BUCKET_BITS equal sub-buckets of width 2^(e - SUB_BUCKET_BITS). A
//! bucket's width is therefore at most 1/16 of its lower bound, so any value
//! reported from inside a bucket is within 6.25% of every value the bucket
//! holds: that is the relative error bound of every percentile we print.
//!
//! The same `bucket_of` runs in the BPF programs (to pick the slot to
//! increment) and in userspace tests; `bucket_bounds` turns a slot back into
//! its value range.

/// log2 of the number of linear sub-buckets per power of two.
pub const SUB_BUCKET_BITS: u32 = 4;
/// Linear sub-buckets per power of two (16: relative error ≤ 1/16).
pub const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Values at or above 2^TOP_EXPONENT (about 78 hours in nanoseconds) share
/// the last, open-ended bucket.
pub const TOP_EXPONENT: u32 = 48;
/// Index of the open-ended overflow bucket.
pub const OVERFLOW_BUCKET: usize = ((TOP_EXPONENT - SUB_BUCKET_BITS + 1) as u64 * SUB_BUCKETS) as usize;
/// Number of buckets, overflow bucket included.
pub const BUCKETS: usize = OVERFLOW_BUCKET + 1;
/// The relative error bound: a bucket's width divided by its lower bound.
pub const RELATIVE_ERROR: f64 = 1.0 / SUB_BUCKETS as f64;

/// The bucket holding `value`.
#[inline(always)]
pub const fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    if value >> TOP_EXPONENT != 0 {
        return OVERFLOW_BUCKET;
    }
    // exponent e such that 2^e <= value < 2^(e+1); e >= SUB_BUCKET_BITS here.
    let exponent = 63 - value.leading_zeros();
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (value >> shift) & (SUB_BUCKETS - 1);
    ((shift + 1) as u64 * SUB_BUCKETS + sub) as usize
}

/// The half-open value range `[low, high)` covered by `bucket`; the overflow
/// bucket reports `high == u64::MAX`.
pub const fn bucket_bounds(bucket: usize) -> (u64, u64) {
    if bucket < SUB_BUCKETS as usize {
        return (bucket as u64, bucket as u64 + 1);
    }
    if bucket >= OVERFLOW_BUCKET {
        return (1 << TOP_EXPONENT, u64::MAX);
    }
    let shift = (bucket as u64 / SUB_BUCKETS - 1) as u32;
    let sub = bucket as u64 % SUB_BUCKETS;
    ((SUB_BUCKETS + sub) << shift, (SUB_BUCKETS + sub + 1) << shift)
}

/// One histogram as the kernel keeps it per CPU: a count per bucket plus the
/// exact sum of recorded values (so the mean needs no bucket rounding).
/// Counters only grow; userspace subtracts successive snapshots to get an
/// interval, so nothing recorded while it reads is lost.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Histogram {
    pub counts: [u64; BUCKETS],
    pub sum: u64,
}

impl Histogram {
    pub const ZERO: Self = Self { counts: [0; BUCKETS], sum: 0 };
}

crate::impl_pod!(Histogram);

/// Key of a sparse histogram kept in a hash map, one entry per (owner, bucket):
/// per-process/thread/namespace histograms cost only the buckets they use.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SparseKey {
    /// Who the histogram belongs to (pid, tid, pid-namespace inode, ...).
    pub owner: u32,
    /// A bucket index, or `SUM_SLOT` for the running sum of values.
    pub slot: u32,
}

impl SparseKey {
    /// The slot holding the exact sum of the owner's recorded values.
    pub const SUM_SLOT: u32 = BUCKETS as u32;
}

crate::impl_pod!(SparseKey);

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// Values that probe every power of two and both edges of sub-buckets.
    fn probe_values() -> Vec<u64> {
        let mut values: Vec<u64> = (0..4096).collect();
        for shift in 0..64 {
            let base = 1u64 << shift;
            for delta in [0, 1, 2, 3] {
                values.push(base.saturating_add(delta));
                values.push(base.saturating_sub(delta));
            }
            values.push(base.saturating_add(base / 3));
            values.push(base.saturating_add(base / 2 + 7));
        }
        values.push(u64::MAX);
        values
    }

    #[test]
    fn every_value_lands_in_a_bucket_that_contains_it() {
        for value in probe_values() {
            let bucket = bucket_of(value);
            assert!(bucket < BUCKETS, "value {value} -> bucket {bucket}");
            let (low, high) = bucket_bounds(bucket);
            let contained = low <= value && (value < high || high == u64::MAX);
            assert!(contained, "value {value} in bucket {bucket} = [{low}, {high})");
        }
    }

    #[test]
    fn relative_error_is_at_most_one_sixteenth() {
        assert_eq!(RELATIVE_ERROR, 1.0 / 16.0);
        for bucket in 0..OVERFLOW_BUCKET {
            let (low, high) = bucket_bounds(bucket);
            assert!(high > low);
            if low >= SUB_BUCKETS {
                let error = (high - low) as f64 / low as f64;
                assert!(error <= RELATIVE_ERROR, "bucket {bucket} [{low},{high}) error {error}");
            } else {
                assert_eq!(high - low, 1, "small values are exact");
            }
        }
    }

    #[test]
    fn buckets_tile_the_value_range_without_gaps() {
        for bucket in 1..OVERFLOW_BUCKET {
            assert_eq!(bucket_bounds(bucket - 1).1, bucket_bounds(bucket).0, "gap before bucket {bucket}");
        }
        assert_eq!(bucket_bounds(OVERFLOW_BUCKET - 1).1, bucket_bounds(OVERFLOW_BUCKET).0);
    }
}
