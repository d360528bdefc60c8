//! `tracer tcpconnect`: active TCP connects (connect()), one line each or
//! counted per destination, as libbpf-tools' and BCC's tcpconnect; on the
//! connect syscall tracepoints where the kernel has no fentry or kprobes.

use std::{collections::BTreeMap, fmt::Write as _, net::IpAddr, path::PathBuf, time::Duration};

use anyhow::Result;
use aya::maps::HashMap as BpfHashMap;
use serde::Serialize;
use tracer_common::net::connect::CountKey;

use crate::{
    bpf::hooks::{self, Attached, FUNCTION_KINDS, HookKind, WithEvents},
    cli::Common,
    events,
    kernel::{btf::KernelBtf, cgroup, privileges, process},
    output::{self, escape, json, lost::EventLoss, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        net::{
            connect::{self, Connection, Filters},
            sock::{self, Ports, address, ports_arg},
        },
    },
};

const TOOL: &str = "tcpconnect";

/// Trace active TCP connections (connect()).
///
/// A connect is reported once its source port is known: where fentry or
/// kprobes work, when tcp_v4_connect/tcp_v6_connect return success (a SYN
/// was sent, as libbpf-tools); elsewhere through the connect syscall's
/// tracepoints, at the syscall's exit, for every call that put a socket in
/// SYN_SENT, whatever it returned (EINPROGRESS for non-blocking sockets,
/// ECONNREFUSED...: the JSON `ret` says). That path does not see connects
/// made without the syscall (io_uring, sockets inside the kernel).
///
/// `-c` is a cgroup here (as in execsnoop), so counting is `--count` only.
///
/// Examples:
///   tracer tcpconnect             # trace all TCP connect()s
///   tracer tcpconnect -t          # include timestamps
///   tracer tcpconnect -p 181      # only trace PID 181
///   tracer tcpconnect -P 80       # only trace port 80
///   tracer tcpconnect -P 80,81    # only trace port 80 and 81
///   tracer tcpconnect -U          # include UID
///   tracer tcpconnect -u 1000     # only trace UID 1000
///   tracer tcpconnect -L          # include source port (LPORT)
///   tracer tcpconnect -c CG       # only trace processes under cgroup v2 path CG
///   tracer tcpconnect --count     # count connects per source, destination, port
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Include UID on output
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,
    /// Trace this UID only
    #[arg(short = 'u', long = "uid", value_name = "UID")]
    pub uid: Option<u32>,
    /// Include LPORT (source port) on output
    #[arg(short = 'L', long = "lport")]
    pub lport: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Comma-separated list of destination ports to trace (at most 16)
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = ports_arg)]
    pub ports: Option<Ports>,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Trace processes in this cgroup v2 directory (and below) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// Count connects per source address, destination address and port
    /// (in the kernel), printed at the end
    #[arg(long)]
    pub count: bool,
    /// One JSON object per connect (or per counted destination; schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub filters: Filters,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let filters = Filters {
            pid: args.pid,
            uid: args.uid,
            family: sock::family_filter(args.ipv4, args.ipv6),
            ports: args.ports.clone(),
            cgroup: args.cgroup.as_deref().map(cgroup::resolve).transpose()?,
            min_latency_ns: 0,
            count: args.count,
        };
        Ok(Self { filters, hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS) })
    }

    /// The plan `tracer doctor` tries with `kind`.
    pub fn probe(kind: HookKind) -> Self {
        Self { filters: Filters::default(), hooks: vec![kind] }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        connect::prepare(TOOL, &plan.filters, btf.as_ref())?
    };
    let Attached { loaded, kind } = connect::attach_connect(TOOL, &setup, &plan.hooks)?;
    match kind {
        HookKind::Tracepoint => {
            log::info!("{TOOL}: using {kind} on sys_enter_connect, sys_exit_connect and sock:inet_sock_set_state")
        }
        _ => log::info!("{TOOL}: using {kind} on {}", connect::FUNCTIONS.join(", ")),
    }
    if args.count {
        return count(runner, loaded, args.json);
    }
    let mut printer = Printer {
        time: TimeColumns { clock: false, since_start: args.timestamp, start_ns: events::monotonic_ns() },
        address_width: if args.ipv6 { 39 } else { 16 },
        args,
    };
    let json = printer.args.json;
    event_tool::stream(TOOL, runner, loaded, json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    connect::attach_connect(TOOL, &connect::prepare(TOOL, &plan.filters, btf)?, &plan.hooks)
}

const COUNT_LOSS: &[(&str, &str)] = &[("count_map_full", "connects not counted: count map full")];

/// --count: wait for Ctrl-C (or SIGTERM), then print the kernel's counts.
fn count(runner: Runner, (ebpf, _buffers): WithEvents, json: bool) -> Result<()> {
    runner.run_polling(None, Duration::from_secs(1), || Ok(()))?;
    let map: BpfHashMap<_, CountKey, u64> = BpfHashMap::try_from(
        ebpf.map(tracer_common::net::connect::COUNTS_MAP).ok_or_else(|| anyhow::anyhow!("no count map"))?,
    )?;
    let mut counts = BTreeMap::new();
    for entry in map.iter() {
        let (key, connects) = entry?;
        let (Some(source), Some(destination)) = (address(key.family, key.saddr), address(key.family, key.daddr)) else {
            continue;
        };
        *counts.entry((source, destination, key.dport)).or_insert(0u64) += connects;
    }
    let mut out = render_counts(&counts, json);
    out.push_str(&EventLoss::new(TOOL, COUNT_LOSS).check(&ebpf, 0, json, true)?);
    output::emit(&out)
}

#[derive(Serialize)]
struct JsonCount {
    #[serde(rename = "type")]
    kind: &'static str,
    family: u8,
    saddr: String,
    daddr: String,
    dport: u16,
    connects: u64,
}

fn render_counts(counts: &BTreeMap<(IpAddr, IpAddr, u16), u64>, json: bool) -> String {
    let mut rows: Vec<_> = counts.iter().collect();
    // Busiest first, as BCC sorts.
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = String::new();
    if !json {
        let _ = writeln!(out, "\n{:<25} {:<25} {:<20} {:<10}", "LADDR", "RADDR", "RPORT", "CONNECTS");
    }
    for ((source, destination, port), connects) in rows {
        if json {
            let record = JsonCount {
                kind: "count",
                family: if source.is_ipv4() { 4 } else { 6 },
                saddr: source.to_string(),
                daddr: destination.to_string(),
                dport: *port,
                connects: *connects,
            };
            out.push_str(&json::line(TOOL, &record));
        } else {
            let _ = writeln!(
                out,
                "{:<25} {:<25} {:<20} {:<10}",
                source.to_string(),
                destination.to_string(),
                port,
                connects
            );
        }
    }
    out
}

#[derive(Serialize)]
struct JsonConnect {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    uid: u32,
    comm: String,
    family: u8,
    saddr: String,
    lport: u16,
    daddr: String,
    dport: u16,
    ret: i32,
}

struct Printer {
    args: Args,
    time: TimeColumns,
    address_width: usize,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let width = self.address_width;
        let mut out = self.time.header();
        if self.args.print_uid {
            out.push_str(&format!("{:<6} ", "UID"));
        }
        out.push_str(&format!("{:<7} {:<16} {:<2} {:<width$} ", "PID", "COMM", "IP", "SADDR"));
        if self.args.lport {
            out.push_str(&format!("{:<6} ", "LPORT"));
        }
        out.push_str(&format!("{:<width$} {}\n", "DADDR", "DPORT"));
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let connection = Connection::decode(bytes)?;
        let flow = connection.flow;
        if self.args.json {
            let record = JsonConnect {
                kind: "connect",
                pid: connection.pid,
                uid: connection.uid,
                comm: escape::for_json(&connection.comm),
                family: flow.ip_version(),
                saddr: flow.local.to_string(),
                lport: flow.lport,
                daddr: flow.remote.to_string(),
                dport: flow.rport,
                ret: connection.ret,
            };
            return Some(json::line_at(TOOL, events::wall_time(connection.timestamp_ns), &record));
        }
        let width = self.address_width;
        let mut out = self.time.cells(connection.timestamp_ns);
        if self.args.print_uid {
            out.push_str(&format!("{:<6} ", connection.uid));
        }
        out.push_str(&format!(
            "{:<7} {:<16} {:<2} {:<width$} ",
            connection.pid,
            escape::for_terminal(&connection.comm),
            flow.ip_version(),
            flow.local.to_string()
        ));
        if self.args.lport {
            out.push_str(&format!("{:<6} ", flow.lport));
        }
        out.push_str(&format!("{:<width$} {}\n", flow.remote.to_string(), flow.rport));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn counts_print_busiest_first() {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut counts = BTreeMap::new();
        counts.insert((local, local, 80), 3);
        counts.insert((local, local, 443), 20);
        let text = render_counts(&counts, false);
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|line| line.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["LADDR", "RADDR", "RPORT", "CONNECTS"]);
        assert_eq!(rows[1], ["127.0.0.1", "127.0.0.1", "443", "20"]);
        assert_eq!(rows[2], ["127.0.0.1", "127.0.0.1", "80", "3"]);
        let json: serde_json::Value =
            serde_json::from_str(render_counts(&counts, true).lines().next().unwrap()).unwrap();
        assert_eq!(
            (json["type"].as_str(), json["dport"].as_u64(), json["connects"].as_u64()),
            (Some("count"), Some(443), Some(20))
        );
    }
}
