//! vfsstat: VFS operation counts, through fentry or kprobes on the vfs_*
//! functions, or the syscall tracepoints (one per-CPU array: one object for
//! every kernel). The logic is `tracer_ebpf::fs::vfsstat`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fentry, kprobe, map, tracepoint},
    maps::PerCpuArray,
    programs::{FEntryContext, ProbeContext, TracePointContext},
};
use tracer_common::fs::vfsstat::{Config, stat};
use tracer_ebpf::{fs::vfsstat::Vfsstat, setting};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static VFSSTAT_CONFIG: Global<Config> = Global::new(Config::DEFAULT);

#[map]
static VFSSTAT_COUNTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(stat::COUNT, 0);

#[inline(always)]
fn vfsstat() -> Vfsstat<'static> {
    Vfsstat { counts: &VFSSTAT_COUNTS, syscall_args: setting!(VFSSTAT_CONFIG, syscall_args) }
}

// --- fentry and kprobes: one program per function (userspace names the
// fentry targets when loading; the create one may be security_inode_create).

#[fentry]
pub fn vfsstat_read_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::READ);
    0
}

#[fentry]
pub fn vfsstat_write_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::WRITE);
    0
}

#[fentry]
pub fn vfsstat_fsync_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::FSYNC);
    0
}

#[fentry]
pub fn vfsstat_open_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::OPEN);
    0
}

#[fentry]
pub fn vfsstat_create_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::CREATE);
    0
}

#[fentry]
pub fn vfsstat_unlink_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::UNLINK);
    0
}

#[fentry]
pub fn vfsstat_mkdir_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::MKDIR);
    0
}

#[fentry]
pub fn vfsstat_rmdir_fentry(_ctx: FEntryContext) -> u32 {
    vfsstat().count(stat::RMDIR);
    0
}

#[kprobe]
pub fn vfsstat_read_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::READ);
    0
}

#[kprobe]
pub fn vfsstat_write_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::WRITE);
    0
}

#[kprobe]
pub fn vfsstat_fsync_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::FSYNC);
    0
}

#[kprobe]
pub fn vfsstat_open_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::OPEN);
    0
}

#[kprobe]
pub fn vfsstat_create_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::CREATE);
    0
}

#[kprobe]
pub fn vfsstat_unlink_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::UNLINK);
    0
}

#[kprobe]
pub fn vfsstat_mkdir_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::MKDIR);
    0
}

#[kprobe]
pub fn vfsstat_rmdir_kprobe(_ctx: ProbeContext) -> u32 {
    vfsstat().count(stat::RMDIR);
    0
}

// --- syscall tracepoints, counted at entry.

/// read, pread64 (the calls vfs_read serves).
#[tracepoint]
pub fn vfsstat_read_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::READ);
    0
}

/// write, pwrite64.
#[tracepoint]
pub fn vfsstat_write_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::WRITE);
    0
}

/// fsync, fdatasync.
#[tracepoint]
pub fn vfsstat_fsync_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::FSYNC);
    0
}

#[tracepoint]
pub fn vfsstat_open_tp(ctx: TracePointContext) -> u32 {
    vfsstat().open_flags(&ctx, 1);
    0
}

#[tracepoint]
pub fn vfsstat_openat_tp(ctx: TracePointContext) -> u32 {
    vfsstat().open_flags(&ctx, 2);
    0
}

#[tracepoint]
pub fn vfsstat_openat2_tp(ctx: TracePointContext) -> u32 {
    vfsstat().openat2(&ctx);
    0
}

/// creat(pathname, mode): an open that creates.
#[tracepoint]
pub fn vfsstat_creat_tp(_ctx: TracePointContext) -> u32 {
    let vfsstat = vfsstat();
    vfsstat.count(stat::OPEN);
    vfsstat.count(stat::CREATE);
    0
}

#[tracepoint]
pub fn vfsstat_mknod_tp(ctx: TracePointContext) -> u32 {
    vfsstat().mknod(&ctx, 1);
    0
}

#[tracepoint]
pub fn vfsstat_mknodat_tp(ctx: TracePointContext) -> u32 {
    vfsstat().mknod(&ctx, 2);
    0
}

#[tracepoint]
pub fn vfsstat_unlink_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::UNLINK);
    0
}

#[tracepoint]
pub fn vfsstat_unlinkat_tp(ctx: TracePointContext) -> u32 {
    vfsstat().unlinkat(&ctx);
    0
}

/// mkdir, mkdirat.
#[tracepoint]
pub fn vfsstat_mkdir_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::MKDIR);
    0
}

#[tracepoint]
pub fn vfsstat_rmdir_tp(_ctx: TracePointContext) -> u32 {
    vfsstat().count(stat::RMDIR);
    0
}
