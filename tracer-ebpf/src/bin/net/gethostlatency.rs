//! gethostlatency, ring buffer (5.8+). The logic is `tracer_ebpf::net::gethostlatency`;
//! `gethostlatency_compat` serves older kernels.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{map, uprobe, uretprobe},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::{ProbeContext, RetProbeContext},
};
use tracer_common::{
    events::RING_BYTES,
    net::gethostlatency::{Config, IN_FLIGHT_ENTRIES, Lookup},
};
use tracer_ebpf::net::gethostlatency::Gethostlatency;

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static GETHOSTLATENCY_CONFIG: Global<Config> = Global::new(Config::DEFAULT);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
/// Slot 0: ring buffer full; 1: in-flight map full.
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(2, 0);
#[map]
static LOOKUPS_IN_FLIGHT: HashMap<u32, Lookup> = HashMap::with_max_entries(IN_FLIGHT_ENTRIES, 0);
#[map]
static LOOKUP_SCRATCH: PerCpuArray<Lookup> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn gethostlatency() -> Gethostlatency<'static, RingBuf> {
    Gethostlatency {
        config: &GETHOSTLATENCY_CONFIG,
        in_flight: &LOOKUPS_IN_FLIGHT,
        scratch: &LOOKUP_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::gethostlatency_programs!(gethostlatency);
