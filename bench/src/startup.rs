//! `cargo xtask bench startup`: for every tool, launch to attached, peak
//! resident memory and page faults, tracer side by side with a bpftrace
//! equivalent in the same run (alternating rounds, medians).
//!
//! Each tool runs on a pseudo-terminal, as an operator runs it. "Attached"
//! is the first line the tool prints once its probes are in (tracer's
//! banner or header; bpftrace's BEGIN, which runs after every probe is
//! attached). Page faults are counted up to that line; peak RSS (VmHWM) is
//! read just before the tool is stopped, 300 ms later.
//!
//! Peers: Debian's own bpftrace tools where they run here (execsnoop.bt,
//! opensnoop.bt, statsnoop.bt, syscount.bt use tracepoints only); the rest need kprobes or
//! kernel headers this host lacks, so the peer is a script on the same
//! tracepoints or events doing the same aggregation.

use std::{fmt::Write as _, path::Path, process::Command, time::Duration};

use anyhow::{Context, Result};

use super::measure::{self, median, spread};
use crate::util::say;

/// One tool and its peer.
struct Pair {
    tool: &'static str,
    /// tracer's arguments, and the start of the line it prints once attached.
    tracer_args: &'static [&'static str],
    tracer_ready: &'static str,
    peer: Peer,
}

enum Peer {
    /// A tool Debian's bpftrace package installs, and its ready line.
    Installed(&'static str, &'static str),
    /// A script, and the line its BEGIN prints.
    Script(&'static str, &'static str),
}

/// What the scripts written here print from BEGIN.
const ATTACHED: &str = "Attached";

const PAIRS: &[Pair] = &[
    Pair {
        tool: "runqlat",
        tracer_args: &["runqlat"],
        tracer_ready: "Tracing run queue latency",
        peer: Peer::Script(super::runqlat::BPFTRACE_RUNQLAT, super::runqlat::BPFTRACE_READY),
    },
    Pair {
        tool: "execsnoop",
        tracer_args: &["execsnoop"],
        tracer_ready: "PCOMM",
        peer: Peer::Installed("/usr/sbin/execsnoop.bt", "TIME(ms)"),
    },
    Pair {
        tool: "exitsnoop",
        tracer_args: &["exitsnoop"],
        tracer_ready: "PCOMM",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
tracepoint:sched:sched_process_exit { printf("%s %d %d\n", comm, pid, tid); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "tcplife",
        tracer_args: &["tcplife"],
        tracer_ready: "PID",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
tracepoint:sock:inet_sock_set_state /args->protocol == 6/ {
  $sk = args->skaddr;
  if (args->newstate < 4 && @birth[$sk] == 0) { @birth[$sk] = nsecs; }
  if (args->newstate == 7 && @birth[$sk]) {
    printf("%d %s %d %d %d\n", pid, comm, args->sport, args->dport, (nsecs - @birth[$sk]) / 1000000);
    delete(@birth[$sk]);
  }
}
END { clear(@birth); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "gethostlatency",
        tracer_args: &["gethostlatency"],
        tracer_ready: "TIME",
        // bpftrace's own gethostlatency.bt, on the libc its ld.so.cache names
        // (tracer probes every libc the running processes map, and the host's).
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
uprobe:libc:getaddrinfo, uprobe:libc:gethostbyname, uprobe:libc:gethostbyname2 {
  @start[tid] = nsecs; @name[tid] = arg0;
}
uretprobe:libc:getaddrinfo, uretprobe:libc:gethostbyname, uretprobe:libc:gethostbyname2 /@start[tid]/ {
  printf("%d %s %d %s\n", pid, comm, (nsecs - @start[tid]) / 1000000, str(@name[tid]));
  delete(@start[tid]); delete(@name[tid]);
}
END { clear(@start); clear(@name); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "ext4slower",
        tracer_args: &["ext4slower"],
        tracer_ready: "Tracing ext4 operations",
        peer: Peer::Script(super::fsslower::BPFTRACE_EXT4SLOWER, "Tracing ext4 operations"),
    },
    Pair {
        tool: "biolatency",
        tracer_args: &["biolatency"],
        tracer_ready: "Tracing block device I/O",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }
tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {
  @usecs = hist((nsecs - @start[args->dev, args->sector]) / 1000);
  delete(@start[args->dev, args->sector]);
}
END { clear(@start); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "biosnoop",
        tracer_args: &["biosnoop"],
        tracer_ready: "LAT(ms)",
        peer: Peer::Script(super::biosnoop::BPFTRACE_BIOSNOOP, "Tracing block I/O"),
    },
    Pair {
        tool: "syscount",
        tracer_args: &["syscount"],
        tracer_ready: "Tracing syscalls",
        peer: Peer::Installed("/usr/sbin/syscount.bt", "Counting syscalls"),
    },
    Pair {
        tool: "opensnoop",
        tracer_args: &["opensnoop"],
        tracer_ready: "PID",
        peer: Peer::Installed("/usr/sbin/opensnoop.bt", "PID"),
    },
    Pair {
        tool: "statsnoop",
        tracer_args: &["statsnoop"],
        tracer_ready: "PID",
        peer: Peer::Installed("/usr/sbin/statsnoop.bt", "Tracing stat syscalls"),
    },
    Pair {
        tool: "cpudist",
        tracer_args: &["cpudist"],
        tracer_ready: "Tracing on-CPU time",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
tracepoint:sched:sched_switch {
  if (@start[args->prev_pid]) { @usecs = hist((nsecs - @start[args->prev_pid]) / 1000); }
  @start[args->next_pid] = nsecs;
}
END { clear(@start); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "runqlen",
        tracer_args: &["runqlen"],
        tracer_ready: "Sampling run queue length",
        // runqlen.bt includes kernel headers; bpftrace reads the same fields through BTF.
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
profile:hz:99 { @runqlen = lhist(curtask->se.cfs_rq->nr_queued, 0, 100, 1); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "profile",
        tracer_args: &["profile"],
        tracer_ready: "Sampling at",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
profile:hz:99 { @[kstack, ustack, comm] = count(); }"#,
            ATTACHED,
        ),
    },
    Pair {
        tool: "offcputime",
        tracer_args: &["offcputime"],
        tracer_ready: "Tracing off-CPU time",
        peer: Peer::Script(
            r#"BEGIN { printf("Attached\n"); }
tracepoint:sched:sched_switch {
  if (@start[args->next_pid]) { delete(@start[args->next_pid]); }
  @start[args->prev_pid] = nsecs;
  @[kstack, ustack, args->prev_comm] = count();
}
END { clear(@start); }"#,
            ATTACHED,
        ),
    },
];

/// What one launch measured.
#[derive(Clone, Copy, Default)]
struct Sample {
    startup_ms: f64,
    peak_rss_mib: f64,
    faults: f64,
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let only: Vec<&str> = args.iter().filter(|a| !a.starts_with("--")).map(String::as_str).collect();
    let rounds = if quick { 3 } else { 11 };
    let scripts = crate::util::workspace_root().join("target/bench/startup");
    std::fs::create_dir_all(&scripts)?;
    let mut rows = Vec::new();
    for pair in PAIRS.iter().filter(|pair| only.is_empty() || only.contains(&pair.tool)) {
        say(&format!("startup: {} vs bpftrace, {rounds} alternating rounds", pair.tool));
        let peer = match pair.peer {
            Peer::Installed(path, ready) => (path.into(), ready),
            Peer::Script(script, ready) => {
                let path = scripts.join(format!("{}.bt", pair.tool));
                std::fs::write(&path, script)?;
                (path, ready)
            }
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut command = Command::new(tracer);
            command.args(pair.tracer_args);
            ours.push(launch(command, pair.tracer_ready).with_context(|| format!("tracer {}", pair.tool))?);
            let mut command = Command::new("bpftrace");
            command.arg(&peer.0);
            theirs.push(launch(command, peer.1).with_context(|| format!("bpftrace {}", peer.0.display()))?);
        }
        rows.push((pair.tool, ours, theirs));
    }
    Ok(render(&rows, rounds))
}

fn launch(command: Command, ready: &str) -> Result<Sample> {
    let running = measure::start_on_terminal(command, ready)?;
    let faults = running.page_faults()? as f64;
    std::thread::sleep(Duration::from_millis(300));
    let peak_rss_mib = running.peak_rss_kib()? as f64 / 1024.0;
    let startup_ms = running.startup.as_secs_f64() * 1e3;
    running.stop()?;
    Ok(Sample { startup_ms, peak_rss_mib, faults })
}

fn render(rows: &[(&str, Vec<Sample>, Vec<Sample>)], rounds: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Start-up: tracer vs bpftrace 0.17, on a terminal ({rounds} alternating launches each; \
         medians, min–max in brackets)\n"
    );
    let _ = writeln!(
        out,
        "| tool | launch to attached, tracer | bpftrace | ratio | peak RSS, tracer | bpftrace | ratio | \
         page faults to attached, tracer | bpftrace |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for (tool, ours, theirs) in rows {
        let pick = |samples: &[Sample], f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<_>>();
        let cell = |values: &[f64], unit: &str, digits: usize| {
            let (lo, hi) = spread(values);
            format!("{:.digits$}{unit} ({lo:.digits$}–{hi:.digits$})", median(values))
        };
        let (ms_ours, ms_theirs) = (pick(ours, |s| s.startup_ms), pick(theirs, |s| s.startup_ms));
        let (rss_ours, rss_theirs) = (pick(ours, |s| s.peak_rss_mib), pick(theirs, |s| s.peak_rss_mib));
        let (pf_ours, pf_theirs) = (pick(ours, |s| s.faults), pick(theirs, |s| s.faults));
        let _ = writeln!(
            out,
            "| {tool} | {} | {} | {:.2} | {} | {} | {:.2} | {} | {} |",
            cell(&ms_ours, " ms", 1),
            cell(&ms_theirs, " ms", 1),
            median(&ms_ours) / median(&ms_theirs),
            cell(&rss_ours, " MiB", 1),
            cell(&rss_theirs, " MiB", 1),
            median(&rss_ours) / median(&rss_theirs),
            cell(&pf_ours, "", 0),
            cell(&pf_theirs, "", 0),
        );
    }
    out
}
