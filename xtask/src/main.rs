//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `setup`: install what a fresh machine lacks to build and test (idempotent)
//! - `build`: set up, then build the release `tracer`
//! - `run -- ARGS`: set up, build, and run `tracer ARGS`
//! - `test [-- FILTER]`: set up, build, run unit tests, the integration tests (as root) and,
//!   unfiltered, the kernel matrix
//! - `bench TOOL`: set up, build, and benchmark a tool against its peer
//! - `vmtest [--kernel 5.10|6.1|6.12|all]`: run every tool on Debian's kernels under qemu
//! - `fuzz [--seconds N]`: run each fuzz target for N seconds (default 20)
//! - `dist`: set up, build the static `tracer` with its man pages and
//!   completions into `target/dist/`, report its size

mod bench;
mod dist;
mod fuzz;
mod setup;
mod util;
mod vmtest;

use std::process::ExitCode;

use anyhow::{Result, bail};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some((task, rest)) = args.split_first() else {
        bail!("usage: cargo xtask <setup|build|run|test|bench|dist|vmtest|fuzz> [ARGS]");
    };
    match task.as_str() {
        "setup" => setup::ensure(setup::Needs::Test),
        "build" => build().map(drop),
        "run" => {
            let tracer = build()?;
            let args = rest.strip_prefix(&["--".to_string()]).unwrap_or(rest);
            util::run(util::command(&tracer).args(args))
        }
        "test" => test(rest),
        "bench" => {
            setup::ensure(setup::Needs::Bench)?;
            let tracer = build()?;
            bench::run(&tracer, rest)
        }
        "dist" => dist::build().map(drop),
        "fuzz" => {
            setup::ensure(setup::Needs::Fuzz)?;
            fuzz::run(rest)
        }
        "vmtest" => {
            setup::ensure(setup::Needs::Vmtest)?;
            build()?;
            let static_tracer = dist::build()?;
            vmtest::run(&static_tracer, rest)
        }
        other => bail!("unknown task {other:?}: expected setup, build, run, test, bench, dist, vmtest or fuzz"),
    }
}

/// Builds the release `tracer` binary and returns its path.
fn build() -> Result<std::path::PathBuf> {
    setup::ensure(setup::Needs::Build)?;
    util::say("building tracer (release)");
    util::run(util::cargo().args(["build", "--release", "--package", "tracer-cli"]))?;
    Ok(util::workspace_root().join("target/release/tracer"))
}

/// Unit tests of every crate, then the integration tests against the real
/// kernel with the release binary (and the static one of `dist`, which
/// tests/static_binary.rs runs in an empty chroot). Integration tests run
/// one at a time: they load the CPUs on purpose and must not disturb each
/// other's measurements.
fn test(extra: &[String]) -> Result<()> {
    setup::ensure(setup::Needs::Test)?;
    util::say("dependency checks: licences, bans, sources (cargo deny; see deny.toml)");
    util::run(util::cargo().args(["deny", "--log-level", "error", "check", "licenses", "bans", "sources"]))?;
    let tracer = build()?;
    let static_tracer = dist::build()?;
    util::say("unit tests");
    util::run(util::cargo().args([
        "test",
        "--package",
        "tracer-common",
        "--package",
        "tracer-cli",
        "--package",
        "xtask",
    ]))?;
    if !util::is_root() {
        bail!("the integration tests load BPF programs: run `sudo -E cargo xtask test` (they are not skipped)");
    }
    util::say("integration tests (real kernel, real workloads)");
    util::run(
        util::cargo()
            .args(["test", "--release", "--package", "tracer-tests", "--", "--test-threads=1"])
            .args(extra)
            .env("TRACER_BIN", &tracer)
            .env("TRACER_STATIC_BIN", &static_tracer),
    )?;
    // A filtered run is a developer's quick check; the full run also proves
    // every tool on the other kernels we claim (about a minute).
    if extra.is_empty() {
        util::say("kernel matrix (Debian 5.10, 6.1 and 6.12 under qemu)");
        vmtest::run(&static_tracer, &[])?;
        util::say("fuzzing the parsers of kernel-provided and untrusted input");
        fuzz::run(&[])?;
    }
    Ok(())
}
