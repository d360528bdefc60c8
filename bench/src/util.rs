//! What the benchmarks need of their surroundings. (xtask has its own: it
//! builds with any toolchain, this crate with the pinned one, so they share
//! no code.)

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Says what the benchmark is doing, so long runs are never silent.
pub fn say(what: &str) {
    eprintln!("xtask: {what}");
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench lives in the workspace").to_path_buf()
}

/// A command's stdout, or None if it could not run or failed.
pub fn output(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
