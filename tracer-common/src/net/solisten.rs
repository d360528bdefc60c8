//! `solisten`: the event, the per-thread call in flight, settings and
//! offsets. The socket is found from the descriptor at sys_exit_listen
//! (`net::fd_socket`), after the kernel bound an unbound one.

use crate::{
    TASK_COMM_LEN,
    net::{fd_socket::FdSocketOffsets, sock::EndpointOffsets},
};

/// One listen call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ListenEvent {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// 0 or -errno.
    pub ret: i32,
    /// As passed.
    pub backlog: i32,
    /// `socket.type` (SOCK_STREAM, SOCK_DGRAM, ...).
    pub sock_type: u16,
    pub family: u16,
    /// Host order.
    pub port: u16,
    pub _pad: u16,
    /// IPv4 in the first four bytes, network order.
    pub addr: [u8; 16],
    pub comm: [u8; TASK_COMM_LEN],
}

impl ListenEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        pid: 0,
        tid: 0,
        ret: 0,
        backlog: 0,
        sock_type: 0,
        family: 0,
        port: 0,
        _pad: 0,
        addr: [0; 16],
        comm: [0; TASK_COMM_LEN],
    };
}

crate::impl_pod!(ListenEvent);

/// A listen between its entry and exit, by thread.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingListen {
    pub fd: i32,
    pub backlog: i32,
}

/// Calls in flight at once.
pub const PENDING_ENTRIES: u32 = 10240;

/// Read-only global `SOLISTEN_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_pid: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_pid: 0, _pad: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `LISTEN_OFFSETS`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ListenOffsets {
    pub fd: FdSocketOffsets,
    pub endpoints: EndpointOffsets,
    /// `sys_enter_listen`'s `fd` and `backlog`, `sys_exit_listen`'s `ret`.
    pub enter_fd: u32,
    pub enter_backlog: u32,
    pub exit_ret: u32,
    pub _pad: u32,
}

impl ListenOffsets {
    pub const UNRESOLVED: Self = Self {
        fd: FdSocketOffsets::UNRESOLVED,
        endpoints: EndpointOffsets::UNRESOLVED,
        enter_fd: u32::MAX,
        enter_backlog: u32::MAX,
        exit_ret: u32::MAX,
        _pad: 0,
    };
}

crate::impl_pod!(ListenOffsets);
