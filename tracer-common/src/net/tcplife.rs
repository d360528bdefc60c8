//! `tcplife`: the event, per-socket state and settings.

use crate::{
    TASK_COMM_LEN,
    net::sock::{EndpointOffsets, Endpoints, StateRecord},
};

pub use crate::net::sock::{AF_INET, AF_INET6, IPPROTO_TCP, state};

/// One TCP session, reported when its socket closes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TcpEvent {
    pub timestamp_ns: u64,
    /// From the socket's first state change we saw to its close.
    pub span_ns: u64,
    /// `tcp_sock.bytes_acked`: bytes sent and acknowledged by the peer.
    pub tx_bytes: u64,
    /// `tcp_sock.bytes_received`.
    pub rx_bytes: u64,
    pub pid: u32,
    pub _pad: u32,
    pub endpoints: Endpoints,
    pub comm: [u8; TASK_COMM_LEN],
}

impl TcpEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        span_ns: 0,
        tx_bytes: 0,
        rx_bytes: 0,
        pid: 0,
        _pad: 0,
        endpoints: Endpoints::ZERO,
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(TcpEvent);

/// The process a socket belongs to, captured when it acted on the socket
/// (connect, close) rather than from whatever task a softirq interrupted.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Owner {
    pub pid: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

/// Sockets tracked at once (birth times and owners).
pub const SOCKET_ENTRIES: u32 = 16384;

/// Read-only global `TCPLIFE_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only sockets of this process (0: all).
    pub target_pid: u32,
    /// Only this address family (0: both).
    pub target_family: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_pid: 0, target_family: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `SOCK_OFFSETS`: fields of `struct sock` and
/// `struct tcp_sock` (from BTF) and of the classic tracepoint record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SockOffsets {
    pub endpoints: EndpointOffsets,
    pub tcp_bytes_acked: u32,
    pub tcp_bytes_received: u32,
    /// Classic `sock:inet_sock_set_state` record.
    pub record: StateRecord,
}

impl SockOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        tcp_bytes_acked: u32::MAX,
        tcp_bytes_received: u32::MAX,
        record: StateRecord::UNRESOLVED,
    };
}

crate::impl_pod!(SockOffsets);
