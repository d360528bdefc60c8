//! tcpsynbl's kernel logic: the listener's accept backlog
//! (`sk_ack_backlog`) and its limit (`sk_max_ack_backlog`) each time a
//! handshake completes, into the sparse histogram of (port, limit).
//!
//! On fentry/kprobes (libbpf-tools' hooks) the socket is the listener at
//! the entry of tcp_v4_syn_recv_sock/tcp_v6_syn_recv_sock, before the
//! kernel checks whether its queue is full: a full queue shows as limit+1.
//! On tracepoints it is the new child at its LISTEN -> SYN_RECV change
//! (inet_csk_clone_lock, inside the same call): the child is a copy of the
//! listener made a moment before, so it still holds the listener's
//! backlog, limit, family and port. Only handshakes that got a child are
//! seen there: lengths 0 to the limit, never an overflow.

use aya_ebpf::{
    Global,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    hist::SparseKey,
    net::{
        sock::{EndpointOffsets, IPPROTO_TCP, state},
        tcpsynbl::{Config, SynblOffsets, drop_reason, owner},
    },
};

use crate::{count_drop, global_ptr, hist::record_sparse, net::sock, setting, task::probe_read};

pub struct Tcpsynbl<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<SynblOffsets>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Tcpsynbl<'_> {
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

    /// A listener (or its fresh copy) whose handshake completes.
    #[inline(always)]
    pub fn sample(&self, sk: *const u8) {
        // SAFETY: every read goes through the probe-read helper.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        let family = setting!(*self.config, target_family);
        if family != 0 && family != u32::from(endpoints.family) {
            return;
        }
        let offsets = self.offsets;
        // SAFETY: as above.
        let (Some(backlog), Some(limit)) = (unsafe {
            (
                probe_read::<u32>(sk, setting!(*offsets, sk_ack_backlog)),
                probe_read::<u32>(sk, setting!(*offsets, sk_max_ack_backlog)),
            )
        }) else {
            return;
        };
        if !record_sparse(self.sparse, owner(endpoints.lport, limit), u64::from(backlog)) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }

    /// sock:inet_sock_set_state: a passive child is born LISTEN -> SYN_RECV.
    #[inline(always)]
    pub fn state_change(&self, sk: *const u8, oldstate: i32, newstate: i32, protocol: u16) {
        if protocol == IPPROTO_TCP && oldstate == state::LISTEN && newstate == state::SYN_RECV {
            self.sample(sk);
        }
    }
}
