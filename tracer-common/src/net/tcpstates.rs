//! `tcpstates`: one event per TCP state change, with the time spent in the
//! state left.

use crate::{
    TASK_COMM_LEN,
    net::sock::{EndpointOffsets, Endpoints, PortFilter},
};

/// `delta_ns` of a socket whose previous change we did not see (it was in
/// its old state before tracing started).
pub const UNKNOWN_DELTA: u64 = u64::MAX;

/// One state change of one socket.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StateEvent {
    pub timestamp_ns: u64,
    /// The socket's address (bcc's SKADDR): tells sockets apart.
    pub skaddr: u64,
    /// Time in `oldstate`, or [`UNKNOWN_DELTA`].
    pub delta_ns: u64,
    /// The task current when the change ran (bcc's C-PID: in softirq, the
    /// interrupted one).
    pub pid: u32,
    pub oldstate: u16,
    pub newstate: u16,
    pub endpoints: Endpoints,
    pub comm: [u8; TASK_COMM_LEN],
}

impl StateEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        skaddr: 0,
        delta_ns: 0,
        pid: 0,
        oldstate: 0,
        newstate: 0,
        endpoints: Endpoints::ZERO,
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(StateEvent);

/// Sockets whose last change time is kept at once.
pub const SOCKET_ENTRIES: u32 = 16384;

/// Slots of `EVENT_DROPS` after the buffer's own (slot 0).
pub mod drop_reason {
    /// The per-socket timestamp map was full: that socket's next duration is unknown.
    pub const TIMESTAMPS_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}

/// Read-only global `TCPSTATES_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this address family (0: both).
    pub target_family: u32,
    pub local_ports: PortFilter,
    pub remote_ports: PortFilter,
}

impl Config {
    pub const DEFAULT: Self = Self { target_family: 0, local_ports: PortFilter::ANY, remote_ports: PortFilter::ANY };
}

crate::impl_pod!(Config);

/// Read-only global `STATE_OFFSETS`: where the endpoints are (BTF) and the
/// classic `sock:inet_sock_set_state` record's fields (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StateOffsets {
    pub endpoints: EndpointOffsets,
    pub tp_skaddr: u32,
    pub tp_oldstate: u32,
    pub tp_newstate: u32,
    pub tp_protocol: u32,
}

impl StateOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        tp_skaddr: u32::MAX,
        tp_oldstate: u32::MAX,
        tp_newstate: u32::MAX,
        tp_protocol: u32::MAX,
    };
}

crate::impl_pod!(StateOffsets);
