//! File systems: slow operations, opens.

pub mod filelife;
pub mod fsslower;
pub mod mountsnoop;
pub mod opensnoop;
pub mod paths;
pub mod statsnoop;
pub mod syncsnoop;
pub mod syscall_table;
