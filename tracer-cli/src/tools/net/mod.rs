//! Networking: TCP sessions, connections, retransmits, drops, name lookups.

pub mod gethostlatency;
pub mod sock;
pub mod tcplife;
