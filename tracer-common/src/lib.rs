//! Types shared by the kernel side (`tracer-ebpf`) and userspace (`tracer-cli`).
//!
//! Everything here is `#[repr(C)]` plain data: the BPF programs write it into maps
//! and userspace reads the same bytes back, so both sides must agree on layout.
#![cfg_attr(not(test), no_std)]

pub mod block;
pub mod events;
pub mod fs;
pub mod hist;
pub mod memory;
pub mod net;
pub mod offsets;
pub mod process;
pub mod sched;
pub mod stacks;

/// Marks a type as plain old data for aya's map and global accessors.
macro_rules! impl_pod {
    ($($t:ty),* $(,)?) => {
        $(
            #[cfg(feature = "user")]
            // SAFETY: the type is #[repr(C)], Copy, and every bit pattern is valid.
            unsafe impl aya::Pod for $t {}
        )*
    };
}
pub(crate) use impl_pod;

/// Length of `task_struct.comm`, including the terminating NUL.
pub const TASK_COMM_LEN: usize = 16;
