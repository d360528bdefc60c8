//! `biopattern`: per-disk counters of random and sequential I/O.

/// One disk's counters, cumulative. Shared by all CPUs (whether an I/O is
/// sequential depends on the disk's previous one, whichever CPU completed
/// it), so the kernel adds atomically.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatternCounter {
    /// The sector after the last completed I/O (0: none seen yet).
    pub next_sector: u64,
    pub bytes: u64,
    /// Every completed I/O.
    pub io: u64,
    /// I/Os that started where the previous one ended, and those that did
    /// not. The disk's first I/O has no previous one and is neither.
    pub sequential: u64,
    pub random: u64,
}

crate::impl_pod!(PatternCounter);

/// Disks counted at once.
pub const DISK_ENTRIES: u32 = 1024;

/// Read-only global `BIOPATTERN_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 1: only the disk `dev` (the kernel's major << 20 | minor).
    pub filter_dev: u32,
    pub dev: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { filter_dev: 0, dev: 0 };
}

crate::impl_pod!(Config);

/// Slots of `BIOPATTERN_DROPS`.
pub mod drop_reason {
    pub const DISK_MAP_FULL: u32 = 0;
    pub const COUNT: u32 = 1;
}
