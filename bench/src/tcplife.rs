//! tcplife under a loopback connection storm: tracer vs a tracepoint version
//! of bpftrace's tcplife.bt (Debian's uses kprobes, which this kernel lacks).
//!
//! The storm: two client threads each make 6000 connections to a loopback
//! server, sending and receiving a few bytes on each. Every connection is two
//! sessions (client and server side) that the tools should report.

use std::{
    fmt::Write as _,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::Command,
};

use anyhow::Result;

use super::storm::{self, Run, Setup, Tool};
use crate::util::say;

pub const CLIENTS: usize = 2;
pub const CONNECTIONS_PER_CLIENT: usize = 6000;

/// The same logic as bpftrace's tcplife.bt, on the sock:inet_sock_set_state
/// tracepoint, with kernel types from BTF.
const BPFTRACE_TCPLIFE: &str = r#"
BEGIN { printf("PID COMM LPORT RPORT TX_KB RX_KB MS\n"); }
tracepoint:sock:inet_sock_set_state
{
  if (args->protocol != 6) { return; }
  $sk = (struct sock *)args->skaddr;
  if (args->newstate < 4 && @birth[$sk] == 0) { @birth[$sk] = nsecs; }
  if (args->newstate == 2 || args->newstate == 9) { @skpid[$sk] = pid; @skcomm[$sk] = comm; }
  if (args->newstate == 7 && @birth[$sk]) {
    $tp = (struct tcp_sock *)$sk;
    $pid = @skpid[$sk];
    $comm = @skcomm[$sk];
    if ($comm == "") { $pid = pid; $comm = comm; }
    printf("%d %s %d %d %d %d %d\n", $pid, $comm, args->sport, args->dport,
      $tp->bytes_acked / 1024, $tp->bytes_received / 1024, (nsecs - @birth[$sk]) / 1000000);
    delete(@birth[$sk]); delete(@skpid[$sk]); delete(@skcomm[$sk]);
  }
}
END { clear(@birth); clear(@skpid); clear(@skcomm); }
"#;

/// The server's port for this storm.
pub type Storm = u16;

/// Also the storm of the tcpaccept benchmark (one accept per connection).
pub fn connection_storm() -> Result<Storm> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let total = CLIENTS * CONNECTIONS_PER_CLIENT;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..total {
                let (mut stream, _) = listener.accept().expect("accept");
                let mut buffer = [0u8; 64];
                stream.read_exact(&mut buffer).expect("read");
                stream.write_all(&buffer).expect("write");
            }
        });
        for _ in 0..CLIENTS {
            scope.spawn(move || {
                for _ in 0..CONNECTIONS_PER_CLIENT {
                    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                    stream.write_all(&[7u8; 64]).expect("write");
                    let mut buffer = [0u8; 64];
                    stream.read_exact(&mut buffer).expect("read");
                }
            });
        }
    });
    Ok(port)
}

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["tcplife", "-v"]);
            command
        },
        ready: "LADDR",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("tcplife.bt"));
            command
        },
        ready: "PID COMM LPORT",
    },
];

/// Sessions of the storm a run reported: lines whose local or remote port is
/// the server's. (Not distinct port pairs: loopback reuses ephemeral ports
/// within a storm this size.)
fn sessions(run: &Run<Storm>, lport_column: usize, rport_column: usize) -> usize {
    let text = String::from_utf8_lossy(&run.stdout);
    let port = run.storm.to_string();
    text.lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(lport_column) == Some(&port.as_str()) || fields.get(rport_column) == Some(&port.as_str())
        })
        .count()
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("tcplife.bt"), BPFTRACE_TCPLIFE)?;
    say(&format!("tcplife: {rounds} rounds of {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connections"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, connection_storm)?;
    let expected = 2 * CLIENTS * CONNECTIONS_PER_CLIENT;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tcplife: connection storm, {CLIENTS} x {CONNECTIONS_PER_CLIENT} loopback connections, {rounds} rounds\n"
    );
    let _ = writeln!(out, "| tool | sessions reported (of {expected}) | lost | storm slowdown |");
    let _ = writeln!(out, "|---|---|---|---|");
    // tracer: PID COMM LADDR LPORT RADDR RPORT ...; the script: PID COMM LPORT RPORT ...
    for (tool, runs, lport, rport) in
        [("tracer", &traced[0], 3, 5), ("bpftrace (tracepoint tcplife)", &traced[1], 2, 3)]
    {
        let reported: Vec<f64> = runs.iter().map(|run| sessions(run, lport, rport) as f64).collect();
        let _ = writeln!(
            out,
            "| {tool} | {} | {} |",
            storm::count_cell(&reported),
            storm::loss_and_slowdown_cells(&untraced, runs)
        );
    }
    let _ = writeln!(out, "{}", storm::untraced_line(&untraced, CLIENTS * CONNECTIONS_PER_CLIENT, "connections"));
    Ok(out)
}
