//! tcpconnect under a loopback connect storm: tracer (on this kernel, the
//! connect syscall tracepoints plus sock:inet_sock_set_state) vs bpftrace on
//! sock:inet_sock_set_state's SYN_SENT change (Debian's tcpconnect.bt uses
//! kprobes, which this kernel lacks).
//!
//! The storm is tcplife's (two client threads, 6000 loopback connections
//! each, a few bytes each way). Every connection is one connect to report.

use std::{fmt::Write as _, path::Path, process::Command};

use anyhow::Result;

use super::{
    storm::{self, Run, Setup, Tool},
    tcplife::{CLIENTS, CONNECTIONS_PER_CLIENT, Storm, connection_storm},
};
use crate::util::say;

/// One line per active connect, at SYN_SENT (where the tracepoint alone
/// knows of it; the source port is not chosen yet).
const BPFTRACE_TCPCONNECT: &str = r#"
BEGIN { printf("PID COMM DADDR DPORT\n"); }
tracepoint:sock:inet_sock_set_state
/args->protocol == 6 && args->newstate == 2/
{
  printf("%d %s %s %d\n", pid, comm, ntop(args->daddr), args->dport);
}
"#;

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["tcpconnect", "-v"]);
            command
        },
        ready: "DADDR",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("tcpconnect.bt"));
            command
        },
        ready: "PID COMM DADDR",
    },
];

/// Connects to the storm's server a run reported.
fn connects(run: &Run<Storm>, dport_column: usize) -> usize {
    let text = String::from_utf8_lossy(&run.stdout);
    let port = run.storm.to_string();
    text.lines().filter(|line| line.split_whitespace().nth(dport_column) == Some(port.as_str())).count()
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("tcpconnect.bt"), BPFTRACE_TCPCONNECT)?;
    say(&format!("tcpconnect: {rounds} rounds of {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connects"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, connection_storm)?;
    let expected = CLIENTS * CONNECTIONS_PER_CLIENT;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tcpconnect: connect storm, {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connects, {rounds} rounds\n"
    );
    let _ =
        writeln!(out, "| tool | connects reported (of {expected}) | lost | storm slowdown | added per connection |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    // tracer: PID COMM IP SADDR DADDR DPORT; the script: PID COMM DADDR DPORT.
    for (tool, runs, dport) in [("tracer", &traced[0], 5), ("bpftrace (tracepoint, at SYN_SENT)", &traced[1], 3)] {
        let reported: Vec<f64> = runs.iter().map(|run| connects(run, dport) as f64).collect();
        let _ = writeln!(
            out,
            "| {tool} | {} | {} | {} |",
            storm::count_cell(&reported),
            storm::loss_and_slowdown_cells(&untraced, runs),
            storm::added_us_cell(&untraced, runs, expected)
        );
    }
    let _ = writeln!(out, "{}", storm::untraced_line(&untraced, expected, "connects"));
    Ok(out)
}
