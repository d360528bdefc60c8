//! Processes and what they ask of the kernel: execs, exits, system calls, signals.

pub mod execsnoop;
pub mod exitsnoop;
pub mod sigsnoop;
pub mod syscount;
