//! tcpstates' kernel logic, shared by `tcpstates` (tp_btf, ring buffer) and
//! `tcpstates_compat` (raw_tp or classic tracepoint, perf buffer), all on
//! sock:inet_sock_set_state.
//!
//! Each TCP socket's last change time is kept by its address; a change
//! reports the time since (the time spent in the state it leaves) and
//! stores its own time, except at TCP_CLOSE, which forgets the socket.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::{
    sock::{EndpointOffsets, IPPROTO_TCP, state},
    tcpstates::{Config, StateEvent, StateOffsets, UNKNOWN_DELTA, drop_reason},
};

use crate::{
    count_drop,
    events::{EventSink, send_or_count},
    global_ptr,
    net::sock,
    setting,
};

pub struct Tcpstates<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<StateOffsets>,
    pub last_change: &'a HashMap<u64, u64>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Tcpstates<'_, S> {
    #[inline(always)]
    fn endpoint_offsets(&self) -> *const EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// The protocol of a socket, read from `struct sock` (BTF paths).
    #[inline(always)]
    pub fn protocol(&self, sk: *const u8) -> u16 {
        // SAFETY: sk is the tracepoint's socket pointer.
        unsafe { sock::protocol(sk, self.endpoint_offsets()) }
    }

    /// One state change of socket `sk`.
    #[inline(always)]
    pub fn state_change<C: EbpfContext>(&self, ctx: &C, sk: *const u8, oldstate: i32, newstate: i32, protocol: u16) {
        if protocol != IPPROTO_TCP {
            return;
        }
        // SAFETY: every read goes through the probe-read helper.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        let target_family = setting!(*self.config, target_family);
        if target_family != 0 && u32::from(endpoints.family) != target_family {
            return;
        }
        let key = sk as u64;
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        // SAFETY: the value is copied out before the entry changes.
        let delta_ns = match unsafe { self.last_change.get(&key) } {
            Some(&then) => now.saturating_sub(then),
            None => UNKNOWN_DELTA,
        };
        if newstate == state::CLOSE {
            let _ = self.last_change.remove(&key);
        } else if self.last_change.insert(&key, &now, 0).is_err() {
            count_drop!(self.drops, drop_reason::TIMESTAMPS_FULL);
        }
        // Ports are filtered after the time is kept: a connecting socket's
        // local port is still 0 at its first change.
        // SAFETY: field addresses inside the read-only global.
        let config = global_ptr(self.config);
        if !sock::port_admitted(unsafe { &raw const (*config).local_ports }, endpoints.lport)
            || !sock::port_admitted(unsafe { &raw const (*config).remote_ports }, endpoints.rport)
        {
            return;
        }
        let mut event = StateEvent::ZERO;
        event.timestamp_ns = now;
        event.skaddr = key;
        event.delta_ns = delta_ns;
        event.pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        event.oldstate = oldstate as u16;
        event.newstate = newstate as u16;
        event.endpoints = endpoints;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<StateEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
