//! What every network tool reads of a socket: its family and the two
//! endpoints, with the `struct sock` offsets (from BTF) that locate them.

/// Read-only global part: where `struct sock` keeps the endpoints.
/// Every field is resolved from BTF by userspace before load.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EndpointOffsets {
    pub skc_family: u32,
    /// `inet_sock.inet_sport` (network order): unlike `skc_num`, still set
    /// at TCP_CLOSE, after the port was released.
    pub inet_sport: u32,
    pub skc_dport: u32,
    pub skc_rcv_saddr: u32,
    pub skc_daddr: u32,
    pub skc_v6_rcv_saddr: u32,
    pub skc_v6_daddr: u32,
    /// `sock.sk_protocol` (u16 since 5.6; u32::MAX where it is a bitfield,
    /// and only a tracepoint record's protocol field can tell).
    pub sk_protocol: u32,
}

impl EndpointOffsets {
    pub const UNRESOLVED: Self = Self {
        skc_family: u32::MAX,
        inet_sport: u32::MAX,
        skc_dport: u32::MAX,
        skc_rcv_saddr: u32::MAX,
        skc_daddr: u32::MAX,
        skc_v6_rcv_saddr: u32::MAX,
        skc_v6_daddr: u32::MAX,
        sk_protocol: u32::MAX,
    };
}

crate::impl_pod!(EndpointOffsets);

/// A socket's family and endpoints, as an event carries them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// AF_INET (2) or AF_INET6 (10).
    pub family: u16,
    /// Host byte order.
    pub lport: u16,
    pub rport: u16,
    pub _pad: u16,
    /// IPv4 addresses use the first 4 bytes (network order).
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
}

impl Endpoints {
    pub const ZERO: Self = Self { family: 0, lport: 0, rport: 0, _pad: 0, laddr: [0; 16], raddr: [0; 16] };
}

crate::impl_pod!(Endpoints);

/// Most ports a kernel-side port filter holds (`-L`/`-D` lists).
pub const MAX_FILTER_PORTS: usize = 8;

/// A read-only global's list of wanted ports; `count == 0` admits every port.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortFilter {
    pub count: u32,
    pub ports: [u16; MAX_FILTER_PORTS],
}

impl PortFilter {
    pub const ANY: Self = Self { count: 0, ports: [0; MAX_FILTER_PORTS] };
}

crate::impl_pod!(PortFilter);

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;

/// TCP states, as the kernel numbers them (include/net/tcp_states.h).
pub mod state {
    pub const ESTABLISHED: i32 = 1;
    pub const SYN_SENT: i32 = 2;
    pub const SYN_RECV: i32 = 3;
    pub const FIN_WAIT1: i32 = 4;
    pub const FIN_WAIT2: i32 = 5;
    pub const TIME_WAIT: i32 = 6;
    pub const CLOSE: i32 = 7;
    pub const CLOSE_WAIT: i32 = 8;
    pub const LAST_ACK: i32 = 9;
    pub const LISTEN: i32 = 10;
    pub const CLOSING: i32 = 11;
    pub const NEW_SYN_RECV: i32 = 12;
}

/// Where the classic `sock:inet_sock_set_state` record keeps the fields the
/// network tools read (from its tracefs format file).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StateRecord {
    pub skaddr: u32,
    pub oldstate: u32,
    pub newstate: u32,
    pub protocol: u32,
}

impl StateRecord {
    pub const UNRESOLVED: Self = Self { skaddr: u32::MAX, oldstate: u32::MAX, newstate: u32::MAX, protocol: u32::MAX };
}

crate::impl_pod!(StateRecord);
