//! File systems: slow operations, opens.

pub mod fsdist;
pub mod fsslower;
pub mod opensnoop;
pub mod ops;
