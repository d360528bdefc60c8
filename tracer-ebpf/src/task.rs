//! Reading `task_struct` fields through offsets resolved by userspace from BTF.
//!
//! Two ways to read, chosen by the hook: BTF-typed hooks (tp_btf, fentry)
//! receive pointers the verifier knows to be `struct task_struct *`, so a
//! field is one plain load, checked against BTF at load time; untyped hooks
//! (raw_tp, kprobe) must go through `bpf_probe_read_kernel`.

use core::marker::PhantomData;

use aya_ebpf::{Global, helpers::bpf_probe_read_kernel};
use tracer_common::{TASK_COMM_LEN, offsets::TaskOffsets};

use crate::setting;

/// The offsets global of an object.
pub type Offsets = Global<TaskOffsets>;

/// Reads a `T` at `base + offset` from kernel memory with the helper.
///
/// # Safety
/// `base` must be a kernel pointer; the helper validates the access.
#[inline(always)]
pub unsafe fn probe_read<T: Copy>(base: *const u8, offset: u32) -> Option<T> {
    // SAFETY: bpf_probe_read_kernel checks the address.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(offset as usize).cast::<T>()).ok() }
}

/// Reads an integer or pointer at `base + offset`, zero where the read
/// faults, without a branch on the result: a program doing many such reads
/// otherwise gives old verifiers (5.10, 6.1) two paths per read to walk in
/// every combination (oomkill's kprobe passed their 1M-instruction limit).
///
/// # Safety
/// `base` must be a kernel pointer; `T` must be valid when all zero.
#[inline(always)]
pub unsafe fn probe_read_or_zero<T: Copy>(base: *const u8, offset: u32) -> T {
    let mut value = core::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the helper checks the source and zeroes the destination on a
    // fault, so `value` is initialised either way.
    unsafe {
        aya_ebpf::helpers::generated::bpf_probe_read_kernel(
            value.as_mut_ptr().cast(),
            core::mem::size_of::<T>() as u32,
            base.wrapping_add(offset as usize).cast(),
        );
        value.assume_init()
    }
}

/// How scalar fields of a task are read.
pub trait FieldReader {
    /// # Safety
    /// `base` must be the task pointer the hook received.
    unsafe fn read<T: Copy>(base: *const u8, offset: u32) -> Option<T>;
}

/// Plain loads through a BTF-typed pointer (tp_btf, fentry).
pub struct DirectLoad;

impl FieldReader for DirectLoad {
    #[inline(always)]
    unsafe fn read<T: Copy>(base: *const u8, offset: u32) -> Option<T> {
        // SAFETY: the verifier checks `offset` (a read-only global, so a
        // constant to it) against the pointer's BTF type at load time.
        Some(unsafe { core::ptr::read_volatile(base.wrapping_add(offset as usize).cast::<T>()) })
    }
}

/// `bpf_probe_read_kernel` (raw_tp, kprobe: the pointer is just a number).
pub struct ProbeRead;

impl FieldReader for ProbeRead {
    #[inline(always)]
    unsafe fn read<T: Copy>(base: *const u8, offset: u32) -> Option<T> {
        // SAFETY: as probe_read.
        unsafe { probe_read(base, offset) }
    }
}

/// A `struct task_struct *` handed to us by a hook.
pub struct Task<R> {
    pub ptr: *const u8,
    reader: PhantomData<R>,
}

impl<R> Clone for Task<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Task<R> {}

impl<R: FieldReader> Task<R> {
    #[inline(always)]
    pub fn new(ptr: *const u8) -> Self {
        Self { ptr, reader: PhantomData }
    }

    /// Thread id (`task_struct.pid`); 0 for the idle task or on a failed read.
    #[inline(always)]
    pub fn tid(self, offsets: &Offsets) -> u32 {
        // SAFETY: self.ptr is the task pointer of the hook.
        unsafe { R::read::<u32>(self.ptr, setting!(*offsets, pid)) }.unwrap_or(0)
    }

    /// Process id (`task_struct.tgid`).
    #[inline(always)]
    pub fn tgid(self, offsets: &Offsets) -> u32 {
        // SAFETY: as above.
        unsafe { R::read::<u32>(self.ptr, setting!(*offsets, tgid)) }.unwrap_or(0)
    }

    /// Scheduler state (`__state`/`state`, low 32 bits); 0 is TASK_RUNNING.
    #[inline(always)]
    pub fn state(self, offsets: &Offsets) -> u32 {
        // SAFETY: as above. `state` was a long before 5.14: on little-endian
        // targets its low 32 bits come first and hold every state bit.
        unsafe { R::read::<u32>(self.ptr, setting!(*offsets, state)) }.unwrap_or(u32::MAX)
    }

    /// Command name, NUL-padded (always through the helper: a 16-byte copy).
    #[inline(always)]
    pub fn comm(self, offsets: &Offsets) -> [u8; TASK_COMM_LEN] {
        // SAFETY: as above.
        unsafe { probe_read::<[u8; TASK_COMM_LEN]>(self.ptr, setting!(*offsets, comm)) }.unwrap_or([0; TASK_COMM_LEN])
    }

    /// Process id of the parent (`real_parent->tgid`).
    #[inline(always)]
    pub fn ppid(self, offsets: &Offsets) -> u32 {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let Some(parent) = probe_read::<*const u8>(self.ptr, setting!(*offsets, real_parent)) else { return 0 };
            probe_read::<u32>(parent, setting!(*offsets, tgid)).unwrap_or(0)
        }
    }

    /// Exit status in wait(2) layout (`task_struct.exit_code`).
    #[inline(always)]
    pub fn exit_code(self, offsets: &Offsets) -> u32 {
        // SAFETY: a field of the task.
        unsafe { probe_read::<u32>(self.ptr, setting!(*offsets, exit_code)) }.unwrap_or(0)
    }

    /// When the task started (`task_struct.start_time`, CLOCK_MONOTONIC ns).
    #[inline(always)]
    pub fn start_time(self, offsets: &Offsets) -> u64 {
        // SAFETY: a field of the task.
        unsafe { probe_read::<u64>(self.ptr, setting!(*offsets, start_time)) }.unwrap_or(0)
    }

    /// Whether the task has an address space (false for kernel threads).
    #[inline(always)]
    pub fn has_mm(self, offsets: &Offsets) -> bool {
        // SAFETY: a field of the task.
        unsafe { R::read::<u64>(self.ptr, setting!(*offsets, mm)) }.is_some_and(|mm| mm != 0)
    }

    /// The user-space range holding argv (`mm->arg_start .. mm->arg_end`).
    #[inline(always)]
    pub fn argv_range(self, offsets: &Offsets) -> Option<(u64, u64)> {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let mm = probe_read::<*const u8>(self.ptr, setting!(*offsets, mm))?;
            let start = probe_read::<u64>(mm, setting!(*offsets, mm_arg_start))?;
            let end = probe_read::<u64>(mm, setting!(*offsets, mm_arg_end))?;
            Some((start, end))
        }
    }

    /// Inode number of the PID namespace for the task's children
    /// (`nsproxy->pid_ns_for_children->ns.inum`, as libbpf-tools keys it).
    #[inline(always)]
    pub fn pid_ns_inum(self, offsets: &Offsets) -> u32 {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let Some(nsproxy) = probe_read::<*const u8>(self.ptr, setting!(*offsets, nsproxy)) else { return 0 };
            let Some(pid_ns) = probe_read::<*const u8>(nsproxy, setting!(*offsets, nsproxy_pid_ns)) else { return 0 };
            probe_read::<u32>(pid_ns, setting!(*offsets, pid_ns_inum)).unwrap_or(0)
        }
    }

    /// Whether the task's cgroup v2 is the cgroup `id` (at depth `level`) or
    /// one of its descendants: the task's ancestor at that depth must be it.
    #[inline(always)]
    pub fn in_cgroup(self, offsets: &Offsets, level: u32, id: u64) -> bool {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let Some(css_set) = probe_read::<*const u8>(self.ptr, setting!(*offsets, cgroups)) else { return false };
            let Some(cgroup) = probe_read::<*const u8>(css_set, setting!(*offsets, css_set_dfl_cgrp)) else {
                return false;
            };
            let Some(depth) = probe_read::<i32>(cgroup, setting!(*offsets, cgroup_level)) else { return false };
            if depth < level as i32 {
                return false;
            }
            let slot = setting!(*offsets, cgroup_ancestors).wrapping_add(level.wrapping_mul(8));
            if setting!(*offsets, cgroup_ancestors_are_ids) != 0 {
                return probe_read::<u64>(cgroup, slot) == Some(id);
            }
            let Some(ancestor) = probe_read::<*const u8>(cgroup, slot) else { return false };
            let Some(kn) = probe_read::<*const u8>(ancestor, setting!(*offsets, cgroup_kn)) else { return false };
            probe_read::<u64>(kn, setting!(*offsets, kernfs_node_id)) == Some(id)
        }
    }
}
