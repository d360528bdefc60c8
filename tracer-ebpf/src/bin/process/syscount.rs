//! syscount: raw_syscalls:sys_enter/sys_exit through tp_btf, raw_tp or the
//! classic tracepoints (all maps exist on every kernel, so one object). The
//! logic is `tracer_ebpf::process::syscount`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::process::syscount::{
    Config, MAX_SYSCALLS, PROCESS_ENTRIES, ProcessStats, START_ENTRIES, SyscallOffsets, SyscallStats, drop_reason,
};
use tracer_ebpf::{
    process::syscount::Syscount,
    setting,
    task::{DirectLoad, FieldReader, ProbeRead},
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static SYSCOUNT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static SYSCOUNT_OFFSETS: Global<SyscallOffsets> = Global::new(SyscallOffsets::UNRESOLVED);

/// tid -> when its current syscall started (`-L`).
#[map]
static SYSCOUNT_START: HashMap<u32, u64> = HashMap::with_max_entries(START_ENTRIES, 0);
#[map]
static SYSCOUNT_BY_ID: PerCpuArray<SyscallStats> = PerCpuArray::with_max_entries(MAX_SYSCALLS, 0);
#[map]
static SYSCOUNT_BY_PROCESS: PerCpuHashMap<u32, ProcessStats> = PerCpuHashMap::with_max_entries(PROCESS_ENTRIES, 0);
#[map]
static SYSCOUNT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn syscount() -> Syscount<'static> {
    Syscount {
        config: &SYSCOUNT_CONFIG,
        starts: &SYSCOUNT_START,
        by_id: &SYSCOUNT_BY_ID,
        by_process: &SYSCOUNT_BY_PROCESS,
        drops: &SYSCOUNT_DROPS,
    }
}

/// The syscall number from the saved user registers (sys_exit has no `id`
/// argument; the kernel's syscall_get_nr reads the same field).
#[inline(always)]
fn syscall_nr<R: FieldReader>(regs: *const u8) -> i64 {
    // SAFETY: `regs` is the tracepoint's pt_regs pointer; the offset is from BTF.
    i64::from(unsafe { R::read::<i32>(regs, setting!(SYSCOUNT_OFFSETS, regs_nr)) }.unwrap_or(-1))
}

// --- tp_btf: sys_enter(struct pt_regs *regs, long id), sys_exit(struct pt_regs *regs, long ret)

#[btf_tracepoint(function = "sys_enter")]
pub fn syscount_enter_btf(ctx: BtfTracePointContext) -> i32 {
    syscount().enter(ctx.arg::<i64>(1));
    0
}

#[btf_tracepoint(function = "sys_exit")]
pub fn syscount_exit_btf(ctx: BtfTracePointContext) -> i32 {
    syscount().exit(syscall_nr::<DirectLoad>(ctx.arg(0)), ctx.arg::<i64>(1));
    0
}

// --- raw_tp: the same arguments, untyped.

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn syscount_enter_raw(ctx: RawTracePointContext) -> i32 {
    syscount().enter(ctx.arg::<i64>(1));
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn syscount_exit_raw(ctx: RawTracePointContext) -> i32 {
    syscount().exit(syscall_nr::<ProbeRead>(ctx.arg(0)), ctx.arg::<i64>(1));
    0
}

// --- classic tracepoints: the records carry `id` (and `ret`).

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn syscount_enter_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the offset comes from this tracepoint's format file.
    if let Ok(id) = unsafe { ctx.read_at::<i64>(setting!(SYSCOUNT_OFFSETS, tp_enter_id) as usize) } {
        syscount().enter(id);
    }
    0
}

#[tracepoint(category = "raw_syscalls", name = "sys_exit")]
pub fn syscount_exit_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: offsets come from this tracepoint's format file.
    unsafe {
        if let (Ok(id), Ok(ret)) = (
            ctx.read_at::<i64>(setting!(SYSCOUNT_OFFSETS, tp_exit_id) as usize),
            ctx.read_at::<i64>(setting!(SYSCOUNT_OFFSETS, tp_exit_ret) as usize),
        ) {
            syscount().exit(id, ret);
        }
    }
    0
}
