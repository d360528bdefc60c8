//! Events from the kernel: the transport (ring buffer or per-CPU perf
//! buffers), and putting events from different CPUs back in time order.

pub mod reorder;
pub mod stream;

pub use reorder::Reorder;
pub use stream::EventBuffers;

/// Copies an event's bytes over `zero`. Events are sent with only the bytes
/// they use, so shorter input leaves the rest zero; longer input (perf
/// buffer padding) is ignored.
pub fn decode<T: aya::Pod>(bytes: &[u8], zero: T) -> T {
    let mut value = zero;
    let size = bytes.len().min(std::mem::size_of::<T>());
    // SAFETY: T is plain data (Pod); we overwrite at most its size in bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), std::ptr::from_mut(&mut value).cast::<u8>(), size) };
    value
}

/// CLOCK_MONOTONIC now, the clock of `bpf_ktime_get_ns`.
pub fn monotonic_ns() -> u64 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64
}

/// Wall-clock time of an event stamped `event_ns` on the monotonic clock.
pub fn wall_time(event_ns: u64) -> jiff::Timestamp {
    let age = monotonic_ns().saturating_sub(event_ns);
    jiff::Timestamp::now() - jiff::SignedDuration::from_nanos(age as i64)
}
