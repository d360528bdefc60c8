//! Block devices: I/O latency.

pub mod biolatency;
