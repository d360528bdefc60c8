//! `tcpaccept`: the event and settings. The socket is the one accept()
//! returned, found from the new descriptor (`net::fd_socket`) at the
//! syscall's exit, in the accepting process's context.

use crate::{
    TASK_COMM_LEN,
    net::{
        fd_socket::FdSocketOffsets,
        sock::{EndpointOffsets, Endpoints},
    },
};

/// One accepted TCP connection.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AcceptEvent {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The new descriptor.
    pub fd: i32,
    pub _pad: u32,
    pub endpoints: Endpoints,
    pub comm: [u8; TASK_COMM_LEN],
}

impl AcceptEvent {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, pid: 0, tid: 0, fd: 0, _pad: 0, endpoints: Endpoints::ZERO, comm: [0; TASK_COMM_LEN] };
}

crate::impl_pod!(AcceptEvent);

/// Local ports `-P` can name (checked in the kernel).
pub const MAX_PORTS: usize = 16;

/// Read-only global `TCPACCEPT_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_pid: u32,
    /// Only this address family (0: both).
    pub target_family: u32,
    /// How many of `ports` are set (0: every port).
    pub port_count: u32,
    pub ports: [u16; MAX_PORTS],
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_pid: 0, target_family: 0, port_count: 0, ports: [0; MAX_PORTS], _pad: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `ACCEPT_OFFSETS`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AcceptOffsets {
    pub fd: FdSocketOffsets,
    pub endpoints: EndpointOffsets,
    /// `ret` in the `sys_exit_accept`/`sys_exit_accept4` records.
    pub exit_ret: u32,
    pub _pad: u32,
}

impl AcceptOffsets {
    pub const UNRESOLVED: Self =
        Self { fd: FdSocketOffsets::UNRESOLVED, endpoints: EndpointOffsets::UNRESOLVED, exit_ret: u32::MAX, _pad: 0 };
}

crate::impl_pod!(AcceptOffsets);
