//! `tracer tcprtt`: the smoothed round-trip time of TCP sockets as a
//! histogram, as libbpf-tools' tcprtt: sampled each time an established
//! socket receives a segment (the kernel's tcp:tcp_probe, fired where
//! libbpf-tools hooks tcp_rcv_established), in total or per local or remote
//! address.

use std::net::IpAddr;

use anyhow::Result;
use aya::{Ebpf, EbpfLoader};
use tracer_common::net::{
    sock::{AF_INET, AF_INET6},
    tcprtt::{Address, Config, RttOffsets, keying},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, TRACEPOINT_KINDS, TracepointHook},
        maps,
    },
    cli::{Common, duration_arg, interval_arg},
    error::refuse,
    hist::{TableUnit, report::HistogramReport, report::Owner},
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

const TOOL: &str = "tcprtt";

/// Summarize TCP RTT as a histogram.
///
/// The smoothed RTT (srtt) of a socket is sampled each time it receives a
/// segment while established, so busy connections weigh more, as in
/// libbpf-tools and bcc. Interval and count may be given as libbpf-tools
/// does (-i, -d) or as the other histogram tools do (positionally).
///
/// Examples:
///   tracer tcprtt              # summarize TCP RTT
///   tracer tcprtt -i 1 -d 10   # print 1 second summaries, 10 times
///   tracer tcprtt 1 10         # the same
///   tracer tcprtt -m -T        # summarize in milliseconds, and timestamps
///   tracer tcprtt -p 80        # filter for local port
///   tracer tcprtt -P 80        # filter for remote port
///   tracer tcprtt -a 10.0.0.1  # filter for local address
///   tracer tcprtt -A 10.0.0.2  # filter for remote address
///   tracer tcprtt -b           # show sockets histogram by local address
///   tracer tcprtt -B           # show sockets histogram by remote address
///   tracer tcprtt -e           # show extension summary (average)
///   tracer tcprtt -4           # trace only IPv4 family
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub output: HistogramArgs,
    /// Summary interval, in seconds (as the positional INTERVAL)
    #[arg(short = 'i', long = "interval", value_name = "INTERVAL", value_parser = interval_arg, conflicts_with = "interval")]
    pub every: Option<u64>,
    /// Total duration of the trace, in seconds
    #[arg(short = 'd', long = "duration", value_name = "DURATION", value_parser = duration_arg, conflicts_with = "count")]
    pub duration: Option<u64>,
    /// Filter for local port
    #[arg(short = 'p', long = "lport", value_name = "LPORT", value_parser = port_arg)]
    pub lport: Option<u16>,
    /// Filter for remote port
    #[arg(short = 'P', long = "rport", value_name = "RPORT", value_parser = port_arg)]
    pub rport: Option<u16>,
    /// Filter for local address
    #[arg(short = 'a', long = "laddr", value_name = "LADDR", value_parser = address_arg)]
    pub laddr: Option<IpAddr>,
    /// Filter for remote address
    #[arg(short = 'A', long = "raddr", value_name = "RADDR", value_parser = address_arg)]
    pub raddr: Option<IpAddr>,
    /// Show sockets histogram by local address
    #[arg(short = 'b', long = "byladdr", conflicts_with = "by_raddr")]
    pub by_laddr: bool,
    /// Show sockets histogram by remote address
    #[arg(short = 'B', long = "byraddr")]
    pub by_raddr: bool,
    /// Show extension summary (average) in each histogram's heading
    #[arg(short = 'e', long = "extension")]
    pub extension: bool,
    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

fn port_arg(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("{text:?} is not a port number (1-65535)")),
    }
}

fn address_arg(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address"))
}

impl Args {
    /// The shared histogram options, with -i/-d turned into interval and count.
    fn histogram_args(&self) -> HistogramArgs {
        let mut output = self.output.clone();
        if let Some(every) = self.every {
            output.interval = Some(every);
        }
        if let Some(duration) = self.duration {
            let interval = *output.interval.get_or_insert(duration);
            output.count = Some(duration.div_ceil(interval));
        }
        output
    }
}

/// An address as the kernel side compares it: family and 16 bytes.
fn raw_address(address: IpAddr) -> (u16, [u8; 16]) {
    let mut raw = [0u8; 16];
    match address {
        IpAddr::V4(v4) => {
            raw[..4].copy_from_slice(&v4.octets());
            (AF_INET, raw)
        }
        IpAddr::V6(v6) => (AF_INET6, v6.octets()),
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let mut config = Config::DEFAULT;
        config.lport = args.lport.unwrap_or(0);
        config.rport = args.rport.unwrap_or(0);
        config.family = sock::family_filter(args.ipv4, args.ipv6);
        if let (Some(local), Some(remote)) = (args.laddr, args.raddr)
            && local.is_ipv4() != remote.is_ipv4()
        {
            refuse!(
                "-a {local} and -A {remote}: a socket's two addresses are of one family; give both as IPv4 or as IPv6"
            );
        }
        for (flag, address) in [("-a", args.laddr), ("-A", args.raddr)] {
            let Some(address) = address else { continue };
            let (family, raw) = raw_address(address);
            if config.family != 0 && config.family != family {
                refuse!("{flag} {address} is not of the family -4/-6 asks for: drop one of them");
            }
            if flag == "-a" {
                (config.laddr_family, config.laddr) = (family, raw);
            } else {
                (config.raddr_family, config.raddr) = (family, raw);
            }
        }
        config.keying = if args.by_laddr {
            keying::LOCAL
        } else if args.by_raddr {
            keying::REMOTE
        } else {
            keying::TOTAL
        };
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), TRACEPOINT_KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

const PROBE_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "tcp", name: "tcp_probe", program: "tcprtt_probe" }];

const MAP_HIST: &str = "TCPRTT_HIST";
const MAP_SPARSE: &str = "TCPRTT_SPARSE";
const MAP_ADDRESSES: &str = "TCPRTT_ADDRESSES";
const MAP_DROPS: &str = "TCPRTT_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("hist_map_full", "samples: too many addresses for the histogram map"),
    ("address_map_full", "addresses: too many for the address map (shown as ?)"),
    ("address_collision", "samples: of an address whose histogram id another address holds"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on tcp:tcp_probe");
    let output = args.histogram_args();
    let labels = match plan.config.keying {
        keying::LOCAL => Some(AddressLabels { field: "laddr" }),
        keying::REMOTE => Some(AddressLabels { field: "raddr" }),
        _ => None,
    };
    let mut reporter = HistogramReporter::new(
        TOOL,
        HistogramMaps { dense: MAP_HIST, sparse: MAP_SPARSE, drops: MAP_DROPS },
        labels,
        LOST_REASONS,
        &output,
    );
    reporter.heading = Some(if args.extension { heading_with_average } else { heading });
    let banner = match output.interval {
        Some(interval) if output.count.is_some() => {
            format!("Tracing TCP RTT for {} secs.\n", interval * output.count.unwrap_or(1))
        }
        _ => "Tracing TCP RTT... Hit Ctrl-C to end.\n".to_owned(),
    };
    hist_tool::run(runner, ebpf, &banner, &output, reporter)
}

/// libbpf-tools' heading: `All Addresses = ******`, `Local Address = 10.0.0.1`.
fn heading(report: &HistogramReport) -> String {
    match &report.owner {
        None => "All Addresses = ******".to_owned(),
        Some(owner) => {
            let name = if owner.field == "laddr" { "Local Address" } else { "Remote Address" };
            let id = owner.id.as_str().unwrap_or("?");
            format!("{name} = {}", crate::output::escape::for_terminal(id.as_bytes()))
        }
    }
}

/// -e: the heading with the mean in the table's unit, as `[AVG 123]`.
fn heading_with_average(report: &HistogramReport) -> String {
    let divisor = if report.unit == TableUnit::Msecs { 1_000_000 } else { 1_000 };
    format!("{} [AVG {}]", heading(report), report.counts.summary().mean / divisor)
}

/// `laddr = 10.0.0.1`: histograms are keyed by a hash of the address, the
/// address itself kept beside it in the kernel.
struct AddressLabels {
    field: &'static str,
}

impl OwnerLabels for AddressLabels {
    fn owner(&mut self, ebpf: &Ebpf, owner: u32) -> Owner {
        let raw = maps::lookup_bytes::<{ std::mem::size_of::<Address>() }>(ebpf, MAP_ADDRESSES, owner);
        let name = raw.and_then(|raw| {
            let family = u16::from_ne_bytes([raw[0], raw[1]]);
            let mut addr = [0u8; 16];
            addr.copy_from_slice(&raw[4..20]);
            sock::address(family, addr)
        });
        Owner { field: self.field, id: name.map_or_else(|| "?".to_owned(), |a| a.to_string()).into(), comm: None }
    }

    fn forget(&mut self, ebpf: &mut Ebpf, owners: &[u32]) -> Result<()> {
        maps::delete_u32_keys::<[u8; std::mem::size_of::<Address>()]>(ebpf, MAP_ADDRESSES, owners)
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: RttOffsets,
    kinds: Vec<HookKind>,
    targets: Option<AttachTargets>,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let mut offsets = RttOffsets::UNRESOLVED;
    let mut kinds = plan.hooks.clone();
    let resolved = btf.map(|btf| -> Result<()> {
        offsets.endpoints = sock::endpoint_offsets(btf)?;
        offsets.srtt_us = btf.field("tcp_sock", "srtt_us")?.offset;
        Ok(())
    });
    match resolved {
        Some(Ok(())) => {}
        // Without the socket's offsets only the classic record, which
        // carries addresses, ports and srtt, can serve.
        Some(Err(err)) => {
            log::info!("{TOOL}: tp_btf and raw_tp need struct sock/tcp_sock offsets: {err:#}");
            kinds.retain(|&kind| kind == HookKind::Tracepoint);
        }
        None => kinds.retain(|&kind| kind == HookKind::Tracepoint),
    }
    if kinds.is_empty() {
        refuse!(
            "this kernel's BTF does not give tcprtt the socket fields tp_btf and raw_tp read \
             (or it has no BTF): use --hook tracepoint"
        );
    }
    let targets = btf.map(|btf| btf.attach_targets(&hooks::tracepoint_names(&PROBE_HOOK), &[]));
    Ok(Setup { config: plan.config, offsets, kinds, targets })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            let format = tracefs::tracepoint_format("tcp", "tcp_probe")?;
            let field = |name| tracefs::field(&format, "tcp_probe", name).map(|f| f.offset);
            offsets.tp_saddr = field("saddr")?;
            offsets.tp_daddr = field("daddr")?;
            offsets.tp_sport = field("sport")?;
            offsets.tp_dport = field("dport")?;
            offsets.tp_srtt = field("srtt")?;
        }
        let unused: &[&'static str] =
            if setup.config.keying == keying::TOTAL { &[MAP_SPARSE, MAP_ADDRESSES] } else { &[] };
        let mut ebpf = bpf::load_object(bpf::objects::TCPRTT, |loader: &mut EbpfLoader<'_>| {
            bpf::shrink_unused_maps(loader, unused);
            loader.override_global("TCPRTT_CONFIG", &setup.config, true);
            loader.override_global("RTT_OFFSETS", &offsets, true);
        })?;
        hooks::attach_tracepoints(&mut ebpf, kind, &PROBE_HOOK, setup.targets.as_ref())?;
        Ok(ebpf)
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Tool};

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        let mut full = vec!["tracer", "tcprtt"];
        full.extend_from_slice(argv);
        Cli::try_parse_from(full).map(|cli| match cli.tool {
            Tool::Tcprtt(args) => args,
            _ => unreachable!(),
        })
    }

    #[test]
    fn interval_and_duration_as_libbpf_tools_or_positional() {
        let output = args(&["-i", "1", "-d", "10"]).unwrap().histogram_args();
        assert_eq!((output.interval, output.count), (Some(1), Some(10)));
        let output = args(&["2", "5"]).unwrap().histogram_args();
        assert_eq!((output.interval, output.count), (Some(2), Some(5)));
        let output = args(&["-d", "7"]).unwrap().histogram_args();
        assert_eq!((output.interval, output.count), (Some(7), Some(1)));
        let output = args(&["-i", "3", "-d", "10"]).unwrap().histogram_args();
        assert_eq!(output.count, Some(4));
        assert!(args(&["-i", "1", "2"]).is_err());
    }

    #[test]
    fn filters_become_the_config() {
        let plan = Plan::from_args(&args(&["-p", "80", "-P", "443", "-a", "10.1.2.3", "-B"]).unwrap()).unwrap();
        assert_eq!((plan.config.lport, plan.config.rport), (80, 443));
        assert_eq!((plan.config.laddr_family, &plan.config.laddr[..4]), (AF_INET, &[10, 1, 2, 3][..]));
        assert_eq!((plan.config.raddr_family, plan.config.keying), (0, keying::REMOTE));
        let plan = Plan::from_args(&args(&["-A", "::1", "-6", "-b"]).unwrap()).unwrap();
        assert_eq!((plan.config.raddr_family, plan.config.raddr[15], plan.config.keying), (AF_INET6, 1, keying::LOCAL));
    }

    #[test]
    fn contradictions_are_refused() {
        assert!(args(&["-b", "-B"]).is_err());
        assert!(args(&["-p", "0"]).is_err());
        assert!(args(&["-a", "localhost"]).is_err());
        assert!(Plan::from_args(&args(&["-a", "10.0.0.1", "-A", "::1"]).unwrap()).is_err());
        assert!(Plan::from_args(&args(&["-a", "10.0.0.1", "-6"]).unwrap()).is_err());
    }

    #[test]
    fn headings_as_libbpf_tools() {
        let mut counts = crate::hist::Counts::default();
        counts.buckets[tracer_common::hist::bucket_of(20_000_000)] += 2;
        counts.sum = 40_000_000;
        let mut report = HistogramReport { owner: None, counts, unit: TableUnit::Usecs };
        assert_eq!(heading(&report), "All Addresses = ******");
        assert_eq!(heading_with_average(&report), "All Addresses = ****** [AVG 20000]");
        report.unit = TableUnit::Msecs;
        assert_eq!(heading_with_average(&report), "All Addresses = ****** [AVG 20]");
        report.owner = Some(Owner { field: "raddr", id: "::1".into(), comm: None });
        assert_eq!(heading(&report), "Remote Address = ::1");
    }
}
