//! What the top tools (biotop, tcptop) share: turning the kernel's
//! cumulative per-key counters into one interval's, and picking the keys
//! idle for a whole interval, which the caller deletes from the map (so it
//! holds live keys only, and nothing counted while it is read is lost).

use std::{collections::HashMap, hash::Hash};

/// Counters that only grow.
pub trait Cumulative: Copy + Default {
    /// What was added since `before`.
    fn since(&self, before: &Self) -> Self;
    /// True when nothing was counted.
    fn is_idle(&self) -> bool;
}

impl Cumulative for u64 {
    fn since(&self, before: &Self) -> Self {
        self.saturating_sub(*before)
    }

    fn is_idle(&self) -> bool {
        *self == 0
    }
}

pub struct Intervals<K, V> {
    previous: HashMap<K, V>,
}

impl<K, V> Default for Intervals<K, V> {
    fn default() -> Self {
        Self { previous: HashMap::new() }
    }
}

impl<K: Copy + Eq + Hash, V: Cumulative> Intervals<K, V> {
    /// (keys with their counts this interval, idle keys).
    pub fn next(&mut self, snapshot: HashMap<K, V>) -> (Vec<(K, V)>, Vec<K>) {
        let mut rows = Vec::new();
        let mut idle = Vec::new();
        let mut current = HashMap::new();
        for (key, now) in snapshot {
            let delta = now.since(&self.previous.get(&key).copied().unwrap_or_default());
            if delta.is_idle() {
                idle.push(key);
                continue;
            }
            current.insert(key, now);
            rows.push((key, delta));
        }
        self.previous = current;
        (rows, idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_deltas_and_idle_keys_go() {
        let mut intervals: Intervals<u32, u64> = Intervals::default();
        let (mut rows, idle) = intervals.next(HashMap::from([(1, 10), (2, 5)]));
        rows.sort();
        assert_eq!((rows, idle), (vec![(1, 10), (2, 5)], vec![]));
        let (rows, idle) = intervals.next(HashMap::from([(1, 25), (2, 5)]));
        assert_eq!((rows, idle), (vec![(1, 15)], vec![2]));
        // A key deleted and counted again starts from zero.
        let (rows, _) = intervals.next(HashMap::from([(2, 3)]));
        assert_eq!(rows, [(2, 3)]);
    }
}
