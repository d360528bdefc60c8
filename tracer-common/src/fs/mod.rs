//! File systems: slow operations, opens.

pub mod cachestat;
pub mod filelife;
pub mod filetop;
pub mod fsdist;
pub mod fsslower;
pub mod mountsnoop;
pub mod opensnoop;
pub mod ops;
pub mod paths;
pub mod statsnoop;
pub mod syncsnoop;
pub mod syscall_table;
pub mod vfsstat;
