//! Sending events to userspace: a ring buffer (5.8+) in the main objects, a
//! perf buffer in the compat objects. Events are built in a per-CPU scratch
//! slot (the BPF stack is 512 bytes) and sent with only the bytes used.

use aya_ebpf::{
    EbpfContext,
    maps::{PerCpuArray, PerfEventByteArray, RingBuf},
};

/// Where a tool's events go.
pub trait EventSink {
    /// Sends `bytes`; false if the buffer had no room (counted by the caller).
    fn send<C: EbpfContext>(&self, ctx: &C, bytes: &[u8]) -> bool;
}

/// Userspace drains the ring on a timer, so the programs never pay for
/// waking it (and a storm does not wake it thousands of times a second).
const BPF_RB_NO_WAKEUP: u64 = 1;

impl EventSink for RingBuf {
    #[inline(always)]
    fn send<C: EbpfContext>(&self, _ctx: &C, bytes: &[u8]) -> bool {
        self.output::<[u8]>(bytes, BPF_RB_NO_WAKEUP).is_ok()
    }
}

impl EventSink for PerfEventByteArray {
    /// The kernel counts perf-buffer overflows itself and tells userspace.
    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, bytes: &[u8]) -> bool {
        self.output(ctx, bytes, 0);
        true
    }
}

/// Sends `bytes`, counting a drop in `drops[0]` when there is no room.
#[inline(always)]
pub fn send_or_count<S: EventSink, C: EbpfContext>(sink: &S, drops: &PerCpuArray<u64>, ctx: &C, bytes: &[u8]) {
    if !sink.send(ctx, bytes) {
        crate::count_drop!(drops, 0);
    }
}

/// `value` with its bound hidden from LLVM, so the explicit checks that follow
/// stay in the program for the verifier to see.
#[inline(always)]
pub fn opaque<T: Copy>(value: T) -> T {
    let slot = value;
    // SAFETY: reading a local through a valid pointer.
    unsafe { core::ptr::read_volatile(&slot) }
}
