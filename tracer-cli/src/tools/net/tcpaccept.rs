//! `tracer tcpaccept`: one line per TCP connection accepted, with the
//! accepting process and both endpoints, as bcc's tcpaccept, on the
//! `sys_exit_accept`/`sys_exit_accept4` tracepoints (bcc uses a kretprobe
//! on inet_csk_accept, which this kind of host lacks).

use std::net::IpAddr;

use anyhow::{Context, Result};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::net::tcpaccept::{AcceptEvent, AcceptOffsets, Config, MAX_PORTS};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{btf::KernelBtf, privileges, process},
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        fs::syscall_tracepoints,
        net::{
            fd_socket,
            sock::{self, Flow, Ports, ports_arg},
        },
    },
};

const TOOL: &str = "tcpaccept";

/// The traced syscalls (accept4 is what libc's accept() calls on most
/// architectures; arm64 has no accept of its own).
const SYSCALLS: [&str; 2] = ["accept", "accept4"];

/// Trace TCP accepts.
///
/// Examples:
///   tracer tcpaccept            # trace all TCP accept()s
///   tracer tcpaccept -t         # include timestamps
///   tracer tcpaccept -P 80,81   # only trace port 80 and 81
///   tracer tcpaccept -p 181     # only trace PID 181
///   tracer tcpaccept -4         # trace IPv4 family
///   tracer tcpaccept -6         # trace IPv6 family
///
/// PID and COMM are the process that called accept()/accept4(), read at
/// the syscall's return; RADDR/RPORT the peer, LADDR/LPORT the local end
/// (the listening port). Connections accepted without those syscalls
/// (io_uring, in-kernel users) are not seen.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include time column on output (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    pub time: bool,
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Comma-separated list of local ports to trace (up to 16)
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = ports_arg)]
    pub ports: Option<Ports>,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per accepted connection (schema in README)
    #[arg(long)]
    pub json: bool,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let mut config = Config::DEFAULT;
        config.target_pid = args.pid.unwrap_or(0);
        config.target_family = u32::from(sock::family_filter(args.ipv4, args.ipv6));
        if let Some(Ports(ports)) = &args.ports {
            if ports.len() > MAX_PORTS {
                refuse!(
                    "-P names {} ports; tcpaccept filters up to {MAX_PORTS}: run one tracer per group",
                    ports.len()
                );
            }
            config.port_count = ports.len() as u32;
            config.ports[..ports.len()].copy_from_slice(ports);
        }
        Ok(Self { config })
    }

    /// The plan `tracer doctor` tries.
    pub fn probe() -> Self {
        Self { config: Config::DEFAULT }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!(
        "{TOOL}: using {kind} on syscalls:{}, {} buffer",
        setup.syscalls.iter().map(|name| format!("sys_exit_{name}")).collect::<Vec<_>>().join(", "),
        if setup.ring { "ring" } else { "perf" }
    );
    let mut printer = Printer {
        json: args.json,
        time: TimeColumns { clock: args.time, since_start: args.timestamp, start_ns: events::monotonic_ns() },
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: AcceptOffsets,
    /// The traced syscalls this kernel has tracepoints for.
    syscalls: Vec<&'static str>,
    /// Ring buffer (5.8+), else perf buffers.
    ring: bool,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let syscalls = syscall_tracepoints::available(TOOL, SYSCALLS)?;
    let btf = KernelBtf::required(btf, TOOL, "finds the accepted socket through kernel structures")?;
    let unresolved = |err: anyhow::Error| user_error!("this kernel cannot serve {TOOL}: {err:#}");
    let mut offsets = AcceptOffsets::UNRESOLVED;
    offsets.fd = fd_socket::offsets(btf).map_err(unresolved)?;
    offsets.endpoints = sock::endpoint_offsets(btf).map_err(unresolved)?;
    offsets.exit_ret = syscall_tracepoints::shared_exit_ret(&syscalls)?;
    let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
    Ok(Setup { config: plan.config, offsets, syscalls, ring })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        let object = if setup.ring { bpf::objects::TCPACCEPT } else { bpf::objects::TCPACCEPT_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPACCEPT_CONFIG", &setup.config, true);
            loader.override_global("ACCEPT_OFFSETS", &setup.offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        let hooks = syscall_tracepoints::exit_hooks(&setup.syscalls, "tcpaccept_exit");
        hooks::attach_tracepoints(&mut ebpf, kind, &hooks, None).context("cannot attach the accept tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One accepted connection as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Accept {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub fd: i32,
    pub comm: Vec<u8>,
    pub local: IpAddr,
    pub lport: u16,
    pub remote: IpAddr,
    pub rport: u16,
}

impl Accept {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<AcceptEvent>() {
            return None;
        }
        let event = events::decode(bytes, AcceptEvent::ZERO);
        let flow = Flow::decode(&event.endpoints)?;
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            tid: event.tid,
            fd: event.fd,
            comm: escape::until_nul(&event.comm).to_vec(),
            local: flow.local,
            lport: flow.lport,
            remote: flow.remote,
            rport: flow.rport,
        })
    }
}

#[derive(Serialize)]
struct JsonAccept {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    family: u8,
    raddr: String,
    rport: u16,
    laddr: String,
    lport: u16,
    fd: i32,
}

struct Printer {
    json: bool,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!(
            "{}{:<7} {:<16} {:<2} {:<16} {:<5} {:<16} {:<5}\n",
            self.time.header(),
            "PID",
            "COMM",
            "IP",
            "RADDR",
            "RPORT",
            "LADDR",
            "LPORT"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let accept = Accept::decode(bytes)?;
        let family = if accept.local.is_ipv4() { 4 } else { 6 };
        if self.json {
            let record = JsonAccept {
                kind: "accept",
                pid: accept.pid,
                tid: accept.tid,
                comm: escape::for_json(&accept.comm),
                family,
                raddr: accept.remote.to_string(),
                rport: accept.rport,
                laddr: accept.local.to_string(),
                lport: accept.lport,
                fd: accept.fd,
            };
            return Some(json::line_at(TOOL, events::wall_time(accept.timestamp_ns), &record));
        }
        Some(format!(
            "{}{:<7} {:<16} {:<2} {:<16} {:<5} {:<16} {:<5}\n",
            self.time.cells(accept.timestamp_ns),
            accept.pid,
            escape::for_terminal(&accept.comm),
            family,
            accept.remote.to_string(),
            accept.rport,
            accept.local.to_string(),
            accept.lport
        ))
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::{AF_INET, AF_INET6};

    use super::*;

    fn bytes(event: &AcceptEvent) -> Vec<u8> {
        // SAFETY: plain repr(C) data.
        unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), std::mem::size_of::<AcceptEvent>())
        }
        .to_vec()
    }

    #[test]
    fn decodes_and_prints_accepts() {
        let mut event = AcceptEvent::ZERO;
        event.pid = 42;
        event.comm[..5].copy_from_slice(b"a\x1bb\0c");
        event.endpoints.family = AF_INET;
        event.endpoints.laddr[..4].copy_from_slice(&[10, 0, 0, 1]);
        event.endpoints.raddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        event.endpoints.lport = 8080;
        event.endpoints.rport = 40000;
        let mut printer = Printer { json: false, time: TimeColumns { clock: false, since_start: false, start_ns: 0 } };
        let line = printer.event(&bytes(&event)).unwrap();
        assert_eq!(
            line,
            format!(
                "{:<7} {:<16} {:<2} {:<16} {:<5} {:<16} {:<5}\n",
                42, "a\\x1bb", 4, "10.0.0.2", 40000, "10.0.0.1", 8080
            )
        );
        event.endpoints.family = AF_INET6;
        event.endpoints.laddr = std::net::Ipv6Addr::LOCALHOST.octets();
        assert_eq!(Accept::decode(&bytes(&event)).unwrap().local.to_string(), "::1");
        event.endpoints.family = 1;
        assert!(Accept::decode(&bytes(&event)).is_none());
    }

    #[test]
    fn port_lists_go_to_the_kernel_and_too_many_are_refused() {
        let args = |ports: Option<Vec<u16>>| Args {
            time: false,
            timestamp: false,
            pid: None,
            ports: ports.map(Ports),
            ipv4: false,
            ipv6: true,
            json: false,
        };
        let plan = Plan::from_args(&args(Some(vec![80, 443]))).unwrap();
        assert_eq!((plan.config.port_count, &plan.config.ports[..2]), (2, &[80, 443][..]));
        assert_eq!(plan.config.target_family, u32::from(AF_INET6));
        assert!(Plan::from_args(&args(Some((1..=17).collect()))).is_err());
    }
}
