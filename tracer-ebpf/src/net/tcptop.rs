//! tcptop's kernel logic: bytes each process sends and receives per TCP
//! flow, counted where the process's own call returns (sock:sock_send_length
//! and sock_recv_length, 6.3+), or at tcp_sendmsg's exit and
//! tcp_cleanup_rbuf's entry (fentry or kprobes, as libbpf-tools).

use aya_ebpf::{
    Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::{
    sock::{EndpointOffsets, IPPROTO_TCP},
    tcptop::{Config, FlowKey, TopOffsets, drop_reason},
};

use crate::{
    count_drop,
    counters::{self, Added},
    global_ptr,
    net::sock,
    setting,
};

pub struct Tcptop<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<TopOffsets>,
    pub bytes: &'a HashMap<FlowKey, u64>,
    pub drops: &'a PerCpuArray<u64>,
}

impl Tcptop<'_> {
    #[inline(always)]
    fn endpoint_offsets(&self) -> *const EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// The protocol of `sk`, read from `struct sock` (BTF paths).
    #[inline(always)]
    pub fn protocol(&self, sk: *const u8) -> u16 {
        // SAFETY: sk is the hook's socket pointer.
        unsafe { sock::protocol(sk, self.endpoint_offsets()) }
    }

    /// `bytes` moved on `sk` in `direction` by the current process.
    #[inline(always)]
    pub fn count(&self, sk: *const u8, protocol: u16, bytes: i64, direction: u16) {
        if bytes <= 0 || protocol != IPPROTO_TCP {
            return;
        }
        let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && pid != target_pid {
            return;
        }
        // SAFETY: reads go through the probe-read helper.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        let family = setting!(*self.config, family);
        if family != 0 && family != endpoints.family {
            return;
        }
        let key = FlowKey {
            pid,
            family: endpoints.family,
            lport: endpoints.lport,
            rport: endpoints.rport,
            direction,
            laddr: endpoints.laddr,
            raddr: endpoints.raddr,
            comm: bpf_get_current_comm().unwrap_or([0; 16]),
        };
        if counters::add(self.bytes, &key, bytes as u64) == Added::Full {
            count_drop!(self.drops, drop_reason::FLOW_MAP_FULL);
        }
    }
}
