//! tcplife's kernel logic, shared by `tcplife` (tp_btf, ring buffer) and
//! `tcplife_compat` (raw_tp or classic tracepoint, perf buffer), all on
//! sock:inet_sock_set_state.
//!
//! A socket's life starts at the first state change we see below FIN_WAIT1
//! and ends at TCP_CLOSE. Its owner is captured when a process acts on it:
//! connect() (SYN_SENT) and close() (FIN_WAIT1 when it closes first,
//! LAST_ACK when the peer did), which run in that process's context; the
//! other transitions run in softirq, on behalf of whatever task was
//! interrupted. That attributes accepted (passive) sockets correctly too.

use aya_ebpf::{
    EbpfContext, Global,
    bindings::BPF_NOEXIST,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::tcplife::{Config, IPPROTO_TCP, Owner, SockOffsets, TcpEvent, state};

use crate::{
    events::{EventSink, send_or_count},
    global_ptr,
    net::sock,
    setting,
    task::probe_read,
};

pub struct Tcplife<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<SockOffsets>,
    pub births: &'a HashMap<u64, u64>,
    pub owners: &'a HashMap<u64, Owner>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

#[inline(always)]
fn current_owner() -> Owner {
    Owner { pid: (bpf_get_current_pid_tgid() >> 32) as u32, comm: bpf_get_current_comm().unwrap_or([0; 16]) }
}

impl<S: EventSink> Tcplife<'_, S> {
    /// The protocol of a socket, read from `struct sock` (BTF paths).
    #[inline(always)]
    pub fn protocol(&self, sk: *const u8) -> u16 {
        // SAFETY: sk is the tracepoint's socket pointer.
        unsafe { sock::protocol(sk, self.endpoint_offsets()) }
    }

    #[inline(always)]
    fn endpoint_offsets(&self) -> *const tracer_common::net::sock::EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// One state change of socket `sk`.
    #[inline(always)]
    pub fn state_change<C: EbpfContext>(&self, ctx: &C, sk: *const u8, newstate: i32, protocol: u16) {
        if protocol != IPPROTO_TCP {
            return;
        }
        let key = sk as u64;
        if newstate < state::FIN_WAIT1 {
            // SAFETY: helper without arguments.
            let now = unsafe { bpf_ktime_get_ns() };
            let _ = self.births.insert(&key, &now, BPF_NOEXIST.into());
        }
        if newstate == state::SYN_SENT || newstate == state::FIN_WAIT1 || newstate == state::LAST_ACK {
            let _ = self.owners.insert(&key, &current_owner(), 0);
        }
        if newstate == state::CLOSE {
            self.close(ctx, sk, key);
        }
    }

    #[inline(always)]
    fn close<C: EbpfContext>(&self, ctx: &C, sk: *const u8, key: u64) {
        // SAFETY: values copied out before the entries are removed.
        let birth = unsafe { self.births.get(&key).copied() };
        let owner = unsafe { self.owners.get(&key).copied() }.unwrap_or_else(current_owner);
        let _ = self.births.remove(&key);
        let _ = self.owners.remove(&key);
        // A socket born before we started has no known duration: skip it.
        let Some(birth) = birth else { return };
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && owner.pid != target_pid {
            return;
        }
        let offsets = self.offsets;
        // SAFETY: every read goes through the probe-read helper.
        let event = unsafe {
            let Some(endpoints) = sock::endpoints(sk, self.endpoint_offsets()) else { return };
            let target_family = setting!(*self.config, target_family);
            if target_family != 0 && u32::from(endpoints.family) != target_family {
                return;
            }
            let mut event = TcpEvent::ZERO;
            // SAFETY (outer): helper without arguments.
            event.timestamp_ns = bpf_ktime_get_ns();
            event.span_ns = event.timestamp_ns.saturating_sub(birth);
            event.pid = owner.pid;
            event.comm = owner.comm;
            event.endpoints = endpoints;
            event.tx_bytes = probe_read::<u64>(sk, setting!(*offsets, tcp_bytes_acked)).unwrap_or(0);
            event.rx_bytes = probe_read::<u64>(sk, setting!(*offsets, tcp_bytes_received)).unwrap_or(0);
            event
        };
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<TcpEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
