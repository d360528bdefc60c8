//! fsdist: one file system's operation latencies, through fentry/fexit,
//! kprobes or the syscall tracepoints (no event buffer, so every kernel can
//! create its maps: one object). The logic is `tracer_ebpf::fs::fsdist`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fentry, fexit, kprobe, kretprobe, map, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::{
    fs::{
        fsdist::{Config, OPERATIONS, drop_reason},
        ops::{FsOffsets, PENDING_ENTRIES, Pending, op},
    },
    hist::Histogram,
};
use tracer_ebpf::{
    fs::{
        fsdist::Fsdist,
        ops::{AT_EMPTY_PATH, FsOps, empty_user_path, syscall_arg},
    },
    setting,
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static FSDIST_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static FS_OFFSETS: Global<FsOffsets> = Global::new(FsOffsets::UNRESOLVED);

#[map]
static FSDIST_PENDING: HashMap<u32, Pending> = HashMap::with_max_entries(PENDING_ENTRIES, 0);
/// One histogram per operation, summed over CPUs by userspace.
#[map]
static FSDIST_HIST: PerCpuArray<Histogram> = PerCpuArray::with_max_entries(OPERATIONS.len() as u32, 0);
#[map]
static FSDIST_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn fsdist() -> Fsdist<'static> {
    Fsdist {
        ops: FsOps {
            target_tgid: setting!(FSDIST_CONFIG, target_tgid),
            magic: setting!(FSDIST_CONFIG, magic),
            offsets: &FS_OFFSETS,
            pending: &FSDIST_PENDING,
            pending_full: Some(&FSDIST_DROPS),
        },
        hists: &FSDIST_HIST,
    }
}

// --- fentry/fexit on the file system's functions (userspace names the
// target of each program when loading it). Only durations matter, so no
// argument is read.

#[fentry]
pub fn fsdist_read_fentry(_ctx: FEntryContext) -> u32 {
    fsdist().ops.enter_function(op::READ);
    0
}

#[fexit]
pub fn fsdist_read_fexit(_ctx: FExitContext) -> u32 {
    fsdist().exit(0);
    0
}

#[fentry]
pub fn fsdist_write_fentry(_ctx: FEntryContext) -> u32 {
    fsdist().ops.enter_function(op::WRITE);
    0
}

#[fexit]
pub fn fsdist_write_fexit(_ctx: FExitContext) -> u32 {
    fsdist().exit(0);
    0
}

#[fentry]
pub fn fsdist_open_fentry(_ctx: FEntryContext) -> u32 {
    fsdist().ops.enter_function(op::OPEN);
    0
}

#[fexit]
pub fn fsdist_open_fexit(_ctx: FExitContext) -> u32 {
    fsdist().exit(0);
    0
}

#[fentry]
pub fn fsdist_sync_fentry(_ctx: FEntryContext) -> u32 {
    fsdist().ops.enter_function(op::FSYNC);
    0
}

#[fexit]
pub fn fsdist_sync_fexit(_ctx: FExitContext) -> u32 {
    fsdist().exit(0);
    0
}

#[fentry]
pub fn fsdist_getattr_fentry(_ctx: FEntryContext) -> u32 {
    fsdist().ops.enter_function(op::GETATTR);
    0
}

#[fexit]
pub fn fsdist_getattr_fexit(_ctx: FExitContext) -> u32 {
    fsdist().exit(0);
    0
}

// --- kprobes on the same functions.

#[kprobe]
pub fn fsdist_read_kprobe(_ctx: ProbeContext) -> u32 {
    fsdist().ops.enter_function(op::READ);
    0
}

#[kprobe]
pub fn fsdist_write_kprobe(_ctx: ProbeContext) -> u32 {
    fsdist().ops.enter_function(op::WRITE);
    0
}

#[kprobe]
pub fn fsdist_open_kprobe(_ctx: ProbeContext) -> u32 {
    fsdist().ops.enter_function(op::OPEN);
    0
}

#[kprobe]
pub fn fsdist_sync_kprobe(_ctx: ProbeContext) -> u32 {
    fsdist().ops.enter_function(op::FSYNC);
    0
}

#[kprobe]
pub fn fsdist_getattr_kprobe(_ctx: ProbeContext) -> u32 {
    fsdist().ops.enter_function(op::GETATTR);
    0
}

/// One return probe serves every function: the entry said which op it was.
#[kretprobe]
pub fn fsdist_exit_kretprobe(_ctx: RetProbeContext) -> u32 {
    fsdist().exit(0);
    0
}

// --- syscall tracepoints, for kernels where neither reaches the functions
// (the program names match fsslower's, so both share one hook list).

#[inline(always)]
fn enter_fd_arg(ctx: &TracePointContext, op: u32) {
    if let Some(fd) = syscall_arg(ctx, setting!(FS_OFFSETS, syscall_args), 0) {
        fsdist().ops.enter_fd(fd, op, None);
    }
}

/// read, readv.
#[tracepoint]
pub fn fsdist_enter_read_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::READ);
    0
}

/// pread64 (its position does not matter to a histogram).
#[tracepoint]
pub fn fsdist_enter_pread_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::READ);
    0
}

/// write, writev.
#[tracepoint]
pub fn fsdist_enter_write_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::WRITE);
    0
}

/// pwrite64.
#[tracepoint]
pub fn fsdist_enter_pwrite_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::WRITE);
    0
}

#[tracepoint]
pub fn fsdist_enter_open_tp(_ctx: TracePointContext) -> u32 {
    fsdist().ops.enter_open_syscall();
    0
}

/// fsync, fdatasync.
#[tracepoint]
pub fn fsdist_enter_sync_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::FSYNC);
    0
}

/// fstat(fd, buf): the file system's getattr of an open file.
#[tracepoint]
pub fn fsdist_enter_fstat_tp(ctx: TracePointContext) -> u32 {
    enter_fd_arg(&ctx, op::GETATTR);
    0
}

/// A stat of an fd through a path call: `flags` has AT_EMPTY_PATH and the
/// path is empty (what glibc's fstat and Rust's File::metadata do). A stat
/// by path names no open file and is not seen on this path.
#[inline(always)]
fn enter_stat_at(ctx: &TracePointContext, flags_index: u32) {
    let base = setting!(FS_OFFSETS, syscall_args);
    let (Some(dfd), Some(path), Some(flags)) =
        (syscall_arg(ctx, base, 0), syscall_arg(ctx, base, 1), syscall_arg(ctx, base, flags_index))
    else {
        return;
    };
    if flags & AT_EMPTY_PATH != 0 && empty_user_path(path) {
        fsdist().ops.enter_fd(dfd, op::GETATTR, None);
    }
}

/// newfstatat(dfd, filename, statbuf, flag).
#[tracepoint]
pub fn fsdist_enter_fstatat_tp(ctx: TracePointContext) -> u32 {
    enter_stat_at(&ctx, 3);
    0
}

/// statx(dfd, filename, flags, mask, buffer).
#[tracepoint]
pub fn fsdist_enter_statx_tp(ctx: TracePointContext) -> u32 {
    enter_stat_at(&ctx, 2);
    0
}

/// Every traced syscall's exit.
#[tracepoint]
pub fn fsdist_exit_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the offset comes from the sys_exit format file.
    if let Ok(ret) = unsafe { ctx.read_at::<i64>(setting!(FS_OFFSETS, syscall_ret) as usize) } {
        fsdist().exit(ret);
    }
    0
}
