//! gethostlatency's kernel logic, shared by `gethostlatency` (ring buffer)
//! and `gethostlatency_compat` (perf buffer, kernels before 5.8): uprobes on
//! libc's getaddrinfo, gethostbyname and gethostbyname2 (one entry program
//! each, so the event says which) and one uretprobe for all three.
//!
//! Entry keeps the lookup (start, process, name) by thread in a hash; the
//! return completes it in place and sends it, as libbpf-tools does.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated::bpf_probe_read_user_str},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::gethostlatency::{Config, DROP_IN_FLIGHT_FULL, HOST_LEN, Lookup};

use crate::{
    count_drop,
    events::{EventSink, send_or_count},
    setting,
};

pub struct Gethostlatency<'a, S> {
    pub config: &'a Global<Config>,
    pub in_flight: &'a HashMap<u32, Lookup>,
    pub scratch: &'a PerCpuArray<Lookup>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn now() -> u64 {
    // SAFETY: helper without arguments.
    unsafe { bpf_ktime_get_ns() }
}

impl<S: EventSink> Gethostlatency<'_, S> {
    /// Entry of `FUNCTIONS[function]`, whose first argument is the name.
    #[inline(always)]
    pub fn enter(&self, function: u32, name: *const u8) {
        if name.is_null() {
            return;
        }
        let pid_tgid = bpf_get_current_pid_tgid();
        let tgid = (pid_tgid >> 32) as u32;
        let target = setting!(*self.config, target_tgid);
        if target != 0 && tgid != target {
            return;
        }
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(lookup) = self.scratch.get_ptr_mut(0).map(|slot| unsafe { &mut *slot }) else { return };
        lookup.timestamp_ns = now();
        lookup.latency_ns = 0;
        lookup.ret = 0;
        let tid = pid_tgid as u32;
        lookup.pid = tgid;
        lookup.tid = tid;
        lookup.function = function;
        lookup.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: the helper writes at most HOST_LEN bytes into the slot.
        let len = unsafe { bpf_probe_read_user_str(lookup.host.as_mut_ptr().cast(), HOST_LEN as u32, name.cast()) };
        lookup.host_len = len as i32;
        if len < 0 {
            lookup.host[0] = 0;
        }
        if self.in_flight.insert(&tid, lookup, 0).is_err() {
            count_drop!(self.drops, DROP_IN_FLIGHT_FULL);
        }
    }

    /// Return of any of the three: the lookup this thread started, completed.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: u64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // A lookup that began before we attached, or of a filtered process.
        let Some(lookup) = self.in_flight.get_ptr_mut(&tid) else { return };
        // SAFETY: the thread's own entry; only this thread touches it.
        let lookup = unsafe { &mut *lookup };
        let end = now();
        lookup.latency_ns = end.saturating_sub(lookup.timestamp_ns);
        lookup.timestamp_ns = end;
        lookup.ret = ret;
        // SAFETY: the map value is a whole `Lookup`.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(lookup).cast::<u8>(), core::mem::size_of::<Lookup>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
        let _ = self.in_flight.remove(&tid);
    }
}

/// The programs, identical in both objects: `$tool` builds the object's
/// `Gethostlatency`.
#[macro_export]
macro_rules! gethostlatency_programs {
    ($tool:ident) => {
        /// getaddrinfo(const char *node, const char *service, ...)
        #[uprobe]
        pub fn gethostlatency_getaddrinfo_uprobe(ctx: ProbeContext) -> u32 {
            $tool().enter(0, ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()));
            0
        }

        /// gethostbyname(const char *name)
        #[uprobe]
        pub fn gethostlatency_gethostbyname_uprobe(ctx: ProbeContext) -> u32 {
            $tool().enter(1, ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()));
            0
        }

        /// gethostbyname2(const char *name, int af)
        #[uprobe]
        pub fn gethostlatency_gethostbyname2_uprobe(ctx: ProbeContext) -> u32 {
            $tool().enter(2, ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()));
            0
        }

        #[uretprobe]
        pub fn gethostlatency_return_uretprobe(ctx: RetProbeContext) -> u32 {
            $tool().exit(&ctx, ctx.ret::<u64>());
            0
        }
    };
}
