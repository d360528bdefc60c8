//! `tracer solisten`: listen calls with their result, backlog, protocol,
//! port and address, as libbpf-tools' solisten, on the
//! `sys_enter_listen`/`sys_exit_listen` tracepoints (libbpf-tools uses fexit
//! or kprobes on inet_listen).

use anyhow::{Context, Result};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::net::solisten::{Config, ListenEvent, ListenOffsets};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TracepointHook, WithEvents},
    },
    cli::Common,
    error::user_error,
    events,
    kernel::{btf::KernelBtf, privileges, process},
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        fs::syscall_tracepoints,
        net::{fd_socket, sock},
    },
};

const TOOL: &str = "solisten";

/// `SOCK_STREAM`, `SOCK_DGRAM` (the values of x86, arm64 and most others).
const SOCK_STREAM: u16 = 1;
const SOCK_DGRAM: u16 = 2;

/// Trace listen syscalls.
///
/// Examples:
///   tracer solisten             # trace listen syscalls
///   tracer solisten -t          # output with timestamp
///   tracer solisten -p 1216     # only trace PID 1216
///
/// RET is 0 or -errno; BACKLOG as passed (the kernel caps it at
/// net.core.somaxconn); PROTO the socket's type and family (TCPv4, ...);
/// PORT and ADDR where the socket listens (a socket listening unbound was
/// just given a port). Only IPv4 and IPv6 sockets are shown. -t prints
/// seconds since start under TIME(s), as libbpf-tools' header says (it
/// prints the wall clock there).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// One JSON object per listen (schema in README)
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
        Ok(Self { config: Config { target_pid: args.pid.unwrap_or(0), _pad: 0 } })
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
        "{TOOL}: using {kind} on syscalls:sys_enter_listen, sys_exit_listen, {} buffer",
        if setup.ring { "ring" } else { "perf" }
    );
    let mut printer = Printer {
        json: args.json,
        time: TimeColumns { clock: false, since_start: args.timestamp, start_ns: events::monotonic_ns() },
    };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: ListenOffsets,
    ring: bool,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    syscall_tracepoints::available(TOOL, ["listen"])?;
    let btf = KernelBtf::required(btf, TOOL, "finds the listening socket through kernel structures")?;
    let unresolved = |err: anyhow::Error| user_error!("this kernel cannot serve {TOOL}: {err:#}");
    let mut offsets = ListenOffsets::UNRESOLVED;
    offsets.fd = fd_socket::offsets(btf).map_err(unresolved)?;
    offsets.endpoints = sock::endpoint_offsets(btf).map_err(unresolved)?;
    let args = syscall_tracepoints::enter_args("listen")?;
    offsets.enter_fd = syscall_tracepoints::arg_offset(&args, "listen", 0, &["fd"])?;
    offsets.enter_backlog = syscall_tracepoints::arg_offset(&args, "listen", 1, &["backlog"])?;
    offsets.exit_ret = syscall_tracepoints::exit_ret("listen")?;
    let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
    Ok(Setup { config: plan.config, offsets, ring })
}

const HOOKS: [TracepointHook; 2] = [
    TracepointHook { category: "syscalls", name: "sys_enter_listen", program: "solisten_enter" },
    TracepointHook { category: "syscalls", name: "sys_exit_listen", program: "solisten_exit" },
];

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        let object = if setup.ring { bpf::objects::SOLISTEN } else { bpf::objects::SOLISTEN_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("SOLISTEN_CONFIG", &setup.config, true);
            loader.override_global("LISTEN_OFFSETS", &setup.offsets, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, None).context("cannot attach the listen tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One listen call as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Listen {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ret: i32,
    pub backlog: i32,
    /// TCPv4, UDPv6, ...
    pub protocol: String,
    pub port: u16,
    pub addr: std::net::IpAddr,
    pub comm: Vec<u8>,
}

impl Listen {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<ListenEvent>() {
            return None;
        }
        let event = events::decode(bytes, ListenEvent::ZERO);
        let addr = sock::address(event.family, event.addr)?;
        let kind = match event.sock_type {
            SOCK_STREAM => "TCP",
            SOCK_DGRAM => "UDP",
            _ => "UNK",
        };
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            tid: event.tid,
            ret: event.ret,
            backlog: event.backlog,
            protocol: format!("{kind}v{}", if addr.is_ipv4() { 4 } else { 6 }),
            port: event.port,
            addr,
            comm: escape::until_nul(&event.comm).to_vec(),
        })
    }
}

#[derive(Serialize)]
struct JsonListen {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    ret: i32,
    backlog: i32,
    protocol: String,
    port: u16,
    addr: String,
}

struct Printer {
    json: bool,
    time: TimeColumns,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        format!(
            "{}{:<7} {:<16} {:<3} {:<7} {:<5} {:<5} ADDR\n",
            self.time.header(),
            "PID",
            "COMM",
            "RET",
            "BACKLOG",
            "PROTO",
            "PORT"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let listen = Listen::decode(bytes)?;
        if self.json {
            let record = JsonListen {
                kind: "listen",
                pid: listen.pid,
                tid: listen.tid,
                comm: escape::for_json(&listen.comm),
                ret: listen.ret,
                backlog: listen.backlog,
                protocol: listen.protocol,
                port: listen.port,
                addr: listen.addr.to_string(),
            };
            return Some(json::line_at(TOOL, events::wall_time(listen.timestamp_ns), &record));
        }
        Some(format!(
            "{}{:<7} {:<16} {:<3} {:<7} {:<5} {:<5} {}\n",
            self.time.cells(listen.timestamp_ns),
            listen.pid,
            escape::for_terminal(&listen.comm),
            listen.ret,
            listen.backlog,
            listen.protocol,
            listen.port,
            listen.addr
        ))
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::AF_INET;

    use super::*;

    #[test]
    fn decodes_protocol_and_address() {
        let mut event = ListenEvent::ZERO;
        event.sock_type = SOCK_STREAM;
        event.family = AF_INET;
        event.addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        event.port = 8080;
        event.backlog = 7;
        // SAFETY: plain repr(C) data.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<ListenEvent>())
        };
        let listen = Listen::decode(bytes).unwrap();
        assert_eq!((listen.protocol.as_str(), listen.port, listen.backlog), ("TCPv4", 8080, 7));
        assert_eq!(listen.addr.to_string(), "127.0.0.1");
    }
}
