//! exitsnoop's kernel logic, shared by `exitsnoop` (tp_btf, ring buffer) and
//! `exitsnoop_compat` (raw_tp or classic tracepoint, perf buffer): one event
//! per process (or, with -T, per thread) leaving sched_process_exit.

use aya_ebpf::{EbpfContext, Global, helpers::bpf_ktime_get_ns, maps::PerCpuArray};
use tracer_common::process::exitsnoop::{Config, ExitEvent};

use crate::{
    events::{EventSink, send_or_count},
    setting,
    task::{FieldReader, Offsets, Task},
};

pub struct Exitsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Offsets,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Exitsnoop<'_, S> {
    /// sched_process_exit: `task` is the exiting task (current).
    #[inline(always)]
    pub fn exit<R: FieldReader, C: EbpfContext>(&self, ctx: &C, task: Task<R>) {
        let tid = task.tid(self.offsets);
        let pid = task.tgid(self.offsets);
        if setting!(*self.config, all_threads) == 0 && tid != pid {
            return;
        }
        let target = setting!(*self.config, target_tgid);
        if target != 0 && pid != target {
            return;
        }
        let exit_code = task.exit_code(self.offsets);
        if setting!(*self.config, failed_only) != 0 && exit_code == 0 {
            return;
        }
        if setting!(*self.config, filter_cgroup) != 0
            && !task.in_cgroup(self.offsets, setting!(*self.config, cgroup_level), setting!(*self.config, cgroup_id))
        {
            return;
        }
        let event = ExitEvent {
            // SAFETY: helper without arguments.
            timestamp_ns: unsafe { bpf_ktime_get_ns() },
            start_ns: task.start_time(self.offsets),
            pid,
            ppid: task.ppid(self.offsets),
            tid,
            exit_code,
            comm: task.comm(self.offsets),
        };
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<ExitEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
