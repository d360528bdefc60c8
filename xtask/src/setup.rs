//! `cargo xtask setup`: installs, only where missing, what building tracer
//! needs on a fresh Debian machine, saying what it does: the two toolchains
//! pinned in toolchains.toml (userspace, with clippy, rustfmt and the musl
//! target; the BPF nightly with rust-src), LLVM 22 development packages, and
//! bpf-linker 0.13.0 built against them (`cargo xtask dist` builds the
//! static binary with the musl target; the tests run that binary too).
//! Tests also need cargo-deny (the licence,
//! ban and source checks) and, for the kernel matrix, qemu, busybox-static,
//! cpio and e2fsprogs; benchmarks the peers (bpftrace) and `perf`.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{
    toolchains::{self, Toolchain},
    util::{self, say},
};

/// The bpf-linker that works with this nightly's LLVM 22 (see DESIGN.md).
const BPF_LINKER_VERSION: &str = "0.13.0";
/// cargo-fuzz runs the fuzz targets (built with nightly's sanitizers).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// cargo-deny for the dependency checks (its rust-version, 1.88, fits ours).
const CARGO_DENY_VERSION: &str = "0.20.2";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
const BUILD_PACKAGES: &[&str] = &["llvm-22-dev", "libpolly-22-dev", "libzstd-dev"];
const BENCH_PACKAGES: &[&str] = &["bpftrace", "linux-perf"];
/// The integration tests count a run's system calls with strace, and make
/// loss, delay and drops inside their network namespaces with iptables.
const TEST_PACKAGES: &[&str] = &["strace", "iptables"];
/// The kernel matrix boots Debian kernels under qemu from a busybox initramfs.
const VMTEST_PACKAGES: &[&str] = &["qemu-system-x86", "busybox-static", "cpio", "e2fsprogs"];
/// The target of the static binary (pure Rust: no C toolchain for musl needed).
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-musl";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Build,
    /// Build, and check the dependencies.
    Test,
    Bench,
    Vmtest,
    Fuzz,
}

pub fn ensure(needs: Needs) -> Result<()> {
    let pinned = toolchains::pinned()?;
    ensure_toolchain(&pinned.userspace, "builds tracer, its tests and benchmarks")?;
    ensure_toolchain(&pinned.bpf, "builds the BPF programs; pinned for its LLVM 22")?;
    let mut packages = BUILD_PACKAGES.to_vec();
    match needs {
        Needs::Build | Needs::Fuzz => {}
        Needs::Bench => packages.extend_from_slice(BENCH_PACKAGES),
        // A full test run ends with the kernel matrix.
        Needs::Test => packages.extend_from_slice(&[VMTEST_PACKAGES, TEST_PACKAGES].concat()),
        Needs::Vmtest => packages.extend_from_slice(VMTEST_PACKAGES),
    }
    ensure_packages(&packages)?;
    ensure_bpf_linker()?;
    if needs == Needs::Test {
        ensure_cargo_deny()?;
    }
    if matches!(needs, Needs::Test | Needs::Fuzz) {
        ensure_cargo_fuzz()?;
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = util::output(util::cargo().args(["fuzz", "--version"]));
    if installed.as_deref().is_some_and(|v| v.contains(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    say(&format!("installing cargo-fuzz {CARGO_FUZZ_VERSION} (runs the fuzz targets; a minute or two, once)"));
    util::run(util::cargo().args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force"]))
}

fn ensure_cargo_deny() -> Result<()> {
    let installed = util::output(util::cargo().args(["deny", "--version"]));
    if installed.as_deref().is_some_and(|v| v.contains(CARGO_DENY_VERSION)) {
        return Ok(());
    }
    say(&format!("installing cargo-deny {CARGO_DENY_VERSION} (dependency licence checks; a few minutes, once)"));
    util::run(util::cargo().args(["install", "cargo-deny", "--version", CARGO_DENY_VERSION, "--locked", "--force"]))
}

/// The BPF toolchain's name (toolchains.toml).
pub fn bpf_toolchain() -> Result<String> {
    Ok(toolchains::pinned()?.bpf.channel)
}

/// Installs a pinned toolchain, its components and targets, where missing.
/// rustup never does this by itself for a toolchain named in a file.
fn ensure_toolchain(toolchain: &Toolchain, why: &str) -> Result<()> {
    let channel = &toolchain.channel;
    let installed = util::output(Command::new("rustup").args(["toolchain", "list"])).context("rustup is required")?;
    if !installed.lines().any(|line| line.starts_with(&format!("{channel}-"))) {
        say(&format!("installing Rust {channel} ({why})"));
        util::run(Command::new("rustup").args(["toolchain", "install", channel, "--profile", "minimal"]))?;
    }
    let list = |what: &str| {
        util::output(Command::new("rustup").args([what, "list", "--toolchain", channel, "--installed"]))
            .unwrap_or_default()
    };
    let components = list("component");
    for component in &toolchain.components {
        if !components.lines().any(|line| line.starts_with(&format!("{component}-")) || line == component) {
            say(&format!("adding {component} to Rust {channel}"));
            util::run(Command::new("rustup").args(["component", "add", component, "--toolchain", channel]))?;
        }
    }
    let targets = list("target");
    for target in &toolchain.targets {
        if !targets.lines().any(|line| line.trim() == target) {
            say(&format!("adding the {target} target to Rust {channel}"));
            util::run(Command::new("rustup").args(["target", "add", target, "--toolchain", channel]))?;
        }
    }
    Ok(())
}

fn is_installed(package: &str) -> bool {
    util::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|status| status.contains("install ok installed"))
}

fn ensure_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !is_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !util::is_root() {
        bail!(
            "missing Debian packages {}: run `sudo apt-get install -y {}` or this task as root",
            missing.join(" "),
            missing.join(" ")
        );
    }
    say(&format!("installing Debian packages: {}", missing.join(" ")));
    // The package lists of a fresh machine may predate these packages.
    util::run(Command::new("apt-get").args(["update", "-q"]))?;
    util::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn ensure_bpf_linker() -> Result<()> {
    let installed = util::output(util::command("bpf-linker".as_ref()).arg("--version"));
    if installed.as_deref().is_some_and(|v| v.contains(BPF_LINKER_VERSION)) {
        return Ok(());
    }
    say(&format!("installing bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (takes a few minutes, once)"));
    util::run(
        util::cargo()
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION, "--locked", "--force"])
            .args(["--no-default-features", "--features", "llvm-22"])
            .env("LLVM_PREFIX", LLVM_PREFIX),
    )
}
