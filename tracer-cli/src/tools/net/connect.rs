//! What tcpconnect and tcpconnlat share in userspace: one pair of BPF
//! objects (`tcpconnect`, `tcpconnect_compat`), their settings and offsets,
//! attaching each tool's programs, and decoding a connect event.

use anyhow::{Context, Result, anyhow};
use aya::{EbpfLoader, maps::MapType};
use tracer_common::{
    net::connect::{Config, ConnectEvent, ConnectOffsets, MAX_PORTS},
    offsets::TaskOffsets,
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TracepointHook, WithEvents},
    },
    error::{refuse, user_error},
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        cgroup::CgroupFilter,
        offsets::{TaskFields, task_offsets},
        tracefs,
    },
    output::escape,
    tools::net::sock::{self, Flow, Ports},
};

/// The filters both tools take, validated.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    /// AF_INET, AF_INET6 or 0.
    pub family: u16,
    pub ports: Option<Ports>,
    pub cgroup: Option<CgroupFilter>,
    pub min_latency_ns: u64,
    /// tcpconnect --count.
    pub count: bool,
}

/// Everything loading needs, resolved once per run.
pub struct Setup {
    config: Config,
    offsets: ConnectOffsets,
    task_offsets: TaskOffsets,
    /// tp_btf and fentry targets (tcpconnlat's tracepoint, tcpconnect's functions).
    targets: AttachTargets,
    ring_buffer: bool,
}

/// tcpconnect's functions (fexit programs, one each; one kprobe pair for both).
pub const FUNCTIONS: [&str; 2] = ["tcp_v4_connect", "tcp_v6_connect"];

const STATE_TRACEPOINT: &str = "inet_sock_set_state";

pub fn prepare(tool: &str, filters: &Filters, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, tool, "reads the socket's addresses from struct sock")?;
    let mut config = Config::DEFAULT;
    config.target_pid = filters.pid.unwrap_or(0);
    config.target_uid = filters.uid.unwrap_or(u32::MAX);
    config.target_family = u32::from(filters.family);
    config.count = u32::from(filters.count);
    config.min_latency_ns = filters.min_latency_ns;
    if let Some(ports) = &filters.ports {
        if ports.0.len() > MAX_PORTS {
            refuse!("-P takes at most {MAX_PORTS} ports ({} given)", ports.0.len());
        }
        config.port_count = ports.0.len() as u32;
        config.ports[..ports.0.len()].copy_from_slice(&ports.0);
    }
    let mut groups = vec![TaskFields::Identity];
    if let Some(cgroup) = filters.cgroup {
        config.filter_cgroup = 1;
        config.cgroup_id = cgroup.id;
        config.cgroup_level = cgroup.level;
        groups.push(TaskFields::Cgroup);
    }
    let task_offsets =
        task_offsets(btf, &groups).map_err(|err| user_error!("this kernel cannot serve that request: {err:#}"))?;
    let mut offsets = ConnectOffsets::UNRESOLVED;
    offsets.endpoints = sock::endpoint_offsets(btf)?;
    Ok(Setup {
        config,
        offsets,
        task_offsets,
        targets: btf.attach_targets(&[STATE_TRACEPOINT], &FUNCTIONS),
        ring_buffer: aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false),
    })
}

impl Setup {
    /// Whether `kind` can read the socket's protocol: `sk_protocol` was a
    /// bitfield before 5.6, and then only the classic record says it.
    pub fn reads_protocol(&self, kind: HookKind) -> bool {
        kind == HookKind::Tracepoint || self.offsets.endpoints.sk_protocol != u32::MAX
    }

    fn load(&self, object: &bpf::Embedded, offsets: &ConnectOffsets, unused: &[&'static str]) -> Result<WithEvents> {
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("CONNECT_CONFIG", &self.config, true);
            loader.override_global("CONNECT_OFFSETS", offsets, true);
            loader.override_global("TASK_OFFSETS", &self.task_offsets, true);
            bpf::shrink_unused_maps(loader, unused);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        Ok((ebpf, events))
    }
}

/// tcpconnect's tracepoint path: the connect syscall's entry and exit, and
/// the SYN_SENT change between them.
const CONNECT_TRACEPOINTS: [TracepointHook; 3] = [
    TracepointHook { category: "syscalls", name: "sys_enter_connect", program: "tcpconnect_enter" },
    TracepointHook { category: "syscalls", name: "sys_exit_connect", program: "tcpconnect_exit" },
    TracepointHook { category: "sock", name: STATE_TRACEPOINT, program: "tcpconnect_state" },
];

/// tcpconnect through the first of `kinds` that attaches (fentry, kprobe,
/// tracepoint).
pub fn attach_connect(tool: &str, setup: &Setup, kinds: &[HookKind]) -> Result<Attached<WithEvents>> {
    let object = if setup.ring_buffer { bpf::objects::TCPCONNECT } else { bpf::objects::TCPCONNECT_COMPAT };
    let mut unused = vec!["CONNECT_STARTS"];
    if setup.config.count == 0 {
        unused.push("CONNECT_COUNTS");
    }
    hooks::first_that_attaches(tool, kinds, |kind| {
        let mut offsets = setup.offsets;
        match kind {
            HookKind::Fentry if !setup.ring_buffer => {
                // fexit programs live in the ring-buffer object (kernels
                // with fentry but no ring buffer, 5.5-5.7, take kprobes).
                Err(anyhow!("fentry needs a kernel with BPF ring buffers (5.8+)"))
            }
            HookKind::Fentry => {
                let (mut ebpf, events) = setup.load(object, &offsets, &unused)?;
                let btf = setup.targets.stub_btf()?;
                for (program, function) in
                    [("tcpconnect_v4_fexit", FUNCTIONS[0]), ("tcpconnect_v6_fexit", FUNCTIONS[1])]
                {
                    hooks::attach_function_program(&mut ebpf, program, function, Some(&btf))?;
                }
                Ok((ebpf, events))
            }
            HookKind::Kprobe => {
                let (mut ebpf, events) = setup.load(object, &offsets, &unused)?;
                for function in FUNCTIONS {
                    hooks::attach_function_program(&mut ebpf, "tcpconnect_kprobe", function, None)?;
                    hooks::attach_function_program(&mut ebpf, "tcpconnect_kretprobe", function, None)?;
                }
                Ok((ebpf, events))
            }
            HookKind::Tracepoint => {
                offsets.record = sock::state_record()?;
                let exit = tracefs::tracepoint_format("syscalls", "sys_exit_connect")
                    .context("this kernel has no connect syscall tracepoints (CONFIG_FTRACE_SYSCALLS)")?;
                offsets.exit_ret = tracefs::field(&exit, "sys_exit_connect", "ret")?.offset;
                let (mut ebpf, events) = setup.load(object, &offsets, &unused)?;
                hooks::attach_tracepoints(&mut ebpf, kind, &CONNECT_TRACEPOINTS, None)?;
                Ok((ebpf, events))
            }
            other => Err(anyhow!("{other} is not a tcpconnect hook")),
        }
    })
}

const LATENCY_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sock", name: STATE_TRACEPOINT, program: "tcpconnlat_state" }];

/// tcpconnlat through the first of `kinds` that attaches (tp_btf, raw_tp,
/// tracepoint on inet_sock_set_state).
pub fn attach_latency(tool: &str, setup: &Setup, kinds: &[HookKind]) -> Result<Attached<WithEvents>> {
    let kinds: Vec<HookKind> = kinds.iter().copied().filter(|&kind| setup.reads_protocol(kind)).collect();
    if kinds.is_empty() {
        refuse!("this kernel's struct sock has no plain sk_protocol field: use --hook tracepoint");
    }
    hooks::first_that_attaches(tool, &kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            offsets.record = sock::state_record()?;
        }
        let object = bpf::object_for(kind, bpf::objects::TCPCONNECT, bpf::objects::TCPCONNECT_COMPAT);
        let (mut ebpf, events) = setup.load(object, &offsets, &["CONNECT_THREADS", "CONNECT_COUNTS"])?;
        hooks::attach_tracepoints(&mut ebpf, kind, &LATENCY_HOOK, Some(&setup.targets))?;
        Ok((ebpf, events))
    })
}

/// One connect as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Connection {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub pid: u32,
    pub uid: u32,
    pub ret: i32,
    pub comm: Vec<u8>,
    pub flow: Flow,
}

impl Connection {
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<ConnectEvent>() {
            return None;
        }
        let event = events::decode(bytes, ConnectEvent::ZERO);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            latency_ns: event.latency_ns,
            pid: event.pid,
            uid: event.uid,
            ret: event.ret,
            comm: escape::until_nul(&event.comm).to_vec(),
            flow: Flow::decode(&event.endpoints)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::net::connect::AF_INET6;

    use super::*;

    #[test]
    fn decodes_a_connect_event() {
        let mut event = ConnectEvent::ZERO;
        event.pid = 42;
        event.ret = -115;
        event.latency_ns = 31_000_000;
        event.comm[..4].copy_from_slice(b"curl");
        event.endpoints.family = AF_INET6;
        event.endpoints.laddr = std::net::Ipv6Addr::LOCALHOST.octets();
        event.endpoints.raddr = std::net::Ipv6Addr::LOCALHOST.octets();
        event.endpoints.rport = 443;
        // SAFETY: plain data.
        let bytes = unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(&event).cast::<u8>(), std::mem::size_of::<ConnectEvent>())
        };
        let connection = Connection::decode(bytes).unwrap();
        assert_eq!((connection.pid, connection.ret, connection.comm.as_slice()), (42, -115, &b"curl"[..]));
        assert_eq!((connection.flow.rport, connection.flow.ip_version()), (443, 6));
        assert!(Connection::decode(&bytes[..10]).is_none());
    }
}
