//! filelife's kernel logic on the syscall tracepoints, shared by its two
//! objects: `filelife` (ring buffer) and `filelife_compat` (perf buffer,
//! kernels before 5.8). Opens with O_CREAT, creat and mknod(at) report a
//! file created (an open only when the kernel marked its file
//! `FMODE_CREATED`: an existing file opened with O_CREAT was not created),
//! unlink(at) one deleted, rename(at)/renameat2 a pair of events (old name,
//! then new), each with its full path resolved in the kernel at the call
//! (`fs::paths`): a new descriptor's own file, a relative name's start
//! directory. Userspace pairs a deletion with the creation of the same
//! path, following renames, and prints its age.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::fs::{
    filelife::{
        Birth, Config, DATA_OFFSET, FMODE_CREATED, LifeEvent, Op, PendingLife, SYSCALLS, Shape, function_index,
    },
    paths::{AT_FDCWD, PathData, dir_state},
};

use super::paths::{Paths, Start};
use crate::{
    events::{EventSink, opaque, send_or_count},
    setting,
    task::probe_read,
};

/// The maps and settings of one filelife object.
pub struct Filelife<'a, S> {
    pub config: &'a Global<Config>,
    pub paths: Paths<'a>,
    pub pending: &'a LruHashMap<u32, PendingLife>,
    /// The function path's creations, by dentry, until their deletion.
    pub births: &'a LruHashMap<u64, Birth>,
    pub scratch: &'a PerCpuArray<LifeEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Filelife<'_, S> {
    /// sys_enter_*: remember a call of an admitted process that may create,
    /// delete or rename a file (user pointers to its names, the
    /// directories relative names start from).
    #[inline(always)]
    pub fn enter(&self, pending: PendingLife) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_tgid = setting!(*self.config, target_tgid);
        if target_tgid != 0 && (pid_tgid >> 32) as u32 != target_tgid {
            return;
        }
        let _ = self.pending.insert(&(pid_tgid as u32), &pending, 0);
    }

    /// The current thread's pending call, removed, if it succeeded; and
    /// this CPU's event with its header filled in.
    #[inline(always)]
    fn finish(&self, ret: i64) -> Option<(PendingLife, &mut LifeEvent)> {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let pending = (unsafe { self.pending.get(&tid) }).copied()?;
        let _ = self.pending.remove(&tid);
        if ret < 0 {
            return None;
        }
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let event = self.scratch.get_ptr_mut(0).map(|event| unsafe { &mut *event })?;
        let header = &mut event.header;
        // SAFETY: helper without arguments.
        header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        header.pid = (pid_tgid >> 32) as u32;
        header.tid = tid;
        header.syscall = pending.syscall;
        header.exclusive = pending.exclusive;
        header.flags = 0;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        Some((pending, event))
    }

    /// `name` as passed, with the directory it starts from walked when it
    /// is relative.
    #[inline(always)]
    fn name_at(&self, path: &mut PathData, name: u64, dfd: i32) {
        self.paths.read_name(path, name);
        let first = path.data[0];
        if first != 0 && first != b'/' {
            self.paths.walk_from(path, dfd);
        }
    }

    /// Sends `event` with only the bytes its path uses.
    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, event: &LifeEvent) {
        let size = opaque(DATA_OFFSET + Paths::used(&event.path));
        if size > core::mem::size_of::<LifeEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// sys_exit_* of an open, mknod(at) or unlink(at): report the file a
    /// successful call created or deleted.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let Some((pending, event)) = self.finish(ret) else { return };
        let Some(&(_, shape)) = SYSCALLS.get(pending.syscall as usize) else { return };
        match shape {
            Shape::Open { .. } => {
                // O_CREAT creates only when the name did not exist; the
                // kernel then marks the new file FMODE_CREATED (do_open).
                let Some(file) = self.paths.file(ret as i32) else { return };
                // SAFETY: a kernel read with the helper.
                let mode = unsafe { probe_read::<u32>(file, setting!(*self.config, file_mode)) }.unwrap_or(0);
                if mode & FMODE_CREATED == 0 {
                    return;
                }
                event.header.op = Op::Created as u32;
                // The new descriptor's own file: its real path.
                self.paths.read_name(&mut event.path, 0);
                self.paths.walk_from(&mut event.path, ret as i32);
            }
            Shape::Name { op, .. } => {
                event.header.op = op as u32;
                self.name_at(&mut event.path, pending.name, pending.dfd);
            }
            Shape::Rename { .. } => return,
        }
        self.send(ctx, event);
    }

    /// sys_exit_rename*: a successful rename as two events from this
    /// thread, its old name (`RenamedFrom`), then its new one
    /// (`RenamedTo`, with renameat2's flags), both resolved as the calls
    /// above resolve names.
    #[inline(always)]
    pub fn exit_rename<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let Some((pending, event)) = self.finish(ret) else { return };
        event.header.op = Op::RenamedFrom as u32;
        self.name_at(&mut event.path, pending.name, pending.dfd);
        self.send(ctx, event);
        event.header.op = Op::RenamedTo as u32;
        event.header.flags = pending.flags;
        self.name_at(&mut event.path, pending.new_name, pending.new_dfd);
        self.send(ctx, event);
    }
}

/// The function path (fentry/fexit or kprobes on vfs_create, vfs_open,
/// security_inode_create and vfs_unlink, as libbpf-tools' filelife): a
/// creation is kept in the kernel by its dentry; a successful vfs_unlink of
/// a remembered dentry sends the same two events as the tracepoint path
/// (its creation, then its deletion, both with the path walked from the
/// dentry at the deletion), so userspace pairs and prints them alike.
impl<S: EventSink> Filelife<'_, S> {
    #[inline(always)]
    fn admitted(&self) -> bool {
        let target_tgid = setting!(*self.config, target_tgid);
        target_tgid == 0 || (bpf_get_current_pid_tgid() >> 32) as u32 == target_tgid
    }

    /// A creating function's entry: `dentry` is being created now.
    #[inline(always)]
    pub fn created(&self, dentry: *const u8, function: u32) {
        if dentry.is_null() || !self.admitted() {
            return;
        }
        // SAFETY: helper without arguments.
        let birth = Birth { timestamp_ns: unsafe { bpf_ktime_get_ns() }, function, _pad: 0 };
        let _ = self.births.insert(&(dentry as u64), &birth, 0);
    }

    /// `vfs_open(path, file)`: a creation when the open created its file
    /// (`FMODE_CREATED`, set before vfs_open is called).
    #[inline(always)]
    pub fn opened(&self, path: *const u8, file: *const u8) {
        // SAFETY: kernel reads with the helper.
        let mode = unsafe { probe_read::<u32>(file, setting!(*self.config, file_mode)) }.unwrap_or(0);
        if mode & FMODE_CREATED == 0 {
            return;
        }
        // SAFETY: as above.
        let dentry = unsafe { probe_read::<*const u8>(path, setting!(*self.paths.offsets, path_dentry)) };
        if let Some(dentry) = dentry {
            self.created(dentry, const { function_index("vfs_open") });
        }
    }

    /// kprobe on vfs_unlink: its dentry, kept by thread until the return,
    /// whoever the caller (the return forgets the birth of a file any
    /// process deleted, as fexit does, and reports only admitted ones).
    #[inline(always)]
    pub fn unlink_entry(&self, dentry: *const u8) {
        let pending = PendingLife {
            name: dentry as u64,
            new_name: 0,
            dfd: AT_FDCWD,
            new_dfd: AT_FDCWD,
            syscall: const { function_index("vfs_unlink") },
            exclusive: 0,
            flags: 0,
            _pad: 0,
        };
        let _ = self.pending.insert(&(bpf_get_current_pid_tgid() as u32), &pending, 0);
    }

    /// kretprobe on vfs_unlink.
    #[inline(always)]
    pub fn unlink_return<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        self.unlinked(ctx, pending.name as *const u8, ret);
    }

    /// vfs_unlink of `dentry` returned `ret`: a file born in the run and
    /// now deleted is sent as its creation and its deletion.
    #[inline(always)]
    pub fn unlinked<C: EbpfContext>(&self, ctx: &C, dentry: *const u8, ret: i64) {
        if ret != 0 {
            return;
        }
        let key = dentry as u64;
        // SAFETY: copied out before the entry is removed.
        let Some(birth) = (unsafe { self.births.get(&key) }).copied() else { return };
        let _ = self.births.remove(&key);
        if !self.admitted() {
            return;
        }
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(event) = self.scratch.get_ptr_mut(0).map(|event| unsafe { &mut *event }) else { return };
        let pid_tgid = bpf_get_current_pid_tgid();
        let header = &mut event.header;
        header.timestamp_ns = birth.timestamp_ns;
        header.pid = (pid_tgid >> 32) as u32;
        header.tid = pid_tgid as u32;
        header.op = Op::Created as u32;
        header.syscall = birth.function;
        header.exclusive = 0;
        header.flags = 0;
        header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // The dentry's path, walked up to the mount of the caller's cwd
        // (a dentry alone does not say which mount it was reached through).
        self.paths.read_name(&mut event.path, 0);
        match self.paths.start(AT_FDCWD) {
            Some(cwd) => self.paths.walk(&mut event.path, Start { file: core::ptr::null(), dentry, ..cwd }),
            None => event.path.dir_state = dir_state::TRUNCATED,
        }
        self.send(ctx, event);
        // SAFETY: helper without arguments.
        event.header.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.header.op = Op::Deleted as u32;
        event.header.syscall = const { function_index("vfs_unlink") };
        self.send(ctx, event);
    }
}

/// The kprobe programs of the function path, identical in both objects.
/// Where a function's dentry argument moved across kernels (an idmap or
/// user namespace first since 5.12), one program per position: userspace
/// picks the one its BTF prototype names. `$filelife` builds the object's
/// `Filelife`.
#[macro_export]
macro_rules! filelife_kprobes {
    ($filelife:ident) => {
        #[inline(always)]
        fn kprobe_arg(ctx: &ProbeContext, n: usize) -> *const u8 {
            ctx.arg::<*const u8>(n).unwrap_or(core::ptr::null())
        }

        /// `vfs_create(dir, dentry, mode, want_excl)` (before 5.12).
        #[kprobe]
        pub fn filelife_create1_kprobe(ctx: ProbeContext) -> u32 {
            $filelife()
                .created(kprobe_arg(&ctx, 1), const { tracer_common::fs::filelife::function_index("vfs_create") });
            0
        }

        /// `vfs_create(idmap, dir, dentry, mode, want_excl)` (5.12+).
        #[kprobe]
        pub fn filelife_create2_kprobe(ctx: ProbeContext) -> u32 {
            $filelife()
                .created(kprobe_arg(&ctx, 2), const { tracer_common::fs::filelife::function_index("vfs_create") });
            0
        }

        /// `security_inode_create(dir, dentry, mode)`.
        #[kprobe]
        pub fn filelife_security_create1_kprobe(ctx: ProbeContext) -> u32 {
            $filelife().created(
                kprobe_arg(&ctx, 1),
                const { tracer_common::fs::filelife::function_index("security_inode_create") },
            );
            0
        }

        /// `vfs_open(path, file)`.
        #[kprobe]
        pub fn filelife_open_kprobe(ctx: ProbeContext) -> u32 {
            $filelife().opened(kprobe_arg(&ctx, 0), kprobe_arg(&ctx, 1));
            0
        }

        /// `vfs_unlink(dir, dentry, delegated)` (before 5.12).
        #[kprobe]
        pub fn filelife_unlink1_kprobe(ctx: ProbeContext) -> u32 {
            $filelife().unlink_entry(kprobe_arg(&ctx, 1));
            0
        }

        /// `vfs_unlink(idmap, dir, dentry, delegated)` (5.12+).
        #[kprobe]
        pub fn filelife_unlink2_kprobe(ctx: ProbeContext) -> u32 {
            $filelife().unlink_entry(kprobe_arg(&ctx, 2));
            0
        }

        #[kretprobe]
        pub fn filelife_unlink_kretprobe(ctx: RetProbeContext) -> u32 {
            $filelife().unlink_return(&ctx, i64::from(ctx.ret::<i32>()));
            0
        }
    };
}

/// The syscall tracepoint programs, identical in both objects: one entry
/// program per syscall (its index in `SYSCALLS` a constant), one exit
/// program attached to every `sys_exit_*`. `$filelife` builds the object's
/// `Filelife`; `$offsets` is its `LIFE_OFFSETS` global.
#[macro_export]
macro_rules! filelife_programs {
    ($filelife:ident, $offsets:ident) => {
        #[inline(always)]
        fn arg(ctx: &TracePointContext, offset: u32) -> u64 {
            // SAFETY: offsets come from the tracepoints' format files.
            unsafe { ctx.read_at::<u64>(offset as usize) }.unwrap_or(0)
        }

        #[inline(always)]
        fn enter(ctx: &TracePointContext, index: usize) {
            use tracer_common::fs::{
                filelife::{O_CREAT, O_EXCL, PendingLife, SYSCALLS, Shape},
                paths::AT_FDCWD,
            };
            let a = [
                arg(ctx, $crate::setting!($offsets, arg0)),
                arg(ctx, $crate::setting!($offsets, arg1)),
                arg(ctx, $crate::setting!($offsets, arg2)),
                arg(ctx, $crate::setting!($offsets, arg3)),
                arg(ctx, $crate::setting!($offsets, arg4)),
            ];
            let mut pending = PendingLife {
                name: 0,
                new_name: 0,
                dfd: AT_FDCWD,
                new_dfd: AT_FDCWD,
                syscall: index as u32,
                exclusive: 0,
                flags: 0,
                _pad: 0,
            };
            let shape = SYSCALLS[index].1;
            if let Shape::Rename { dfd, flags } = shape {
                if dfd {
                    (pending.dfd, pending.name, pending.new_dfd, pending.new_name) =
                        (a[0] as i32, a[1], a[2] as i32, a[3]);
                } else {
                    (pending.name, pending.new_name) = (a[0], a[1]);
                }
                if flags {
                    pending.flags = a[4] as u32;
                }
                $filelife().enter(pending);
                return;
            }
            let rest = match shape {
                Shape::Open { dfd: true, .. } | Shape::Name { dfd: true, .. } => {
                    (pending.dfd, pending.name) = (a[0] as i32, a[1]);
                    a[2]
                }
                _ => {
                    pending.name = a[0];
                    a[1]
                }
            };
            let flags = match shape {
                Shape::Open { flags: Some(_), .. } => rest,
                // openat2: the flags lead its `struct open_how`.
                // SAFETY: a user read with the helper.
                Shape::Open { flags: None, dfd: true } => {
                    unsafe { aya_ebpf::helpers::bpf_probe_read_user(rest as *const u64) }.unwrap_or(0)
                }
                // creat: O_CREAT | O_WRONLY | O_TRUNC.
                Shape::Open { flags: None, dfd: false } => O_CREAT,
                _ => O_CREAT | O_EXCL,
            };
            if flags & O_CREAT != 0 {
                pending.exclusive = u32::from(flags & O_EXCL != 0);
                $filelife().enter(pending);
            }
        }

        #[tracepoint]
        pub fn filelife_enter_open_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("open") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_openat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("openat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_openat2_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("openat2") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_creat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("creat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_mknod_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("mknod") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_mknodat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("mknodat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_unlink_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("unlink") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_unlinkat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("unlinkat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_rename_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("rename") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_renameat_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("renameat") });
            0
        }

        #[tracepoint]
        pub fn filelife_enter_renameat2_tp(ctx: TracePointContext) -> u32 {
            enter(&ctx, const { tracer_common::fs::filelife::syscall_index("renameat2") });
            0
        }

        /// The exit of every traced syscall but the renames.
        #[tracepoint]
        pub fn filelife_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $filelife().exit(&ctx, ret);
            }
            0
        }

        /// The renames' exit: two walks, kept out of the other exits.
        #[tracepoint]
        pub fn filelife_exit_rename_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the sys_exit format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $filelife().exit_rename(&ctx, ret);
            }
            0
        }
    };
}
