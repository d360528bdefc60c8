//! `tracer tcptop`: the TCP flows moving the most bytes, per interval, as
//! libbpf-tools' tcptop: `PID COMM LADDR RADDR RX_KB TX_KB`, counted in the
//! kernel per process and flow where the process's send or receive returns
//! (sock:sock_send_length/sock_recv_length, 6.3+), else at tcp_sendmsg and
//! tcp_cleanup_rbuf (fentry, else kprobes, libbpf-tools' functions).

use std::{collections::HashMap, net::IpAddr};

use anyhow::{Context, Result, bail};
use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap as BpfHashMap, MapData},
};
use serde::Serialize;
use tracer_common::net::tcptop::{Config, FlowKey, TopOffsets, direction};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FunctionProgram, HookKind, TracepointHook},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    error::user_error,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process, tracefs,
    },
    output::{self, escape, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
    tools::{
        net::sock::{self, Flow},
        top::{Cumulative, Intervals},
    },
};

const TOOL: &str = "tcptop";

/// Summarize the top active TCP sessions - like top, but for TCP.
///
/// Bytes are what the process's sends and receives returned (on the
/// tracepoint and fentry paths); the kprobe path counts what tcp_sendmsg was
/// asked to send, as libbpf-tools does.
///
/// Examples:
///   tracer tcptop            # TCP top, refresh every 1s
///   tracer tcptop -p 1216    # only trace PID 1216
///   tracer tcptop 5 10       # 5s summaries, 10 times
///   tracer tcptop -C -S -r 5 # no clearing, no summary line, top 5 rows
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg, default_value_t = 1)]
    pub interval: u64,
    /// Number of outputs
    #[arg(value_parser = count_arg)]
    pub count: Option<u64>,
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Skip system summary line
    #[arg(short = 'S', long = "nosummary")]
    pub nosummary: bool,
    /// Don't clear the screen
    #[arg(short = 'C', long = "noclear")]
    pub noclear: bool,
    /// Sort columns: all (received + sent), sent, received
    #[arg(short = 's', long = "sort", value_name = "SORT", value_enum, default_value_t = Sort::All)]
    pub sort: Sort,
    /// Maximum rows to print
    #[arg(short = 'r', long = "rows", value_name = "ROWS", default_value_t = 20, value_parser = rows_arg)]
    pub rows: usize,
    /// One JSON object per row per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint", "fentry", "kprobe"])]
    pub hook: Option<String>,
}

fn rows_arg(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(rows) if rows >= 1 => Ok(rows),
        _ => Err("rows must be a whole number, at least 1".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sort {
    All,
    Sent,
    Received,
}

/// The sock tracepoints first (they see every send and receive a process
/// makes, 6.3+), then kernel functions.
pub const KINDS: &[HookKind] =
    &[HookKind::TpBtf, HookKind::RawTp, HookKind::Tracepoint, HookKind::Fentry, HookKind::Kprobe];

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let config =
            Config { target_pid: args.pid.unwrap_or(0), family: sock::family_filter(args.ipv4, args.ipv6), _pad: 0 };
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

const TRACEPOINTS: [TracepointHook; 2] = [
    TracepointHook { category: "sock", name: "sock_send_length", program: "tcptop_send" },
    TracepointHook { category: "sock", name: "sock_recv_length", program: "tcptop_recv" },
];
const FUNCTIONS: [&str; 2] = ["tcp_sendmsg", "tcp_cleanup_rbuf"];

const MAP_BYTES: &str = "TCPTOP_BYTES";
const MAP_DROPS: &str = "TCPTOP_DROPS";
const LOST_REASONS: &[(&str, &str)] = &[("flow_map_full", "sends and receives: too many flows for the counter map")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on {}", describe(kind));
    let mut reporter = Reporter::new(&args);
    let schedule = Schedule { interval: Some(std::time::Duration::from_secs(args.interval)), count: args.count };
    if !args.json {
        output::emit(&format!("Tracing... Output every {} secs. Hit Ctrl-C to end\n", args.interval))?;
    }
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

fn describe(kind: HookKind) -> &'static str {
    match kind {
        HookKind::Fentry => "fexit tcp_sendmsg, fentry tcp_cleanup_rbuf",
        HookKind::Kprobe => "tcp_sendmsg, tcp_cleanup_rbuf",
        _ => "sock:sock_send_length, sock:sock_recv_length",
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: TopOffsets,
    kinds: Vec<HookKind>,
    targets: AttachTargets,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads a socket's addresses and ports from struct sock")?;
    let mut offsets = TopOffsets::UNRESOLVED;
    offsets.endpoints =
        sock::endpoint_offsets(btf).map_err(|err| user_error!("this kernel cannot serve tcptop: {err:#}"))?;
    let targets = btf.attach_targets(&hooks::tracepoint_names(&TRACEPOINTS), &FUNCTIONS);
    Ok(Setup { config: plan.config, offsets, kinds: plan.hooks.clone(), targets })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        let tracepoint = matches!(kind, HookKind::TpBtf | HookKind::RawTp | HookKind::Tracepoint);
        if tracepoint && !tracefs::tracepoint_exists("sock", "sock_send_length") {
            bail!("this kernel has no sock:sock_send_length tracepoint (Linux 6.3+)");
        }
        if tracepoint && kind != HookKind::Tracepoint && offsets.endpoints.sk_protocol == u32::MAX {
            bail!("struct sock has no plain sk_protocol field");
        }
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("sock", "sock_send_length")?;
            let field = |name| tracefs::field(&format, "sock_send_length", name).map(|f| f.offset);
            offsets.tp_sk = field("sk")?;
            offsets.tp_protocol = field("protocol")?;
            offsets.tp_ret = field("ret")?;
            offsets.tp_flags = field("flags")?;
            let recv = tracefs::tracepoint_format("sock", "sock_recv_length")?;
            for name in ["sk", "protocol", "ret", "flags"] {
                let (send, recv) = (field(name)?, tracefs::field(&recv, "sock_recv_length", name)?.offset);
                if send != recv {
                    bail!("sock_send_length and sock_recv_length differ in field {name}");
                }
            }
        }
        let mut ebpf = bpf::load_object(bpf::objects::TCPTOP, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPTOP_CONFIG", &setup.config, true);
            loader.override_global("TOP_OFFSETS", &offsets, true);
        })?;
        if tracepoint {
            hooks::attach_tracepoints(&mut ebpf, kind, &TRACEPOINTS, Some(&setup.targets))?;
        } else {
            let (send, receive) = if kind == HookKind::Fentry {
                ("tcptop_sendmsg_fexit", "tcptop_cleanup_rbuf_fentry")
            } else {
                ("tcptop_sendmsg_kprobe", "tcptop_cleanup_rbuf_kprobe")
            };
            let programs = [
                FunctionProgram { function: FUNCTIONS[0].into(), program: send.into() },
                FunctionProgram { function: FUNCTIONS[1].into(), program: receive.into() },
            ];
            hooks::attach_function_programs(&mut ebpf, &programs, Some(&setup.targets))?;
        }
        Ok(ebpf)
    })
}

/// One process's flow: where it is, and its bytes this interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    pub pid: u32,
    pub comm: [u8; 16],
    pub flow: Flow,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub sent: u64,
    pub received: u64,
}

impl Cumulative for Traffic {
    fn since(&self, before: &Self) -> Self {
        Traffic { sent: self.sent.saturating_sub(before.sent), received: self.received.saturating_sub(before.received) }
    }

    fn is_idle(&self) -> bool {
        self.sent == 0 && self.received == 0
    }
}

/// Both directions of each flow, from the map's per-direction counters.
pub fn flows(snapshot: &HashMap<FlowKey, u64>) -> HashMap<RowKey, Traffic> {
    let mut flows: HashMap<RowKey, Traffic> = HashMap::new();
    for (key, &bytes) in snapshot {
        let endpoints = tracer_common::net::sock::Endpoints {
            family: key.family,
            lport: key.lport,
            rport: key.rport,
            _pad: 0,
            laddr: key.laddr,
            raddr: key.raddr,
        };
        let Some(flow) = Flow::decode(&endpoints) else { continue };
        let traffic = flows.entry(RowKey { pid: key.pid, comm: key.comm, flow }).or_default();
        if key.direction == direction::SENT {
            traffic.sent += bytes;
        } else {
            traffic.received += bytes;
        }
    }
    flows
}

/// libbpf-tools' order: IPv4 before IPv6, then by bytes (largest first).
pub fn top(mut rows: Vec<(RowKey, Traffic)>, sort: Sort, limit: usize) -> Vec<(RowKey, Traffic)> {
    let rank = |t: &Traffic| match sort {
        Sort::All => t.sent + t.received,
        Sort::Sent => t.sent,
        Sort::Received => t.received,
    };
    rows.sort_by(|(a, ta), (b, tb)| {
        a.flow.ip_version().cmp(&b.flow.ip_version()).then(rank(tb).cmp(&rank(ta))).then(a.cmp(b))
    });
    rows.truncate(limit);
    rows
}

#[derive(Serialize)]
struct JsonRow {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    pid: u32,
    comm: String,
    family: u8,
    laddr: String,
    lport: u16,
    raddr: String,
    rport: u16,
    rx_bytes: u64,
    tx_bytes: u64,
}

fn endpoint(address: IpAddr, port: u16) -> String {
    format!("{address}:{port}")
}

struct Reporter {
    json: bool,
    clear: bool,
    summary: bool,
    rows: usize,
    sort: Sort,
    interval: u64,
    intervals: Intervals<FlowKey, u64>,
    pid_width: usize,
    lost: LostReporter,
}

impl Reporter {
    fn new(args: &Args) -> Self {
        // libbpf-tools sizes the PID column by pid_max's digits (at least 6).
        let pid_width = std::fs::read_to_string("/proc/sys/kernel/pid_max").map_or(7, |max| max.trim().len().max(6));
        Self {
            json: args.json,
            clear: !args.noclear && !args.json && std::io::IsTerminal::is_terminal(&std::io::stdout()),
            summary: !args.nosummary,
            rows: args.rows,
            sort: args.sort,
            interval: 0,
            intervals: Intervals::default(),
            pid_width,
            lost: LostReporter::new(TOOL, LOST_REASONS),
        }
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let mut map: BpfHashMap<&mut MapData, FlowKey, u64> =
            BpfHashMap::try_from(ebpf.map_mut(MAP_BYTES).context("BPF object has no counter map")?)?;
        // Counters are cumulative: an entry the walk misses is counted next time.
        let snapshot: HashMap<FlowKey, u64> = map.iter().filter_map(Result::ok).collect();
        let (deltas, idle) = self.intervals.next(snapshot);
        for key in &idle {
            let _ = map.remove(key);
        }
        let rows = top(flows(&deltas.into_iter().collect()).into_iter().collect(), self.sort, self.rows);
        let mut out = if self.json { self.json_rows(&rows) } else { self.text(&rows) };
        let drops = maps::drop_counts(ebpf, MAP_DROPS, LOST_REASONS.len() as u32)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    fn text(&self, rows: &[(RowKey, Traffic)]) -> String {
        let mut out = String::new();
        if self.clear {
            out.push_str("\x1b[H\x1b[2J");
        }
        if self.summary {
            let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            out.push_str(&format!("{:>8} loadavg: {}\n", time::local_hms(), loadavg.trim()));
        }
        let pid = self.pid_width;
        out.push_str(&format!(
            "{:<pid$} {:<12} {:<21} {:<21} {:>6} {:>6}\n",
            "PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"
        ));
        let mut ipv6_header = false;
        for (key, traffic) in rows {
            let width = if key.flow.ip_version() == 6 { 51 } else { 21 };
            if width == 51 && !ipv6_header {
                out.push_str(&format!(
                    "\n{:<pid$} {:<12} {:<51} {:<51} {:>6} {:>6}\n",
                    "PID", "COMM", "LADDR6", "RADDR6", "RX_KB", "TX_KB"
                ));
                ipv6_header = true;
            }
            let comm = escape::for_terminal(escape::until_nul(&key.comm));
            let comm: String = comm.chars().take(12).collect();
            out.push_str(&format!(
                "{:<pid$} {:<12} {:<width$} {:<width$} {:>6} {:>6}\n",
                key.pid,
                comm,
                endpoint(key.flow.local, key.flow.lport),
                endpoint(key.flow.remote, key.flow.rport),
                traffic.received / 1024,
                traffic.sent / 1024
            ));
        }
        out.push('\n');
        out
    }

    fn json_rows(&self, rows: &[(RowKey, Traffic)]) -> String {
        let mut out = String::new();
        for (key, traffic) in rows {
            let record = JsonRow {
                kind: "tcptop",
                interval: self.interval,
                pid: key.pid,
                comm: escape::for_json(escape::until_nul(&key.comm)),
                family: key.flow.ip_version(),
                laddr: key.flow.local.to_string(),
                lport: key.flow.lport,
                raddr: key.flow.remote.to_string(),
                rport: key.flow.rport,
                rx_bytes: traffic.received,
                tx_bytes: traffic.sent,
            };
            out.push_str(&json::line(TOOL, &record));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::{AF_INET, AF_INET6};

    use super::*;

    fn key(pid: u32, family: u16, lport: u16, way: u16) -> FlowKey {
        let mut laddr = [0u8; 16];
        if family == AF_INET {
            laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        } else {
            laddr[15] = 1;
        }
        FlowKey {
            pid,
            family,
            lport,
            rport: 80,
            direction: way,
            laddr,
            raddr: laddr,
            comm: *b"curl\0\0\0\0\0\0\0\0\0\0\0\0",
        }
    }

    #[test]
    fn directions_join_into_one_row_per_flow() {
        let snapshot = HashMap::from([
            (key(1, AF_INET, 5000, direction::SENT), 100),
            (key(1, AF_INET, 5000, direction::RECEIVED), 7000),
            (key(2, AF_INET6, 6000, direction::SENT), 50),
        ]);
        let rows = top(flows(&snapshot).into_iter().collect(), Sort::All, 10);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].0.pid, rows[0].1), (1, Traffic { sent: 100, received: 7000 }));
        assert_eq!(rows[1].0.flow.ip_version(), 6, "IPv6 after IPv4, as libbpf-tools");
    }

    #[test]
    fn sorting_and_rows() {
        let snapshot = HashMap::from([
            (key(1, AF_INET, 1, direction::SENT), 10),
            (key(2, AF_INET, 2, direction::RECEIVED), 20),
            (key(3, AF_INET, 3, direction::SENT), 5),
            (key(3, AF_INET, 3, direction::RECEIVED), 30),
        ]);
        let pids = |sort, limit| -> Vec<u32> {
            top(flows(&snapshot).into_iter().collect(), sort, limit).iter().map(|(k, _)| k.pid).collect()
        };
        assert_eq!(pids(Sort::All, 10), [3, 2, 1]);
        assert_eq!(pids(Sort::Sent, 10), [1, 3, 2]);
        assert_eq!(pids(Sort::Received, 2), [3, 2]);
        assert!(rows_arg("0").is_err() && rows_arg("2") == Ok(2));
    }

    #[test]
    fn text_has_libbpf_tools_columns_and_escapes_names() {
        let args = Args {
            interval: 1,
            count: None,
            pid: None,
            ipv4: false,
            ipv6: false,
            nosummary: true,
            noclear: true,
            sort: Sort::All,
            rows: 20,
            json: false,
            hook: None,
        };
        let reporter = Reporter::new(&args);
        let mut evil = key(9, AF_INET, 5000, direction::SENT);
        evil.comm = *b"e\x1b]0;x\x07\0\0\0\0\0\0\0\0\0";
        let rows = top(flows(&HashMap::from([(evil, 4096)])).into_iter().collect(), Sort::All, 20);
        let text = reporter.text(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["PID", "COMM", "LADDR", "RADDR", "RX_KB", "TX_KB"]
        );
        assert!(lines[1].contains("127.0.0.1:5000") && lines[1].contains("127.0.0.1:80"), "{text}");
        assert!(lines[1].ends_with("     0      4"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
    }
}
