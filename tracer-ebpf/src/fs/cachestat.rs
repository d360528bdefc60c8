//! cachestat's kernel logic: count page cache events into per-CPU counters
//! (no atomics, no shared cache lines); userspace sums the CPUs and turns
//! accesses, additions and dirtying into hits and misses.

use aya_ebpf::maps::PerCpuArray;
use tracer_common::fs::cachestat::event;

pub struct Cachestat<'a> {
    pub counts: &'a PerCpuArray<u64>,
}

impl Cachestat<'_> {
    #[inline(always)]
    fn add(&self, slot: u32, count: u64) {
        if let Some(counter) = self.counts.get_ptr_mut(slot) {
            // SAFETY: this CPU's slot; nothing else writes it while we run.
            unsafe { *counter += count };
        }
    }

    /// folio_mark_accessed / mark_page_accessed.
    #[inline(always)]
    pub fn accessed(&self) {
        self.add(event::ACCESSED, 1);
    }

    /// A folio of 2^order pages joined the page cache.
    #[inline(always)]
    pub fn added(&self, order: u8) {
        self.add(event::ADDED, 1 << (order & 31));
    }

    #[inline(always)]
    pub fn dirtied(&self) {
        self.add(event::DIRTIED, 1);
    }

    #[inline(always)]
    pub fn buffer_dirtied(&self) {
        self.add(event::BUFFERS_DIRTIED, 1);
    }
}
