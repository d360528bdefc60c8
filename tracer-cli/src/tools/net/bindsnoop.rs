//! `tracer bindsnoop`: bind calls on IPv4 and IPv6 sockets with their
//! result, protocol, socket options, bound device, port and address, as
//! libbpf-tools' bindsnoop, on the `sys_enter_bind`/`sys_exit_bind`
//! tracepoints (libbpf-tools uses kprobes on inet_bind/inet6_bind).

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use aya::{EbpfLoader, maps::MapType};
use serde::Serialize;
use tracer_common::{
    net::{
        bindsnoop::{BindEvent, BindOffsets, Config, FlagBits, MAX_PORTS, opt},
        fd_socket::FdSocketOffsets,
        sock::{IPPROTO_TCP, IPPROTO_UDP},
    },
    offsets::TaskOffsets,
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TracepointHook, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{
        btf::KernelBtf,
        cgroup::{self, CgroupFilter},
        offsets::{TaskFields, task_offsets},
        privileges, process,
    },
    output::{escape, json, time::TimeColumns},
    runner::Runner,
    tools::{
        event_tool::{self, EventPrinter},
        fs::syscall_tracepoints,
        net::{
            fd_socket,
            sock::{self, Ports, ports_arg},
        },
    },
};

const TOOL: &str = "bindsnoop";

/// Trace bind syscalls.
///
/// Examples:
///   tracer bindsnoop            # trace all bind syscalls
///   tracer bindsnoop -t         # include timestamps
///   tracer bindsnoop -x         # include errors on output
///   tracer bindsnoop -p 1216    # only trace PID 1216
///   tracer bindsnoop -c CG      # only trace processes under cgroup v2 path CG
///   tracer bindsnoop -P 80,81   # only trace port 80 and 81
///
/// Socket options are reported as:
///   SOL_IP     IP_FREEBIND              F....
///   SOL_IP     IP_TRANSPARENT           .T...
///   SOL_IP     IP_BIND_ADDRESS_NO_PORT  ..N..
///   SOL_SOCKET SO_REUSEADDR             ...R.
///   SOL_SOCKET SO_REUSEPORT             ....r
///
/// PORT and ADDR are what the caller asked for, except that a successful
/// bind to port 0 shows the port the kernel picked (libbpf-tools reads the
/// socket after the call, so its failed binds show port 0). RET is 0 or
/// -errno. -t prints seconds since start under TIME(s), as libbpf-tools'
/// header says (it prints the wall clock there).
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Include errors on output
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Comma-separated list of ports to trace (up to 16)
    #[arg(short = 'P', long = "ports", value_name = "PORTS", value_parser = ports_arg)]
    pub ports: Option<Ports>,
    /// Trace processes in this cgroup v2 directory (and below) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// One JSON object per bind (schema in README)
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
        config.include_errors = u32::from(args.failed);
        if let Some(CgroupFilter { id, level }) = args.cgroup.as_deref().map(cgroup::resolve).transpose()? {
            (config.filter_cgroup, config.cgroup_id, config.cgroup_level) = (1, id, level);
        }
        if let Some(Ports(ports)) = &args.ports {
            if ports.len() > MAX_PORTS {
                refuse!(
                    "-P names {} ports; bindsnoop filters up to {MAX_PORTS}: run one tracer per group",
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
        "{TOOL}: using {kind} on syscalls:sys_enter_bind, sys_exit_bind, {} buffer",
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
    offsets: BindOffsets,
    task: TaskOffsets,
    ring: bool,
}

/// Where a one-bit (or few-bit) flag of the socket is, from its bit position.
fn flag_at(bit_offset: u32, bits: u32) -> Result<FlagBits> {
    let (word, shift) = FdSocketOffsets::word_and_shift(bit_offset);
    ensure!(shift + bits <= 32, "a socket flag at bit {bit_offset} straddles two words");
    Ok(FlagBits { word, shift, bits })
}

/// The option flags, in `opt::*` order: inet_sock bitfields before 6.6,
/// bits of `inet_sock.inet_flags` (numbered by the INET_FLAGS_* enum) since.
fn option_flags(btf: &KernelBtf) -> Result<[FlagBits; opt::COUNT]> {
    let inet = |field: &str, flag: &str| -> Result<FlagBits> {
        if let Ok(bits) = btf.field_bits("inet_sock", field) {
            return flag_at(bits.bit_offset, bits.bits);
        }
        let flags = btf.field("inet_sock", "inet_flags")?.offset;
        let bit = u32::try_from(btf.enumerator(flag)?).context("negative INET_FLAGS_ value")?;
        flag_at(flags * 8 + bit, 1)
    };
    let common = |field: &str| -> Result<FlagBits> {
        let bits = btf.field_bits("sock_common", field)?;
        flag_at(bits.bit_offset, bits.bits)
    };
    Ok([
        inet("freebind", "INET_FLAGS_FREEBIND")?,
        inet("transparent", "INET_FLAGS_TRANSPARENT")?,
        inet("bind_address_no_port", "INET_FLAGS_BIND_ADDRESS_NO_PORT")?,
        common("skc_reuse")?,
        common("skc_reuseport")?,
    ])
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    syscall_tracepoints::available(TOOL, ["bind"])?;
    let btf = KernelBtf::required(btf, TOOL, "finds the bound socket through kernel structures")?;
    let unresolved = |err: anyhow::Error| user_error!("this kernel cannot serve {TOOL}: {err:#}");
    let mut offsets = BindOffsets::UNRESOLVED;
    offsets.fd = fd_socket::offsets(btf).map_err(unresolved)?;
    offsets.endpoints = sock::endpoint_offsets(btf).map_err(unresolved)?;
    offsets.bound_dev_if = btf.field("sock_common", "skc_bound_dev_if").map_err(unresolved)?.offset;
    offsets.opts = option_flags(btf).map_err(unresolved)?;
    let args = syscall_tracepoints::enter_args("bind")?;
    offsets.enter_fd = syscall_tracepoints::arg_offset(&args, "bind", 0, &["fd"])?;
    offsets.enter_addr = syscall_tracepoints::arg_offset(&args, "bind", 1, &["umyaddr", "addr"])?;
    offsets.exit_ret = syscall_tracepoints::exit_ret("bind")?;
    let task = if plan.config.filter_cgroup != 0 {
        task_offsets(btf, &[TaskFields::Cgroup])?
    } else {
        TaskOffsets::UNRESOLVED
    };
    let ring = aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false);
    Ok(Setup { config: plan.config, offsets, task, ring })
}

const HOOKS: [TracepointHook; 2] = [
    TracepointHook { category: "syscalls", name: "sys_enter_bind", program: "bindsnoop_enter" },
    TracepointHook { category: "syscalls", name: "sys_exit_bind", program: "bindsnoop_exit" },
];

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    // The syscall tracepoints exist only as classic tracepoints.
    hooks::first_that_attaches(TOOL, &[HookKind::Tracepoint], |kind| {
        let object = if setup.ring { bpf::objects::BINDSNOOP } else { bpf::objects::BINDSNOOP_COMPAT };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("BINDSNOOP_CONFIG", &setup.config, true);
            loader.override_global("BIND_OFFSETS", &setup.offsets, true);
            loader.override_global("TASK_OFFSETS", &setup.task, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &HOOKS, None).context("cannot attach the bind tracepoints")?;
        Ok((ebpf, events))
    })
}

/// One bind call as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Bind {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ret: i32,
    pub protocol: &'static str,
    pub opts: String,
    pub bound_dev_if: i32,
    pub port: u16,
    pub addr: std::net::IpAddr,
    pub comm: Vec<u8>,
}

impl Bind {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<BindEvent>() {
            return None;
        }
        let event = events::decode(bytes, BindEvent::ZERO);
        let opts = [(opt::FREEBIND, 'F'), (opt::TRANSPARENT, 'T'), (opt::BIND_ADDRESS_NO_PORT, 'N')]
            .into_iter()
            .chain([(opt::REUSEADDR, 'R'), (opt::REUSEPORT, 'r')])
            .map(|(bit, letter)| if event.opts & bit != 0 { letter } else { '.' })
            .collect();
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            pid: event.pid,
            tid: event.tid,
            ret: event.ret,
            protocol: match event.protocol {
                IPPROTO_TCP => "TCP",
                IPPROTO_UDP => "UDP",
                _ => "UNK",
            },
            opts,
            bound_dev_if: event.bound_dev_if,
            port: event.port,
            addr: sock::address(event.family, event.addr)?,
            comm: escape::until_nul(&event.comm).to_vec(),
        })
    }
}

#[derive(Serialize)]
struct JsonBind {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    tid: u32,
    comm: String,
    ret: i32,
    protocol: &'static str,
    opts: String,
    bound_dev_if: i32,
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
            "{}{:<7} {:<16} {:<3} {:<5} {:<5} {:<4} {:<5} ADDR\n",
            self.time.header(),
            "PID",
            "COMM",
            "RET",
            "PROTO",
            "OPTS",
            "IF",
            "PORT"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let bind = Bind::decode(bytes)?;
        if self.json {
            let record = JsonBind {
                kind: "bind",
                pid: bind.pid,
                tid: bind.tid,
                comm: escape::for_json(&bind.comm),
                ret: bind.ret,
                protocol: bind.protocol,
                opts: bind.opts,
                bound_dev_if: bind.bound_dev_if,
                port: bind.port,
                addr: bind.addr.to_string(),
            };
            return Some(json::line_at(TOOL, events::wall_time(bind.timestamp_ns), &record));
        }
        Some(format!(
            "{}{:<7} {:<16} {:<3} {:<5} {:<5} {:<4} {:<5} {}\n",
            self.time.cells(bind.timestamp_ns),
            bind.pid,
            escape::for_terminal(&bind.comm),
            bind.ret,
            bind.protocol,
            bind.opts,
            bind.bound_dev_if,
            bind.port,
            bind.addr
        ))
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::sock::AF_INET6;

    use super::*;

    #[test]
    fn decodes_options_protocol_and_address() {
        let mut event = BindEvent::ZERO;
        event.opts = opt::FREEBIND | opt::REUSEADDR;
        event.protocol = IPPROTO_UDP;
        event.family = AF_INET6;
        event.addr = std::net::Ipv6Addr::LOCALHOST.octets();
        event.port = 5353;
        event.ret = -98;
        // SAFETY: plain repr(C) data.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<BindEvent>())
        };
        let bind = Bind::decode(bytes).unwrap();
        assert_eq!((bind.opts.as_str(), bind.protocol, bind.addr.to_string()), ("F..R.", "UDP", "::1".into()));
        assert_eq!((bind.port, bind.ret), (5353, -98));
    }

    #[test]
    fn resolves_the_option_flags_on_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().expect("this test needs /sys/kernel/btf/vmlinux");
        let flags = option_flags(&btf).unwrap();
        assert!(flags.iter().all(|flag| flag.word != u32::MAX && flag.bits > 0), "{flags:?}");
    }
}
