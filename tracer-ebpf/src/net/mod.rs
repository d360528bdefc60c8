//! Networking: TCP sessions, connections, retransmits, drops.

pub mod sock;
pub mod tcplife;
pub mod tcpretrans;
pub mod tcpstates;
