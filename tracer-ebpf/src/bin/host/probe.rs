//! Capability probes for `tracer doctor` and hook selection: the smallest
//! program of each kind, loaded and attached to learn what this kernel allows.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{btf_tracepoint, fentry, kprobe, perf_event, raw_tracepoint, tracepoint, uprobe},
    programs::{
        BtfTracePointContext, FEntryContext, PerfEventContext, ProbeContext, RawTracePointContext, TracePointContext,
    },
};

tracer_ebpf::bpf_object_boilerplate!();

#[btf_tracepoint(function = "sched_switch")]
pub fn probe_tp_btf(_ctx: BtfTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn probe_raw_tp(_ctx: RawTracePointContext) -> i32 {
    0
}

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn probe_tracepoint(_ctx: TracePointContext) -> u32 {
    0
}

#[fentry(function = "do_nanosleep")]
pub fn probe_fentry(_ctx: FEntryContext) -> u32 {
    0
}

#[kprobe]
pub fn probe_kprobe(_ctx: ProbeContext) -> u32 {
    0
}

#[perf_event]
pub fn probe_perf_event(_ctx: PerfEventContext) -> u32 {
    0
}

/// Attached to an executable's entry point (`kernel::probe`).
#[uprobe]
pub fn probe_uprobe(_ctx: ProbeContext) -> u32 {
    0
}
