//! Processes and what they ask of the kernel: execs, exits, system calls.

pub mod execsnoop;
pub mod exitsnoop;
pub mod syscount;
