//! `oomkill`: the event, the offsets it is read through, and the classic
//! `oom:mark_victim` record's layout.

use crate::{TASK_COMM_LEN, offsets::UNRESOLVED};

/// `OomEvent.known` bits: which fields the hook could see.
pub const KNOWN_TOTALPAGES: u32 = 1;
/// The victim's process id (tgid); else only its thread id is known.
pub const KNOWN_TGID: u32 = 1 << 1;
pub const KNOWN_COMM: u32 = 1 << 2;
/// total_vm, the three RSS counters and page tables.
pub const KNOWN_MEMORY: u32 = 1 << 3;
pub const KNOWN_UID: u32 = 1 << 4;
pub const KNOWN_SCORE_ADJ: u32 = 1 << 5;
pub const KNOWN_CGROUP: u32 = 1 << 6;
/// Whether the kill was for a memory cgroup (else the whole host, a cpuset
/// or a mempolicy): known on the function hooks (`oom_control.memcg`).
pub const KNOWN_CONSTRAINT: u32 = 1 << 7;
pub const MEMCG_OOM: u32 = 1 << 8;

/// One OOM kill.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OomEvent {
    pub timestamp_ns: u64,
    /// `oom_control.totalpages`: the pages of the memory the killer chose
    /// within (the memcg's limit, or RAM and swap), as libbpf-tools prints.
    pub totalpages: u64,
    /// The victim's memory in kB, as the kernel log line shows it.
    pub total_vm_kb: u64,
    pub anon_rss_kb: u64,
    pub file_rss_kb: u64,
    pub shmem_rss_kb: u64,
    pub pgtables_kb: u64,
    /// The victim's memory cgroup (its kernfs id: the directory's inode).
    pub cgroup_id: u64,
    /// The task that ran the OOM killer (current at the hook).
    pub trigger_pid: u32,
    pub trigger_tid: u32,
    pub victim_pid: u32,
    pub victim_tid: u32,
    pub uid: u32,
    pub oom_score_adj: i32,
    pub known: u32,
    pub _pad: u32,
    pub trigger_comm: [u8; TASK_COMM_LEN],
    pub victim_comm: [u8; TASK_COMM_LEN],
}

impl OomEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        totalpages: 0,
        total_vm_kb: 0,
        anon_rss_kb: 0,
        file_rss_kb: 0,
        shmem_rss_kb: 0,
        pgtables_kb: 0,
        cgroup_id: 0,
        trigger_pid: 0,
        trigger_tid: 0,
        victim_pid: 0,
        victim_tid: 0,
        uid: 0,
        oom_score_adj: 0,
        known: 0,
        _pad: 0,
        trigger_comm: [0; TASK_COMM_LEN],
        victim_comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(OomEvent);

/// Read-only global `OOM_OFFSETS`: fields of `oom_control`, `mm_struct`,
/// `cred`, `signal_struct` and the memory cgroup, from BTF. A group left
/// UNRESOLVED is not read.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OomOffsets {
    /// `oom_control.chosen` (struct task_struct *), `.totalpages`, `.memcg`.
    pub oc_chosen: u32,
    pub oc_totalpages: u32,
    pub oc_memcg: u32,
    /// `mm_struct.total_vm` (pages).
    pub mm_total_vm: u32,
    /// Where `mm_struct.rss_stat`'s counter `i` is: `rss_stat + i * rss_stride
    /// + rss_count` (an `atomic_long_t` array before 6.2, `percpu_counter`s
    /// after, whose `count` is what the kernel's `get_mm_counter` reads).
    pub mm_rss_stat: u32,
    pub rss_stride: u32,
    pub rss_count: u32,
    /// `MM_FILEPAGES`, `MM_ANONPAGES`, `MM_SHMEMPAGES` (enum values).
    pub rss_file: u32,
    pub rss_anon: u32,
    pub rss_shmem: u32,
    /// `mm_struct.pgtables_bytes` (atomic_long_t).
    pub mm_pgtables_bytes: u32,
    /// `task_struct.cred` -> `cred.uid`.
    pub task_cred: u32,
    pub cred_uid: u32,
    /// `task_struct.signal` -> `signal_struct.oom_score_adj` (short).
    pub task_signal: u32,
    pub signal_oom_score_adj: u32,
    /// `css_set.subsys[memory_cgrp_id]` (struct cgroup_subsys_state *), then
    /// `cgroup_subsys_state.cgroup`; the cgroup's kernfs id is read through
    /// the task offsets' `cgroup_kn` and `kernfs_node_id`.
    pub css_set_memory: u32,
    pub css_cgroup: u32,
    /// KiB per page (4 on x86-64).
    pub page_kb: u32,
}

impl OomOffsets {
    pub const UNRESOLVED: Self = Self {
        oc_chosen: UNRESOLVED,
        oc_totalpages: UNRESOLVED,
        oc_memcg: UNRESOLVED,
        mm_total_vm: UNRESOLVED,
        mm_rss_stat: UNRESOLVED,
        rss_stride: 0,
        rss_count: 0,
        rss_file: 0,
        rss_anon: 0,
        rss_shmem: 0,
        mm_pgtables_bytes: UNRESOLVED,
        task_cred: UNRESOLVED,
        cred_uid: UNRESOLVED,
        task_signal: UNRESOLVED,
        signal_oom_score_adj: UNRESOLVED,
        css_set_memory: UNRESOLVED,
        css_cgroup: UNRESOLVED,
        page_kb: 4,
    };
}

crate::impl_pod!(OomOffsets);

/// Read-only global `VICTIM_RECORD`: field offsets of the classic
/// `oom:mark_victim` record, from its tracefs format. Before 6.8 it has only
/// `pid`; the rest are UNRESOLVED there.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VictimRecord {
    pub pid: u32,
    /// `__data_loc char[] comm`.
    pub comm: u32,
    /// kB, as the record keeps them.
    pub total_vm: u32,
    pub anon_rss: u32,
    pub file_rss: u32,
    pub shmem_rss: u32,
    pub uid: u32,
    pub pgtables: u32,
    pub oom_score_adj: u32,
}

impl VictimRecord {
    pub const UNRESOLVED: Self = Self {
        pid: UNRESOLVED,
        comm: UNRESOLVED,
        total_vm: UNRESOLVED,
        anon_rss: UNRESOLVED,
        file_rss: UNRESOLVED,
        shmem_rss: UNRESOLVED,
        uid: UNRESOLVED,
        pgtables: UNRESOLVED,
        oom_score_adj: UNRESOLVED,
    };
}

crate::impl_pod!(VictimRecord);
