//! `tracer tcpdrop`: TCP packets the kernel dropped, with their addresses,
//! ports, socket state, TCP flags, the kernel's drop reason and the kernel
//! stack, as bcc's tcpdrop, on the skb:kfree_skb tracepoint.

use std::{collections::HashSet, net::IpAddr};

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::{
    net::tcpdrop::{Config, DropEvent, DropOffsets, IPS_OFFSET},
    stacks::MAX_STACK_DEPTH,
};

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
    output::{escape, json, time},
    runner::Runner,
    symbols::Symbols,
    tools::{
        event_tool::{self, EventPrinter},
        net::sock::{self, Flow},
    },
};

const TOOL: &str = "tcpdrop";

/// Trace TCP packets dropped by the kernel.
///
/// Each drop prints the packet's addresses and ports (source > destination),
/// the state of its socket (NONE when the kernel had not found one yet, e.g.
/// a netfilter drop at INPUT, which bcc does not show), its TCP flags, the
/// drop reason named by this kernel's `enum skb_drop_reason` (5.17+; none
/// before), and the kernel stack. Reasons up to NOT_SPECIFIED are not drops
/// worth showing, as in bcc.
///
/// Examples:
///   tracer tcpdrop              # trace kernel TCP drops
///   tracer tcpdrop -4           # trace IPv4 family only
///   tracer tcpdrop -6           # trace IPv6 family only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per drop (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub family: u16,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Self {
        Self {
            family: sock::family_filter(args.ipv4, args.ipv6),
            hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS),
        }
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { family: 0, hooks: vec![kind] }
    }
}

/// The program stems, by kfree_skb's argument count (tp_btf, raw_tp).
fn hook_for(args: usize) -> [TracepointHook; 1] {
    let program = match args {
        0..=2 => "tcpdrop_kfree",
        3 => "tcpdrop_reason",
        _ => "tcpdrop_rxsk",
    };
    [TracepointHook { category: "skb", name: "kfree_skb", program }]
}

/// The classic tracepoint's one program reads the record's optional fields.
const TP_HOOK: [TracepointHook; 1] = [TracepointHook { category: "skb", name: "kfree_skb", program: "tcpdrop_kfree" }];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on skb:kfree_skb");
    if setup.reasons.is_empty() {
        log::info!("{TOOL}: this kernel has no drop reasons (5.17+): stacks only");
    }
    let mut printer = Printer { json: args.json, reasons: setup.reasons, symbols: Symbols::new() };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: DropOffsets,
    kinds: Vec<HookKind>,
    /// kfree_skb's arguments as BPF sees them (tp_btf, raw_tp).
    args: usize,
    targets: AttachTargets,
    /// `enum skb_drop_reason` (empty before 5.17): value -> name.
    reasons: Vec<(i64, String)>,
}

/// The kernel's drop reasons, named as its kfree_skb format prints them
/// (without the `SKB_DROP_REASON_` prefix).
fn drop_reasons(btf: &KernelBtf) -> Vec<(i64, String)> {
    btf.enum_members("skb_drop_reason")
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (value, name.strip_prefix("SKB_DROP_REASON_").unwrap_or(&name).to_owned()))
        .collect()
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads packet headers through struct sk_buff")?;
    let skb = |field: &str| btf.field("sk_buff", field);
    let mut offsets = DropOffsets::UNRESOLVED;
    offsets.skb_head = skb("head")?.offset;
    offsets.skb_sk = skb("sk")?.offset;
    for (name, slot) in
        [("network_header", &mut offsets.skb_network_header), ("transport_header", &mut offsets.skb_transport_header)]
    {
        let field = skb(name)?;
        if field.size != 2 {
            refuse!("this kernel's sk_buff.{name} is {} bytes, not the 2 tcpdrop reads", field.size);
        }
        *slot = field.offset;
    }
    offsets.skc_state = btf.field("sock_common", "skc_state")?.offset;
    let reasons = drop_reasons(btf);
    let not_specified = reasons.iter().find(|(_, name)| name == "NOT_SPECIFIED").map(|&(value, _)| value);
    if !reasons.is_empty() && not_specified.is_none() {
        refuse!("this kernel's enum skb_drop_reason has no SKB_DROP_REASON_NOT_SPECIFIED: tcpdrop cannot tell drops");
    }
    let config =
        Config { target_family: u32::from(plan.family), skip_reasons_up_to: not_specified.unwrap_or(0) as u32 };
    let args = btf.tracepoint_arg_count("kfree_skb").unwrap_or(0);
    let names = hooks::tracepoint_names(&hook_for(args));
    Ok(Setup { config, offsets, kinds: plan.hooks.clone(), args, targets: btf.attach_targets(&names, &[]), reasons })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        let hook = if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("skb", "kfree_skb")?;
            let field = |name| tracefs::field(&format, "kfree_skb", name).map(|f| f.offset);
            offsets.tp_skbaddr = field("skbaddr")?;
            offsets.tp_reason = field("reason").unwrap_or(u32::MAX);
            offsets.tp_rx_sk = field("rx_sk").unwrap_or(u32::MAX);
            TP_HOOK
        } else {
            hook_for(setup.args)
        };
        log::info!("{TOOL}: {kind} program {}", hook[0].program);
        let object = bpf::object_for(kind, bpf::objects::TCPDROP, bpf::objects::TCPDROP_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPDROP_CONFIG", &setup.config, true);
            loader.override_global("DROP_OFFSETS", &offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &hook, Some(&setup.targets))?;
        Ok((ebpf, events))
    })
}

/// One dropped packet as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub comm: Vec<u8>,
    pub ip: u8,
    pub saddr: IpAddr,
    pub sport: u16,
    pub daddr: IpAddr,
    pub dport: u16,
    /// 0: the packet had no socket yet.
    pub state: u8,
    pub tcpflags: u8,
    pub reason: u32,
    pub stack: Vec<u64>,
}

impl Packet {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < IPS_OFFSET {
            return None;
        }
        let event = events::decode(bytes, DropEvent::ZERO);
        let flow = Flow::decode(&event.packet)?;
        let frames = (event.frames as usize).min(MAX_STACK_DEPTH).min((bytes.len() - IPS_OFFSET) / 8);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            comm: escape::until_nul(&event.comm).to_vec(),
            ip: flow.ip_version(),
            saddr: flow.local,
            sport: flow.lport,
            daddr: flow.remote,
            dport: flow.rport,
            state: event.state,
            tcpflags: event.tcpflags,
            reason: event.reason,
            stack: event.ips[..frames].to_vec(),
        })
    }
}

/// TCP header flags as bcc's `flags2str` names them, lowest bit first.
pub fn tcp_flags(flags: u8) -> String {
    const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let set: Vec<&str> = NAMES.iter().enumerate().filter(|(bit, _)| flags & (1 << bit) != 0).map(|(_, n)| *n).collect();
    set.join("|")
}

/// The stack from the kernel function that dropped the packet: on tp_btf
/// and raw_tp, `bpf_get_stack` starts in our program and the tracepoint's
/// BPF runner (`bpf_prog_<tag>_tcpdrop_*`, `bpf_trace_run4`), which say
/// nothing about the drop.
fn own_frames_skipped(frames: Vec<&str>) -> Vec<&str> {
    let ours = |name: &&&str| {
        name.starts_with("bpf_prog_") || name.starts_with("bpf_trace_run") || name.starts_with("__bpf_trace_")
    };
    let skip = frames.iter().take_while(ours).count();
    frames[skip..].to_vec()
}

fn state_name(state: u8) -> &'static str {
    if state == 0 { "NONE" } else { sock::tcp_state_name(i32::from(state)) }
}

#[derive(Serialize)]
struct JsonDrop<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    comm: String,
    family: u8,
    saddr: String,
    sport: u16,
    daddr: String,
    dport: u16,
    /// Null when the packet had no socket.
    state: Option<&'static str>,
    tcpflags: String,
    /// Null on kernels without drop reasons.
    reason: Option<&'a str>,
    reason_code: Option<u32>,
    stack: Vec<&'a str>,
}

const LOSS_REASONS: &[(&str, &str)] = &[("stack_missed", "kernel stacks: not captured (event sent without)")];

struct Printer {
    json: bool,
    reasons: Vec<(i64, String)>,
    symbols: Symbols,
}

impl Printer {
    /// The reason's name; None where the kernel has no reasons.
    fn reason(&self, code: u32) -> Option<&str> {
        if self.reasons.is_empty() {
            return None;
        }
        Some(self.reasons.iter().find(|&&(value, _)| value == i64::from(code)).map_or("UNKNOWN", |(_, name)| name))
    }
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!(
            "{:<8} {:<7} {:<2} {:<20} > {:<20} {:<20} {}\n",
            "TIME", "PID", "IP", "SADDR:SPORT", "DADDR:DPORT", "STATE (FLAGS)", "REASON (CODE)"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let packet = Packet::decode(bytes)?;
        self.symbols.resolve_kernel(&packet.stack.iter().copied().collect::<HashSet<u64>>());
        let frames = own_frames_skipped(packet.stack.iter().map(|&addr| self.symbols.kernel(addr)).collect());
        let reason = self.reason(packet.reason);
        if self.json {
            let record = JsonDrop {
                kind: "drop",
                pid: packet.pid,
                comm: escape::for_json(&packet.comm),
                family: packet.ip,
                saddr: packet.saddr.to_string(),
                sport: packet.sport,
                daddr: packet.daddr.to_string(),
                dport: packet.dport,
                state: (packet.state != 0).then(|| state_name(packet.state)),
                tcpflags: tcp_flags(packet.tcpflags),
                reason,
                reason_code: reason.map(|_| packet.reason),
                stack: frames,
            };
            return Some(json::line_at(TOOL, events::wall_time(packet.timestamp_ns), &record));
        }
        let reason = reason.map_or_else(|| "-".to_owned(), |name| format!("{name} ({})", packet.reason));
        let mut out = format!(
            "{:<8} {:<7} {:<2} {:<20} > {:<20} {:<20} {}\n",
            time::local_hms_of(events::wall_time(packet.timestamp_ns)),
            packet.pid,
            packet.ip,
            format!("{}:{}", packet.saddr, packet.sport),
            format!("{}:{}", packet.daddr, packet.dport),
            format!("{} ({})", state_name(packet.state), tcp_flags(packet.tcpflags)),
            reason
        );
        if frames.is_empty() {
            out.push_str("\t[stack not captured]\n");
        }
        for frame in frames {
            out.push_str(&format!("\t{}\n", escape::for_terminal(frame.as_bytes())));
        }
        out.push('\n');
        Some(out)
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        LOSS_REASONS
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::{AF_INET, AF_INET6};

    use super::*;

    fn bytes_of(event: &DropEvent, frames: usize) -> Vec<u8> {
        // SAFETY: DropEvent is plain data.
        let all = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), std::mem::size_of::<DropEvent>())
        };
        all[..IPS_OFFSET + frames * 8].to_vec()
    }

    #[test]
    fn decodes_packets_and_only_the_frames_sent() {
        let mut event = DropEvent::ZERO;
        event.packet.family = AF_INET;
        event.packet.laddr[..4].copy_from_slice(&[10, 0, 0, 1]);
        event.packet.raddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        event.packet.lport = 40000;
        event.packet.rport = 80;
        event.tcpflags = 0x12;
        event.frames = 2;
        event.ips[0] = 0xffff_ffff_8100_0000;
        event.ips[1] = 0xffff_ffff_8100_0010;
        let packet = Packet::decode(&bytes_of(&event, 2)).unwrap();
        assert_eq!((packet.saddr.to_string(), packet.sport), ("10.0.0.1".into(), 40000));
        assert_eq!((packet.daddr.to_string(), packet.dport, packet.ip), ("10.0.0.2".into(), 80, 4));
        assert_eq!(packet.stack.len(), 2);
        // A frame count larger than what arrived is cut to what arrived.
        event.frames = 5;
        assert_eq!(Packet::decode(&bytes_of(&event, 2)).unwrap().stack.len(), 2);
        event.packet.family = AF_INET6;
        assert_eq!(Packet::decode(&bytes_of(&event, 0)).unwrap().ip, 6);
        assert!(Packet::decode(&bytes_of(&event, 0)[..IPS_OFFSET - 1]).is_none());
    }

    #[test]
    fn flags_are_named_as_bcc_names_them() {
        assert_eq!(tcp_flags(0x02), "SYN");
        assert_eq!(tcp_flags(0x12), "SYN|ACK");
        assert_eq!(tcp_flags(0x11), "FIN|ACK");
        assert_eq!(tcp_flags(0), "");
        assert_eq!(state_name(0), "NONE");
        assert_eq!(state_name(10), "LISTEN");
    }

    #[test]
    fn the_programs_own_frames_are_not_shown() {
        let frames =
            vec!["bpf_prog_50f7285338b13f76_tcpdrop_rxsk_btf", "bpf_trace_run4", "sk_skb_reason_drop", "tcp_v4_rcv"];
        assert_eq!(own_frames_skipped(frames), ["sk_skb_reason_drop", "tcp_v4_rcv"]);
        assert_eq!(own_frames_skipped(vec!["nf_hook_slow"]), ["nf_hook_slow"]);
    }

    #[test]
    fn reason_names_come_from_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let reasons = drop_reasons(&btf);
        let printer = Printer { json: false, reasons, symbols: Symbols::new() };
        let code = btf.enum_value("skb_drop_reason", "SKB_DROP_REASON_NETFILTER_DROP").unwrap() as u32;
        assert_eq!(printer.reason(code), Some("NETFILTER_DROP"));
        assert_eq!(printer.reason(1 << 30), Some("UNKNOWN"));
        let none = Printer { json: false, reasons: Vec::new(), symbols: Symbols::new() };
        assert_eq!(none.reason(code), None);
    }
}
