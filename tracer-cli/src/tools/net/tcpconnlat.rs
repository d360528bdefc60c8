//! `tracer tcpconnlat`: the latency of each active TCP connect, from SYN
//! sent to established, as libbpf-tools' tcpconnlat, on
//! sock:inet_sock_set_state (libbpf-tools needs fentry or kprobes).

use anyhow::Result;
use serde::Serialize;

use crate::{
    bpf::hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, WithEvents},
    cli::Common,
    events,
    kernel::{btf::KernelBtf, privileges, process},
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        net::connect::{self, Connection, Filters},
    },
};

const TOOL: &str = "tcpconnlat";

/// Trace TCP connects and show their latency: from the socket entering
/// SYN_SENT (in connect()) to ESTABLISHED (the SYN-ACK's arrival).
///
/// Both moments are sock:inet_sock_set_state changes, which every kernel
/// since 4.16 has, so no fentry or kprobe is needed. Connects that fail
/// (refused, timed out) are not shown, as in libbpf-tools.
///
/// Examples:
///   tracer tcpconnlat             # trace every TCP connect and its latency
///   tracer tcpconnlat 1           # trace connection latency slower than 1 ms
///   tracer tcpconnlat -m 0.1      # trace connection latency slower than 100 us
///   tracer tcpconnlat -L          # include LPORT while printing outputs
///   tracer tcpconnlat -t          # include timestamps
///   tracer tcpconnlat -p 181      # only trace PID 181
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only show connects slower than this many milliseconds (as -m)
    #[arg(value_name = "MIN_MS", value_parser = min_ms_arg, conflicts_with = "min_ms")]
    pub min_ms_positional: Option<f64>,
    /// Only show connects slower than this many milliseconds (fractions allowed)
    #[arg(short = 'm', long = "min", value_name = "MIN_MS", value_parser = min_ms_arg)]
    pub min_ms: Option<f64>,
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Include LPORT (source port) on output
    #[arg(short = 'L', long = "lport")]
    pub lport: bool,
    /// One JSON object per connect (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// A latency threshold in milliseconds: a positive number.
fn min_ms_arg(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms > 0.0 && ms.is_finite() => Ok(ms),
        _ => Err(format!("{text:?} is not a latency in milliseconds (a positive number, e.g. 1 or 0.5)")),
    }
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
        let min_ms = args.min_ms.or(args.min_ms_positional).unwrap_or(0.0);
        let filters = Filters { pid: args.pid, min_latency_ns: (min_ms * 1e6) as u64, ..Filters::default() };
        Ok(Self { filters, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
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
    let Attached { loaded, kind } = connect::attach_latency(TOOL, &setup, &plan.hooks)?;
    log::info!("{TOOL}: using {kind} on sock:inet_sock_set_state");
    let mut printer = Printer {
        time: TimeColumns { clock: false, since_start: args.timestamp, start_ns: events::monotonic_ns() },
        args,
    };
    let json = printer.args.json;
    event_tool::stream(TOOL, runner, loaded, json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    connect::attach_latency(TOOL, &connect::prepare(TOOL, &plan.filters, btf)?, &plan.hooks)
}

#[derive(Serialize)]
struct JsonLatency {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    comm: String,
    family: u8,
    saddr: String,
    lport: u16,
    daddr: String,
    dport: u16,
    latency_ms: f64,
}

struct Printer {
    args: Args,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let mut out = self.time.header();
        out.push_str(&format!("{:<7} {:<16} {:<2} {:<16} ", "PID", "COMM", "IP", "SADDR"));
        if self.args.lport {
            out.push_str(&format!("{:<6} ", "LPORT"));
        }
        out.push_str(&format!("{:<16} {:<5} {}\n", "DADDR", "DPORT", "LAT(ms)"));
        out
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let connection = Connection::decode(bytes)?;
        let flow = connection.flow;
        let latency_ms = connection.latency_ns as f64 / 1e6;
        if self.args.json {
            let record = JsonLatency {
                kind: "connect",
                pid: connection.pid,
                comm: escape::for_json(&connection.comm),
                family: flow.ip_version(),
                saddr: flow.local.to_string(),
                lport: flow.lport,
                daddr: flow.remote.to_string(),
                dport: flow.rport,
                latency_ms,
            };
            return Some(json::line_at(TOOL, events::wall_time(connection.timestamp_ns), &record));
        }
        let mut out = self.time.cells(connection.timestamp_ns);
        out.push_str(&format!(
            "{:<7} {:<16} {:<2} {:<16} ",
            connection.pid,
            escape::for_terminal(&connection.comm),
            flow.ip_version(),
            flow.local.to_string()
        ));
        if self.args.lport {
            out.push_str(&format!("{:<6} ", flow.lport));
        }
        out.push_str(&format!("{:<16} {:<5} {latency_ms:.2}\n", flow.remote.to_string(), flow.rport));
        Some(out)
    }
}
