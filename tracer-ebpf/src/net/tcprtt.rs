//! tcprtt's kernel logic: on tcp:tcp_probe (which tcp_rcv_established fires
//! for every segment an established socket receives, where libbpf-tools
//! hooks that function), record the socket's smoothed RTT into the whole
//! histogram or the sparse histogram of its local or remote address.

use aya_ebpf::{
    Global,
    bindings::BPF_NOEXIST,
    maps::{HashMap, PerCpuArray},
};
use tracer_common::{
    hist::{Histogram, SparseKey},
    net::{
        sock::{AF_INET, AF_INET6, EndpointOffsets, Endpoints},
        tcprtt::{Address, Config, RttOffsets, drop_reason, keying, owner_of},
    },
};

use crate::{
    count_drop, global_ptr,
    hist::{record_dense, record_sparse},
    net::sock,
    setting,
    task::probe_read,
};

pub struct Tcprtt<'a> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<RttOffsets>,
    pub hist: &'a PerCpuArray<Histogram>,
    pub sparse: &'a HashMap<SparseKey, u64>,
    pub addresses: &'a HashMap<u32, Address>,
    pub drops: &'a PerCpuArray<u64>,
}

/// Two 16-byte addresses compared as words (no memcmp in BPF).
#[inline(always)]
fn same_address(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let word = |bytes: &[u8; 16], at: usize| {
        u64::from_ne_bytes([
            bytes[at],
            bytes[at + 1],
            bytes[at + 2],
            bytes[at + 3],
            bytes[at + 4],
            bytes[at + 5],
            bytes[at + 6],
            bytes[at + 7],
        ])
    };
    word(a, 0) == word(b, 0) && word(a, 8) == word(b, 8)
}

impl Tcprtt<'_> {
    #[inline(always)]
    fn endpoint_offsets(&self) -> *const EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// tp_btf and raw_tp: the socket pointer; its endpoints and srtt are read
    /// at BTF offsets.
    #[inline(always)]
    pub fn socket(&self, sk: *const u8) {
        // SAFETY: sk is the tracepoint's socket; reads go through probe-read.
        let (endpoints, srtt) = unsafe {
            let Some(endpoints) = sock::endpoints(sk, self.endpoint_offsets()) else { return };
            let Some(srtt) = probe_read::<u32>(sk, setting!(*self.offsets, srtt_us)) else { return };
            (endpoints, srtt)
        };
        // srtt_us holds 8 times the microseconds.
        self.record(&endpoints, (u64::from(srtt) * 1000) >> 3);
    }

    /// The classic tracepoint: everything from the record (the caller reads
    /// the `sockaddr`s' family and addresses field by field).
    #[inline(always)]
    pub fn record_fields(&self, family: u16, laddr: [u8; 16], raddr: [u8; 16], sport: u16, dport: u16, srtt_us: u32) {
        if family != AF_INET && family != AF_INET6 {
            return;
        }
        let endpoints = Endpoints { family, lport: sport, rport: dport, _pad: 0, laddr, raddr };
        self.record(&endpoints, u64::from(srtt_us) * 1000);
    }

    #[inline(always)]
    fn record(&self, endpoints: &Endpoints, rtt_ns: u64) {
        let config = self.config;
        let lport = setting!(*config, lport);
        if lport != 0 && lport != endpoints.lport {
            return;
        }
        let rport = setting!(*config, rport);
        if rport != 0 && rport != endpoints.rport {
            return;
        }
        let family = setting!(*config, family);
        if family != 0 && family != endpoints.family {
            return;
        }
        let laddr_family = setting!(*config, laddr_family);
        if laddr_family != 0
            && (laddr_family != endpoints.family || !same_address(&setting!(*config, laddr), &endpoints.laddr))
        {
            return;
        }
        let raddr_family = setting!(*config, raddr_family);
        if raddr_family != 0
            && (raddr_family != endpoints.family || !same_address(&setting!(*config, raddr), &endpoints.raddr))
        {
            return;
        }
        let keying = setting!(*config, keying);
        if keying == keying::TOTAL {
            record_dense(self.hist.get_ptr_mut(0), rtt_ns);
            return;
        }
        let address = Address {
            family: endpoints.family,
            _pad: 0,
            addr: if keying == keying::LOCAL { endpoints.laddr } else { endpoints.raddr },
        };
        let owner = owner_of(address.family, &address.addr);
        // SAFETY: the value is copied out at once.
        match unsafe { self.addresses.get(&owner).copied() } {
            Some(known) => {
                if known.family != address.family || !same_address(&known.addr, &address.addr) {
                    count_drop!(self.drops, drop_reason::COLLISION);
                    return;
                }
            }
            None => {
                // Another CPU may have named it meanwhile (-EEXIST): the same address.
                if let Err(err) = self.addresses.insert(&owner, &address, BPF_NOEXIST.into())
                    && err != -17
                {
                    count_drop!(self.drops, drop_reason::ADDRESS_MAP_FULL);
                }
            }
        }
        if !record_sparse(self.sparse, owner, rtt_ns) {
            count_drop!(self.drops, drop_reason::HIST_MAP_FULL);
        }
    }
}
