//! Networking: TCP sessions, connections, retransmits, drops, name lookups.

pub mod gethostlatency;
pub mod connect;
pub mod sock;
pub mod tcpdrop;
pub mod bindsnoop;
pub mod fd_socket;
pub mod tcpaccept;
pub mod tcplife;
pub mod tcprtt;
pub mod tcptop;
pub mod tcpsynbl;
pub mod tcpretrans;
pub mod tcpstates;
