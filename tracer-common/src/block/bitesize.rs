//! `bitesize`: I/O size histograms per submitting process.

/// (owner, bucket) entries of the per-process size histograms (owner: the
/// submitting pid; userspace adds up processes of one name).
pub const SPARSE_ENTRIES: u32 = 16384;
/// Processes whose name is kept at once.
pub const COMM_ENTRIES: u32 = 4096;

/// Slots of `BITESIZE_DROPS`.
pub mod drop_reason {
    pub const IN_FLIGHT_FULL: u32 = 0;
    pub const HIST_MAP_FULL: u32 = 1;
    pub const COMM_MAP_FULL: u32 = 2;
    pub const COUNT: u32 = 3;
}
