//! `tcpretrans`: TCP retransmits (and, with `-l`, tail loss probes), one
//! event each or counted per flow in the kernel.

use crate::net::sock::{EndpointOffsets, Endpoints};

/// What an event or count is of (bcc's T column: `R` or `L`).
pub mod kind {
    pub const RETRANSMIT: u16 = 1;
    pub const LOSS_PROBE: u16 = 2;
}

/// One retransmitted skb, or one tail loss probe attempt.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RetransEvent {
    pub timestamp_ns: u64,
    /// The task current at the time (usually none: timers and softirq).
    pub pid: u32,
    /// Segments the skb carried (`tcp_skb_cb.tcp_gso_segs`): what the
    /// kernel adds to TcpRetransSegs. 0 for a loss probe.
    pub segs: u16,
    pub kind: u16,
    /// The socket's TCP state.
    pub state: u32,
    pub _pad: u32,
    pub endpoints: Endpoints,
}

impl RetransEvent {
    pub const ZERO: Self =
        Self { timestamp_ns: 0, pid: 0, segs: 0, kind: 0, state: 0, _pad: 0, endpoints: Endpoints::ZERO };
}

crate::impl_pod!(RetransEvent);

/// `-c`'s key: a flow and what is counted (the value: retransmitted
/// segments, or loss probe attempts).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    pub endpoints: Endpoints,
    pub kind: u16,
    pub _pad: [u16; 3],
}

crate::impl_pod!(FlowKey);

/// Flows counted at once by `-c`.
pub const FLOW_ENTRIES: u32 = 8192;

/// Slots of `EVENT_DROPS` after the buffer's own (slot 0).
pub mod drop_reason {
    /// `-c`'s flow map was full: that retransmit was not counted.
    pub const FLOWS_FULL: u32 = 1;
    pub const COUNT: u32 = 2;
}

/// Read-only global `TCPRETRANS_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this address family (0: both).
    pub target_family: u32,
    /// Count per flow in `FLOW_COUNTS` instead of sending events.
    pub count: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_family: 0, count: 0 };
}

crate::impl_pod!(Config);

/// Read-only global `RETRANS_OFFSETS` (BTF, and the classic record's fields).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RetransOffsets {
    pub endpoints: EndpointOffsets,
    /// `sock_common.skc_state` (one byte).
    pub skc_state: u32,
    /// `sk_buff.cb` plus `tcp_skb_cb.tcp_gso_segs` (two bytes): where
    /// `tcp_skb_pcount()` reads an skb's segment count.
    pub skb_gso_segs: u32,
    /// Classic `tcp:tcp_retransmit_skb` record: `skaddr`, `skbaddr`.
    pub tp_skaddr: u32,
    pub tp_skbaddr: u32,
}

impl RetransOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        skc_state: u32::MAX,
        skb_gso_segs: u32::MAX,
        tp_skaddr: u32::MAX,
        tp_skbaddr: u32::MAX,
    };
}

crate::impl_pod!(RetransOffsets);
