//! Kernel struct field offsets, resolved by userspace from the running kernel's
//! BTF and handed to BPF programs as read-only globals. Rust BPF has no CO-RE
//! relocations yet, so no offset is ever compiled in.

/// Marks a field that could not be resolved on this kernel. Userspace disables
/// every feature that needs such a field before the program is loaded, so the
/// kernel side never reads through it.
pub const UNRESOLVED: u32 = u32::MAX;

/// Offsets into `struct task_struct` and the structures reached from it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOffsets {
    /// `task_struct.pid` (thread id, i32).
    pub pid: u32,
    /// `task_struct.tgid` (process id, i32).
    pub tgid: u32,
    /// `task_struct.__state` (u32 since 5.14) or `state` (long before).
    pub state: u32,
    /// `task_struct.comm` (char[16]).
    pub comm: u32,
    /// `task_struct.nsproxy` (struct nsproxy *).
    pub nsproxy: u32,
    /// `nsproxy.pid_ns_for_children` (struct pid_namespace *).
    pub nsproxy_pid_ns: u32,
    /// `pid_namespace.ns.inum` (u32).
    pub pid_ns_inum: u32,
    /// `task_struct.cgroups` (struct css_set *).
    pub cgroups: u32,
    /// `css_set.dfl_cgrp` (struct cgroup *, the cgroup v2 of the task).
    pub css_set_dfl_cgrp: u32,
    /// `cgroup.level` (int, depth below the root).
    pub cgroup_level: u32,
    /// `cgroup.ancestors` (struct cgroup *[], 6.1+) or `cgroup.ancestor_ids`
    /// (u64[], before); see `cgroup_ancestors_are_ids`.
    pub cgroup_ancestors: u32,
    /// 1 when `cgroup_ancestors` points at `ancestor_ids` (ids stored inline).
    pub cgroup_ancestors_are_ids: u32,
    /// `cgroup.kn` (struct kernfs_node *).
    pub cgroup_kn: u32,
    /// `kernfs_node.id` (u64, the cgroup id: the directory's inode number).
    pub kernfs_node_id: u32,
    /// `task_struct.real_parent` (struct task_struct *).
    pub real_parent: u32,
    /// `task_struct.mm` (struct mm_struct *).
    pub mm: u32,
    /// `mm_struct.arg_start` and `arg_end` (unsigned long): where the kernel
    /// laid out argv in the new process.
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    /// `task_struct.exit_code` (int, wait(2) status layout).
    pub exit_code: u32,
    /// `task_struct.start_time` (u64, CLOCK_MONOTONIC ns).
    pub start_time: u32,
}

impl TaskOffsets {
    /// All fields unresolved.
    pub const UNRESOLVED: Self = Self {
        pid: UNRESOLVED,
        tgid: UNRESOLVED,
        state: UNRESOLVED,
        comm: UNRESOLVED,
        nsproxy: UNRESOLVED,
        nsproxy_pid_ns: UNRESOLVED,
        pid_ns_inum: UNRESOLVED,
        cgroups: UNRESOLVED,
        css_set_dfl_cgrp: UNRESOLVED,
        cgroup_level: UNRESOLVED,
        cgroup_ancestors: UNRESOLVED,
        cgroup_ancestors_are_ids: 0,
        cgroup_kn: UNRESOLVED,
        kernfs_node_id: UNRESOLVED,
        real_parent: UNRESOLVED,
        mm: UNRESOLVED,
        mm_arg_start: UNRESOLVED,
        mm_arg_end: UNRESOLVED,
        exit_code: UNRESOLVED,
        start_time: UNRESOLVED,
    };
}

crate::impl_pod!(TaskOffsets);

/// Byte offsets of fields inside a classic (tracefs) tracepoint record, read
/// from the tracepoint's `format` file at start.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedTracepointOffsets {
    /// `sched_wakeup`/`sched_wakeup_new`: `pid`.
    pub wakeup_pid: u32,
    /// `sched_switch`: `prev_pid`.
    pub switch_prev_pid: u32,
    /// `sched_switch`: `prev_state` (long before 6.x, int after; low 32 bits read).
    pub switch_prev_state: u32,
    /// `sched_switch`: `next_pid`.
    pub switch_next_pid: u32,
    /// `sched_switch`: `next_comm`.
    pub switch_next_comm: u32,
    /// `sched_wakeup`/`sched_wakeup_new`: `comm`.
    pub wakeup_comm: u32,
    /// `sched_switch`: `prev_comm`.
    pub switch_prev_comm: u32,
}

impl SchedTracepointOffsets {
    pub const UNRESOLVED: Self = Self {
        wakeup_pid: UNRESOLVED,
        switch_prev_pid: UNRESOLVED,
        switch_prev_state: UNRESOLVED,
        switch_next_pid: UNRESOLVED,
        switch_next_comm: UNRESOLVED,
        wakeup_comm: UNRESOLVED,
        switch_prev_comm: UNRESOLVED,
    };
}

crate::impl_pod!(SchedTracepointOffsets);
