//! Our bucket counts as an HdrHistogram and back. Each bucket's samples are
//! recorded at the bucket's midpoint (at most 1/32 from any value in it), so
//! percentiles come out within our stated error; HdrHistogram's own rounding
//! (3 significant digits, 0.1%) keeps every midpoint inside its bucket, so
//! converting back gives the same counts: saved, merged and reloaded
//! histograms lose nothing.

use hdrhistogram::Histogram as Hdr;
use tracer_common::hist::{bucket_bounds, bucket_of};

use super::Counts;

/// The largest value recorded (2^50 ns, 13 days): above our top bucket.
const HIGHEST: u64 = 1 << 50;

/// An empty histogram with the bounds every tracer histogram uses.
pub fn empty() -> Hdr<u64> {
    Hdr::<u64>::new_with_bounds(1, HIGHEST, 3).expect("valid hdrhistogram bounds")
}

/// `counts` recorded at bucket midpoints.
pub fn from_counts(counts: &Counts) -> Hdr<u64> {
    let mut hdr = empty();
    for (bucket, &count) in counts.buckets.iter().enumerate().filter(|(_, c)| **c > 0) {
        hdr.saturating_record_n(representative(bucket), count);
    }
    hdr
}

/// Bucket counts of a histogram written by `from_counts` (or merged from
/// such). The sum is that of the recorded midpoints: the exact sum of the
/// original values is not in the HdrHistogram format.
pub fn to_counts(hdr: &Hdr<u64>) -> Counts {
    let mut counts = Counts::default();
    for value in hdr.iter_recorded() {
        let recorded = hdr.median_equivalent(value.value_iterated_to());
        counts.buckets[bucket_of(recorded)] += value.count_at_value();
        counts.sum = counts.sum.saturating_add(recorded.saturating_mul(value.count_at_value()));
    }
    counts
}

/// The value reported for every sample of a bucket: its midpoint, so the
/// error against any value in the bucket is at most half its width (1/32).
pub fn representative(bucket: usize) -> u64 {
    let (low, high) = bucket_bounds(bucket);
    if high == u64::MAX { low } else { (low + (high - low) / 2).max(1) }
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::BUCKETS;

    use super::*;

    #[test]
    fn every_bucket_survives_the_round_trip() {
        let mut counts = Counts::default();
        for (bucket, count) in counts.buckets.iter_mut().enumerate() {
            *count = bucket as u64 % 7 + 1;
        }
        let back = to_counts(&from_counts(&counts));
        // Bucket 0 (value 0) is recorded as 1 ns: HdrHistogram starts at 1.
        assert_eq!(back.buckets[1], counts.buckets[0] + counts.buckets[1]);
        assert_eq!(back.buckets[2..BUCKETS], counts.buckets[2..BUCKETS]);
        assert_eq!(back.total(), counts.total());
    }

    #[test]
    fn merged_histograms_add_their_counts_exactly() {
        let mut a = Counts::default();
        a.buckets[bucket_of(2_000)] = 10;
        a.buckets[bucket_of(5_000_000)] = 1;
        let mut b = Counts::default();
        b.buckets[bucket_of(2_000)] = 5;
        b.buckets[bucket_of(90_000)] = 3;
        let mut merged = from_counts(&a);
        merged.add(from_counts(&b)).unwrap();
        let back = to_counts(&merged);
        assert_eq!(back.buckets[bucket_of(2_000)], 15);
        assert_eq!(back.buckets[bucket_of(90_000)], 3);
        assert_eq!(back.buckets[bucket_of(5_000_000)], 1);
        assert_eq!(back.total(), 19);
        assert_eq!(back.summary().p50, from_counts(&back).value_at_quantile(0.5));
    }
}
