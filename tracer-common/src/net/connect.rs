//! `tcpconnect` and `tcpconnlat`: one kernel module and one pair of objects
//! for both (active TCP connects; the event, the per-thread and per-socket
//! state, the count key and the settings).

use crate::{
    TASK_COMM_LEN,
    net::sock::{EndpointOffsets, Endpoints},
};

pub use crate::net::sock::{AF_INET, AF_INET6, IPPROTO_TCP, state};

/// One connect: tcpconnect sends it when the connect is known (the connect
/// syscall returned, or tcp_v4/v6_connect did), tcpconnlat when the socket
/// leaves SYN_SENT for ESTABLISHED.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConnectEvent {
    pub timestamp_ns: u64,
    /// tcpconnlat: SYN_SENT to ESTABLISHED; tcpconnect: 0.
    pub latency_ns: u64,
    pub pid: u32,
    pub uid: u32,
    /// tcpconnect: what the connect call returned (0, -EINPROGRESS for a
    /// non-blocking socket, -ECONNREFUSED, ...); tcpconnlat: 0.
    pub ret: i32,
    pub _pad: u32,
    pub endpoints: Endpoints,
    pub comm: [u8; TASK_COMM_LEN],
}

impl ConnectEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        pid: 0,
        uid: 0,
        ret: 0,
        _pad: 0,
        endpoints: Endpoints::ZERO,
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(ConnectEvent);

/// tcpconnlat's record of a socket that entered SYN_SENT: when, and the
/// process that connected (SYN_SENT runs in its context; ESTABLISHED, in
/// softirq, on behalf of whatever task was interrupted).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Start {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub uid: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

/// tcpconnect's entry for a thread inside connect() (or tcp_v4/v6_connect):
/// the socket it put in SYN_SENT (0: none yet) and its endpoints then.
/// The addresses and destination port are final at SYN_SENT, the source
/// port is chosen after it; a refused connect is disconnected before the
/// syscall returns, which clears the destination (the source port
/// survives). So the exit takes the source port from the socket and the
/// rest from here.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingConnect {
    pub sk: u64,
    pub endpoints: Endpoints,
}

impl PendingConnect {
    pub const ZERO: Self = Self { sk: 0, endpoints: Endpoints::ZERO };
}

/// tcpconnect --count: connects are counted in the kernel by source
/// address, destination address and port.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountKey {
    pub family: u16,
    /// Host byte order.
    pub dport: u16,
    pub _pad: u32,
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
}

crate::impl_pod!(CountKey);

/// Threads inside connect() (syscall path) or tcp_v4/v6_connect (kprobes).
pub const THREAD_ENTRIES: u32 = 8192;
/// Sockets in SYN_SENT tracked at once (tcpconnlat).
pub const SOCKET_ENTRIES: u32 = 16384;
/// Distinct (source, destination, port) counted (tcpconnect --count).
pub const COUNT_ENTRIES: u32 = 8192;
/// Destination ports `-P` can list.
pub const MAX_PORTS: usize = 16;

/// `EVENT_DROPS` slot counting connects --count could not count (map full).
pub const DROP_COUNT_FULL: u32 = 1;
/// `EVENT_DROPS` slots: the ring buffer's, then the count map's.
pub const DROP_REASONS: u32 = 2;

/// Read-only global `CONNECT_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_pid: u32,
    /// Only this user (u32::MAX: all).
    pub target_uid: u32,
    /// Only this address family (0: both).
    pub target_family: u32,
    /// Count per destination instead of sending events (tcpconnect --count).
    pub count: u32,
    /// Only tasks in the cgroup v2 `cgroup_id` at depth `cgroup_level` or below.
    pub filter_cgroup: u32,
    pub cgroup_level: u32,
    pub cgroup_id: u64,
    /// tcpconnlat: only connects slower than this.
    pub min_latency_ns: u64,
    /// Only these destination ports (`port_count` of them; 0: all).
    pub port_count: u32,
    pub ports: [u16; MAX_PORTS],
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_pid: 0,
        target_uid: u32::MAX,
        target_family: 0,
        count: 0,
        filter_cgroup: 0,
        cgroup_level: 0,
        cgroup_id: 0,
        min_latency_ns: 0,
        port_count: 0,
        ports: [0; MAX_PORTS],
        _pad: 0,
    };
}

crate::impl_pod!(Config);

/// Read-only global `CONNECT_OFFSETS`: the socket's endpoints (BTF) and the
/// classic tracepoint records' fields (tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ConnectOffsets {
    pub endpoints: EndpointOffsets,
    /// `sock:inet_sock_set_state`.
    pub record: crate::net::sock::StateRecord,
    /// `syscalls:sys_exit_connect`'s `ret`.
    pub exit_ret: u32,
    pub _pad: u32,
}

impl ConnectOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        record: crate::net::sock::StateRecord::UNRESOLVED,
        exit_ret: u32::MAX,
        _pad: 0,
    };
}

crate::impl_pod!(ConnectOffsets);

/// The map of tcpconnect --count's counters.
pub const COUNTS_MAP: &str = "CONNECT_COUNTS";
