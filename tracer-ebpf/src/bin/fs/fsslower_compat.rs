//! fsslower for kernels without ring buffers: kprobes and syscall
//! tracepoints, perf buffer. The logic is `tracer_ebpf::fs::fsslower`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{kprobe, kretprobe, map, tracepoint},
    maps::{HashMap, PerCpuArray, PerfEventByteArray},
    programs::{ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::fs::{
    fsslower::Config,
    ops::{FsOffsets, PENDING_ENTRIES, Pending},
};
use tracer_ebpf::{
    fs::{fsslower::Fsslower, ops::FsOps},
    setting,
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static FSSLOWER_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static FS_OFFSETS: Global<FsOffsets> = Global::new(FsOffsets::UNRESOLVED);

#[map]
static EVENTS: PerfEventByteArray = PerfEventByteArray::new(0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FS_PENDING: HashMap<u32, Pending> = HashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn fsslower() -> Fsslower<'static, PerfEventByteArray> {
    Fsslower {
        ops: FsOps {
            target_tgid: setting!(FSSLOWER_CONFIG, target_tgid),
            magic: setting!(FSSLOWER_CONFIG, magic),
            offsets: &FS_OFFSETS,
            pending: &FS_PENDING,
            pending_full: None,
        },
        config: &FSSLOWER_CONFIG,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::fsslower_common_programs!(fsslower, FS_OFFSETS);
