//! Networking: TCP sessions, connections, retransmits, drops, name lookups.

pub mod bindsnoop;
pub mod connect;
pub mod fd_socket;
pub mod gethostlatency;
pub mod sock;
pub mod solisten;
pub mod tcpaccept;
pub mod tcpconnect;
pub mod tcpconnlat;
pub mod tcpdrop;
pub mod tcplife;
pub mod tcpretrans;
pub mod tcprtt;
pub mod tcpstates;
pub mod tcpsynbl;
pub mod tcptop;
