//! `tcpdrop`: the event, settings and offsets.

use crate::{TASK_COMM_LEN, net::sock::Endpoints, stacks::MAX_STACK_DEPTH};

/// One TCP packet freed by `kfree_skb` with a drop reason worth showing.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DropEvent {
    pub timestamp_ns: u64,
    /// `enum skb_drop_reason` value (0 where the kernel has no reasons).
    pub reason: u32,
    /// The task the drop happened in (often a softirq's victim), as bcc.
    pub pid: u32,
    /// The packet's addresses and ports: the *source* in the local fields
    /// (`laddr`, `lport`), the destination in the remote ones.
    pub packet: Endpoints,
    /// `sk_state` of the packet's socket; 0 when the packet had none.
    pub state: u8,
    /// Byte 13 of the TCP header (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR).
    pub tcpflags: u8,
    pub _pad: u16,
    /// Frames in `ips`; 0 when the stack could not be taken (counted).
    pub frames: u32,
    pub comm: [u8; TASK_COMM_LEN],
    /// The kernel stack at the drop, innermost first.
    pub ips: [u64; MAX_STACK_DEPTH],
}

/// Bytes of a `DropEvent` before its frames: events are sent with only the
/// frames they hold.
pub const IPS_OFFSET: usize = core::mem::offset_of!(DropEvent, ips);

impl DropEvent {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        reason: 0,
        pid: 0,
        packet: Endpoints::ZERO,
        state: 0,
        tcpflags: 0,
        _pad: 0,
        frames: 0,
        comm: [0; TASK_COMM_LEN],
        ips: [0; MAX_STACK_DEPTH],
    };
}

crate::impl_pod!(DropEvent);

/// `EVENT_DROPS` slots: 0 is the ring buffer's (shared by every event tool).
pub mod drop_reason {
    /// The kernel stack could not be taken: the event is sent without it.
    pub const STACK_MISSED: u32 = 1;
    pub const COUNT: u32 = 2;
}

/// Read-only global `TCPDROP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this address family (0: both).
    pub target_family: u32,
    /// Reasons up to this value are not drops worth showing
    /// (SKB_NOT_DROPPED_YET, SKB_CONSUMED, SKB_DROP_REASON_NOT_SPECIFIED:
    /// libbpf-tools' and bcc's rule), resolved from the kernel's enum.
    /// Ignored (0) where the kernel has no reasons.
    pub skip_reasons_up_to: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_family: 0, skip_reasons_up_to: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `DROP_OFFSETS`: fields of `struct sk_buff` and
/// `struct sock_common` (from BTF) and of the classic tracepoint record.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DropOffsets {
    pub skb_head: u32,
    pub skb_network_header: u32,
    pub skb_transport_header: u32,
    pub skb_sk: u32,
    pub skc_state: u32,
    /// Classic `skb:kfree_skb` record: `skbaddr`, and `reason` (5.17+) and
    /// `rx_sk` (6.11+), u32::MAX where the kernel's record lacks them.
    pub tp_skbaddr: u32,
    pub tp_reason: u32,
    pub tp_rx_sk: u32,
}

impl DropOffsets {
    pub const UNRESOLVED: Self = Self {
        skb_head: u32::MAX,
        skb_network_header: u32::MAX,
        skb_transport_header: u32::MAX,
        skb_sk: u32::MAX,
        skc_state: u32::MAX,
        tp_skbaddr: u32::MAX,
        tp_reason: u32::MAX,
        tp_rx_sk: u32::MAX,
    };
}

crate::impl_pod!(DropOffsets);
