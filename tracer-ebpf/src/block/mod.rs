//! Block devices: request tracking shared by the block tools, then one
//! module per tool.

pub mod biolatency;
pub mod biopattern;
pub mod biosnoop;
pub mod biotop;
pub mod bitesize;
pub mod request;
