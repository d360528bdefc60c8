//! tcpretrans under a retransmit storm: a 20 MB loopback transfer inside a
//! network namespace of its own (1500-byte MTU, 15 % of the packets to the
//! server dropped by iptables in INPUT), untraced, under tracer and under a
//! bpftrace script on the same tracepoint, rotating. Reports the BPF
//! program's cost per retransmit (the kernel's run-time statistics), the
//! transfer's slowdown, and what each tool saw against the namespace's
//! TcpRetransSegs.

use std::{
    fmt::Write as _,
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    os::fd::AsRawFd,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use super::measure;
use crate::util::say;

const NAMESPACE: &str = "tracer-bench-retrans";
const PORT: u16 = 47123;
const BYTES: usize = 20 << 20;

/// Print each retransmit, as tracer's default output does.
const BPFTRACE_TCPRETRANS: &str = r#"
BEGIN { printf("TIME PID LPORT RPORT STATE\n"); }
tracepoint:tcp:tcp_retransmit_skb
{
  printf("%s %d %d %d %d\n", strftime("%H:%M:%S", nsecs), pid, args->sport, args->dport, args->state);
}
"#;

fn run_command(program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program).args(args).output().with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        bail!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

struct Namespace;

impl Namespace {
    fn new() -> Result<Self> {
        let _ = Command::new("ip").args(["netns", "del", NAMESPACE]).status();
        run_command("ip", &["netns", "add", NAMESPACE])?;
        run_command("ip", &["-n", NAMESPACE, "link", "set", "lo", "up", "mtu", "1500"])?;
        let port = PORT.to_string();
        run_command(
            "ip",
            &[
                "netns",
                "exec",
                NAMESPACE,
                "iptables",
                "-A",
                "INPUT",
                "-p",
                "tcp",
                "--dport",
                &port,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                "0.15",
                "-j",
                "DROP",
            ],
        )?;
        Ok(Self)
    }

    fn retrans_segs(&self) -> Result<u64> {
        let text = run_command("ip", &["netns", "exec", NAMESPACE, "cat", "/proc/net/snmp"])?;
        let mut rows = text.lines().filter(|line| line.starts_with("Tcp:"));
        let (names, values) = (rows.next().context("snmp")?, rows.next().context("snmp")?);
        let column = names.split_whitespace().position(|n| n == "RetransSegs").context("RetransSegs")?;
        Ok(values.split_whitespace().nth(column).context("value")?.parse()?)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", NAMESPACE]).status();
    }
}

/// Moves the calling thread into the namespace.
fn enter_namespace() {
    let file = std::fs::File::open(format!("/run/netns/{NAMESPACE}")).expect("namespace file");
    // SAFETY: setns on a valid namespace descriptor; affects this thread only.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// One transfer of BYTES through the lossy loopback; its wall time.
fn transfer() -> Duration {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        enter_namespace();
        let listener = TcpListener::bind(("127.0.0.1", PORT)).expect("bind");
        ready_tx.send(()).unwrap();
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buffer = vec![0u8; 1 << 16];
        let mut total = 0;
        while total < BYTES {
            let n = stream.read(&mut buffer).expect("read");
            assert!(n > 0);
            total += n;
        }
        stream.write_all(b"k").expect("write");
    });
    ready_rx.recv().unwrap();
    let client = std::thread::spawn(|| {
        enter_namespace();
        let started = Instant::now();
        let mut stream = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
        let chunk = vec![7u8; 1 << 16];
        let mut sent = 0;
        while sent < BYTES {
            let n = (BYTES - sent).min(chunk.len());
            stream.write_all(&chunk[..n]).expect("write");
            sent += n;
        }
        let mut ack = [0u8; 1];
        stream.read_exact(&mut ack).expect("read");
        started.elapsed()
    });
    server.join().expect("server");
    let elapsed = client.join().expect("client");
    // Let the closing segments' retransmits (if any) go out before the next run.
    std::thread::sleep(Duration::from_millis(300));
    elapsed
}

#[derive(Default)]
struct Figures {
    elapsed: Vec<f64>,
    ns_per_event: Vec<f64>,
    /// Retransmits the tool printed / segments the kernel counted, per run.
    seen: Vec<(f64, f64)>,
}

fn printed_retransmits(stdout: &[u8]) -> f64 {
    let port = PORT.to_string();
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| line.contains(&format!(":{port}")) || line.split_whitespace().any(|f| f == port))
        .count() as f64
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 5 };
    let script_dir = crate::util::workspace_root().join("target/bench");
    std::fs::create_dir_all(&script_dir)?;
    let script = script_dir.join("tcpretrans.bt");
    std::fs::write(&script, BPFTRACE_TCPRETRANS)?;
    let namespace = Namespace::new()?;
    say(&format!("tcpretrans: {rounds} rounds of a {} MiB transfer with 15% loss", BYTES >> 20));
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime).context("cannot enable BPF run-time stats")?;
    let mut figures: [Figures; 3] = Default::default();
    for round in 0..rounds {
        for offset in 0..3 {
            let slot = (round + offset) % 3;
            let segs_before = namespace.retrans_segs()?;
            if slot == 0 {
                figures[0].elapsed.push(transfer().as_secs_f64());
                continue;
            }
            let command = if slot == 1 {
                let mut command = Command::new(tracer);
                command.args(["tcpretrans", "-v"]);
                (command, "LADDR:LPORT")
            } else {
                let mut command = Command::new("bpftrace");
                command.arg(&script);
                (command, "TIME PID LPORT")
            };
            let before_start = measure::programs();
            let running = measure::start(command.0, command.1)?;
            let before = measure::programs();
            let ids = measure::new_programs(&before_start, &before);
            let elapsed = transfer();
            std::thread::sleep(Duration::from_millis(300));
            let after = measure::programs();
            let (stdout, _) = running.stop()?;
            let segs = (namespace.retrans_segs()? - segs_before) as f64;
            let figure = &mut figures[slot];
            figure.elapsed.push(elapsed.as_secs_f64());
            if let Some((ns, _)) = measure::ns_per_call(&before, &after, &ids, |_| true) {
                figure.ns_per_event.push(ns);
            }
            figure.seen.push((printed_retransmits(&stdout), segs));
        }
    }
    Ok(render(&figures, rounds))
}

fn render(figures: &[Figures; 3], rounds: usize) -> String {
    let base = measure::median(&figures[0].elapsed);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### tcpretrans: {} MiB loopback transfer, 1500-byte MTU, 15% of packets to the server dropped, {rounds} rounds\n",
        BYTES >> 20
    );
    let _ = writeln!(
        out,
        "| tool | ns per retransmit (BPF run time) | lines printed / TcpRetransSegs | transfer time vs untraced |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for (name, figure) in [("tracer", &figures[1]), ("bpftrace (tracepoint tcpretrans)", &figures[2])] {
        let (lo, hi) = measure::spread(&figure.ns_per_event);
        let lines: Vec<f64> = figure.seen.iter().map(|s| s.0).collect();
        let segs: Vec<f64> = figure.seen.iter().map(|s| s.1).collect();
        let slowdown: Vec<f64> = figure.elapsed.iter().map(|e| (e / base - 1.0) * 100.0).collect();
        let (slo, shi) = measure::spread(&slowdown);
        let _ = writeln!(
            out,
            "| {name} | {:.0} ({lo:.0}–{hi:.0}) | {:.0} / {:.0} | {:+.1}% ({slo:+.1}–{shi:+.1}) |",
            measure::median(&figure.ns_per_event),
            measure::median(&lines),
            measure::median(&segs),
            measure::median(&slowdown),
        );
    }
    let tracer = measure::median(&figures[1].ns_per_event);
    let peer = measure::median(&figures[2].ns_per_event);
    let _ = writeln!(
        out,
        "\nUntraced transfer: median {base:.2} s. Per-retransmit cost, tracer / bpftrace: {:.2}.",
        tracer / peer
    );
    out
}
