//! execsnoop under an exec storm: tracer vs bpftrace's execsnoop.bt (Debian).
//!
//! The storm: two threads each exec /bin/true 2000 times with a unique
//! argument, as fast as they can. For each tool: execs reported, execs
//! reported without their argument, events lost, and the storm's slowdown.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    path::Path,
    process::Command,
    sync::Mutex,
};

use anyhow::Result;

use super::{
    measure::{median, spread},
    storm::{self, Run, Setup, Tool},
};
use crate::util::say;

const WORKERS: usize = 2;
const EXECS_PER_WORKER: usize = 2000;

/// pid -> the unique argument that exec carried.
type Storm = HashMap<u32, String>;

fn exec_storm(round_tag: &str) -> Result<Storm> {
    let pids = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for worker in 0..WORKERS {
            let pids = &pids;
            scope.spawn(move || {
                for i in 0..EXECS_PER_WORKER {
                    let arg = format!("{round_tag}-{worker}-{i}");
                    let mut child = Command::new("/bin/true").arg(&arg).spawn().expect("spawn /bin/true");
                    let pid = child.id();
                    child.wait().expect("wait");
                    pids.lock().expect("lock").insert(pid, arg);
                }
            });
        }
    });
    Ok(pids.into_inner().expect("lock"))
}

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["execsnoop", "-v"]);
            command
        },
        ready: "PCOMM",
    },
    Tool {
        command: |_| {
            let mut command = Command::new("bpftrace");
            command.arg("/usr/sbin/execsnoop.bt");
            command
        },
        ready: "TIME(ms)",
    },
];

/// (reported, reported without their argument) for one run, matched against
/// what the storm did. An exec is reported if its pid appears in the output;
/// it is complete if a line has its pid in the PID column and its argument.
/// (bpftrace prints `join(args->argv)` apart from the printf before it, so
/// under concurrency two execs' lines can interleave: one of them then shows
/// without its argument.)
fn check(run: &Run<Storm>, pid_column: usize) -> (usize, usize) {
    let text = String::from_utf8_lossy(&run.stdout);
    let mut reported = HashSet::new();
    let mut complete = HashSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        for pid in fields.iter().filter_map(|field| field.parse::<u32>().ok()).filter(|pid| run.storm.contains_key(pid))
        {
            reported.insert(pid);
        }
        let in_column = fields.get(pid_column).and_then(|pid| pid.parse::<u32>().ok());
        if let Some((pid, arg)) = in_column.and_then(|pid| Some((pid, run.storm.get(&pid)?)))
            && fields.iter().any(|field| field == arg)
        {
            complete.insert(pid);
        }
    }
    (reported.len(), reported.len() - complete.len())
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    say(&format!("execsnoop: {rounds} rounds of {WORKERS} x {EXECS_PER_WORKER} execs: untraced, tracer, bpftrace"));
    let mut round = 0;
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, || {
        round += 1;
        exec_storm(&format!("storm{round}"))
    })?;
    let expected = WORKERS * EXECS_PER_WORKER;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### execsnoop: exec storm, {WORKERS} x {EXECS_PER_WORKER} execs of /bin/true, {rounds} rounds\n"
    );
    let _ = writeln!(out, "| tool | reported (of {expected}) | without their argument | lost | storm slowdown |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    // tracer prints PCOMM PID ...; execsnoop.bt prints TIME(ms) PID ARGS.
    for (tool, runs, pid_column) in [("tracer", &traced[0], 1), ("bpftrace execsnoop.bt", &traced[1], 1)] {
        let checks: Vec<(usize, usize)> = runs.iter().map(|run| check(run, pid_column)).collect();
        let reported: Vec<f64> = checks.iter().map(|c| c.0 as f64).collect();
        let empty: Vec<f64> = checks.iter().map(|c| c.1 as f64).collect();
        let _ = writeln!(
            out,
            "| {tool} | {} | {:.0} (max {:.0}) | {} |",
            storm::count_cell(&reported),
            median(&empty),
            spread(&empty).1,
            storm::loss_and_slowdown_cells(&untraced, runs)
        );
    }
    let _ = writeln!(out, "{}", storm::untraced_line(&untraced, expected, "execs"));
    Ok(out)
}
