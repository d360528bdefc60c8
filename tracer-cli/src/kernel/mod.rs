//! What tracer needs to know about the running kernel: its BTF, struct
//! offsets, tracefs, cgroups, privileges, and which hook kinds work.

pub mod btf;
pub mod cgroup;
pub mod offsets;
pub mod privileges;
pub mod probe;
pub mod process;
pub mod tracefs;
