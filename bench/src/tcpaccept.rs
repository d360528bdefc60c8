//! tcpaccept under tcplife's loopback connection storm (every connection
//! accepted once, by the storm's server thread): tracer vs a bpftrace
//! script doing the same on the same syscall tracepoints (bcc's tcpaccept
//! and Debian's bpftrace tools use a kprobe, which this kernel lacks).

use std::{fmt::Write as _, path::Path, process::Command};

use anyhow::Result;

use super::{
    storm::{self, Run, Setup, Tool},
    tcplife::{CLIENTS, CONNECTIONS_PER_CLIENT, Storm, connection_storm},
};
use crate::util::say;

/// tcpaccept's logic in bpftrace: at the exit of accept/accept4, the new
/// descriptor's socket (curtask->files->fdt->fd[ret]->private_data->sk),
/// TCP only, with both endpoints.
const BPFTRACE_TCPACCEPT: &str = r#"
BEGIN { printf("PID COMM IP RADDR RPORT LADDR LPORT\n"); }
tracepoint:syscalls:sys_exit_accept,
tracepoint:syscalls:sys_exit_accept4
/args->ret >= 0/
{
  $file = *(curtask->files->fdt->fd + args->ret);
  $sk = ((struct socket *)$file->private_data)->sk;
  if ($sk->sk_protocol != 6) { return; }
  $rport = bswap($sk->__sk_common.skc_dport);
  if ($sk->__sk_common.skc_family == 2) {
    printf("%d %s 4 %s %d %s %d\n", pid, comm, ntop(2, $sk->__sk_common.skc_daddr), $rport,
      ntop(2, $sk->__sk_common.skc_rcv_saddr), $sk->__sk_common.skc_num);
  } else {
    printf("%d %s 6 %s %d %s %d\n", pid, comm, ntop(10, $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8), $rport,
      ntop(10, $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8), $sk->__sk_common.skc_num);
  }
}
"#;

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["tcpaccept", "-v"]);
            command
        },
        ready: "LADDR",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("tcpaccept.bt"));
            command
        },
        ready: "PID COMM IP",
    },
];

/// Accepts of the storm a run reported: lines whose LPORT (the last
/// column in both tools) is the server's.
fn accepts(run: &Run<Storm>) -> usize {
    let text = String::from_utf8_lossy(&run.stdout);
    let port = run.storm.to_string();
    text.lines().filter(|line| line.split_whitespace().last() == Some(port.as_str())).count()
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("tcpaccept.bt"), BPFTRACE_TCPACCEPT)?;
    let connections = CLIENTS * CONNECTIONS_PER_CLIENT;
    say(&format!("tcpaccept: {rounds} rounds of {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connections"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, connection_storm)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tcpaccept: connection storm, {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connections, {rounds} rounds\n"
    );
    let _ =
        writeln!(out, "| tool | accepts reported (of {connections}) | lost | storm slowdown | added per connection |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (tool, runs) in [("tracer", &traced[0]), ("bpftrace (tracepoint tcpaccept)", &traced[1])] {
        let reported: Vec<f64> = runs.iter().map(|run| accepts(run) as f64).collect();
        let _ = writeln!(
            out,
            "| {tool} | {} | {} | {} |",
            storm::count_cell(&reported),
            storm::loss_and_slowdown_cells(&untraced, runs),
            storm::added_us_cell(&untraced, runs, connections)
        );
    }
    let _ = writeln!(out, "{}", storm::untraced_line(&untraced, connections, "connections"));
    Ok(out)
}
