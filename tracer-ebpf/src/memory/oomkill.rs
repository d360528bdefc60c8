//! oomkill's kernel logic, shared by `oomkill` (fentry, tp_btf; ring buffer)
//! and `oomkill_compat` (kprobe, raw_tp, classic tracepoint; perf buffer):
//! one event per OOM kill, with the task that ran the killer (current) as
//! the trigger. The function hooks see `oom_kill_process`'s `oom_control`
//! (victim, totalpages, memcg or not); `oom:mark_victim` passes the victim
//! task from 6.8 (its BTF and raw arguments), and its classic record carries
//! the victim's pid (and from 6.8 its comm and memory).

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns,
        generated::bpf_probe_read_kernel_str,
    },
    maps::PerCpuArray,
    programs::TracePointContext,
};
use tracer_common::{
    memory::oomkill::{
        KNOWN_CGROUP, KNOWN_COMM, KNOWN_CONSTRAINT, KNOWN_MEMORY, KNOWN_SCORE_ADJ, KNOWN_TGID, KNOWN_TOTALPAGES,
        KNOWN_UID, MEMCG_OOM, OomEvent, OomOffsets, VictimRecord,
    },
    offsets::{TaskOffsets, UNRESOLVED},
};

use crate::{
    events::{EventSink, send_or_count},
    setting,
    task::{FieldReader, ProbeRead, Task, probe_read, probe_read_or_zero},
};

pub struct Oomkill<'a, S> {
    pub oom: &'a Global<OomOffsets>,
    pub task: &'a Global<TaskOffsets>,
    pub record: &'a Global<VictimRecord>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Oomkill<'_, S> {
    /// `oom_kill_process(oc, message)` entry: `oc` is the `oom_control`.
    #[inline(always)]
    pub fn kill_process<C: EbpfContext>(&self, ctx: &C, oc: *const u8) {
        let mut event = self.new_event();
        // SAFETY: oc is the function's first argument, a kernel pointer; each
        // read goes through the helper.
        unsafe {
            let Some(chosen) = probe_read::<*const u8>(oc, setting!(*self.oom, oc_chosen)) else { return };
            // `oc` was readable (chosen): its other fields are too.
            event.totalpages = probe_read_or_zero::<u64>(oc, setting!(*self.oom, oc_totalpages));
            let memcg = probe_read_or_zero::<u64>(oc, setting!(*self.oom, oc_memcg));
            event.known |= KNOWN_TOTALPAGES | KNOWN_CONSTRAINT | MEMCG_OOM * u32::from(memcg != 0);
            self.victim_task(&mut event, Task::<ProbeRead>::new(chosen));
        }
        self.send(ctx, &event);
    }

    /// `oom:mark_victim(task, uid)` through its BTF or raw arguments (6.8+).
    #[inline(always)]
    pub fn mark_victim<R: FieldReader, C: EbpfContext>(&self, ctx: &C, victim: Task<R>) {
        let mut event = self.new_event();
        self.victim_task(&mut event, victim);
        self.send(ctx, &event);
    }

    /// The classic `oom:mark_victim` record. The victim's task is not in it:
    /// what the record lacks is read from the current task when that is the
    /// victim (a process that ran its own memcg out of memory).
    #[inline(always)]
    pub fn mark_victim_record(&self, ctx: &TracePointContext) {
        let mut event = self.new_event();
        // SAFETY: offsets come from this tracepoint's format file.
        let Ok(pid) = (unsafe { ctx.read_at::<i32>(setting!(*self.record, pid) as usize) }) else { return };
        event.victim_tid = pid as u32;
        if setting!(*self.record, comm) != UNRESOLVED {
            // SAFETY: as above; the __data_loc word locates the string in the record.
            if let Ok(location) = unsafe { ctx.read_at::<u32>(setting!(*self.record, comm) as usize) } {
                let at = ctx.as_ptr().cast::<u8>().wrapping_add((location & 0xffff) as usize);
                // SAFETY: the helper bounds the copy to the buffer.
                let copied = unsafe {
                    bpf_probe_read_kernel_str(
                        event.victim_comm.as_mut_ptr().cast(),
                        event.victim_comm.len() as u32,
                        at.cast(),
                    )
                };
                if copied > 0 {
                    event.known |= KNOWN_COMM;
                }
            }
        }
        if setting!(*self.record, total_vm) != UNRESOLVED {
            // SAFETY: as above.
            unsafe {
                event.total_vm_kb = ctx.read_at::<u64>(setting!(*self.record, total_vm) as usize).unwrap_or(0);
                event.anon_rss_kb = ctx.read_at::<u64>(setting!(*self.record, anon_rss) as usize).unwrap_or(0);
                event.file_rss_kb = ctx.read_at::<u64>(setting!(*self.record, file_rss) as usize).unwrap_or(0);
                event.shmem_rss_kb = ctx.read_at::<u64>(setting!(*self.record, shmem_rss) as usize).unwrap_or(0);
                event.pgtables_kb = ctx.read_at::<u64>(setting!(*self.record, pgtables) as usize).unwrap_or(0);
                event.uid = ctx.read_at::<u32>(setting!(*self.record, uid) as usize).unwrap_or(0);
                event.oom_score_adj =
                    i32::from(ctx.read_at::<i16>(setting!(*self.record, oom_score_adj) as usize).unwrap_or(0));
            }
            event.known |= KNOWN_MEMORY | KNOWN_UID | KNOWN_SCORE_ADJ;
        }
        if event.victim_tid == event.trigger_tid {
            // SAFETY: the current task pointer.
            let current = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
            // The record's own values stand; the task adds what it lacks.
            self.victim_task(&mut event, current);
        }
        self.send(ctx, &event);
    }

    #[inline(always)]
    fn new_event(&self) -> OomEvent {
        let mut event = OomEvent::ZERO;
        let ids = bpf_get_current_pid_tgid();
        // SAFETY: helper without arguments.
        event.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.trigger_pid = (ids >> 32) as u32;
        event.trigger_tid = ids as u32;
        event.trigger_comm = bpf_get_current_comm().unwrap_or([0; 16]);
        event
    }

    /// Fills in what `victim` tells that `event` does not know yet: ids,
    /// comm, memory counters, uid, oom_score_adj, memory cgroup.
    #[inline(always)]
    fn victim_task<R: FieldReader>(&self, event: &mut OomEvent, victim: Task<R>) {
        let oom = self.oom;
        event.victim_tid = victim.tid(self.task);
        event.victim_pid = victim.tgid(self.task);
        event.known |= KNOWN_TGID;
        if event.known & KNOWN_COMM == 0 {
            event.victim_comm = victim.comm(self.task);
            event.known |= KNOWN_COMM;
        }
        let task = victim.ptr;
        // SAFETY: every hop is a kernel pointer read through the helper.
        unsafe {
            if event.known & KNOWN_MEMORY == 0
                && setting!(*oom, mm_total_vm) != UNRESOLVED
                && let Some(mm) = probe_read::<*const u8>(task, setting!(*self.task, mm))
                && !mm.is_null()
            {
                let page_kb = u64::from(setting!(*oom, page_kb));
                let counter = |index: u32| -> u64 {
                    let at = setting!(*oom, mm_rss_stat)
                        .wrapping_add(index.wrapping_mul(setting!(*oom, rss_stride)))
                        .wrapping_add(setting!(*oom, rss_count));
                    // A per-CPU counter's shared count can dip below zero:
                    // clamped without a branch (the sign bit masks it out).
                    let count = probe_read_or_zero::<i64>(mm, at);
                    (count & !(count >> 63)) as u64 * page_kb
                };
                event.total_vm_kb = probe_read_or_zero::<u64>(mm, setting!(*oom, mm_total_vm)) * page_kb;
                event.file_rss_kb = counter(setting!(*oom, rss_file));
                event.anon_rss_kb = counter(setting!(*oom, rss_anon));
                event.shmem_rss_kb = counter(setting!(*oom, rss_shmem));
                event.pgtables_kb = probe_read_or_zero::<u64>(mm, setting!(*oom, mm_pgtables_bytes)) / 1024;
                event.known |= KNOWN_MEMORY;
            }
            if event.known & KNOWN_UID == 0
                && setting!(*oom, task_cred) != UNRESOLVED
                && let Some(cred) = probe_read::<*const u8>(task, setting!(*oom, task_cred))
                && let Some(uid) = probe_read::<u32>(cred, setting!(*oom, cred_uid))
            {
                event.uid = uid;
                event.known |= KNOWN_UID;
            }
            if event.known & KNOWN_SCORE_ADJ == 0
                && setting!(*oom, task_signal) != UNRESOLVED
                && let Some(signal) = probe_read::<*const u8>(task, setting!(*oom, task_signal))
                && let Some(adj) = probe_read::<i16>(signal, setting!(*oom, signal_oom_score_adj))
            {
                event.oom_score_adj = i32::from(adj);
                event.known |= KNOWN_SCORE_ADJ;
            }
            if setting!(*oom, css_set_memory) != UNRESOLVED {
                // A fault anywhere down the walk (no memory css: a null
                // pointer) leaves zero, which is no cgroup's id.
                let css_set = probe_read_or_zero::<*const u8>(task, setting!(*self.task, cgroups));
                let css = probe_read_or_zero::<*const u8>(css_set, setting!(*oom, css_set_memory));
                let cgroup = probe_read_or_zero::<*const u8>(css, setting!(*oom, css_cgroup));
                let kn = probe_read_or_zero::<*const u8>(cgroup, setting!(*self.task, cgroup_kn));
                event.cgroup_id = probe_read_or_zero::<u64>(kn, setting!(*self.task, kernfs_node_id));
                if event.cgroup_id != 0 {
                    event.known |= KNOWN_CGROUP;
                }
            }
        }
    }

    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, event: &OomEvent) {
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), core::mem::size_of::<OomEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
