//! `bindsnoop`: the event, the per-thread call in flight, settings and
//! offsets. The address and port are the ones the caller passed (read from
//! its sockaddr at sys_enter_bind); at the exit the socket, found from the
//! descriptor (`net::fd_socket`), gives the protocol, the options, the
//! bound device and, for a successful bind to port 0, the port the kernel
//! picked.

use crate::{
    TASK_COMM_LEN,
    net::{fd_socket::FdSocketOffsets, sock::EndpointOffsets},
};

/// One bind call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BindEvent {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// 0 or -errno.
    pub ret: i32,
    /// `sk_bound_dev_if` (0: any device).
    pub bound_dev_if: i32,
    /// Socket option bits: `opt::*`.
    pub opts: u16,
    pub protocol: u16,
    /// AF_INET or AF_INET6 (the sockaddr's).
    pub family: u16,
    /// Host order.
    pub port: u16,
    /// IPv4 in the first four bytes, network order.
    pub addr: [u8; 16],
    pub comm: [u8; TASK_COMM_LEN],
}

impl BindEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        pid: 0,
        tid: 0,
        ret: 0,
        bound_dev_if: 0,
        opts: 0,
        protocol: 0,
        family: 0,
        port: 0,
        addr: [0; 16],
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(BindEvent);

/// The bits of `BindEvent::opts`, in libbpf-tools' order (`F T N R r`).
pub mod opt {
    pub const FREEBIND: u16 = 1;
    pub const TRANSPARENT: u16 = 2;
    pub const BIND_ADDRESS_NO_PORT: u16 = 4;
    pub const REUSEADDR: u16 = 8;
    pub const REUSEPORT: u16 = 16;
    /// How many options there are (slots of `BindOffsets::opts`).
    pub const COUNT: usize = 5;
}

/// A bind between its entry and exit, by thread.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingBind {
    pub fd: i32,
    pub family: u16,
    pub port: u16,
    pub addr: [u8; 16],
}

/// Binds in flight at once.
pub const PENDING_ENTRIES: u32 = 10240;

/// Local ports `-P` can name (checked in the kernel).
pub const MAX_PORTS: usize = 16;

/// Read-only global `BINDSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_pid: u32,
    /// Report failed binds too (`-x`).
    pub include_errors: u32,
    /// `-c`: only tasks in cgroup v2 `cgroup_id` (at depth `cgroup_level`) or below.
    pub filter_cgroup: u32,
    pub cgroup_level: u32,
    pub cgroup_id: u64,
    /// How many of `ports` are set (0: every port).
    pub port_count: u32,
    pub ports: [u16; MAX_PORTS],
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_pid: 0,
        include_errors: 0,
        filter_cgroup: 0,
        cgroup_level: 0,
        cgroup_id: 0,
        port_count: 0,
        ports: [0; MAX_PORTS],
        _pad: 0,
    };
}

crate::impl_pod!(Config);

/// Where one option flag lives: `bits` bits at bit `shift` of the aligned
/// 32-bit word at byte `word` of the socket (nonzero: set).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagBits {
    pub word: u32,
    pub shift: u32,
    pub bits: u32,
}

impl FlagBits {
    pub const UNRESOLVED: Self = Self { word: u32::MAX, shift: 0, bits: 0 };
}

/// Read-only global `BIND_OFFSETS` (the cgroup walk's are in `TASK_OFFSETS`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BindOffsets {
    pub fd: FdSocketOffsets,
    pub endpoints: EndpointOffsets,
    /// `sock_common.skc_bound_dev_if`.
    pub bound_dev_if: u32,
    /// `sys_enter_bind`'s `fd` and `umyaddr`, `sys_exit_bind`'s `ret`.
    pub enter_fd: u32,
    pub enter_addr: u32,
    pub exit_ret: u32,
    /// In `opt::*` order.
    pub opts: [FlagBits; opt::COUNT],
}

impl BindOffsets {
    pub const UNRESOLVED: Self = Self {
        fd: FdSocketOffsets::UNRESOLVED,
        endpoints: EndpointOffsets::UNRESOLVED,
        bound_dev_if: u32::MAX,
        enter_fd: u32::MAX,
        enter_addr: u32::MAX,
        exit_ret: u32::MAX,
        opts: [FlagBits::UNRESOLVED; opt::COUNT],
    };
}

crate::impl_pod!(BindOffsets);
