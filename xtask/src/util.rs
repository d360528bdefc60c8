//! Small process helpers shared by the tasks.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

/// Prints what xtask is doing, so long steps are never silent.
pub fn say(what: &str) {
    eprintln!("xtask: {what}");
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// `cargo` of the pinned userspace toolchain (toolchains.toml; `setup`
/// installs it), run from the workspace root, with cargo's bin directory on
/// PATH (where `cargo install` put bpf-linker). It goes through rustup's
/// proxy, told the toolchain by name: the cargo running xtask may be any
/// toolchain the machine has.
pub fn cargo() -> Command {
    let mut command = command(Path::new("cargo"));
    command.current_dir(workspace_root());
    match crate::toolchains::pinned() {
        Ok(pinned) => command.env("RUSTUP_TOOLCHAIN", pinned.userspace.channel),
        // setup reads the same file first and stops with the reason.
        Err(_) => &mut command,
    };
    // What the outer cargo set for its own compiler must not leak in.
    command.env_remove("RUSTC").env_remove("RUSTDOC").env_remove("CARGO");
    command
}

/// A command with cargo's bin directory on PATH.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("PATH", path_with_cargo_bin());
    command
}

pub fn path_with_cargo_bin() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let bin = cargo_home().join("bin");
    if path.split(':').any(|dir| Path::new(dir) == bin) { path } else { format!("{}:{path}", bin.display()) }
}

pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
}

/// Runs a command to completion; fails if it fails.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(command));
    }
    Ok(())
}

/// Runs a command to completion, its stderr shown as it goes; returns its
/// stdout, or fails if it fails.
pub fn stdout_of(command: &mut Command) -> Result<String> {
    let output =
        command.stderr(std::process::Stdio::inherit()).output().with_context(|| format!("cannot start {command:?}"))?;
    if !output.status.success() {
        bail!("{} failed ({})", describe(command), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs a command and returns its stdout, or None if it could not run or failed.
pub fn output(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
