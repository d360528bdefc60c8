//! Validating process ids given on the command line.

use anyhow::Result;

use crate::error::refuse;

/// Checks that `pid` names a live process (not just a thread of one).
pub fn require_process(pid: u32) -> Result<()> {
    let Ok(process) = procfs::process::Process::new(pid as i32) else {
        refuse!("no process with PID {pid}: check the PID (ps -p {pid}) and try again")
    };
    if let Ok(status) = process.status()
        && status.tgid != pid as i32
    {
        refuse!("PID {pid} is a thread of process {}: pass -p {} to trace the process", status.tgid, status.tgid)
    }
    Ok(())
}

/// Checks that `tid` names a live thread (of any process).
pub fn require_thread(tid: u32) -> Result<()> {
    if !std::path::Path::new(&format!("/proc/{tid}")).exists() {
        refuse!("no thread with TID {tid}: check the TID (ps -eLf) and try again")
    }
    Ok(())
}
