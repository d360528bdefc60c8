//! Networking: TCP sessions.

pub mod tcplife;
