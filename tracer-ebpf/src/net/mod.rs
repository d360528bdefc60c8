//! Networking: TCP sessions, connections, retransmits, drops.

pub mod connect;
pub mod sock;
pub mod tcplife;
