//! What tracer needs to know about the running kernel: its BTF, struct
//! offsets, tracefs, cgroups, privileges, and which hook kinds work.

pub mod attach_btf;
pub mod btf;
pub mod cgroup;
pub mod offsets;
pub mod privileges;
pub mod probe;
pub mod process;
pub mod tracefs;

/// The online CPUs (perf events are opened one per CPU).
pub fn online_cpus() -> anyhow::Result<Vec<u32>> {
    aya::util::online_cpus().map_err(|(path, err)| anyhow::anyhow!("cannot read the online CPUs from {path}: {err}"))
}
