//! `tracer biosnoop`: one line per block I/O, with the process that
//! submitted it, its disk, operation, sector, size, queue time and latency,
//! as libbpf-tools' biosnoop. The submitter is taken where the request is
//! made (block_io_start, or block_getrq before 6.5), in its own context;
//! libbpf-tools also needs a kprobe (blk_account_io_merge_bio), so it
//! fails where kprobes are off, as on this host.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::block::{
    RequestFilter,
    biosnoop::{BioEvent, Config},
};

use super::{FlagBits, FollowArgs, FollowPrograms, Following, disk_dev, disk_name};
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, HookKind, WithEvents},
    },
    cli::Common,
    events,
    kernel::{btf::KernelBtf, cgroup, privileges},
    output::{escape, json},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "biosnoop";

/// Trace block I/O, one line per request, with the process that submitted it.
///
/// LAT(ms) runs from the request's issue to the driver to its completion;
/// QUE(ms) (-Q) from the moment the request was made for its submitter to
/// its issue: time in plug lists, the I/O scheduler and dispatch queues.
/// PID and COMM are the submitter's. libbpf-tools' -c tests the task that
/// happens to be running at completion (often unrelated); here -c keeps
/// I/O submitted by tasks in the cgroup, as documented.
///
/// Examples:
///   tracer biosnoop              # trace all block I/O
///   tracer biosnoop -Q           # include OS queued time
///   tracer biosnoop -t           # wall-clock timestamps instead
///   tracer biosnoop 10           # trace for 10 seconds only
///   tracer biosnoop -d sdc       # trace sdc only
///   tracer biosnoop -c CG        # trace I/O of processes under cgroup v2 path CG
///   tracer biosnoop -m 1         # trace I/O slower than 1 ms
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Total duration of trace, in seconds
    #[arg(value_parser = crate::cli::duration_arg)]
    pub duration: Option<u64>,
    /// Include OS queued time (QUE(ms) column)
    #[arg(short = 'Q', long = "queued")]
    pub queued: bool,
    /// Trace this disk only (e.g. sda, nvme0n1)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,
    /// Trace I/O submitted by tasks in this cgroup v2 directory (and below) only
    #[arg(short = 'c', long = "cgroup", value_name = "CGROUP_PATH")]
    pub cgroup: Option<PathBuf>,
    /// Trace I/O slower than MIN_MS milliseconds only
    #[arg(short = 'm', long = "min", value_name = "MIN_MS", default_value_t = 0)]
    pub min_ms: u64,
    /// Include a wall-clock TIMESTAMP column instead of TIME(s)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// One JSON object per I/O (schema in README)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub filter: RequestFilter,
    pub cgroup: Option<cgroup::CgroupFilter>,
    pub min_ns: u64,
    pub follow: FollowArgs,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        let mut filter = RequestFilter::NONE;
        if let Some(name) = &args.disk {
            filter.filter_dev = 1;
            filter.dev = disk_dev(name)?;
        }
        Ok(Self {
            filter,
            cgroup: args.cgroup.as_deref().map(cgroup::resolve).transpose()?,
            min_ns: args.min_ms.saturating_mul(1_000_000),
            follow: args.follow.clone(),
        })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self {
            filter: RequestFilter::NONE,
            cgroup: None,
            min_ns: 0,
            follow: FollowArgs { hook: Some(kind.name().to_owned()), start_hook: None },
        }
    }
}

const PROGRAMS: FollowPrograms = FollowPrograms {
    start: "biosnoop_start",
    getrq: "biosnoop_getrq",
    issue: "biosnoop_issue",
    complete: "biosnoop_complete",
};

const LOSS_REASONS: &[(&str, &str)] = &[("in_flight_full", "events: too many requests in flight for the request map")];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let (setup, bits) = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        let bits = btf.as_ref().map(FlagBits::from_btf).unwrap_or_default();
        (prepare(&plan, btf.as_ref())?, bits)
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} on {}", setup.following.describe());
    let mut printer = Printer { args, bits, disks: HashMap::new(), first_ns: None };
    let json = printer.args.json;
    let duration = printer.args.duration.map(Duration::from_secs);
    event_tool::stream(TOOL, runner, loaded, json, duration, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    following: Following,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    Ok(Setup {
        config: Config { min_ns: plan.min_ns },
        following: Following::prepare(plan.filter, plan.cgroup, &plan.follow, btf)?,
    })
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    let following = &setup.following;
    hooks::first_that_attaches(TOOL, &following.kinds, |kind| {
        let offsets = following.offsets_for(kind)?;
        let object = bpf::object_for(kind, bpf::objects::BIOSNOOP, bpf::objects::BIOSNOOP_COMPAT);
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            following.configure(loader, &offsets);
            loader.override_global("BIOSNOOP_CONFIG", &setup.config, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        hooks::attach_tracepoints(&mut ebpf, kind, &following.tracepoints(&PROGRAMS), following.targets.as_ref())?;
        Ok((ebpf, events))
    })
}

/// One completed I/O as userspace sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Io {
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    pub queued_ns: Option<u64>,
    pub sector: u64,
    pub bytes: u32,
    pub pid: u32,
    pub dev: u32,
    pub rwbs: String,
    pub comm: Vec<u8>,
}

impl Io {
    pub fn decode(bytes: &[u8], bits: &FlagBits) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<BioEvent>() {
            return None;
        }
        let event = events::decode(bytes, BioEvent::ZERO);
        let recorded = escape::until_nul(&event.rwbs);
        Some(Self {
            timestamp_ns: event.timestamp_ns,
            latency_ns: event.latency_ns,
            queued_ns: (event.queued_ns != u64::MAX).then_some(event.queued_ns),
            sector: event.sector,
            bytes: event.bytes,
            pid: event.pid,
            dev: event.dev,
            // The classic record spells it; the others carry the flags.
            rwbs: if recorded.is_empty() {
                bits.rwbs(event.flags)
            } else {
                String::from_utf8_lossy(recorded).into_owned()
            },
            comm: escape::until_nul(&event.comm).to_vec(),
        })
    }
}

#[derive(Serialize)]
struct JsonIo<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    pid: u32,
    comm: String,
    disk: &'a str,
    major: u32,
    minor: u32,
    rwbs: &'a str,
    sector: u64,
    bytes: u32,
    queued_ns: Option<u64>,
    latency_ns: u64,
}

struct Printer {
    args: Args,
    bits: FlagBits,
    disks: HashMap<u32, String>,
    /// TIME(s) counts from the first I/O seen, as libbpf-tools does.
    first_ns: Option<u64>,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        let time = if self.args.timestamp { format!("{:<12} ", "TIMESTAMP") } else { format!("{:<11} ", "TIME(s)") };
        let queued = if self.args.queued { format!("{:>7} ", "QUE(ms)") } else { String::new() };
        format!(
            "{time}{:<14} {:<7} {:<7} {:<4} {:<10} {:<7} {queued}{:>7}\n",
            "COMM", "PID", "DISK", "T", "SECTOR", "BYTES", "LAT(ms)"
        )
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        let io = Io::decode(bytes, &self.bits)?;
        let disk = self.disks.entry(io.dev).or_insert_with(|| disk_name(io.dev)).clone();
        if self.args.json {
            let record = JsonIo {
                kind: "bio",
                pid: io.pid,
                comm: escape::for_json(&io.comm),
                disk: &disk,
                major: io.dev >> 20,
                minor: io.dev & 0xf_ffff,
                rwbs: &io.rwbs,
                sector: io.sector,
                bytes: io.bytes,
                queued_ns: io.queued_ns,
                latency_ns: io.latency_ns,
            };
            return Some(json::line_at(TOOL, events::wall_time(io.timestamp_ns), &record));
        }
        let time = if self.args.timestamp {
            let when = events::wall_time(io.timestamp_ns).to_zoned(jiff::tz::TimeZone::system());
            format!("{:<12} ", when.strftime("%H:%M:%S%.3f").to_string())
        } else {
            let first = *self.first_ns.get_or_insert(io.timestamp_ns);
            format!("{:<11.6} ", io.timestamp_ns.saturating_sub(first) as f64 / 1e9)
        };
        let queued = match (self.args.queued, io.queued_ns) {
            (false, _) => String::new(),
            (true, Some(ns)) => format!("{:>7.3} ", ns as f64 / 1e6),
            (true, None) => format!("{:>7} ", "-"),
        };
        let comm = if io.comm.is_empty() { "?".to_owned() } else { escape::for_terminal(&io.comm) };
        Some(format!(
            "{time}{comm:<14} {:<7} {:<7} {:<4} {:<10} {:<7} {queued}{:>7.3}\n",
            io.pid,
            escape::for_terminal(disk.as_bytes()),
            io.rwbs,
            io.sector,
            io.bytes,
            io.latency_ns as f64 / 1e6
        ))
    }

    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        LOSS_REASONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(event: &BioEvent) -> Vec<u8> {
        // SAFETY: plain data.
        unsafe { std::slice::from_raw_parts(std::ptr::from_ref(event).cast::<u8>(), size_of::<BioEvent>()) }.to_vec()
    }

    fn printer(args: &[&str]) -> Printer {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["tracer", "biosnoop"].iter().chain(args)).unwrap();
        let crate::cli::Tool::Biosnoop(args) = cli.tool else { panic!("not biosnoop") };
        Printer {
            args,
            bits: FlagBits { sync: Some(11), ..FlagBits::default() },
            disks: HashMap::new(),
            first_ns: None,
        }
    }

    fn event() -> BioEvent {
        let mut event = BioEvent::ZERO;
        event.timestamp_ns = 5_000_000_000;
        event.latency_ns = 1_234_567;
        event.queued_ns = 250_000;
        event.sector = 2048;
        event.bytes = 4096;
        event.pid = 42;
        event.dev = u32::MAX;
        event.comm[..6].copy_from_slice(b"dd\x1b[2J");
        event
    }

    #[test]
    fn lines_have_libbpf_tools_columns_and_escaped_names() {
        let mut printer = printer(&["-Q"]);
        let header = printer.header();
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES", "QUE(ms)", "LAT(ms)"]
        );
        let line = printer.event(&bytes_of(&event())).unwrap();
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells, ["0.000000", "dd\\x1b[2J", "42", "4095:1048575", "R", "2048", "4096", "0.250", "1.235"]);
        // A later I/O counts from the first; an unknown start shows "-" and "?".
        let mut later = event();
        later.timestamp_ns += 1_500_000_000;
        later.queued_ns = u64::MAX;
        later.comm = [0; 16];
        later.flags = 1 | (1 << 11);
        let cells: Vec<String> =
            printer.event(&bytes_of(&later)).unwrap().split_whitespace().map(str::to_owned).collect();
        assert_eq!(cells[0], "1.500000");
        assert_eq!(cells[1], "?");
        assert_eq!(cells[4], "WS");
        assert_eq!(cells[7], "-");
    }

    #[test]
    fn json_has_raw_strings_and_nulls() {
        let mut printer = printer(&["--json"]);
        let mut classic = event();
        classic.rwbs[..2].copy_from_slice(b"RA");
        classic.queued_ns = u64::MAX;
        let line = printer.event(&bytes_of(&classic)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["tool"], "biosnoop");
        assert_eq!(value["type"], "bio");
        assert_eq!(value["comm"], "dd\u{1b}[2J");
        assert_eq!(value["rwbs"], "RA");
        assert_eq!(value["sector"], 2048);
        assert_eq!(value["bytes"], 4096);
        assert_eq!(value["major"], 4095);
        assert!(value["queued_ns"].is_null());
        assert_eq!(value["latency_ns"], 1_234_567);
    }

    #[test]
    fn short_events_are_ignored() {
        assert!(Io::decode(&[0; 8], &FlagBits::default()).is_none());
    }
}
