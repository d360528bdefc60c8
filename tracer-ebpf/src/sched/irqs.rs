//! hardirqs' and softirqs' kernel logic: an IRQ handler (or softirq
//! vector) starts on a CPU, runs to its end without another of its kind
//! starting on that CPU, and its time goes into the sparse histogram of
//! (CPU, IRQ number or vector). The start time is a per-CPU slot; the
//! histogram entries are per CPU by key, so no two CPUs touch one entry.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_smp_processor_id, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    hist::SparseKey,
    sched::irqs::{ALL_CPUS, Config, NAME_LEN, drop_reason, owner},
};

use crate::{count_drop, hist::record_sparse, setting};

/// The maps and settings of a hardirqs or softirqs object.
pub struct Irqs<'a> {
    pub config: &'a Global<Config>,
    pub start: &'a PerCpuArray<u64>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Irqs<'_> {
    /// Whether this CPU is traced (`--cpu`).
    #[inline(always)]
    pub fn wanted(&self) -> bool {
        let target = setting!(*self.config, target_cpu);
        // SAFETY: helper without arguments.
        target == ALL_CPUS || target == unsafe { bpf_get_smp_processor_id() }
    }

    /// A handler or vector starts on this CPU.
    #[inline(always)]
    pub fn entry(&self) {
        if !self.wanted() {
            return;
        }
        if let Some(start) = self.start.get_ptr_mut(0) {
            // SAFETY: per-CPU slot; helper without arguments.
            unsafe { *start = bpf_ktime_get_ns() };
        }
    }

    /// Handler `id` (IRQ number) or vector `id` ends on this CPU.
    #[inline(always)]
    pub fn exit(&self, id: u32) {
        if !self.wanted() {
            return;
        }
        let Some(start) = self.start.get_ptr_mut(0) else { return };
        // SAFETY: per-CPU slot, only this CPU writes it while we run.
        let began = unsafe { core::mem::replace(&mut *start, 0) };
        // 0: the handler began before we attached.
        if began == 0 {
            return;
        }
        // SAFETY: helpers without arguments.
        let (now, cpu) = unsafe { (bpf_ktime_get_ns(), bpf_get_smp_processor_id()) };
        if !record_sparse(self.sparse, owner(cpu, id), now.saturating_sub(began)) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }

    /// Whether IRQ `irq` still needs its handler's name in `names`.
    #[inline(always)]
    pub fn needs_name(&self, names: &HashMap<u32, [u8; NAME_LEN]>, irq: u32) -> bool {
        self.wanted() && names.get_ptr(&irq).is_none()
    }

    /// Keeps `name` for `irq` (first handler seen wins).
    #[inline(always)]
    pub fn remember_name(&self, names: &HashMap<u32, [u8; NAME_LEN]>, irq: u32, name: &[u8; NAME_LEN]) {
        if names.insert(&irq, name, BPF_NOEXIST.into()).is_err() && names.get_ptr(&irq).is_none() {
            count_drop!(self.drops, drop_reason::NAME_MAP_FULL);
        }
    }
}
