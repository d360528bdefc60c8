//! What every event-tool object shares: the event header and the names and
//! sizes of the transport maps.

/// Every event starts with its timestamp (`bpf_ktime_get_ns`, i.e.
/// CLOCK_MONOTONIC), so userspace can print events in time order whatever
/// CPU or buffer they came through.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    pub timestamp_ns: u64,
}

/// The event map of every event tool: a `RingBuf` in the main objects, a
/// `PerfEventByteArray` in the compat objects (kernels before 5.8).
pub const EVENTS_MAP: &str = "EVENTS";
/// Per-CPU count of events the ring buffer had no room for.
pub const EVENT_DROPS_MAP: &str = "EVENT_DROPS";
/// Ring buffer size: a few thousand typical events of slack while userspace
/// is descheduled.
pub const RING_BYTES: u32 = 1 << 20;
/// Perf buffer pages per CPU (compat objects).
pub const PERF_PAGES: usize = 64;
