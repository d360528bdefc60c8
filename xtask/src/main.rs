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

mod dist;
mod fuzz;
mod setup;
mod toolchains;
mod util;
mod vmtest;

use std::process::ExitCode;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

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
            let Built { tracer, .. } = build()?;
            let args = rest.strip_prefix(&["--".to_string()]).unwrap_or(rest);
            util::run(util::command(&tracer).args(args))
        }
        "test" => test(rest),
        "bench" => {
            setup::ensure(setup::Needs::Bench)?;
            let Built { tracer, .. } = build()?;
            // The benchmarks read BPF program statistics through aya, so they
            // are their own crate, built with the pinned toolchain like tracer.
            util::run(
                util::cargo()
                    .args(["run", "--quiet", "--release", "--package", "tracer-bench", "--"])
                    .arg(&tracer)
                    .args(rest),
            )
        }
        "dist" => dist::build(None).map(drop),
        "fuzz" => {
            setup::ensure(setup::Needs::Fuzz)?;
            fuzz::run(rest)
        }
        "vmtest" => {
            setup::ensure(setup::Needs::Vmtest)?;
            let built = build()?;
            let static_tracer = dist::build(Some(&built.bpf_objects))?;
            vmtest::run(&static_tracer, rest)
        }
        other => bail!("unknown task {other:?}: expected setup, build, run, test, bench, dist, vmtest or fuzz"),
    }
}

/// What `build` made: the release `tracer`, and the directory holding its
/// BPF objects (tracer-cli's OUT_DIR), which later builds reuse.
struct Built {
    tracer: PathBuf,
    bpf_objects: PathBuf,
}

/// Builds the release `tracer` binary.
fn build() -> Result<Built> {
    setup::ensure(setup::Needs::Build)?;
    util::say("building tracer (release)");
    let messages = util::stdout_of(util::cargo().args([
        "build",
        "--release",
        "--package",
        "tracer-cli",
        "--message-format=json-render-diagnostics",
    ]))?;
    // Cargo reports each build script run, with its OUT_DIR.
    let bpf_objects = messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "build-script-executed")
        .filter(|message| message["package_id"].as_str().is_some_and(|id| id.contains("tracer-cli")))
        .find_map(|message| message["out_dir"].as_str().map(PathBuf::from))
        .context("cargo did not say where tracer-cli's build script put the BPF objects")?;
    Ok(Built { tracer: util::workspace_root().join("target/release/tracer"), bpf_objects })
}

/// Unit tests of every crate, then the integration tests against the real
/// kernel with the release binary (and the static one of `dist`, which
/// tests/static_binary.rs runs in an empty chroot). Integration tests run
/// one at a time: they load the CPUs on purpose and must not disturb each
/// other's measurements.
fn test(extra: &[String]) -> Result<()> {
    let mut phases = Phases::default();
    let result = test_phases(extra, &mut phases);
    // Printed whether or not a phase failed: where the time went is what
    // keeps a full run inside CI's limit.
    phases.report();
    result
}

fn test_phases(extra: &[String], phases: &mut Phases) -> Result<()> {
    phases.time("setup", || setup::ensure(setup::Needs::Test))?;
    phases.time("dependency checks", || {
        util::say("dependency checks: licences, bans, sources (cargo deny; see deny.toml)");
        util::run(util::cargo().args(["deny", "--log-level", "error", "check", "licenses", "bans", "sources"]))
    })?;
    let Built { tracer, bpf_objects } = phases.time("build", build)?;
    let static_tracer = phases.time("static build (dist)", || dist::build(Some(&bpf_objects)))?;
    phases.time("unit tests", || {
        util::say("unit tests");
        util::run(
            util::cargo()
                .args(["test", "--package", "tracer-common", "--package", "tracer-cli", "--package", "xtask"])
                .env("TRACER_BPF_OBJECTS", &bpf_objects),
        )
    })?;
    if !util::is_root() {
        bail!("the integration tests load BPF programs: run `sudo -E cargo xtask test` (they are not skipped)");
    }
    phases.time("integration tests", || {
        util::say("integration tests (real kernel, real workloads)");
        util::run(
            util::cargo()
                .args(["test", "--release", "--package", "tracer-tests", "--", "--test-threads=1"])
                .args(extra)
                .env("TRACER_BIN", &tracer)
                .env("TRACER_STATIC_BIN", &static_tracer),
        )
    })?;
    // A filtered run is a developer's quick check; the full run also proves
    // every tool on the other kernels we claim (about a minute).
    if extra.is_empty() {
        phases.time("kernel matrix", || {
            util::say("kernel matrix (Debian 5.10, 6.1 and 6.12 under qemu)");
            vmtest::run(&static_tracer, &[])
        })?;
        phases.time("fuzzing", || {
            util::say("fuzzing the parsers of kernel-provided and untrusted input");
            fuzz::run(&[])
        })?;
    }
    Ok(())
}

/// Wall-clock time of each phase of `cargo xtask test`.
#[derive(Default)]
struct Phases(Vec<(&'static str, std::time::Duration)>);

impl Phases {
    fn time<T>(&mut self, name: &'static str, phase: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = std::time::Instant::now();
        let result = phase();
        self.0.push((name, started.elapsed()));
        result
    }

    fn report(&self) {
        let total: std::time::Duration = self.0.iter().map(|(_, took)| *took).sum();
        eprintln!("\nxtask: time per phase");
        for (name, took) in &self.0 {
            eprintln!("  {name:<22} {:>7.1} s", took.as_secs_f64());
        }
        eprintln!("  {:<22} {:>7.1} s ({:.1} min)", "total", total.as_secs_f64(), total.as_secs_f64() / 60.0);
    }
}
