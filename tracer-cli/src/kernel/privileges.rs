//! Checks that we may load BPF programs before trying, so the user gets one
//! clear line instead of an EPERM from deep inside the loader.

use anyhow::Result;

use crate::error::refuse;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Refuses unless we are root or hold CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN
/// on kernels before 5.8, which lack the finer capabilities).
pub fn require_bpf_privileges(tool: &str) -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let effective =
        procfs::process::Process::myself().and_then(|me| me.status()).ok().map_or(0, |status| status.capeff);
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    if (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN) {
        return Ok(());
    }
    refuse!(
        "tracer {tool} needs root or the CAP_BPF and CAP_PERFMON capabilities: run it with sudo \
         (or grant them: setcap cap_bpf,cap_perfmon+ep ./tracer)"
    )
}
