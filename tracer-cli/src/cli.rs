//! The command line: global options and one subcommand per tool.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
use crate::tools::sched::{hardirqs, softirqs};
use crate::tools::{
    block::biolatency, fs::fsslower, fs::opensnoop, host::doctor, host::use_method, net::tcplife, process::execsnoop,
    process::exitsnoop, process::syscount, sched::cpudist, sched::runqlat, sched::runqlen, stacks::offcputime,
    stacks::profile,
};

/// `0.1.0 (abc1234)`: the package version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TRACER_COMMIT"), ")");

/// eBPF performance tracing tools in one static binary.
///
/// Run a tool as root (or with CAP_BPF and CAP_PERFMON). `tracer doctor`
/// shows what this kernel supports and which hook each tool will use.
#[derive(Parser, Debug)]
#[command(name = "tracer", version = VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub tool: Tool,
}

/// Options every tool understands.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Common {
    /// Say which hook was chosen and why; print the verifier's log when the
    /// kernel refuses a program
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// Read kernel type information (BTF) from FILE instead of /sys/kernel/btf/vmlinux
    #[arg(long, global = true, value_name = "FILE")]
    pub btf: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Tool {
    Runqlat(runqlat::Args),
    Execsnoop(execsnoop::Args),
    Exitsnoop(exitsnoop::Args),
    Tcplife(tcplife::Args),
    Gethostlatency(gethostlatency::Args),
    Tcprtt(tcprtt::Args),
    Tcptop(tcptop::Args),
    Tcpconnect(tcpconnect::Args),
    Tcpconnlat(tcpconnlat::Args),
    Tcpstates(tcpstates::Args),
    Tcpretrans(tcpretrans::Args),
    Fsslower(fsslower::Args),
    Ext4slower(fsslower::Ext4Args),
    Fsdist(fsdist::Args),
    Ext4dist(fsdist::Ext4Args),
    Xfsdist(fsdist::XfsArgs),
    Btrfsdist(fsdist::BtrfsArgs),
    Filetop(filetop::Args),
    Vfsstat(vfsstat::Args),
    Cachestat(cachestat::Args),
    Biolatency(biolatency::Args),
    Biosnoop(biosnoop::Args),
    Biotop(biotop::Args),
    Bitesize(bitesize::Args),
    Biopattern(biopattern::Args),
    Profile(profile::Args),
    Offcputime(offcputime::Args),
    Use(use_method::Args),
    Syscount(syscount::Args),
    Opensnoop(opensnoop::Args),
    Statsnoop(statsnoop::Args),
    Syncsnoop(syncsnoop::Args),
    Mountsnoop(mountsnoop::Args),
    Filelife(filelife::Args),
    Cpudist(cpudist::Args),
    Runqlen(runqlen::Args),
    Hardirqs(hardirqs::Args),
    Softirqs(softirqs::Args),
    Tcpdrop(tcpdrop::Args),
    Tcpsynbl(tcpsynbl::Args),
    Tcpaccept(tcpaccept::Args),
    Bindsnoop(bindsnoop::Args),
    Solisten(solisten::Args),
    Runqslower(runqslower::Args),
    Sigsnoop(sigsnoop::Args),
    Killsnoop(sigsnoop::KillArgs),
    Oomkill(oomkill::Args),
    Doctor(doctor::Args),
    Merge(crate::tools::host::merge::Args),
    Completions(crate::docs::CompletionsArgs),
    Manpage(crate::docs::ManpageArgs),
}

/// Parses an interval in whole seconds (at least 1).
pub fn interval_arg(text: &str) -> Result<u64, String> {
    positive(text, "interval", "a whole number of seconds")
}

/// Parses a duration in whole seconds (at least 1).
pub fn duration_arg(text: &str) -> Result<u64, String> {
    positive(text, "duration", "a whole number of seconds")
}

/// A comma-separated list of process or thread ids (`-p 1,2,3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdList(pub Vec<u32>);

impl std::fmt::Display for IdList {
    /// `1,2,3`, as given.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
    }
}

/// Parses `-p`/`-L`/`-t` lists: positive ids separated by commas.
pub fn id_list_arg(text: &str) -> Result<IdList, String> {
    let ids = text
        .split(',')
        .map(|part| match part.trim().parse::<u32>() {
            Ok(id) if id > 0 && id <= i32::MAX as u32 => Ok(id),
            _ => Err(format!("'{part}' is not a process or thread id (expected e.g. 123 or 123,456)")),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    Ok(IdList(ids))
}

/// Parses a count of outputs (at least 1).
pub fn count_arg(text: &str) -> Result<u64, String> {
    positive(text, "count", "a whole number of outputs")
}

fn positive(text: &str, what: &str, expected: &str) -> Result<u64, String> {
    match text.trim().parse::<i64>() {
        Ok(value) if value >= 1 => Ok(value as u64),
        Ok(_) => Err(format!("{what} must be at least 1")),
        Err(_) => Err(format!("{what} must be {expected}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tracer").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn runqlat_accepts_libbpf_tools_flags() {
        let cli = parse(&["runqlat", "-T", "-m", "-P", "-p", "1", "5", "3", "--json"]).unwrap();
        let Tool::Runqlat(args) = cli.tool else { panic!("not runqlat") };
        assert!(args.output.timestamp && args.output.milliseconds && args.per_process && args.output.json);
        assert_eq!((args.output.interval, args.output.count, args.pid), (Some(5), Some(3), Some(1)));
        let cli = parse(&["runqlat", "--pidnss", "-c", "/sys/fs/cgroup", "-v"]).unwrap();
        assert!(cli.common.verbose);
        let Tool::Runqlat(args) = cli.tool else { panic!("not runqlat") };
        assert!(args.per_pidns);
    }

    #[test]
    fn every_tool_parses_its_own_flags() {
        // Parsing reaches each argument's typed getter, so a mismatch between
        // a field's type and its parser fails here, not in front of a user.
        for args in [
            ["execsnoop", "-T", "-t", "-x", "-u", "0", "-q", "-n", "a", "-l", "b", "-U", "--max-args", "5", "-P", "1"]
                .as_slice(),
            &["exitsnoop", "-t", "-x", "-p", "1", "-T"],
            &["oomkill", "--json", "--hook", "tracepoint"],
            &["tcplife", "-T", "-t", "-w", "-p", "1", "-L", "80,443", "-D", "22", "-4"],
            &["gethostlatency", "-p", "1", "-l", "/lib/libc.so.6", "--json"],
            &[
                "tcpconnect",
                "-t",
                "-U",
                "-u",
                "0",
                "-L",
                "-p",
                "1",
                "-P",
                "80,443",
                "-6",
                "-c",
                "/sys/fs/cgroup",
                "--count",
            ],
            &["tcpconnlat", "-m", "0.5", "-t", "-p", "1", "-L", "--json", "--hook", "raw_tp"],
            &["tcpconnlat", "30"],
            &["tcpstates", "-T", "-t", "-w", "-L", "80,443", "-D", "22", "-6", "--json", "--hook", "raw_tp"],
            &["tcpretrans", "-l", "-c", "-4", "--json", "--hook", "tracepoint"],
            &["doctor", "--json"],
            &["ext4slower", "-m", "0", "-p", "1", "-d", "5", "--csv"],
            &["fsslower", "-t", "xfs", "--json"],
            &["fsdist", "-t", "btrfs", "-T", "-m", "-p", "1", "--save", "f.hlog", "--hook", "kprobe", "1", "5"],
            &["ext4dist", "--openmetrics", "2"],
            &["xfsdist", "--json", "-p", "1"],
            &["btrfsdist", "-m"],
            &["filetop", "-p", "1", "-C", "-a", "-s", "wbytes", "-r", "8", "--json", "--hook", "tracepoint", "5", "3"],
            &["vfsstat", "--json", "--hook", "kprobe", "5", "3"],
            &["cachestat", "-T", "--json", "--hook", "fentry", "2", "4"],
            &["biolatency", "-T", "-m", "-Q", "-D", "-d", "vda", "1", "3"],
            &["biosnoop", "-Q", "-d", "vda", "-c", "/sys/fs/cgroup", "-m", "1", "-t", "--start-hook", "getrq", "10"],
            &["biotop", "-C", "-r", "5", "-s", "io", "-p", "1", "--json", "2", "3"],
            &["bitesize", "-T", "-c", "fio", "-d", "vda", "--save", "/tmp/x", "1", "2"],
            &["biopattern", "-T", "-d", "vda", "--hook", "tracepoint", "1", "5"],
            &[
                "profile",
                "-F",
                "999",
                "-p",
                "1,2",
                "-L",
                "3",
                "-U",
                "-I",
                "-C",
                "0",
                "-d",
                "-f",
                "--stack-storage-size",
                "1024",
                "5",
            ],
            &["profile", "--svg", "cpu.svg", "--title", "t", "-K"],
            &["offcputime", "-p", "1", "-t", "2", "-u", "-m", "10", "-M", "100", "--state", "2", "-f", "-U", "5"],
            &["offcputime", "-k", "--svg", "off.svg", "--hook", "raw_tp"],
            &["use", "-d", "3", "--json", "--threshold", "cpu.utilization=50:60", "--threshold", "disk.p99=1:2"],
            &["use", "--markdown"],
            &["opensnoop", "-d", "3", "-e", "-n", "cat", "-p", "1", "-t", "1", "-T", "-u", "0", "-U", "-x", "-F"],
            &["statsnoop", "-p", "1", "-x", "-t", "-s", "--json"],
            &["syncsnoop", "-p", "1", "--json"],
            &["tcpaccept", "-T", "-t", "-p", "1", "-P", "80,443", "-6", "--json"],
            &["bindsnoop", "-t", "-x", "-p", "1", "-P", "80,443", "-c", "/sys/fs/cgroup", "--json"],
            &["solisten", "-t", "-p", "1", "--json"],
            &["runqslower", "-p", "1", "-t", "2", "-c", "ksof", "-P", "--json", "--hook", "raw_tp", "1000"],
            &["sigsnoop", "-x", "-k", "-n", "-p", "1", "-s", "1,USR1", "--comm", "bash", "--json", "--hook", "raw_tp"],
            &["killsnoop", "-x", "-p", "1", "-T", "-5", "-s", "9,TERM", "--json"],
            &["mountsnoop", "-p", "1", "-t", "-d", "--json"],
            &["filelife", "-p", "1", "-F", "--json"],
            &["cpudist", "-O", "-P", "-p", "1", "-m", "-T", "--json", "1", "5"],
            &["hardirqs", "-C", "-d", "-s", "0", "-N", "-T", "--json", "1", "5"],
            &["softirqs", "-C", "-c", "0", "--per-cpu", "-d", "-N", "-T", "--json", "1", "5"],
            &["runqlen", "-C", "-O", "-H", "-T", "-f", "199", "--json", "1", "5"],
            &["syscount", "-p", "1", "-i", "2", "-d", "4", "-T", "5", "-x", "-L", "-m", "-P", "-e", "ENOENT", "--json"],
        ] {
            parse(args).unwrap_or_else(|err| panic!("{args:?}: {err}"));
        }
        let Tool::Tcplife(args) = parse(&["tcplife", "-L", "80,443"]).unwrap().tool else { panic!("not tcplife") };
        assert_eq!(args.local_ports.unwrap().0, vec![80, 443]);
        assert!(parse(&["tcplife", "-4", "-6"]).is_err());
        assert!(parse(&["tcpconnect", "-P", "http"]).is_err());
        assert!(parse(&["tcpconnlat", "0"]).is_err());
        for bad in [&["runqslower", "-1"][..], &["runqslower", "1ms"], &["runqslower", "-c", "a-name-of-16-byt"]] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert!(parse(&["tcpconnlat", "1", "-m", "2"]).is_err());
        assert!(parse(&["execsnoop", "--max-args", "61"]).is_err());
        assert!(parse(&["execsnoop", "--max-args", "0"]).is_err());
        assert!(parse(&["profile", "-U", "-K"]).is_err());
        assert!(parse(&["profile", "-p", "1,x"]).is_err());
        assert!(parse(&["profile", "-p", "0"]).is_err());
        assert!(parse(&["profile", "-F", "0"]).is_err());
        assert!(parse(&["profile", "0"]).is_err());
        assert!(parse(&["profile", "--title", "t"]).is_err());
        assert!(parse(&["offcputime", "-u", "-k"]).is_err());
        assert!(parse(&["use", "--json", "--markdown"]).is_err());
        assert!(parse(&["use", "--threshold", "cpu.bogus=1:2"]).is_err());
        assert!(parse(&["use", "-d", "0"]).is_err());
        let Tool::Profile(args) = parse(&["profile", "-p", "10,20"]).unwrap().tool else { panic!("not profile") };
        assert_eq!(args.pids.unwrap().0, vec![10, 20]);
    }

    #[test]
    fn nonsensical_intervals_and_counts_are_refused() {
        for bad in [
            ["runqlat", "0"].as_slice(),
            &["runqlat", "-1"],
            &["runqlat", "abc"],
            &["runqlat", "1", "0"],
            &["runqlat", "1", "x"],
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
            let text = err.to_string();
            assert!(text.contains("interval must") || text.contains("count must"), "{bad:?}: {text}");
        }
    }

    #[test]
    fn per_process_thread_and_namespace_split_are_exclusive() {
        assert!(parse(&["runqlat", "-P", "-L"]).is_err());
        assert!(parse(&["runqlat", "-P", "--pidnss"]).is_err());
        assert!(parse(&["runqlat", "--hook", "kprobe"]).is_err());
    }
}
