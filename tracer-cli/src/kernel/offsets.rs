//! Resolves the kernel struct offsets a tool needs from BTF, trying known
//! field renames. Only the groups a run asks for are resolved; a group that
//! cannot be resolved disables its feature with a message naming the field.

use anyhow::{Context, Result};
use tracer_common::offsets::{SchedTracepointOffsets, TaskOffsets};

use super::{btf::KernelBtf, tracefs};

/// Groups of `task_struct`-reachable fields, resolved on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFields {
    /// pid, tgid, state, comm: every tool that sees task pointers needs them.
    Identity,
    /// nsproxy -> pid_ns_for_children -> ns.inum (--pidnss).
    PidNamespace,
    /// css_set -> cgroup -> ancestors -> kernfs id (-c CGROUP).
    Cgroup,
    /// real_parent (parent pids).
    Parent,
    /// mm -> arg_start/arg_end (argv of a new process).
    Arguments,
    /// exit_code and start_time (exit status, age).
    Exit,
}

/// Resolves the offsets of `groups`; fields of other groups stay UNRESOLVED.
pub fn task_offsets(btf: &KernelBtf, groups: &[TaskFields]) -> Result<TaskOffsets> {
    let mut offsets = TaskOffsets::UNRESOLVED;
    for group in groups {
        match group {
            TaskFields::Identity => {
                offsets.pid = btf.field("task_struct", "pid")?.offset;
                offsets.tgid = btf.field("task_struct", "tgid")?.offset;
                // Renamed (and narrowed from long to unsigned int) in 5.14.
                offsets.state = btf.field_any("task_struct", &["__state", "state"])?.offset;
                offsets.comm = btf.field("task_struct", "comm")?.offset;
            }
            TaskFields::PidNamespace => {
                offsets.nsproxy = btf.field("task_struct", "nsproxy")?.offset;
                offsets.nsproxy_pid_ns = btf.field("nsproxy", "pid_ns_for_children")?.offset;
                let ns = btf.field("pid_namespace", "ns")?.offset;
                offsets.pid_ns_inum = ns + btf.field("ns_common", "inum")?.offset;
            }
            TaskFields::Cgroup => {
                offsets.cgroups = btf.field("task_struct", "cgroups")?.offset;
                offsets.css_set_dfl_cgrp = btf.field("css_set", "dfl_cgrp")?.offset;
                offsets.cgroup_level = btf.field("cgroup", "level")?.offset;
                // 6.1 replaced the inline id array with pointers to the ancestors.
                match btf.field("cgroup", "ancestors") {
                    Ok(field) => {
                        offsets.cgroup_ancestors = field.offset;
                        offsets.cgroup_ancestors_are_ids = 0;
                    }
                    Err(_) => {
                        offsets.cgroup_ancestors = btf
                            .field("cgroup", "ancestor_ids")
                            .context("neither cgroup.ancestors nor cgroup.ancestor_ids in kernel BTF")?
                            .offset;
                        offsets.cgroup_ancestors_are_ids = 1;
                    }
                }
                offsets.cgroup_kn = btf.field("cgroup", "kn")?.offset;
                offsets.kernfs_node_id = btf.field("kernfs_node", "id")?.offset;
            }
            TaskFields::Parent => offsets.real_parent = btf.field("task_struct", "real_parent")?.offset,
            TaskFields::Arguments => {
                offsets.mm = btf.field("task_struct", "mm")?.offset;
                offsets.mm_arg_start = btf.field("mm_struct", "arg_start")?.offset;
                offsets.mm_arg_end = btf.field("mm_struct", "arg_end")?.offset;
            }
            TaskFields::Exit => {
                offsets.exit_code = btf.field("task_struct", "exit_code")?.offset;
                offsets.start_time = btf.field("task_struct", "start_time")?.offset;
            }
        }
    }
    Ok(offsets)
}

/// Field offsets of the classic sched_wakeup and sched_switch records
/// (runqlat, offcputime), from tracefs. The fuzz targets compile tracefs.rs
/// alone, so this lives here.
pub fn sched_offsets() -> Result<SchedTracepointOffsets> {
    let wakeup = tracefs::tracepoint_format("sched", "sched_wakeup")?;
    let switch = tracefs::tracepoint_format("sched", "sched_switch")?;
    Ok(SchedTracepointOffsets {
        wakeup_pid: tracefs::field(&wakeup, "sched_wakeup", "pid")?.offset,
        switch_prev_pid: tracefs::field(&switch, "sched_switch", "prev_pid")?.offset,
        switch_prev_state: tracefs::field(&switch, "sched_switch", "prev_state")?.offset,
        switch_next_pid: tracefs::field(&switch, "sched_switch", "next_pid")?.offset,
        switch_next_comm: tracefs::field(&switch, "sched_switch", "next_comm")?.offset,
        wakeup_comm: tracefs::field(&wakeup, "sched_wakeup", "comm")?.offset,
        switch_prev_comm: tracefs::field(&switch, "sched_switch", "prev_comm")?.offset,
    })
}

#[cfg(test)]
mod tests {
    use tracer_common::offsets::UNRESOLVED;

    use super::*;

    #[test]
    fn resolves_every_group_on_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let all = task_offsets(
            &btf,
            &[
                TaskFields::Identity,
                TaskFields::PidNamespace,
                TaskFields::Cgroup,
                TaskFields::Parent,
                TaskFields::Arguments,
                TaskFields::Exit,
            ],
        )
        .unwrap();
        for (name, value) in [
            ("pid", all.pid),
            ("tgid", all.tgid),
            ("state", all.state),
            ("comm", all.comm),
            ("nsproxy", all.nsproxy),
            ("nsproxy_pid_ns", all.nsproxy_pid_ns),
            ("pid_ns_inum", all.pid_ns_inum),
            ("cgroups", all.cgroups),
            ("css_set_dfl_cgrp", all.css_set_dfl_cgrp),
            ("cgroup_level", all.cgroup_level),
            ("cgroup_ancestors", all.cgroup_ancestors),
            ("cgroup_kn", all.cgroup_kn),
            ("kernfs_node_id", all.kernfs_node_id),
            ("real_parent", all.real_parent),
            ("mm", all.mm),
            ("mm_arg_start", all.mm_arg_start),
            ("mm_arg_end", all.mm_arg_end),
            ("exit_code", all.exit_code),
            ("start_time", all.start_time),
        ] {
            assert_ne!(value, UNRESOLVED, "{name}");
        }
        // task_struct is a few KiB; every offset into it must be inside.
        let task_size = 16 * 1024;
        assert!(all.pid < task_size && all.comm < task_size && all.nsproxy < task_size);
        assert_eq!(all.mm_arg_end, all.mm_arg_start + 8, "arg_end follows arg_start");
    }

    #[test]
    fn only_requested_groups_are_resolved() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let identity = task_offsets(&btf, &[TaskFields::Identity]).unwrap();
        assert_ne!(identity.pid, UNRESOLVED);
        assert_eq!(identity.nsproxy, UNRESOLVED);
        assert_eq!(identity.cgroups, UNRESOLVED);
    }

    #[test]
    fn state_field_follows_the_5_14_rename() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let offsets = task_offsets(&btf, &[TaskFields::Identity]).unwrap();
        let renamed = btf.field("task_struct", "__state").or_else(|_| btf.field("task_struct", "state")).unwrap();
        assert_eq!(offsets.state, renamed.offset);
    }
}
