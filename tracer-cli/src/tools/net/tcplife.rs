//! `tracer tcplife`: one line per TCP session when it closes, with its
//! owner, addresses, bytes each way and duration, as BCC/libbpf-tools'
//! tcplife, on the sock:inet_sock_set_state tracepoint.

use std::net::IpAddr;

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::net::tcplife::{Config, SockOffsets, TcpEvent};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook, WithEvents},
    },
    cli::Common,
    error::refuse,
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        net::sock::{self, Flow, Ports, ports_arg},
    },
};

const TOOL: &str = "tcplife";

/// Trace the lifespan of TCP sessions and summarize.
///
/// Examples:
///   tracer tcplife              # trace all TCP connect()s
///   tracer tcplife -T           # include time column (HH:MM:SS)
///   tracer tcplife -w           # wider columns (fit IPv6)
///   tracer tcplife -p 181       # only trace PID 181
///   tracer tcplife -L 80        # only trace local port 80
///   tracer tcplife -L 80,81     # only trace local ports 80 and 81
///   tracer tcplife -D 80        # only trace remote port 80
///   tracer tcplife -4           # only trace IPv4 family
///   tracer tcplife -6           # only trace IPv6 family
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include time column on output (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    pub time: bool,
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Wide column output (fits IPv6 addresses)
    #[arg(short = 'w', long = "wide")]
    pub wide: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Comma-separated list of local ports to trace
    #[arg(short = 'L', long = "localport", value_name = "PORTS", value_parser = ports_arg)]
    pub local_ports: Option<Ports>,
    /// Comma-separated list of remote ports to trace
    #[arg(short = 'D', long = "remoteport", value_name = "PORTS", value_parser = ports_arg)]
    pub remote_ports: Option<Ports>,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per session (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub pid: Option<u32>,
    pub family: u16,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let family = sock::family_filter(args.ipv4, args.ipv6);
        Ok(Self { pid: args.pid, family, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { pid: None, family: 0, hooks: vec![kind] }
    }
}

const STATE_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sock", name: "inet_sock_set_state", program: "tcplife_state" }];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on sock:inet_sock_set_state");
    let mut printer = Printer {
        time: TimeColumns { clock: args.time, since_start: args.timestamp, start_ns: events::monotonic_ns() },
        address_width: if args.wide || args.ipv6 { 39 } else { 15 },
        args,
    };
    let json = printer.args.json;
    event_tool::stream(TOOL, runner, loaded, json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: SockOffsets,
    kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads byte counts from struct tcp_sock")?;
    let config = Config { target_pid: plan.pid.unwrap_or(0), target_family: u32::from(plan.family) };
    let tcp = |field: &str| btf.field("tcp_sock", field).map(|f| f.offset);
    let mut offsets = SockOffsets::UNRESOLVED;
    offsets.endpoints = sock::endpoint_offsets(btf)?;
    offsets.tcp_bytes_acked = tcp("bytes_acked")?;
    offsets.tcp_bytes_received = tcp("bytes_received")?;
    let mut kinds = plan.hooks.clone();
    // sk_protocol was a bitfield before 5.6: then only the classic record,
    // which carries the protocol, can tell TCP from other protocols.
    if offsets.endpoints.sk_protocol == u32::MAX {
        kinds.retain(|&kind| kind == HookKind::Tracepoint);
    }
    if kinds.is_empty() {
        refuse!("this kernel's struct sock has no plain sk_protocol field: use --hook tracepoint");
    }
    Ok(Setup { config, offsets, kinds, targets: Some(btf.attach_targets(&hooks::tracepoint_names(&STATE_HOOK), &[])) })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            offsets.record = sock::state_record()?;
        }
        let object = bpf::object_for(kind, bpf::objects::TCPLIFE, bpf::objects::TCPLIFE_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPLIFE_CONFIG", &setup.config, true);
            loader.override_global("SOCK_OFFSETS", &offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &STATE_HOOK, setup.targets.as_ref())?;
        Ok((ebpf, events))
    })
}

/// One closed session as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Session {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub comm: Vec<u8>,
    pub local: IpAddr,
    pub lport: u16,
    pub remote: IpAddr,
    pub rport: u16,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    pub span_ns: u64,
}

impl Session {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<TcpEvent>() {
            return None;
        }
        let event = events::decode(bytes, TcpEvent::ZERO);
        let flow = Flow::decode(&event.endpoints)?;
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            comm: escape::until_nul(&event.comm).to_vec(),
            local: flow.local,
            lport: flow.lport,
            remote: flow.remote,
            rport: flow.rport,
            tx_bytes: event.tx_bytes,
            rx_bytes: event.rx_bytes,
            span_ns: event.span_ns,
        })
    }
}

#[derive(Serialize)]
struct JsonSession {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    comm: String,
    family: u8,
    laddr: String,
    lport: u16,
    raddr: String,
    rport: u16,
    tx_bytes: u64,
    rx_bytes: u64,
    duration_ms: f64,
}

struct Printer {
    args: Args,
    time: TimeColumns,
    address_width: usize,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let width = self.address_width;
        format!(
            "{}{:<7} {:<16} {:<width$} {:<5} {:<width$} {:<5} {:>6} {:>6} {}\n",
            self.time.header(),
            "PID",
            "COMM",
            "LADDR",
            "LPORT",
            "RADDR",
            "RPORT",
            "TX_KB",
            "RX_KB",
            "MS"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let session = Session::decode(bytes)?;
        if !Ports::admits(&self.args.local_ports, session.lport)
            || !Ports::admits(&self.args.remote_ports, session.rport)
        {
            return None;
        }
        let duration_ms = session.span_ns as f64 / 1e6;
        if self.args.json {
            let record = JsonSession {
                kind: "tcp",
                pid: session.pid,
                comm: escape::for_json(&session.comm),
                family: if session.local.is_ipv4() { 4 } else { 6 },
                laddr: session.local.to_string(),
                lport: session.lport,
                raddr: session.remote.to_string(),
                rport: session.rport,
                tx_bytes: session.tx_bytes,
                rx_bytes: session.rx_bytes,
                duration_ms,
            };
            return Some(json::line_at(TOOL, events::wall_time(session.timestamp_ns), &record));
        }
        let width = self.address_width;
        Some(format!(
            "{}{:<7} {:<16} {:<width$} {:<5} {:<width$} {:<5} {:>6} {:>6} {:.2}\n",
            self.time.cells(session.timestamp_ns),
            session.pid,
            escape::for_terminal(&session.comm),
            session.local.to_string(),
            session.lport,
            session.remote.to_string(),
            session.rport,
            session.tx_bytes / 1024,
            session.rx_bytes / 1024,
            duration_ms
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use tracer_common::net::tcplife::{AF_INET, AF_INET6};

    use super::*;

    #[test]
    fn decodes_ipv4_and_ipv6_sessions() {
        let mut event = TcpEvent::ZERO;
        event.endpoints.family = AF_INET;
        event.endpoints.laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        event.endpoints.raddr[..4].copy_from_slice(&[10, 1, 2, 3]);
        event.endpoints.lport = 5000;
        event.endpoints.rport = 80;
        event.tx_bytes = 4096;
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<TcpEvent>())
        };
        let session = Session::decode(bytes).unwrap();
        assert_eq!(session.local.to_string(), "127.0.0.1");
        assert_eq!(session.remote.to_string(), "10.1.2.3");
        assert_eq!((session.lport, session.rport, session.tx_bytes), (5000, 80, 4096));

        event.endpoints.family = AF_INET6;
        event.endpoints.laddr = Ipv6Addr::LOCALHOST.octets();
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<TcpEvent>())
        };
        assert_eq!(Session::decode(bytes).unwrap().local.to_string(), "::1");
        event.endpoints.family = 1;
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<TcpEvent>())
        };
        assert!(Session::decode(bytes).is_none());
    }
}
