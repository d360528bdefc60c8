//! `tcptop`: the per-flow byte counters and settings.

use crate::{TASK_COMM_LEN, net::sock::EndpointOffsets};

/// One direction of one flow of one process: the key of `TCPTOP_BYTES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub pid: u32,
    pub family: u16,
    pub lport: u16,
    pub rport: u16,
    /// `direction::SENT` or `direction::RECEIVED`.
    pub direction: u16,
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
    pub comm: [u8; TASK_COMM_LEN],
}

crate::impl_pod!(FlowKey);

pub mod direction {
    pub const SENT: u16 = 0;
    pub const RECEIVED: u16 = 1;
}

/// Read-only global `TCPTOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_pid: u32,
    /// Only this family (0: both).
    pub family: u16,
    pub _pad: u16,
}

impl Config {
    pub const DEFAULT: Self = Self { target_pid: 0, family: 0, _pad: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `TOP_OFFSETS`: the socket's endpoints (BTF) and the
/// classic `sock:sock_send_length`/`sock_recv_length` record's fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TopOffsets {
    pub endpoints: EndpointOffsets,
    pub tp_sk: u32,
    pub tp_protocol: u32,
    pub tp_ret: u32,
    pub tp_flags: u32,
}

impl TopOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        tp_sk: u32::MAX,
        tp_protocol: u32::MAX,
        tp_ret: u32::MAX,
        tp_flags: u32::MAX,
    };
}

crate::impl_pod!(TopOffsets);

/// Flows (per direction) counted at once.
pub const FLOW_ENTRIES: u32 = 10240;

/// `MSG_PEEK`: a peek reads nothing off the socket.
pub const MSG_PEEK: i32 = 2;

/// Slots of `TCPTOP_DROPS`.
pub mod drop_reason {
    pub const FLOW_MAP_FULL: u32 = 0;
    pub const COUNT: u32 = 1;
}
