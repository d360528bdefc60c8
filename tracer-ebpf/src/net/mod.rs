//! Networking: TCP sessions, connections, retransmits, drops.

pub mod fd_socket;
pub mod sock;
pub mod tcpaccept;
pub mod tcplife;
