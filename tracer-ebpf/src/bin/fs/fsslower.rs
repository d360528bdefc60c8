//! fsslower with a ring buffer (5.8+): fentry/fexit, kprobes and syscall
//! tracepoints. The logic is `tracer_ebpf::fs::fsslower`; `fsslower_compat`
//! serves kernels without ring buffers.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fentry, fexit, kprobe, kretprobe, map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::{
    events::RING_BYTES,
    fs::{
        fsslower::Config,
        ops::{FsOffsets, PENDING_ENTRIES, Pending},
    },
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
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FS_PENDING: HashMap<u32, Pending> = HashMap::with_max_entries(PENDING_ENTRIES, 0);

#[inline(always)]
fn fsslower() -> Fsslower<'static, RingBuf> {
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

// --- fentry/fexit on the file system's functions; userspace names the
// target of each program when loading it.

/// `*_file_read_iter(struct kiocb *iocb, struct iov_iter *to)`
#[fentry]
pub fn fsslower_read_fentry(ctx: FEntryContext) -> u32 {
    fsslower().ops.enter_kiocb(ctx.arg(0), tracer_common::fs::ops::op::READ);
    0
}

#[fexit]
pub fn fsslower_read_fexit(ctx: FExitContext) -> u32 {
    fsslower().exit(&ctx, ctx.arg::<i64>(2));
    0
}

/// `*_file_write_iter(struct kiocb *iocb, struct iov_iter *from)`
#[fentry]
pub fn fsslower_write_fentry(ctx: FEntryContext) -> u32 {
    fsslower().ops.enter_kiocb(ctx.arg(0), tracer_common::fs::ops::op::WRITE);
    0
}

#[fexit]
pub fn fsslower_write_fexit(ctx: FExitContext) -> u32 {
    fsslower().exit(&ctx, ctx.arg::<i64>(2));
    0
}

/// `*_file_open(struct inode *inode, struct file *file)`
#[fentry]
pub fn fsslower_open_fentry(ctx: FEntryContext) -> u32 {
    fsslower().ops.enter_file(ctx.arg(1), tracer_common::fs::ops::op::OPEN, 0);
    0
}

#[fexit]
pub fn fsslower_open_fexit(ctx: FExitContext) -> u32 {
    fsslower().exit(&ctx, i64::from(ctx.arg::<i32>(2)));
    0
}

/// `*_sync_file(struct file *file, loff_t start, loff_t end, int datasync)`
#[fentry]
pub fn fsslower_sync_fentry(ctx: FEntryContext) -> u32 {
    fsslower().ops.enter_file(ctx.arg(0), tracer_common::fs::ops::op::FSYNC, 0);
    0
}

#[fexit]
pub fn fsslower_sync_fexit(ctx: FExitContext) -> u32 {
    fsslower().exit(&ctx, i64::from(ctx.arg::<i32>(4)));
    0
}

tracer_ebpf::fsslower_common_programs!(fsslower, FS_OFFSETS);
