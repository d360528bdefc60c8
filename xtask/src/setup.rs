//! `cargo xtask setup`: installs, only where missing, what building tracer's
//! BPF side needs on a fresh Debian machine, saying what it does:
//! the nightly pinned in tracer-ebpf/rust-toolchain.toml with its rust-src,
//! LLVM 22 development packages, and
//! bpf-linker 0.13.0 built against them, and the musl target of the stable
//! toolchain (`cargo xtask dist` builds the static binary with it; the
//! tests run that binary too). Tests also need cargo-deny (the licence,
//! ban and source checks) and, for the kernel matrix, qemu, busybox-static,
//! cpio and e2fsprogs; benchmarks the peers (bpftrace) and `perf`.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{self, say};

/// The bpf-linker that works with this nightly's LLVM 22 (see DESIGN.md).
const BPF_LINKER_VERSION: &str = "0.13.0";
/// cargo-fuzz runs the fuzz targets (built with nightly's sanitizers).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// cargo-deny for the dependency checks (its rust-version, 1.88, fits ours).
const CARGO_DENY_VERSION: &str = "0.20.2";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
const BUILD_PACKAGES: &[&str] = &["llvm-22-dev", "libpolly-22-dev", "libzstd-dev"];
const BENCH_PACKAGES: &[&str] = &["bpftrace", "linux-perf"];
/// The integration tests count a run's system calls with strace.
const TEST_PACKAGES: &[&str] = &["strace"];
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
    ensure_nightly()?;
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
    ensure_static_target()?;
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

/// The musl target for the toolchain that builds userspace (the one cargo
/// runs in this workspace: rustup's default or an override).
fn ensure_static_target() -> Result<()> {
    let installed = util::output(
        Command::new("rustup").args(["target", "list", "--installed"]).current_dir(util::workspace_root()),
    )
    .unwrap_or_default();
    if installed.lines().any(|line| line.trim() == STATIC_TARGET) {
        return Ok(());
    }
    say(&format!("adding the {STATIC_TARGET} target (the static binary of `cargo xtask dist`)"));
    util::run(Command::new("rustup").args(["target", "add", STATIC_TARGET]).current_dir(util::workspace_root()))
}

/// The BPF toolchain: the nightly named by tracer-ebpf/rust-toolchain.toml
/// (whose LLVM matches bpf-linker's), with rust-src for build-std.
pub fn bpf_toolchain() -> Result<String> {
    #[derive(serde::Deserialize)]
    struct File {
        toolchain: Toolchain,
    }
    #[derive(serde::Deserialize)]
    struct Toolchain {
        channel: String,
    }
    let path = util::workspace_root().join("tracer-ebpf/rust-toolchain.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: File = toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    Ok(file.toolchain.channel)
}

fn ensure_nightly() -> Result<()> {
    let nightly = bpf_toolchain()?;
    let toolchains = util::output(Command::new("rustup").args(["toolchain", "list"])).context("rustup is required")?;
    if !toolchains.lines().any(|line| line.starts_with(&format!("{nightly}-"))) {
        say(&format!("installing {nightly} (builds the BPF programs; pinned for its LLVM 22)"));
        util::run(Command::new("rustup").args(["toolchain", "install", &nightly, "--profile", "minimal"]))?;
    }
    let components =
        util::output(Command::new("rustup").args(["component", "list", "--toolchain", &nightly, "--installed"]))
            .unwrap_or_default();
    if !components.lines().any(|line| line.starts_with("rust-src")) {
        say(&format!("installing rust-src for {nightly} (build-std for the BPF target)"));
        util::run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", &nightly]))?;
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
