//! Networking: TCP sessions, connections, retransmits, drops.

pub mod connect;
pub mod sock;
pub mod tcpconnect;
pub mod tcpconnlat;
pub mod tcplife;
