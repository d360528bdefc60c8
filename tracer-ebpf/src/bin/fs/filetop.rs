//! filetop: reads and writes per file and thread, through fexit or kprobes
//! on vfs_read/vfs_write, or the read/write syscall tracepoints (hash and
//! per-CPU array maps only: one object for every kernel). The logic is
//! `tracer_ebpf::fs::filetop`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fexit, kprobe, kretprobe, map, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::{FExitContext, ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::fs::{
    filetop::{Config, ENTRIES, FileEntry, FileKey, PENDING_ENTRIES, PendingIo, drop_reason},
    ops::{FsOffsets, op},
};
use tracer_ebpf::{
    fs::{filetop::Filetop, ops::syscall_arg},
    setting,
};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static FILETOP_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static FS_OFFSETS: Global<FsOffsets> = Global::new(FsOffsets::UNRESOLVED);

#[map]
static FILETOP_ENTRIES: HashMap<FileKey, FileEntry> = HashMap::with_max_entries(ENTRIES, 0);
#[map]
static FILETOP_PENDING: HashMap<u32, PendingIo> = HashMap::with_max_entries(PENDING_ENTRIES, 0);
#[map]
static FILETOP_SCRATCH: PerCpuArray<FileEntry> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FILETOP_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(drop_reason::COUNT, 0);

#[inline(always)]
fn filetop() -> Filetop<'static> {
    Filetop {
        config: &FILETOP_CONFIG,
        offsets: &FS_OFFSETS,
        entries: &FILETOP_ENTRIES,
        pending: &FILETOP_PENDING,
        scratch: &FILETOP_SCRATCH,
        drops: &FILETOP_DROPS,
    }
}

// --- fexit: vfs_read/vfs_write(struct file *file, char *buf, size_t count,
// loff_t *pos) and their return value, in one program.

#[fexit]
pub fn filetop_read_fexit(ctx: FExitContext) -> u32 {
    filetop().count(ctx.arg(0), op::READ, ctx.arg::<i64>(4));
    0
}

#[fexit]
pub fn filetop_write_fexit(ctx: FExitContext) -> u32 {
    filetop().count(ctx.arg(0), op::WRITE, ctx.arg::<i64>(4));
    0
}

// --- kprobes: the entry keeps the file for the return probe.

#[kprobe]
pub fn filetop_read_kprobe(ctx: ProbeContext) -> u32 {
    filetop().enter_file(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::READ);
    0
}

#[kprobe]
pub fn filetop_write_kprobe(ctx: ProbeContext) -> u32 {
    filetop().enter_file(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()), op::WRITE);
    0
}

#[kretprobe]
pub fn filetop_exit_kretprobe(ctx: RetProbeContext) -> u32 {
    filetop().exit(ctx.ret::<i64>());
    0
}

// --- syscall tracepoints: the fd is argument 0 of all four calls.

#[tracepoint]
pub fn filetop_enter_read_tp(ctx: TracePointContext) -> u32 {
    if let Some(fd) = syscall_arg(&ctx, setting!(FS_OFFSETS, syscall_args), 0) {
        filetop().enter_fd(fd, op::READ);
    }
    0
}

#[tracepoint]
pub fn filetop_enter_write_tp(ctx: TracePointContext) -> u32 {
    if let Some(fd) = syscall_arg(&ctx, setting!(FS_OFFSETS, syscall_args), 0) {
        filetop().enter_fd(fd, op::WRITE);
    }
    0
}

#[tracepoint]
pub fn filetop_exit_tp(ctx: TracePointContext) -> u32 {
    // SAFETY: the offset comes from the sys_exit format file.
    if let Ok(ret) = unsafe { ctx.read_at::<i64>(setting!(FS_OFFSETS, syscall_ret) as usize) } {
        filetop().exit(ret);
    }
    0
}
