//! statsnoop's cost per stat call: a loop of newfstatat(2) on an absolute
//! path (what glibc's stat() makes), untraced, under `tracer statsnoop` and
//! under a bpftrace script doing the same (keep the name pointer at entry,
//! print pid, comm, ret and the name at exit), in rotating order. Both
//! print every call, to a pipe this benchmark drains; each output is
//! checked against the calls the loop made.

use std::{
    ffi::CString,
    fmt::Write as _,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Result;

use super::{
    measure::{median, spread},
    storm::{self, Run, Setup, Tool},
};
use crate::util::say;

const CALLS: usize = 200_000;

/// The peer: the same work at the same tracepoints, for newfstatat only
/// (the only stat call the loop makes; tracer attaches to all ten).
pub const BPFTRACE_STATSNOOP: &str = r#"
BEGIN { printf("Tracing stat syscalls\n"); }
tracepoint:syscalls:sys_enter_newfstatat { @name[tid] = args->filename; }
tracepoint:syscalls:sys_exit_newfstatat /@name[tid]/
{
  printf("%-7d %-20s %-4d %s\n", pid, comm, args->ret, str(@name[tid]));
  delete(@name[tid]);
}
END { clear(@name); }
"#;

const TOOLS: [Tool; 3] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.arg("statsnoop");
            command
        },
        ready: "PID",
    },
    // Watching without reporting: the loop's calls are filtered out in the
    // kernel (PID 1 is not the benchmark), so what remains is the cost of
    // the syscall tracepoints and the programs' early return.
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["statsnoop", "-p", "1"]);
            command
        },
        ready: "PID",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("statsnoop.bt"));
            command
        },
        ready: "Tracing stat syscalls",
    },
];

/// One loop: CALLS newfstatat calls on `path` (unique to the round).
struct Storm {
    path: String,
    per_call: Duration,
}

fn stat_loop(path: &Path) -> Result<Storm> {
    let name = CString::new(path.to_str().expect("utf-8 path"))?;
    let mut buffer = [0u8; 256];
    let started = Instant::now();
    for _ in 0..CALLS {
        // SAFETY: a valid path and a buffer larger than struct stat.
        let ret = unsafe { libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, name.as_ptr(), buffer.as_mut_ptr(), 0) };
        anyhow::ensure!(ret == 0, "newfstatat failed");
    }
    Ok(Storm { path: path.display().to_string(), per_call: started.elapsed() / CALLS as u32 })
}

/// Output lines naming this run's path: the calls the tool reported.
fn reported(run: &Run<Storm>) -> usize {
    String::from_utf8_lossy(&run.stdout).lines().filter(|line| line.ends_with(run.storm.path.as_str())).count()
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("statsnoop.bt"), BPFTRACE_STATSNOOP)?;
    say(&format!("statsnoop: {rounds} rounds of {CALLS} newfstatat calls: untraced, tracer statsnoop, bpftrace"));
    let mut round = 0;
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, || {
        round += 1;
        let path = setup.script_dir.join(format!("statsnoop-round-{round}.dat"));
        std::fs::write(&path, b"x")?;
        let storm = stat_loop(&path);
        std::fs::remove_file(&path)?;
        storm
    })?;
    let ns = |runs: &[Run<Storm>]| runs.iter().map(|r| r.storm.per_call.as_nanos() as f64).collect::<Vec<_>>();
    let base = median(&ns(&untraced));
    let mut out = String::new();
    let _ = writeln!(out, "### statsnoop: {CALLS} newfstatat calls on an absolute path, {rounds} rounds\n");
    let _ = writeln!(out, "| | ns per call (median, min–max) | added per call | reported (of {CALLS}) | lost |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let (lo, hi) = spread(&ns(&untraced));
    let _ = writeln!(out, "| untraced | {base:.0} ({lo:.0}–{hi:.0}) | | | |");
    let rows = [
        ("tracer statsnoop", &traced[0], true),
        ("tracer statsnoop -p 1 (filtered in the kernel)", &traced[1], false),
        ("bpftrace, same tracepoints", &traced[2], true),
    ];
    for (name, runs, reports) in rows {
        let values = ns(runs);
        let (lo, hi) = spread(&values);
        let counts: Vec<f64> = runs.iter().map(|run| reported(run) as f64).collect();
        let lost: Vec<f64> = runs
            .iter()
            .map(|r| storm::lost_in(&(String::from_utf8_lossy(&r.stdout) + String::from_utf8_lossy(&r.stderr))) as f64)
            .collect();
        let reported = if reports { storm::count_cell(&counts) } else { "(none expected)".into() };
        let _ = writeln!(
            out,
            "| {name} | {:.0} ({lo:.0}–{hi:.0}) | {:+.0} ns | {reported} | {:.0} (max {:.0}) |",
            median(&values),
            median(&values) - base,
            median(&lost),
            spread(&lost).1
        );
    }
    Ok(out)
}
