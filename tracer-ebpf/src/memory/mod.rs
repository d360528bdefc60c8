//! Memory: what the kernel does when memory runs short.

pub mod oomkill;
