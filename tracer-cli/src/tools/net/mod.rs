//! Networking: TCP sessions, connections, retransmits, drops.

pub mod sock;
pub mod tcpdrop;
pub mod tcplife;
pub mod tcpsynbl;
