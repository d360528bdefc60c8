//! Events reach us per CPU (perf buffers) or in reservation order (ring
//! buffer), a little out of time order. They wait here for `HOLD` and come
//! out sorted by their timestamps.

use std::{cmp::Reverse, collections::BinaryHeap};

/// How long before a drain an event must have been stamped to be released:
/// an event stamped earlier but still being written by another CPU (between
/// its timestamp and its commit, microseconds) is then already drained.
pub const HOLD_NS: u64 = 5_000_000;

#[derive(Default)]
pub struct Reorder {
    /// (timestamp, arrival number, bytes): the arrival number keeps equal
    /// timestamps in arrival order.
    heap: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
    arrivals: u64,
}

impl Reorder {
    /// Adds an event whose first 8 bytes are its timestamp (native endian).
    pub fn push(&mut self, event: Vec<u8>) {
        let timestamp = event.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
        self.arrivals += 1;
        self.heap.push(Reverse((timestamp, self.arrivals, event)));
    }

    /// Events stamped at or before `horizon`, oldest first.
    pub fn ready(&mut self, horizon: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self.heap.peek().is_some_and(|Reverse((timestamp, _, _))| *timestamp <= horizon) {
            out.push(self.heap.pop().expect("peeked").0.2);
        }
        out
    }

    /// Everything left, oldest first (at the end of a run).
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        self.ready(u64::MAX)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(timestamp: u64, tag: u8) -> Vec<u8> {
        let mut bytes = timestamp.to_ne_bytes().to_vec();
        bytes.push(tag);
        bytes
    }

    #[test]
    fn events_come_out_in_time_order_after_the_horizon() {
        let mut reorder = Reorder::default();
        reorder.push(event(30, b'c'));
        reorder.push(event(10, b'a'));
        reorder.push(event(20, b'b'));
        reorder.push(event(20, b'B'));
        let ready: Vec<u8> = reorder.ready(20).iter().map(|e| e[8]).collect();
        assert_eq!(ready, b"abB");
        assert_eq!(reorder.len(), 1);
        reorder.push(event(25, b'x'));
        let rest: Vec<u8> = reorder.drain().iter().map(|e| e[8]).collect();
        assert_eq!(rest, b"xc");
    }
}
