//! `tracer tcpstates`: one line per TCP state change, with the time the
//! socket spent in the state it left, as BCC/libbpf-tools' tcpstates, on
//! the sock:inet_sock_set_state tracepoint.

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::net::tcpstates::{Config, StateEvent, StateOffsets, UNKNOWN_DELTA, drop_reason};

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
        privileges, tracefs,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        net::sock::{self, Flow, Ports, ports_arg, tcp_state_name},
    },
};

const TOOL: &str = "tcpstates";

/// Trace TCP session state changes and durations.
///
/// C-PID and C-COMM are the task current when the change ran, as in bcc:
/// connect() and close() run in the process's context, but changes driven
/// by arriving packets run in softirq, on behalf of whatever task was
/// interrupted (often none: PID 0). MS is the time spent in OLDSTATE,
/// 0.000 for a socket whose previous change came before tracing started.
///
/// Examples:
///   tracer tcpstates            # trace all TCP state changes
///   tracer tcpstates -t         # include timestamp column
///   tracer tcpstates -T         # include time column (HH:MM:SS)
///   tracer tcpstates -w         # wider columns (fit IPv6)
///   tracer tcpstates -L 80      # only trace local port 80
///   tracer tcpstates -L 80,81   # only trace local ports 80 and 81
///   tracer tcpstates -D 80      # only trace remote port 80
///   tracer tcpstates -4         # only trace IPv4 family
///   tracer tcpstates -6         # only trace IPv6 family
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
    /// Comma-separated list of local ports to trace (at most 8)
    #[arg(short = 'L', long = "localport", value_name = "PORTS", value_parser = ports_arg)]
    pub local_ports: Option<Ports>,
    /// Comma-separated list of remote ports to trace (at most 8)
    #[arg(short = 'D', long = "remoteport", value_name = "PORTS", value_parser = ports_arg)]
    pub remote_ports: Option<Ports>,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per state change (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let config = Config {
            target_family: u32::from(sock::family_filter(args.ipv4, args.ipv6)),
            local_ports: sock::port_filter(&args.local_ports, "-L")?,
            remote_ports: sock::port_filter(&args.remote_ports, "-D")?,
        };
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

const STATE_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sock", name: "inet_sock_set_state", program: "tcpstates_state" }];

const LOSS_REASONS: &[(&str, &str)] =
    &[("timestamps_full", "durations: too many sockets for the timestamp map (their next MS shows 0)")];

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
        wide: args.wide || args.ipv6,
        json: args.json,
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: StateOffsets,
    kinds: Vec<HookKind>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads socket addresses from struct sock")?;
    let mut offsets = StateOffsets::UNRESOLVED;
    offsets.endpoints = sock::endpoint_offsets(btf)?;
    let mut kinds = plan.hooks.clone();
    // sk_protocol was a bitfield before 5.6: then only the classic record,
    // which carries the protocol, can tell TCP from other protocols.
    if offsets.endpoints.sk_protocol == u32::MAX {
        kinds.retain(|&kind| kind == HookKind::Tracepoint);
    }
    if kinds.is_empty() {
        refuse!("this kernel's struct sock has no plain sk_protocol field: use --hook tracepoint");
    }
    Ok(Setup {
        config: plan.config,
        offsets,
        kinds,
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&STATE_HOOK), &[])),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("sock", "inet_sock_set_state")?;
            let field = |name| tracefs::field(&format, "inet_sock_set_state", name).map(|f| f.offset);
            offsets.tp_skaddr = field("skaddr")?;
            offsets.tp_oldstate = field("oldstate")?;
            offsets.tp_newstate = field("newstate")?;
            offsets.tp_protocol = field("protocol")?;
        }
        let object = bpf::object_for(kind, bpf::objects::TCPSTATES, bpf::objects::TCPSTATES_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPSTATES_CONFIG", &setup.config, true);
            loader.override_global("STATE_OFFSETS", &offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &STATE_HOOK, setup.targets.as_ref())?;
        Ok((ebpf, events))
    })
}

/// One state change as userspace sees it.
#[derive(Debug, PartialEq)]
pub struct Change {
    pub timestamp_ns: u64,
    pub skaddr: u64,
    pub pid: u32,
    pub comm: Vec<u8>,
    pub flow: Flow,
    pub oldstate: &'static str,
    pub newstate: &'static str,
    /// Milliseconds in the old state; None where it began before tracing.
    pub ms: Option<f64>,
}

impl Change {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<StateEvent>() {
            return None;
        }
        let event = events::decode(bytes, StateEvent::ZERO);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            skaddr: event.skaddr,
            pid: event.pid,
            comm: escape::until_nul(&event.comm).to_vec(),
            flow: Flow::decode(&event.endpoints)?,
            oldstate: tcp_state_name(i32::from(event.oldstate)),
            newstate: tcp_state_name(i32::from(event.newstate)),
            ms: (event.delta_ns != UNKNOWN_DELTA).then(|| event.delta_ns as f64 / 1e6),
        })
    }
}

#[derive(Serialize)]
struct JsonChange {
    #[serde(rename = "type")]
    kind: &'static str,
    skaddr: String,
    pid: u32,
    comm: String,
    family: u8,
    laddr: String,
    lport: u16,
    raddr: String,
    rport: u16,
    oldstate: &'static str,
    newstate: &'static str,
    ms: Option<f64>,
}

struct Printer {
    time: TimeColumns,
    wide: bool,
    json: bool,
}

impl Printer {
    fn widths(&self) -> (usize, usize) {
        if self.wide { (39, 16) } else { (15, 10) }
    }
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let (address, comm) = self.widths();
        format!(
            "{}{:<16} {:<7} {:<comm$} {:<address$} {:<5} {:<address$} {:<5} {:<11} -> {:<11} {}\n",
            self.time.header(),
            "SKADDR",
            "C-PID",
            "C-COMM",
            "LADDR",
            "LPORT",
            "RADDR",
            "RPORT",
            "OLDSTATE",
            "NEWSTATE",
            "MS"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let change = Change::decode(bytes)?;
        let flow = change.flow;
        if self.json {
            let record = JsonChange {
                kind: "state",
                skaddr: format!("{:x}", change.skaddr),
                pid: change.pid,
                comm: escape::for_json(&change.comm),
                family: flow.ip_version(),
                laddr: flow.local.to_string(),
                lport: flow.lport,
                raddr: flow.remote.to_string(),
                rport: flow.rport,
                oldstate: change.oldstate,
                newstate: change.newstate,
                ms: change.ms,
            };
            return Some(json::line_at(TOOL, events::wall_time(change.timestamp_ns), &record));
        }
        let (address, comm_width) = self.widths();
        let mut comm = escape::for_terminal(&change.comm);
        if let Some((cut, _)) = comm.char_indices().nth(comm_width) {
            comm.truncate(cut);
        }
        Some(format!(
            "{}{:<16x} {:<7} {:<comm_width$} {:<address$} {:<5} {:<address$} {:<5} {:<11} -> {:<11} {:.3}\n",
            self.time.cells(change.timestamp_ns),
            change.skaddr,
            change.pid,
            comm,
            flow.local.to_string(),
            flow.lport,
            flow.remote.to_string(),
            flow.rport,
            change.oldstate,
            change.newstate,
            change.ms.unwrap_or(0.0)
        ))
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        const _: () = assert!(drop_reason::COUNT as usize == LOSS_REASONS.len() + 1);
        LOSS_REASONS
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::{AF_INET, state};

    use super::*;

    fn bytes_of(event: &StateEvent) -> Vec<u8> {
        // SAFETY: plain data.
        unsafe { std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), size_of::<StateEvent>()) }.to_vec()
    }

    fn event() -> StateEvent {
        let mut event = StateEvent::ZERO;
        event.skaddr = 0xffff_8880_1234_5678;
        event.pid = 42;
        event.comm[..6].copy_from_slice(b"client");
        event.endpoints.family = AF_INET;
        event.endpoints.laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        event.endpoints.raddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        event.endpoints.lport = 40000;
        event.endpoints.rport = 8080;
        event.oldstate = state::SYN_SENT as u16;
        event.newstate = state::ESTABLISHED as u16;
        event.delta_ns = 1_500_000;
        event
    }

    fn printer(json: bool) -> Printer {
        Printer { time: TimeColumns { clock: false, since_start: false, start_ns: 0 }, wide: false, json }
    }

    #[test]
    fn text_line_has_bcc_columns() {
        let line = printer(false).event(&bytes_of(&event())).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields,
            [
                "ffff888012345678",
                "42",
                "client",
                "127.0.0.1",
                "40000",
                "127.0.0.1",
                "8080",
                "SYN_SENT",
                "->",
                "ESTABLISHED",
                "1.500"
            ]
        );
        let header: Vec<String> = printer(false).header().split_whitespace().map(str::to_string).collect();
        assert_eq!(header.len(), fields.len());
    }

    #[test]
    fn unknown_durations_are_null_in_json_and_zero_in_text() {
        let mut event = event();
        event.delta_ns = UNKNOWN_DELTA;
        let line = printer(true).event(&bytes_of(&event)).unwrap();
        let record: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["ms"], serde_json::Value::Null);
        assert_eq!((record["oldstate"].as_str(), record["newstate"].as_str()), (Some("SYN_SENT"), Some("ESTABLISHED")));
        assert!(printer(false).event(&bytes_of(&event)).unwrap().trim_end().ends_with(" 0.000"));
    }
}
