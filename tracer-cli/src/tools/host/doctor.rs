//! `tracer doctor`: what this kernel supports, and for each tool whether it
//! runs here and through which hook, found by loading the tool's own
//! programs (the verifier's verdict, not a version check).

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::tools::block::{biopattern, biosnoop, biotop, bitesize};
use crate::tools::fs::filelife;
use crate::tools::fs::mountsnoop;
use crate::tools::fs::statsnoop;
use crate::tools::fs::syncsnoop;
use crate::tools::fs::{cachestat, filetop, fsdist, vfsstat};
use crate::tools::memory::oomkill;
use crate::tools::net::bindsnoop;
use crate::tools::net::gethostlatency;
use crate::tools::net::solisten;
use crate::tools::net::tcpaccept;
use crate::tools::net::tcpdrop;
use crate::tools::net::tcpsynbl;
use crate::tools::net::{tcpconnect, tcpconnlat};
use crate::tools::net::{tcpretrans, tcpstates};
use crate::tools::net::{tcprtt, tcptop};
use crate::tools::process::sigsnoop;
use crate::tools::sched::runqslower;
use crate::{
    bpf::{self, hooks::HookKind},
    cli::Common,
    kernel::{
        btf::KernelBtf,
        privileges,
        probe::{self, Feature},
    },
    output,
    tools::{
        block::biolatency, fs::fsslower, fs::opensnoop, net::tcplife, process::execsnoop, process::exitsnoop,
        process::syscount, sched::cpudist, sched::irqs, sched::runqlat, sched::runqlen, stacks::offcputime,
        stacks::profile,
    },
};

/// Show which kernel features and hooks work here, and how each tool will run
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Print the report as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    kernel: String,
    features: Vec<Feature>,
    tools: Vec<ToolReport>,
}

#[derive(Serialize)]
struct ToolReport {
    tool: &'static str,
    runs: bool,
    /// The hook kind the tool will use: the first that attached.
    hook: Option<HookKind>,
    tried: Vec<HookTrial>,
}

#[derive(Serialize)]
struct HookTrial {
    hook: HookKind,
    works: bool,
    detail: String,
}

/// A tool as doctor sees it: its hook kinds, best first, and a way to
/// attach through exactly one of them.
struct ToolProbe {
    name: &'static str,
    kinds: &'static [HookKind],
    attach: fn(HookKind, Option<&KernelBtf>) -> Result<()>,
}

const TOOLS: &[ToolProbe] = &[
    ToolProbe {
        name: "runqlat",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| runqlat::attach(&runqlat::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "execsnoop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| execsnoop::attach(&execsnoop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "exitsnoop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| exitsnoop::attach(&exitsnoop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcplife",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcplife::attach(&tcplife::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "gethostlatency",
        kinds: &[HookKind::Uprobe],
        attach: |_, _| gethostlatency::attach(&gethostlatency::Plan::probe()).map(drop),
    },
    ToolProbe {
        name: "tcprtt",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcprtt::attach(&tcprtt::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcptop",
        kinds: tcptop::KINDS,
        attach: |kind, btf| tcptop::attach(&tcptop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpconnect",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| tcpconnect::attach(&tcpconnect::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpconnlat",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcpconnlat::attach(&tcpconnlat::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpstates",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcpstates::attach(&tcpstates::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpretrans",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcpretrans::attach(&tcpretrans::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "biolatency",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| biolatency::attach(&biolatency::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "biosnoop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| biosnoop::attach(&biosnoop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "biotop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| biotop::attach(&biotop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "bitesize",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| bitesize::attach(&bitesize::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "biopattern",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| biopattern::attach(&biopattern::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "syscount",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| syscount::attach(&syscount::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "cpudist",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| cpudist::attach(&cpudist::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "hardirqs",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| irqs::attach(&irqs::Plan::probe(irqs::Kind::Hard, kind), btf).map(drop),
    },
    ToolProbe {
        name: "softirqs",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| irqs::attach(&irqs::Plan::probe(irqs::Kind::Soft, kind), btf).map(drop),
    },
    ToolProbe {
        name: "runqlen",
        kinds: &[HookKind::PerfEvent],
        attach: |_, btf| runqlen::attach(&runqlen::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "opensnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| opensnoop::attach(&opensnoop::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "statsnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| statsnoop::attach(&statsnoop::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "syncsnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| syncsnoop::attach(&syncsnoop::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "tcpaccept",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| tcpaccept::attach(&tcpaccept::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "bindsnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| bindsnoop::attach(&bindsnoop::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "runqslower",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| runqslower::attach(&runqslower::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "solisten",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| solisten::attach(&solisten::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "sigsnoop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| sigsnoop::attach(&sigsnoop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "killsnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| sigsnoop::attach(&sigsnoop::Plan::probe_kill(), btf).map(drop),
    },
    ToolProbe {
        name: "oomkill",
        kinds: oomkill::KINDS,
        attach: |kind, btf| oomkill::attach(&oomkill::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "mountsnoop",
        kinds: &[HookKind::Tracepoint],
        attach: |_, btf| mountsnoop::attach(&mountsnoop::Plan::probe(), btf).map(drop),
    },
    ToolProbe {
        name: "filelife",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| filelife::attach(&filelife::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "ext4slower",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| fsslower::attach(&fsslower::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "ext4dist",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| fsdist::attach(&fsdist::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "filetop",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| filetop::attach(&filetop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "vfsstat",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| vfsstat::attach(&vfsstat::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "cachestat",
        kinds: bpf::hooks::FUNCTION_KINDS,
        attach: |kind, btf| cachestat::attach(&cachestat::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "profile",
        kinds: &[HookKind::PerfEvent],
        attach: |_, _| profile::attach(&profile::Plan::probe()?).map(drop),
    },
    ToolProbe {
        name: "offcputime",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| offcputime::attach(&offcputime::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpdrop",
        kinds: bpf::hooks::TRACEPOINT_KINDS,
        attach: |kind, btf| tcpdrop::attach(&tcpdrop::Plan::probe(kind), btf).map(drop),
    },
    ToolProbe {
        name: "tcpsynbl",
        kinds: &[HookKind::Fentry, HookKind::Kprobe, HookKind::TpBtf, HookKind::RawTp, HookKind::Tracepoint],
        attach: |kind, btf| tcpsynbl::attach(&tcpsynbl::Plan::probe(kind), btf).map(drop),
    },
];

/// What a tool cannot do through a hook kind that works, said in its row.
const NOTES: &[(&str, HookKind, &str)] =
    &[("cachestat", HookKind::Tracepoint, "misses and dirties only: page cache hits need fentry or kprobes")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    privileges::require_bpf_privileges("doctor")?;
    let btf = KernelBtf::for_run(common.btf.as_deref())?;
    let features = probe::probe_all(btf.as_ref());
    let tools = TOOLS.iter().map(|tool| probe_tool(tool, btf.as_ref())).collect();
    let report = Report { kernel: kernel_release(), features, tools };
    if args.json {
        return output::emit(&(serde_json::to_string_pretty(&report)? + "\n"));
    }
    output::emit(&render(&report))
}

fn probe_tool(tool: &ToolProbe, btf: Option<&KernelBtf>) -> ToolReport {
    let tried: Vec<HookTrial> = tool
        .kinds
        .iter()
        .map(|&hook| match (tool.attach)(hook, btf) {
            Ok(()) => {
                let note = NOTES.iter().find(|(name, kind, _)| *name == tool.name && *kind == hook);
                HookTrial {
                    hook,
                    works: true,
                    detail: note.map_or_else(String::new, |(_, _, note)| (*note).to_owned()),
                }
            }
            Err(err) => HookTrial { hook, works: false, detail: failure_detail(hook, &err) },
        })
        .collect();
    let hook = tried.iter().find(|trial| trial.works).map(|trial| trial.hook);
    ToolReport { tool: tool.name, runs: hook.is_some(), hook, tried }
}

/// Why `hook` failed: the tool's own reason for that kind where the hook
/// fallback gave one, not the whole "could not attach" sentence (which
/// would send the reader to `tracer doctor` from inside it).
fn failure_detail(hook: HookKind, err: &anyhow::Error) -> String {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<bpf::hooks::HookFailures>())
        .and_then(|failures| failures.0.iter().find(|(kind, _)| *kind == hook))
        .map_or_else(|| bpf::short_error(err), |(_, why)| why.clone())
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| {
            format!(
                "{} {} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy(),
                u.machine().to_string_lossy()
            )
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn render(report: &Report) -> String {
    let yes_no = |works: bool| if works { "yes" } else { "no" };
    let mut out = String::new();
    let _ = writeln!(out, "Kernel: {}\n", report.kernel);
    let _ = writeln!(out, "{:<12} {:<6} DETAIL", "FEATURE", "WORKS");
    for feature in &report.features {
        let _ = writeln!(out, "{:<12} {:<6} {}", feature.name, yes_no(feature.works), feature.detail);
    }
    let _ = writeln!(out, "\n{:<14} {:<6} {:<11} TRIED (BEST FIRST)", "TOOL", "RUNS", "HOOK");
    for tool in &report.tools {
        let hook = tool.hook.map_or("-", HookKind::name);
        let tried: Vec<String> = tool
            .tried
            .iter()
            .map(|t| match (t.works, t.detail.is_empty()) {
                (true, true) => format!("{} ok", t.hook),
                (true, false) => format!("{} ok ({})", t.hook, t.detail),
                (false, _) => format!("{} failed ({})", t.hook, t.detail),
            })
            .collect();
        let _ = writeln!(out, "{:<14} {:<6} {:<11} {}", tool.tool, yes_no(tool.runs), hook, tried.join(", "));
    }
    out
}
