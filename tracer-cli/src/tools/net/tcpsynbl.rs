//! `tracer tcpsynbl`: the accept backlog of TCP listeners as a histogram
//! per listening port and limit, as libbpf-tools' tcpsynbl (which keys by
//! the limit alone).

use std::path::PathBuf;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::net::tcpsynbl::{Config, SynblOffsets, owner_parts};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FunctionProgram, HookKind, TracepointHook},
    },
    cli::{Common, count_arg, interval_arg},
    hist::{TableUnit, report::Owner},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, tracefs,
    },
    runner::Runner,
    tools::{
        hist_tool::{self, HistogramArgs, HistogramMaps, HistogramReporter, OwnerLabels},
        net::sock,
    },
};

const TOOL: &str = "tcpsynbl";

/// Summarize TCP SYN backlog as a histogram.
///
/// Each time a handshake completes on a listener, its accept backlog (the
/// connections waiting for accept()) is recorded, in one histogram per
/// listening port and backlog limit (`backlog_max`, listen()'s backlog
/// capped by net.core.somaxconn). On fentry/kprobes (tcp_v4_syn_recv_sock,
/// tcp_v6_syn_recv_sock, as libbpf-tools) a full queue shows as limit+1;
/// on the tracepoint path (sock:inet_sock_set_state, where those are
/// missing) only handshakes that got a socket are seen, 0 to the limit.
///
/// Examples:
///   tracer tcpsynbl              # trace syn backlog
///   tracer tcpsynbl -T 1 10      # print 1 second summaries, 10 times
///   tracer tcpsynbl -4           # trace IPv4 family only
///   tracer tcpsynbl -6           # trace IPv6 family only
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(value_parser = interval_arg)]
    pub interval: Option<u64>,
    /// Number of outputs
    #[arg(value_parser = count_arg, requires = "interval")]
    pub count: Option<u64>,
    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// One JSON object per histogram per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Also write each interval's histograms to FILE as an HdrHistogram
    /// interval log (combine logs from many hosts with `tracer merge`)
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

/// fentry, kprobes, then the tracepoint kinds.
const KINDS: &[HookKind] =
    &[HookKind::Fentry, HookKind::Kprobe, HookKind::TpBtf, HookKind::RawTp, HookKind::Tracepoint];

const FUNCTIONS: [(&str, &str); 2] =
    [("tcp_v4_syn_recv_sock", "tcpsynbl_v4_fentry"), ("tcp_v6_syn_recv_sock", "tcpsynbl_v6_fentry")];

const STATE_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "sock", name: "inet_sock_set_state", program: "tcpsynbl_state" }];

const MAP_SPARSE: &str = "TCPSYNBL_SPARSE";
const MAP_DROPS: &str = "TCPSYNBL_DROPS";
const LOST_REASONS: &[(&str, &str)] = &[("hist_map_full", "handshakes: too many listeners for the histogram map")];

#[derive(Clone, Debug)]
pub struct Plan {
    pub family: u16,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Self {
        Self { family: sock::family_filter(args.ipv4, args.ipv6), hooks: hooks::forced_or(args.hook.as_deref(), KINDS) }
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { family: 0, hooks: vec![kind] }
    }
}

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    let what = if matches!(kind, HookKind::Fentry | HookKind::Kprobe) {
        "tcp_v4_syn_recv_sock, tcp_v6_syn_recv_sock"
    } else {
        "sock:inet_sock_set_state"
    };
    log::info!("{TOOL}: using {kind} on {what}");
    let output = HistogramArgs {
        interval: args.interval,
        count: args.count,
        timestamp: args.timestamp,
        milliseconds: false,
        json: args.json,
        openmetrics: false,
        save: args.save.clone(),
    };
    let mut reporter = HistogramReporter::new(
        TOOL,
        HistogramMaps { dense: MAP_SPARSE, sparse: MAP_SPARSE, drops: MAP_DROPS },
        Some(Listeners),
        LOST_REASONS,
        &output,
    );
    reporter.unit = TableUnit::Backlog;
    hist_tool::run(runner, ebpf, "Tracing SYN backlog size. Ctrl-C to end.\n", &output, reporter)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: SynblOffsets,
    kinds: Vec<HookKind>,
    targets: AttachTargets,
    /// The syn_recv_sock functions this kernel's BTF has (fentry).
    functions: Vec<(&'static str, &'static str)>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads the listener's backlog from struct sock")?;
    let mut offsets = SynblOffsets::UNRESOLVED;
    offsets.endpoints = sock::endpoint_offsets(btf)?;
    offsets.sk_ack_backlog = btf.field("sock", "sk_ack_backlog")?.offset;
    offsets.sk_max_ack_backlog = btf.field("sock", "sk_max_ack_backlog")?.offset;
    let mut kinds = plan.hooks.clone();
    // sk_protocol was a bitfield before 5.6: then only the classic record,
    // which carries the protocol, can tell TCP on the tracepoint path.
    if offsets.endpoints.sk_protocol == u32::MAX {
        kinds.retain(|&kind| !matches!(kind, HookKind::TpBtf | HookKind::RawTp));
    }
    let names: Vec<&str> = FUNCTIONS.iter().map(|&(function, _)| function).collect();
    let targets = btf.attach_targets(&hooks::tracepoint_names(&STATE_HOOK), &names);
    let functions =
        btf.function_params(&names).keys().filter_map(|name| FUNCTIONS.iter().find(|f| f.0 == name)).copied().collect();
    let config = Config { target_family: u32::from(plan.family), _pad: 0 };
    Ok(Setup { config, offsets, kinds, targets, functions })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
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
        let mut ebpf = bpf::load_object(bpf::objects::TCPSYNBL, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("TCPSYNBL_CONFIG", &setup.config, true);
            loader.override_global("SYNBL_OFFSETS", &offsets, true);
        })?;
        match kind {
            HookKind::Fentry | HookKind::Kprobe => {
                if setup.functions.is_empty() {
                    anyhow::bail!("neither tcp_v4_syn_recv_sock nor tcp_v6_syn_recv_sock is in the kernel's BTF");
                }
                let programs: Vec<FunctionProgram> = setup
                    .functions
                    .iter()
                    .map(|&(function, fentry)| FunctionProgram {
                        function: function.into(),
                        program: if kind == HookKind::Fentry { fentry.into() } else { "tcpsynbl_kprobe".into() },
                    })
                    .collect();
                hooks::attach_function_programs(&mut ebpf, &programs, Some(&setup.targets))?;
            }
            _ => hooks::attach_tracepoints(&mut ebpf, kind, &STATE_HOOK, Some(&setup.targets))?,
        }
        Ok(ebpf)
    })
}

/// `port = 8080, backlog_max = 128`: one histogram per listener.
struct Listeners;

impl OwnerLabels for Listeners {
    fn owner(&mut self, _ebpf: &Ebpf, owner: u32) -> Owner {
        let (port, limit) = owner_parts(owner);
        Owner { field: "listener", id: serde_json::json!({ "port": port, "backlog_max": limit }), comm: None }
    }
}
