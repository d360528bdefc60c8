//! Networking: TCP sessions, connections, retransmits, drops.

pub mod bindsnoop;
pub mod fd_socket;
pub mod sock;
pub mod tcpaccept;
pub mod tcplife;
