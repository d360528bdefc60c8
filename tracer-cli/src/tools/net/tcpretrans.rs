//! `tracer tcpretrans`: TCP retransmits as they happen, or counted per flow
//! in the kernel (`-c`), as bcc's tcpretrans, on the tcp:tcp_retransmit_skb
//! tracepoint; tail loss probes (`-l`) by fentry or kprobe on
//! tcp_send_loss_probe, which has no tracepoint.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aya::{EbpfLoader, maps::HashMap as AyaHashMap};
use serde::Serialize;
use tracer_common::net::tcpretrans::{Config, FlowKey, RetransEvent, RetransOffsets, drop_reason, kind};

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
    output::{self, json, lost::EventLoss, time::local_hms_of},
    runner::{Runner, Schedule},
    tools::{
        event_tool::{self, EventPrinter},
        net::sock::{self, Flow, tcp_state_name},
    },
};

const TOOL: &str = "tcpretrans";
const TLP_FUNCTION: &str = "tcp_send_loss_probe";

/// Trace TCP retransmits.
///
/// One line per retransmitted skb (T `R`), or with -l per tail loss probe
/// attempt (T `L`). PID is the task current at the time: retransmits run
/// from timers and softirq, so it is usually 0. With -c, retransmitted
/// segments (what the kernel adds to TcpRetransSegs; one skb may carry
/// several) are counted per flow in the kernel and printed at the end.
///
/// Examples:
///   tracer tcpretrans           # trace TCP retransmits
///   tracer tcpretrans -l        # include TLP attempts (needs fentry or kprobes)
///   tracer tcpretrans -c        # count retransmits per flow, print at Ctrl-C
///   tracer tcpretrans -4        # trace IPv4 family only
///   tracer tcpretrans -6        # trace IPv6 family only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include tail loss probe attempts (tcp_send_loss_probe: fentry or kprobe)
    #[arg(short = 'l', long = "lossprobe")]
    pub loss_probes: bool,
    /// Count retransmits per flow instead of printing each
    #[arg(short = 'c', long = "count")]
    pub count: bool,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per retransmit (or per flow with -c; schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind for the retransmit tracepoint
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub loss_probes: bool,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let config = Config {
            target_family: u32::from(sock::family_filter(args.ipv4, args.ipv6)),
            count: u32::from(args.count),
        };
        Ok(Self {
            config,
            loss_probes: args.loss_probes,
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, loss_probes: false, hooks: vec![kind] }
    }
}

const RETRANSMIT_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "tcp", name: "tcp_retransmit_skb", program: "tcpretrans_retransmit" }];

const LOSS_REASONS: &[(&str, &str)] = &[("flow_map_full", "counts: too many flows for the flow map")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on tcp:tcp_retransmit_skb");
    if args.count {
        return count(runner, loaded, &args);
    }
    let mut printer = Printer { json: args.json };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: RetransOffsets,
    loss_probes: bool,
    kinds: Vec<HookKind>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads sockets and skbs at offsets from BTF")?;
    let mut offsets = RetransOffsets::UNRESOLVED;
    offsets.endpoints = sock::endpoint_offsets(btf)?;
    offsets.skc_state = btf.field("sock_common", "skc_state")?.offset;
    // tcp_skb_pcount(): TCP_SKB_CB(skb)->tcp_gso_segs, in skb->cb.
    offsets.skb_gso_segs = btf.field("sk_buff", "cb")?.offset + btf.field("tcp_skb_cb", "tcp_gso_segs")?.offset;
    let functions: &[&str] = if plan.loss_probes { &[TLP_FUNCTION] } else { &[] };
    Ok(Setup {
        config: plan.config,
        offsets,
        loss_probes: plan.loss_probes,
        kinds: plan.hooks.clone(),
        targets: Some(btf.attach_targets(&hooks::tracepoint_names(&RETRANSMIT_HOOK), functions)),
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    let mut attached = hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("tcp", "tcp_retransmit_skb")?;
            let field = |name| tracefs::field(&format, "tcp_retransmit_skb", name).map(|f| f.offset);
            offsets.tp_skaddr = field("skaddr")?;
            offsets.tp_skbaddr = field("skbaddr")?;
        }
        let object = bpf::object_for(kind, bpf::objects::TCPRETRANS, bpf::objects::TCPRETRANS_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPRETRANS_CONFIG", &setup.config, true);
            loader.override_global("RETRANS_OFFSETS", &offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &RETRANSMIT_HOOK, setup.targets.as_ref())?;
        Ok((ebpf, events))
    })?;
    if setup.loss_probes {
        attach_loss_probes(&mut attached.loaded.0, setup.targets.as_ref())?;
    }
    Ok(attached)
}

/// tcp_send_loss_probe by fentry, else kprobe, in the object already
/// attached; refused in one line where the kernel allows neither.
fn attach_loss_probes(ebpf: &mut aya::Ebpf, targets: Option<&AttachTargets>) -> Result<()> {
    let mut failures = Vec::new();
    for (kind, program) in [(HookKind::Fentry, "tcpretrans_tlp_fentry"), (HookKind::Kprobe, "tcpretrans_tlp_kprobe")] {
        let stub = match kind {
            HookKind::Fentry => match targets.map(AttachTargets::stub_btf).transpose() {
                Ok(stub) => stub,
                Err(err) => {
                    failures.push(format!("{kind}: {err:#}"));
                    continue;
                }
            },
            _ => None,
        };
        match hooks::attach_function_program(ebpf, program, TLP_FUNCTION, stub.as_ref()) {
            Ok(()) => {
                log::info!("{TOOL}: tail loss probes via {kind} on {TLP_FUNCTION}");
                return Ok(());
            }
            Err(err) => {
                log::info!("{TOOL}: tail loss probes: {kind} failed: {err:#}");
                failures.push(format!("{kind}: {}", root_cause(&err)));
            }
        }
    }
    refuse!(
        "tracer tcpretrans -l: tail loss probes have no tracepoint and this kernel allows neither fentry nor kprobes \
         on {TLP_FUNCTION} ({}); run without -l",
        failures.join("; ")
    )
}

fn root_cause(err: &anyhow::Error) -> String {
    err.root_cause().to_string()
}

/// One retransmit or loss probe as userspace sees it.
#[derive(Debug, PartialEq)]
pub struct Retransmit {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub flow: Flow,
    pub loss_probe: bool,
    pub segs: u16,
    pub state: &'static str,
}

impl Retransmit {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<RetransEvent>() {
            return None;
        }
        let event = events::decode(bytes, RetransEvent::ZERO);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            flow: Flow::decode(&event.endpoints)?,
            loss_probe: event.kind == kind::LOSS_PROBE,
            segs: event.segs,
            state: tcp_state_name(event.state as i32),
        })
    }
}

fn endpoint(address: std::net::IpAddr, port: u16) -> String {
    format!("{address}:{port}")
}

#[derive(Serialize)]
struct JsonRetransmit {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    family: u8,
    laddr: String,
    lport: u16,
    raddr: String,
    rport: u16,
    /// "R" (retransmit) or "L" (tail loss probe).
    t: &'static str,
    segs: u16,
    state: &'static str,
}

struct Printer {
    json: bool,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!(
            "{:<8} {:<7} {:<2} {:<20} {:1}> {:<20} {}\n",
            "TIME", "PID", "IP", "LADDR:LPORT", "T", "RADDR:RPORT", "STATE"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let retransmit = Retransmit::decode(bytes)?;
        let flow = retransmit.flow;
        let t = if retransmit.loss_probe { "L" } else { "R" };
        let when = events::wall_time(retransmit.timestamp_ns);
        if self.json {
            let record = JsonRetransmit {
                kind: "retransmit",
                pid: retransmit.pid,
                family: flow.ip_version(),
                laddr: flow.local.to_string(),
                lport: flow.lport,
                raddr: flow.remote.to_string(),
                rport: flow.rport,
                t,
                segs: retransmit.segs,
                state: retransmit.state,
            };
            return Some(json::line_at(TOOL, when, &record));
        }
        Some(format!(
            "{:<8} {:<7} {:<2} {:<20} {t:1}> {:<20} {}\n",
            local_hms_of(when),
            retransmit.pid,
            flow.ip_version(),
            endpoint(flow.local, flow.lport),
            endpoint(flow.remote, flow.rport),
            retransmit.state
        ))
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        const _: () = assert!(drop_reason::COUNT as usize == LOSS_REASONS.len() + 1);
        LOSS_REASONS
    }
}

/// Per-flow totals of `-c`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounts {
    pub segments: u64,
    pub loss_probes: u64,
}

#[derive(Serialize)]
struct JsonFlow {
    #[serde(rename = "type")]
    kind: &'static str,
    family: u8,
    laddr: String,
    lport: u16,
    raddr: String,
    rport: u16,
    retransmits: u64,
    loss_probes: u64,
}

/// The kernel's per-flow counts, one total per flow.
fn read_counts(ebpf: &aya::Ebpf) -> Result<BTreeMap<Flow, FlowCounts>> {
    let map: AyaHashMap<_, FlowKey, u64> =
        AyaHashMap::try_from(ebpf.map("FLOW_COUNTS").context("no FLOW_COUNTS map")?)?;
    let mut flows = BTreeMap::<Flow, FlowCounts>::new();
    for entry in map.iter() {
        let (key, value) = entry?;
        let Some(flow) = Flow::decode(&key.endpoints) else { continue };
        let counts = flows.entry(flow).or_default();
        if key.kind == kind::LOSS_PROBE {
            counts.loss_probes += value;
        } else {
            counts.segments += value;
        }
    }
    Ok(flows)
}

fn render_counts(flows: &BTreeMap<Flow, FlowCounts>, loss_probes: bool, json_lines: bool) -> String {
    let mut out = String::new();
    if !json_lines {
        out.push_str(&format!("{:<25} {:<25} {:<11}", "LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"));
        out.push_str(if loss_probes { " LOSS_PROBES\n" } else { "\n" });
    }
    let mut rows: Vec<_> = flows.iter().collect();
    rows.sort_by_key(|(flow, counts)| (std::cmp::Reverse(counts.segments + counts.loss_probes), **flow));
    for (flow, counts) in rows {
        if json_lines {
            let record = JsonFlow {
                kind: "flow",
                family: flow.ip_version(),
                laddr: flow.local.to_string(),
                lport: flow.lport,
                raddr: flow.remote.to_string(),
                rport: flow.rport,
                retransmits: counts.segments,
                loss_probes: counts.loss_probes,
            };
            out.push_str(&json::line(TOOL, &record));
            continue;
        }
        let (local, remote) = (endpoint(flow.local, flow.lport), endpoint(flow.remote, flow.rport));
        if loss_probes {
            out.push_str(&format!("{local:<25} {remote:<25} {:<11} {}", counts.segments, counts.loss_probes));
        } else {
            out.push_str(&format!("{local:<25} {remote:<25} {}", counts.segments));
        }
        out.push('\n');
    }
    out
}

/// `-c`: counts in the kernel until Ctrl-C (or SIGTERM), then one table.
fn count(runner: Runner, (ebpf, _buffers): WithEvents, args: &Args) -> Result<()> {
    if !args.json {
        output::emit("Tracing retransmits ... Hit Ctrl-C to end\n")?;
    }
    runner.run(Schedule { interval: None, count: None }, || Ok(()))?;
    let flows = read_counts(&ebpf)?;
    let mut loss = EventLoss::new(TOOL, LOSS_REASONS);
    let mut out = render_counts(&flows, args.loss_probes, args.json);
    out.push_str(&loss.check(&ebpf, 0, args.json, true)?);
    output::emit(&out)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use tracer_common::net::sock::{AF_INET, state};

    use super::*;

    fn bytes_of(event: &RetransEvent) -> Vec<u8> {
        // SAFETY: plain data.
        unsafe { std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), size_of::<RetransEvent>()) }
            .to_vec()
    }

    #[test]
    fn text_line_has_bcc_columns() {
        let mut event = RetransEvent::ZERO;
        event.endpoints.family = AF_INET;
        event.endpoints.laddr[..4].copy_from_slice(&[10, 0, 0, 1]);
        event.endpoints.raddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        event.endpoints.lport = 40000;
        event.endpoints.rport = 8080;
        event.kind = kind::RETRANSMIT;
        event.segs = 2;
        event.state = state::ESTABLISHED as u32;
        let line = Printer { json: false }.event(&bytes_of(&event)).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1..], ["0", "4", "10.0.0.1:40000", "R>", "10.0.0.2:8080", "ESTABLISHED"]);
        let header: Vec<String> = Printer { json: false }.header().split_whitespace().map(str::to_string).collect();
        assert_eq!(header, ["TIME", "PID", "IP", "LADDR:LPORT", "T>", "RADDR:RPORT", "STATE"]);
        event.kind = kind::LOSS_PROBE;
        let record: serde_json::Value =
            serde_json::from_str(&Printer { json: true }.event(&bytes_of(&event)).unwrap()).unwrap();
        assert_eq!((record["t"].as_str(), record["segs"].as_u64()), (Some("L"), Some(2)));
    }

    #[test]
    fn counts_render_busiest_flow_first() {
        let flow = |port| Flow {
            local: IpAddr::V4(Ipv4Addr::LOCALHOST),
            lport: port,
            remote: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rport: 80,
        };
        let flows = BTreeMap::from([
            (flow(1000), FlowCounts { segments: 3, loss_probes: 0 }),
            (flow(2000), FlowCounts { segments: 9, loss_probes: 1 }),
        ]);
        let text = render_counts(&flows, true, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS", "LOSS_PROBES"]
        );
        assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["127.0.0.1:2000", "127.0.0.1:80", "9", "1"]);
        let json_lines = render_counts(&flows, false, true);
        let first: serde_json::Value = serde_json::from_str(json_lines.lines().next().unwrap()).unwrap();
        assert_eq!((first["lport"].as_u64(), first["retransmits"].as_u64()), (Some(2000), Some(9)));
    }
}
