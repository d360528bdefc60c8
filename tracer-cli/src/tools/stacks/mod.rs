//! Stacks: CPU profiles and off-CPU time by stack, folded or as flame graphs.

pub mod offcputime;
pub mod profile;
