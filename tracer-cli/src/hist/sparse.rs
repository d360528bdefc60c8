//! Per-owner histograms kept sparse in a kernel hash map, one entry per
//! (owner, bucket) plus a sum entry. Counters are cumulative; this turns each
//! read into per-owner interval counts and picks entries idle for a whole
//! interval for deletion, so the map does not fill up over long runs.

use std::collections::{BTreeMap, HashMap, HashSet};

use tracer_common::hist::{BUCKETS, SparseKey};

use super::Counts;

#[derive(Default)]
pub struct SparseTracker {
    previous: HashMap<SparseKey, u64>,
}

/// One read of the map, turned into an interval.
pub struct SparseInterval {
    /// Owners with samples in the interval, in owner order.
    pub owners: BTreeMap<u32, Counts>,
    /// Entries that did not change for a whole interval: safe to delete.
    pub idle: Vec<SparseKey>,
    /// Owners all of whose entries are idle: their side data (comm) can go too.
    pub gone: Vec<u32>,
}

impl SparseTracker {
    /// Takes a full snapshot of the map (key -> cumulative value).
    pub fn interval(&mut self, snapshot: HashMap<SparseKey, u64>) -> SparseInterval {
        let mut owners: BTreeMap<u32, Counts> = BTreeMap::new();
        let mut idle = Vec::new();
        for (&key, &value) in &snapshot {
            let before = self.previous.get(&key).copied().unwrap_or(0);
            let delta = value.saturating_sub(before);
            if delta == 0 {
                if self.previous.contains_key(&key) {
                    idle.push(key);
                }
                continue;
            }
            let counts = owners.entry(key.owner).or_default();
            match key.slot {
                SparseKey::SUM_SLOT => counts.sum += delta,
                slot if (slot as usize) < BUCKETS => counts.buckets[slot as usize] += delta,
                _ => {}
            }
        }
        owners.retain(|_, counts| counts.total() > 0);
        self.previous = snapshot;
        for key in &idle {
            self.previous.remove(key);
        }
        let mut gone: Vec<u32> = idle.iter().map(|key| key.owner).collect();
        gone.sort_unstable();
        gone.dedup();
        let remaining: HashSet<u32> = self.previous.keys().map(|key| key.owner).collect();
        gone.retain(|owner| !remaining.contains(owner));
        SparseInterval { owners, idle, gone }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(owner: u32, slot: u32) -> SparseKey {
        SparseKey { owner, slot }
    }

    #[test]
    fn intervals_are_deltas_and_idle_entries_are_reported() {
        let mut tracker = SparseTracker::default();
        let first = tracker.interval(HashMap::from([(key(7, 3), 2), (key(7, SparseKey::SUM_SLOT), 7), (key(9, 5), 1)]));
        assert_eq!(first.owners.len(), 2);
        assert_eq!(first.owners[&7].total(), 2);
        assert_eq!(first.owners[&7].sum, 7);
        assert!(first.idle.is_empty());

        // Owner 9 did nothing this interval; owner 7 got one more sample.
        let second =
            tracker.interval(HashMap::from([(key(7, 3), 3), (key(7, SparseKey::SUM_SLOT), 10), (key(9, 5), 1)]));
        assert_eq!(second.owners.keys().copied().collect::<Vec<_>>(), vec![7]);
        assert_eq!(second.owners[&7].total(), 1);
        assert_eq!(second.owners[&7].sum, 3);
        assert_eq!(second.idle, vec![key(9, 5)]);
        assert_eq!(second.gone, vec![9]);

        // Once deleted, a re-created entry counts from zero again.
        let third =
            tracker.interval(HashMap::from([(key(7, 3), 3), (key(7, SparseKey::SUM_SLOT), 10), (key(9, 5), 4)]));
        assert_eq!(third.owners[&9].total(), 4);
    }
}
