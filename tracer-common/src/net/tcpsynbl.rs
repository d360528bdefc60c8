//! `tcpsynbl`: settings, offsets and the owner key of its histograms.

use crate::net::sock::EndpointOffsets;

/// (owner, bucket) entries of the per-listener backlog histograms.
pub const SPARSE_ENTRIES: u32 = 16384;

/// A histogram's owner: the listener's port and its backlog limit
/// (`sk_max_ack_backlog`, capped to 16 bits; the kernel caps it to
/// net.core.somaxconn, 4096 by default).
#[inline(always)]
pub const fn owner(port: u16, limit: u32) -> u32 {
    let limit = if limit > 0xffff { 0xffff } else { limit };
    (limit << 16) | port as u32
}

/// The port and limit of an owner.
pub const fn owner_parts(owner: u32) -> (u16, u32) {
    (owner as u16, owner >> 16)
}

/// Slots of `TCPSYNBL_DROPS`.
pub mod drop_reason {
    pub const HIST_MAP_FULL: u32 = 0;
    pub const COUNT: u32 = 1;
}

/// Read-only global `TCPSYNBL_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this address family (0: both).
    pub target_family: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_family: 0, _pad: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `SYNBL_OFFSETS`, from BTF.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SynblOffsets {
    pub endpoints: EndpointOffsets,
    pub sk_ack_backlog: u32,
    pub sk_max_ack_backlog: u32,
    /// Classic `sock:inet_sock_set_state` record: `skaddr`, `oldstate`,
    /// `newstate`, `protocol` (from its format).
    pub tp_skaddr: u32,
    pub tp_oldstate: u32,
    pub tp_newstate: u32,
    pub tp_protocol: u32,
}

impl SynblOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        sk_ack_backlog: u32::MAX,
        sk_max_ack_backlog: u32::MAX,
        tp_skaddr: u32::MAX,
        tp_oldstate: u32::MAX,
        tp_newstate: u32::MAX,
        tp_protocol: u32::MAX,
    };
}

crate::impl_pod!(SynblOffsets);
