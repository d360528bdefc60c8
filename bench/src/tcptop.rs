//! tcptop under a loopback send storm: tracer vs a bpftrace tcptop on the
//! same sock:sock_send_length/sock_recv_length tracepoints (bcc's and
//! libbpf-tools' tcptop use kprobes, which this kernel lacks).
//!
//! The storm: one loopback connection; the client makes 200000 writes of 64
//! bytes (TCP_NODELAY, so most are a segment each), the server reads them.
//! Every write and every read is one traced call.

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

const WRITES: usize = 200_000;
const SIZE: usize = 64;

/// tcptop's aggregation in bpftrace: bytes per process and socket, both
/// directions, printed and cleared every second.
const BPFTRACE_TCPTOP: &str = r#"
BEGIN { printf("PID COMM RX_KB TX_KB\n"); }
tracepoint:sock:sock_send_length /args->protocol == 6 && args->ret > 0/ { @tx[pid, comm, args->sk] = sum(args->ret); }
tracepoint:sock:sock_recv_length /args->protocol == 6 && args->ret > 0 && !(args->flags & 2)/ { @rx[pid, comm, args->sk] = sum(args->ret); }
interval:s:1 { print(@rx); print(@tx); clear(@rx); clear(@tx); }
END { clear(@rx); clear(@tx); }
"#;

/// The bytes the storm sent.
type Storm = u64;

fn send_storm() -> Result<Storm> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut buffer = vec![0u8; 65536];
            let mut left = WRITES * SIZE;
            while left > 0 {
                let n = stream.read(&mut buffer).expect("read");
                assert!(n > 0);
                left -= n;
            }
        });
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        for _ in 0..WRITES {
            stream.write_all(&[7u8; SIZE]).expect("write");
        }
    });
    Ok((WRITES * SIZE) as u64)
}

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["-v", "tcptop", "-C", "-S", "1"]);
            command
        },
        ready: "Tracing",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("tcptop.bt"));
            command
        },
        ready: "PID COMM RX_KB",
    },
];

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("tcptop.bt"), BPFTRACE_TCPTOP)?;
    say(&format!("tcptop: {rounds} rounds of {WRITES} loopback writes of {SIZE} bytes"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, send_storm)?;
    let base = median_secs(&untraced);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tcptop: send storm, {WRITES} loopback writes of {SIZE} bytes and their reads, {rounds} rounds\n"
    );
    let _ = writeln!(out, "| tool | lost | storm slowdown | added ns per write (median) |");
    let _ = writeln!(out, "|---|---|---|---|");
    for (tool, runs) in [("tracer", &traced[0]), ("bpftrace (tracepoint tcptop)", &traced[1])] {
        let added = (median_secs(runs) - base) * 1e9 / WRITES as f64;
        let _ = writeln!(out, "| {tool} | {} | {added:.0} |", storm::loss_and_slowdown_cells(&untraced, runs));
    }
    let _ = writeln!(out, "{}", storm::untraced_line(&untraced, WRITES, "writes"));
    Ok(out)
}

fn median_secs(runs: &[Run<Storm>]) -> f64 {
    crate::measure::median(&runs.iter().map(|r| r.elapsed.as_secs_f64()).collect::<Vec<_>>())
}
