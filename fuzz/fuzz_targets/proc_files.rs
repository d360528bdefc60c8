//! /proc files as `tracer use` reads them, through the procfs crate's
//! parsers: any bytes give a value or an error.
//!
//! Not Meminfo nor MemoryMaps: this target found that procfs-core 0.18
//! scales their values (`num * 1024`, `v * size_multiplier`) unchecked: a
//! panic in debug builds, wrapped numbers in release ones (tracer's). Only
//! the kernel writes those files, so we left it to upstream rather than keep
//! targets that always fail.
#![no_main]

use procfs_core::{DiskStats, ExplicitSystemInfo, FromBufRead, FromReadSI, KernelStats};

/// A fixed machine for the parsers that convert ticks and pages.
const SYSTEM: ExplicitSystemInfo =
    ExplicitSystemInfo { boot_time_secs: 1_700_000_000, ticks_per_second: 100, page_size: 4096, is_little_endian: true };

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = DiskStats::from_buf_read(data);
    let _ = KernelStats::from_read(data, &SYSTEM);
});
