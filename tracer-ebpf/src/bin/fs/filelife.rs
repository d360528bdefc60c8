//! filelife with a ring buffer (5.8+): fentry/fexit, kprobes and syscall
//! tracepoints; `filelife_compat` (kprobes and tracepoints) serves older
//! kernels. The logic is `tracer_ebpf::fs::filelife`.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    macros::{fentry, fexit, kprobe, kretprobe, map, tracepoint},
    maps::{LruHashMap, PerCpuArray, RingBuf},
    programs::{FEntryContext, FExitContext, ProbeContext, RetProbeContext, TracePointContext},
};
use tracer_common::{
    events::RING_BYTES,
    fs::{
        filelife::{BIRTH_ENTRIES, Birth, Config, LifeEvent, LifeOffsets, PENDING_ENTRIES, PendingLife},
        paths::PathOffsets,
    },
};
use tracer_ebpf::fs::{filelife::Filelife, paths::Paths};

tracer_ebpf::bpf_object_boilerplate!();

#[unsafe(no_mangle)]
static FILELIFE_CONFIG: Global<Config> = Global::new(Config::DEFAULT);
#[unsafe(no_mangle)]
static LIFE_OFFSETS: Global<LifeOffsets> = Global::new(LifeOffsets::UNRESOLVED);
#[unsafe(no_mangle)]
static PATH_OFFSETS: Global<PathOffsets> = Global::new(PathOffsets::UNRESOLVED);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);
#[map]
static EVENT_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static LIFE_SCRATCH: PerCpuArray<LifeEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static LIFE_PENDING: LruHashMap<u32, PendingLife> = LruHashMap::with_max_entries(PENDING_ENTRIES, 0);
#[map]
static LIFE_BIRTHS: LruHashMap<u64, Birth> = LruHashMap::with_max_entries(BIRTH_ENTRIES, 0);

#[inline(always)]
fn filelife() -> Filelife<'static, RingBuf> {
    Filelife {
        config: &FILELIFE_CONFIG,
        paths: Paths { offsets: &PATH_OFFSETS },
        pending: &LIFE_PENDING,
        births: &LIFE_BIRTHS,
        scratch: &LIFE_SCRATCH,
        events: &EVENTS,
        drops: &EVENT_DROPS,
    }
}

tracer_ebpf::filelife_programs!(filelife, LIFE_OFFSETS);
tracer_ebpf::filelife_kprobes!(filelife);

// --- fentry/fexit, ring-buffer object only (kernels with fentry but no ring
// buffer, 5.5-5.7, take kprobes). One program per dentry position where it
// moved; userspace names each program's target when loading it.

/// `vfs_create(dir, dentry, mode, want_excl)` (before 5.12).
#[fentry]
pub fn filelife_create1_fentry(ctx: FEntryContext) -> u32 {
    filelife().created(ctx.arg(1), const { tracer_common::fs::filelife::function_index("vfs_create") });
    0
}

/// `vfs_create(idmap, dir, dentry, mode, want_excl)` (5.12+).
#[fentry]
pub fn filelife_create2_fentry(ctx: FEntryContext) -> u32 {
    filelife().created(ctx.arg(2), const { tracer_common::fs::filelife::function_index("vfs_create") });
    0
}

/// `security_inode_create(dir, dentry, mode)`.
#[fentry]
pub fn filelife_security_create1_fentry(ctx: FEntryContext) -> u32 {
    filelife().created(ctx.arg(1), const { tracer_common::fs::filelife::function_index("security_inode_create") });
    0
}

/// `vfs_open(path, file)`.
#[fentry]
pub fn filelife_open_fentry(ctx: FEntryContext) -> u32 {
    filelife().opened(ctx.arg(0), ctx.arg(1));
    0
}

/// `vfs_unlink(dir, dentry, delegated)` returning (before 5.12).
#[fexit]
pub fn filelife_unlink1_fexit(ctx: FExitContext) -> u32 {
    filelife().unlinked(&ctx, ctx.arg(1), i64::from(ctx.arg::<i32>(3)));
    0
}

/// `vfs_unlink(idmap, dir, dentry, delegated)` returning (5.12+).
#[fexit]
pub fn filelife_unlink2_fexit(ctx: FExitContext) -> u32 {
    filelife().unlinked(&ctx, ctx.arg(2), i64::from(ctx.arg::<i32>(4)));
    0
}
