//! `hardirqs` and `softirqs`: settings and map sizes (one shape for both).

/// Read-only global `IRQS_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this CPU; `ALL_CPUS` traces every one.
    pub target_cpu: u32,
    /// `irqaction.name` (BTF; hardirqs on tp_btf/raw_tp).
    pub action_name: u32,
    /// The classic record's irq (hardirqs) or vec (softirqs) field.
    pub tp_id: u32,
    /// The classic `irq_handler_entry` record's `__data_loc char[] name`.
    pub tp_name: u32,
}

pub const ALL_CPUS: u32 = u32::MAX;

impl Config {
    pub const DEFAULT: Self = Self { target_cpu: ALL_CPUS, action_name: u32::MAX, tp_id: u32::MAX, tp_name: u32::MAX };
}

crate::impl_pod!(Config);

/// The owner of a sparse histogram: the CPU in the high half (so no two
/// CPUs ever add to one entry), the IRQ number or softirq vector in the low.
pub const fn owner(cpu: u32, id: u32) -> u32 {
    (cpu << 16) | (id & 0xffff)
}

/// The (cpu, id) of an owner.
pub const fn split_owner(owner: u32) -> (u32, u32) {
    (owner >> 16, owner & 0xffff)
}

/// (owner, bucket) entries: one per IRQ (or vector) per CPU per bucket used.
pub const SPARSE_ENTRIES: u32 = 16384;
/// IRQ numbers whose handler name is remembered (hardirqs).
pub const NAME_ENTRIES: u32 = 1024;
/// Bytes of a handler name kept (with its NUL).
pub const NAME_LEN: usize = 32;
/// Softirq vectors the kernel has had since 2.6 (NR_SOFTIRQS).
pub const SOFTIRQ_VECTORS: u32 = 10;

/// Indexes into `IRQS_DROPS`.
pub mod drop_reason {
    pub const HIST_MAP_FULL: u32 = 0;
    pub const NAME_MAP_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}
