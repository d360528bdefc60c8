//! biopattern's kernel logic: at each completion, whether the I/O started
//! where the disk's previous one ended, counted per disk.

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::block::biopattern::{Config, PatternCounter, drop_reason};

use super::request::Done;
use crate::{count_drop, setting};

pub struct Biopattern<'a> {
    pub config: &'a Global<Config>,
    pub counters: &'a HashMap<u32, PatternCounter>,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn add(counter: *mut u64, delta: u64) {
    // SAFETY: an 8-byte aligned field of a live map value.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(counter, delta) };
}

impl Biopattern<'_> {
    /// block_rq_complete of an I/O.
    #[inline(always)]
    pub fn complete(&self, done: &Done) {
        let config = self.config;
        if setting!(*config, filter_dev) != 0 && done.dev != setting!(*config, dev) {
            return;
        }
        let mut counter = self.counters.get_ptr_mut(&done.dev);
        if counter.is_none() {
            let _ = self.counters.insert(&done.dev, &PatternCounter::default(), BPF_NOEXIST.into());
            counter = self.counters.get_ptr_mut(&done.dev);
        }
        let Some(counter) = counter else {
            count_drop!(self.drops, drop_reason::DISK_MAP_FULL);
            return;
        };
        // SAFETY: a live map value; the counters are added atomically, the
        // position is a plain store (the last completion's wins).
        unsafe {
            let next = (*counter).next_sector;
            if next != 0 {
                add(if next == done.sector { &raw mut (*counter).sequential } else { &raw mut (*counter).random }, 1);
            }
            add(&raw mut (*counter).io, 1);
            add(&raw mut (*counter).bytes, u64::from(done.bytes));
            (*counter).next_sector = done.sector + u64::from(done.bytes >> 9);
        }
    }
}
