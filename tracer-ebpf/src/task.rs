//! Reading `task_struct` fields through offsets resolved by userspace from BTF.

use aya_ebpf::helpers::bpf_probe_read_kernel;
use tracer_common::{TASK_COMM_LEN, offsets::TaskOffsets};

/// Reads a `T` at `base + offset` from kernel memory.
///
/// # Safety
/// `base` must be a kernel pointer; the read itself is checked by the helper.
#[inline(always)]
pub unsafe fn read_field<T: Copy>(base: *const u8, offset: u32) -> Option<T> {
    // SAFETY: bpf_probe_read_kernel validates the address.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(offset as usize).cast::<T>()).ok() }
}

/// A `struct task_struct *` handed to us by a tracepoint.
#[derive(Clone, Copy)]
pub struct Task(pub *const u8);

impl Task {
    /// Thread id (`task_struct.pid`); 0 for the idle task or on a failed read.
    #[inline(always)]
    pub fn tid(self, offsets: &TaskOffsets) -> u32 {
        // SAFETY: self.0 is a task pointer from the tracepoint.
        unsafe { read_field::<u32>(self.0, offsets.pid) }.unwrap_or(0)
    }

    /// Process id (`task_struct.tgid`).
    #[inline(always)]
    pub fn tgid(self, offsets: &TaskOffsets) -> u32 {
        // SAFETY: as above.
        unsafe { read_field::<u32>(self.0, offsets.tgid) }.unwrap_or(0)
    }

    /// Scheduler state (`__state`/`state`, low 32 bits); 0 is TASK_RUNNING.
    #[inline(always)]
    pub fn state(self, offsets: &TaskOffsets) -> u32 {
        // SAFETY: as above. `state` was a long before 5.14: on little-endian
        // targets its low 32 bits come first, which hold every state bit.
        unsafe { read_field::<u32>(self.0, offsets.state) }.unwrap_or(u32::MAX)
    }

    /// Command name, NUL-padded.
    #[inline(always)]
    pub fn comm(self, offsets: &TaskOffsets) -> [u8; TASK_COMM_LEN] {
        // SAFETY: as above.
        unsafe { read_field::<[u8; TASK_COMM_LEN]>(self.0, offsets.comm) }.unwrap_or([0; TASK_COMM_LEN])
    }

    /// Inode number of the PID namespace for the task's children
    /// (`nsproxy->pid_ns_for_children->ns.inum`, as libbpf-tools keys it).
    #[inline(always)]
    pub fn pid_ns_inum(self, offsets: &TaskOffsets) -> u32 {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let Some(nsproxy) = read_field::<*const u8>(self.0, offsets.nsproxy) else { return 0 };
            let Some(pid_ns) = read_field::<*const u8>(nsproxy, offsets.nsproxy_pid_ns) else { return 0 };
            read_field::<u32>(pid_ns, offsets.pid_ns_inum).unwrap_or(0)
        }
    }

    /// Whether the task's cgroup v2 is the cgroup `id` (at depth `level`) or
    /// one of its descendants: the task's ancestor at that depth must be it.
    #[inline(always)]
    pub fn in_cgroup(self, offsets: &TaskOffsets, level: u32, id: u64) -> bool {
        // SAFETY: each hop is a kernel pointer read through the helper.
        unsafe {
            let Some(css_set) = read_field::<*const u8>(self.0, offsets.cgroups) else { return false };
            let Some(cgroup) = read_field::<*const u8>(css_set, offsets.css_set_dfl_cgrp) else { return false };
            let Some(depth) = read_field::<i32>(cgroup, offsets.cgroup_level) else { return false };
            if depth < level as i32 {
                return false;
            }
            let slot = offsets.cgroup_ancestors.wrapping_add(level.wrapping_mul(8));
            if offsets.cgroup_ancestors_are_ids != 0 {
                return read_field::<u64>(cgroup, slot) == Some(id);
            }
            let Some(ancestor) = read_field::<*const u8>(cgroup, slot) else { return false };
            let Some(kn) = read_field::<*const u8>(ancestor, offsets.cgroup_kn) else { return false };
            read_field::<u64>(kn, offsets.kernfs_node_id) == Some(id)
        }
    }
}
