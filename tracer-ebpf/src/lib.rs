//! Helpers shared by every tracer BPF program.
#![no_std]
// The BPF target lacks compare-and-swap, so atomic adds go through the intrinsic.
#![allow(internal_features)]
#![feature(core_intrinsics)]

pub mod block;
pub mod counters;
pub mod events;
pub mod fs;
pub mod hist;
pub mod memory;
pub mod net;
pub mod process;
pub mod sched;
pub mod stacks;
pub mod storage;
pub mod task;

/// Reads one field of a read-only global struct (`setting!(CONFIG, keying)`).
///
/// `Global::load` copies the whole struct, which costs a load and often a
/// stack spill per field on every call; this loads just the field. The
/// verifier knows read-only globals, so a setting that disables a feature
/// prunes that feature's code at load time.
#[macro_export]
macro_rules! setting {
    ($global:expr, $($field:ident).+) => {{
        let base = $crate::global_ptr(&$global);
        // SAFETY: `Global<T>` is a transparent wrapper of an initialised `T`.
        #[allow(unused_unsafe)]
        let value = unsafe { core::ptr::read_volatile(&raw const (*base).$($field).+) };
        value
    }};
}

/// The `T` inside a `Global<T>`.
#[inline(always)]
pub const fn global_ptr<T>(global: &aya_ebpf::Global<T>) -> *const T {
    core::ptr::from_ref(global).cast()
}

/// Adds one to `counter[reason]` of a per-CPU drop-counter array, so userspace
/// can report what was lost and why.
#[macro_export]
macro_rules! count_drop {
    ($map:expr, $reason:expr) => {
        if let Some(slot) = $map.get_ptr_mut($reason) {
            // SAFETY: per-CPU slot, only this CPU writes it while we run.
            unsafe { *slot += 1 };
        }
    };
}

/// Every object needs a panic handler; the verifier rejects any path that
/// could reach it, so it is never called.
#[macro_export]
macro_rules! bpf_object_boilerplate {
    () => {
        #[cfg(not(test))]
        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo) -> ! {
            loop {}
        }

        /// GPL-compatible, so GPL-only helpers are allowed.
        #[unsafe(link_section = "license")]
        #[unsafe(no_mangle)]
        static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
    };
}
