//! `tracer filetop`: the files read and written most in each interval, per
//! thread, as libbpf-tools' filetop. Counted in the kernel per (file,
//! thread); userspace takes each interval's difference, sorts and prints.

use std::{collections::HashMap, io::IsTerminal, time::Duration};

use anyhow::{Context, Result};
use aya::{
    Ebpf, EbpfLoader,
    maps::{HashMap as BpfHashMap, MapData},
};
use serde::Serialize;
use tracer_common::fs::{
    filetop::{Config, FileEntry, FileKey, NAME_BYTES},
    ops::FsOffsets,
};

use super::ops as fs_ops;
use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FUNCTION_KINDS, FunctionProgram, HookKind, TracepointHook},
        maps,
    },
    cli::{Common, count_arg, interval_arg},
    error::user_error,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        privileges, process,
    },
    output::{self, escape, json, lost::LostReporter, time},
    runner::{Runner, Schedule},
};

const TOOL: &str = "filetop";

/// The most read and written files, per thread, every interval.
///
/// Examples:
///   tracer filetop              # file I/O top, refresh every 1s
///   tracer filetop -p 1216      # only trace PID 1216
///   tracer filetop 5 10         # 5s summaries, 10 times
///   tracer filetop -Cr 8        # don't clear the screen, top 8 rows only
///   tracer filetop -a -s wbytes # all file types, by bytes written
///
/// Reads and writes are calls of vfs_read and vfs_write (read, pread64,
/// write, pwrite64 on the syscall path); R_Kb and W_Kb count the bytes the
/// calls returned, where libbpf-tools adds the bytes asked for. The screen
/// is cleared only when stdout is a terminal.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output interval, in seconds
    #[arg(default_value_t = 1, value_parser = interval_arg)]
    pub interval: u64,
    /// Number of outputs
    #[arg(value_parser = count_arg)]
    pub count: Option<u64>,
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,
    /// Don't clear the screen
    #[arg(short = 'C', long = "noclear")]
    pub noclear: bool,
    /// Include special files (sockets, pipes, devices)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Sort column
    #[arg(short = 's', long = "sort", value_name = "SORT", value_enum, default_value_t = Sort::All)]
    pub sort: Sort,
    /// Maximum rows to print
    #[arg(short = 'r', long = "rows", value_name = "ROWS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=10240))]
    pub rows: u32,
    /// One JSON object per row per interval (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tracepoint"])]
    pub hook: Option<String>,
}

/// Sort orders, as libbpf-tools names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sort {
    /// reads + writes + read bytes + written bytes (libbpf-tools' default)
    All,
    Reads,
    Writes,
    Rbytes,
    Wbytes,
}

/// What a run will do, with every input validated.
#[derive(Clone, Debug)]
pub struct Plan {
    pub config: Config,
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Result<Self> {
        if let Some(pid) = args.pid {
            process::require_process(pid)?;
        }
        let config = Config {
            target_tgid: args.pid.unwrap_or(0),
            regular_only: u32::from(!args.all),
            self_tgid: std::process::id(),
            _pad: 0,
        };
        Ok(Self { config, hooks: hooks::forced_or(args.hook.as_deref(), FUNCTION_KINDS) })
    }

    pub fn probe(kind: HookKind) -> Self {
        Self { config: Config::DEFAULT, hooks: vec![kind] }
    }
}

/// The functions of the fentry and kprobe paths.
const FUNCTIONS: [&str; 2] = ["vfs_read", "vfs_write"];

/// The syscall path: the calls vfs_read and vfs_write serve.
const SYSCALLS: [TracepointHook; 8] = {
    const fn hook(name: &'static str, program: &'static str) -> TracepointHook {
        TracepointHook { category: "syscalls", name, program }
    }
    [
        hook("sys_enter_read", "filetop_enter_read"),
        hook("sys_exit_read", "filetop_exit"),
        hook("sys_enter_pread64", "filetop_enter_read"),
        hook("sys_exit_pread64", "filetop_exit"),
        hook("sys_enter_write", "filetop_enter_write"),
        hook("sys_exit_write", "filetop_exit"),
        hook("sys_enter_pwrite64", "filetop_enter_write"),
        hook("sys_exit_pwrite64", "filetop_exit"),
    ]
};

const MAP_ENTRIES: &str = "FILETOP_ENTRIES";
const MAP_DROPS: &str = "FILETOP_DROPS";

const LOST_REASONS: &[(&str, &str)] = &[
    ("entry_map_full", "reads/writes: too many (file, thread) pairs for the map (10240); -p narrows the trace"),
    ("start_map_full", "reads/writes: too many threads inside reads and writes for the start map"),
];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args)?;
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded: mut ebpf, kind } = attach_prepared(&setup)?;
    log::info!("{TOOL}: using {kind} ({})", describe(kind));
    let mut reporter = Reporter::new(&args);
    let schedule = Schedule { interval: Some(Duration::from_secs(args.interval)), count: args.count };
    runner.run(schedule, || reporter.report(&mut ebpf))?;
    Ok(())
}

fn describe(kind: HookKind) -> String {
    match kind {
        HookKind::Tracepoint => "read/pread64/write/pwrite64 syscalls".into(),
        _ => FUNCTIONS.join(", "),
    }
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    config: Config,
    offsets: FsOffsets,
    kinds: Vec<HookKind>,
    targets: AttachTargets,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "follows files to their inodes through kernel structures")?;
    let offsets = fs_ops::fs_offsets(btf).map_err(|err| user_error!("this kernel cannot serve filetop: {err:#}"))?;
    Ok(Setup { config: plan.config, offsets, kinds: plan.hooks.clone(), targets: btf.attach_targets(&[], &FUNCTIONS) })
}

fn attach_prepared(setup: &Setup) -> Result<Attached> {
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let mut offsets = setup.offsets;
        if kind == HookKind::Tracepoint {
            fs_ops::syscall_offsets(&mut offsets)?;
        }
        let mut ebpf = bpf::load_object(bpf::objects::FILETOP, |loader: &mut EbpfLoader<'_>| {
            // Only the kprobe and syscall paths keep a call's file until it returns.
            if kind == HookKind::Fentry {
                bpf::shrink_unused_maps(loader, &["FILETOP_PENDING"]);
            }
            loader.override_global("FILETOP_CONFIG", &setup.config, true);
            loader.override_global("FS_OFFSETS", &offsets, true);
        })?;
        let program = |function: &str, name: &str| FunctionProgram { function: function.into(), program: name.into() };
        match kind {
            HookKind::Tracepoint => hooks::attach_tracepoints(&mut ebpf, kind, &SYSCALLS, None)?,
            HookKind::Fentry => hooks::attach_function_programs(
                &mut ebpf,
                &[program("vfs_read", "filetop_read_fexit"), program("vfs_write", "filetop_write_fexit")],
                Some(&setup.targets),
            )?,
            _ => hooks::attach_function_programs(
                &mut ebpf,
                &[
                    program("vfs_read", "filetop_read_kprobe"),
                    program("vfs_write", "filetop_write_kprobe"),
                    program("vfs_read", "filetop_exit_kretprobe"),
                    program("vfs_write", "filetop_exit_kretprobe"),
                ],
                None,
            )?,
        }
        Ok(ebpf)
    })
}

/// One row: a file and thread, and what it did in the interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub key: FileKey,
    pub counts: Counts,
    pub comm: Vec<u8>,
    pub name: Vec<u8>,
    pub kind: char,
    pub truncated: bool,
}

/// Reads, writes and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub write_bytes: u64,
}

impl Counts {
    fn of(entry: &FileEntry) -> Self {
        Self { reads: entry.reads, read_bytes: entry.read_bytes, writes: entry.writes, write_bytes: entry.write_bytes }
    }

    fn since(self, earlier: Option<&Counts>) -> Self {
        let earlier = earlier.copied().unwrap_or_default();
        Self {
            reads: self.reads.saturating_sub(earlier.reads),
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
            writes: self.writes.saturating_sub(earlier.writes),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
        }
    }

    fn is_zero(self) -> bool {
        self == Self::default()
    }

    /// The sort key (descending).
    fn by(self, sort: Sort) -> u64 {
        match sort {
            // libbpf-tools adds counts and bytes; so do we (in 64 bits, not its int).
            Sort::All => self.reads + self.writes + self.read_bytes + self.write_bytes,
            Sort::Reads => self.reads,
            Sort::Writes => self.writes,
            Sort::Rbytes => self.read_bytes,
            Sort::Wbytes => self.write_bytes,
        }
    }
}

/// Sorts rows, biggest first (ties by thread, then name, so output is
/// stable), and keeps the top `rows`.
pub fn top_rows(mut rows: Vec<Row>, sort: Sort, keep: usize) -> Vec<Row> {
    rows.sort_by(|a, b| {
        b.counts.by(sort).cmp(&a.counts.by(sort)).then(a.key.tid.cmp(&b.key.tid)).then(a.name.cmp(&b.name))
    });
    rows.truncate(keep);
    rows
}

#[derive(Serialize)]
struct JsonRow {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u64,
    tid: u32,
    pid: u32,
    comm: String,
    reads: u64,
    writes: u64,
    read_bytes: u64,
    write_bytes: u64,
    file_type: String,
    file: String,
    truncated: bool,
}

struct Reporter {
    sort: Sort,
    rows: usize,
    json: bool,
    clear: bool,
    interval: u64,
    previous: HashMap<FileKey, Counts>,
    lost: LostReporter,
}

impl Reporter {
    fn new(args: &Args) -> Self {
        Self {
            sort: args.sort,
            rows: args.rows as usize,
            json: args.json,
            clear: !args.noclear && !args.json && std::io::stdout().is_terminal(),
            interval: 0,
            previous: HashMap::new(),
            lost: LostReporter::new(TOOL, LOST_REASONS),
        }
    }

    fn report(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        self.interval += 1;
        let rows = top_rows(self.interval_rows(ebpf)?, self.sort, self.rows);
        let cut = rows.iter().filter(|row| row.truncated).count();
        if cut > 0 {
            eprintln!("{TOOL}: {cut} file names shown are cut: longer than {} bytes", NAME_BYTES - 1);
        }
        let mut out = if self.json { self.json(&rows) } else { self.text(&rows) };
        let drops = maps::drop_counts(ebpf, MAP_DROPS, LOST_REASONS.len() as u32)?;
        out.push_str(&self.lost.report(&drops, self.json));
        output::emit(&out)
    }

    /// This interval's rows: cumulative counters minus the last snapshot.
    /// Entries idle for a whole interval are deleted, so the map holds
    /// only files in use (a call counted between our read and the delete
    /// is the one loss window).
    fn interval_rows(&mut self, ebpf: &mut Ebpf) -> Result<Vec<Row>> {
        let mut map: BpfHashMap<&mut MapData, FileKey, FileEntry> =
            BpfHashMap::try_from(ebpf.map_mut(MAP_ENTRIES).context("BPF object has no entries map")?)?;
        let mut rows = Vec::new();
        let mut idle = Vec::new();
        let mut current = HashMap::new();
        for (key, entry) in map.iter().filter_map(Result::ok) {
            let now = Counts::of(&entry);
            let interval = now.since(self.previous.get(&key));
            if interval.is_zero() && self.previous.contains_key(&key) {
                idle.push(key);
                continue;
            }
            current.insert(key, now);
            if !interval.is_zero() {
                rows.push(Row {
                    key,
                    counts: interval,
                    comm: escape::until_nul(&entry.comm).to_vec(),
                    name: escape::until_nul(&entry.name).to_vec(),
                    kind: char::from(entry.kind),
                    truncated: entry.truncated != 0,
                });
            }
        }
        for key in &idle {
            let _ = map.remove(key);
        }
        self.previous = current;
        Ok(rows)
    }

    fn text(&self, rows: &[Row]) -> String {
        let mut out = String::new();
        if self.clear {
            out.push_str("\x1b[H\x1b[2J");
        }
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        out.push_str(&format!("{:>8} loadavg: {}\n", time::local_hms(), loadavg.trim_end()));
        out.push_str(&format!(
            "{:<7} {:<16} {:<6} {:<6} {:<7} {:<7} {:1} {}\n",
            "TID", "COMM", "READS", "WRITES", "R_Kb", "W_Kb", "T", "FILE"
        ));
        for row in rows {
            out.push_str(&format!(
                "{:<7} {:<16} {:<6} {:<6} {:<7} {:<7} {:1} {}\n",
                row.key.tid,
                escape::for_terminal(&row.comm),
                row.counts.reads,
                row.counts.writes,
                row.counts.read_bytes / 1024,
                row.counts.write_bytes / 1024,
                row.kind,
                escape::for_terminal(&row.name)
            ));
        }
        out.push('\n');
        out
    }

    fn json(&self, rows: &[Row]) -> String {
        rows.iter()
            .map(|row| {
                let record = JsonRow {
                    kind: "file",
                    interval: self.interval,
                    tid: row.key.tid,
                    pid: row.key.pid,
                    comm: escape::for_json(&row.comm),
                    reads: row.counts.reads,
                    writes: row.counts.writes,
                    read_bytes: row.counts.read_bytes,
                    write_bytes: row.counts.write_bytes,
                    file_type: row.kind.to_string(),
                    file: escape::for_json(&row.name),
                    truncated: row.truncated,
                };
                json::line(TOOL, &record)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tid: u32, reads: u64, read_bytes: u64, writes: u64, write_bytes: u64) -> Row {
        Row {
            key: FileKey { inode: u64::from(tid), dev: 0, rdev: 0, pid: tid, tid },
            counts: Counts { reads, read_bytes, writes, write_bytes },
            comm: b"c".to_vec(),
            name: format!("f{tid}").into_bytes(),
            kind: 'R',
            truncated: false,
        }
    }

    #[test]
    fn rows_sort_by_each_column_and_keep_the_top() {
        let rows = vec![row(1, 10, 100, 0, 0), row(2, 1, 5000, 0, 0), row(3, 0, 0, 7, 70), row(4, 0, 0, 2, 9000)];
        let order = |sort, keep| top_rows(rows.clone(), sort, keep).iter().map(|r| r.key.tid).collect::<Vec<_>>();
        assert_eq!(order(Sort::All, 10), [4, 2, 1, 3]);
        assert_eq!(order(Sort::Reads, 2), [1, 2]);
        assert_eq!(order(Sort::Writes, 1), [3]);
        assert_eq!(order(Sort::Rbytes, 4), [2, 1, 3, 4]);
        assert_eq!(order(Sort::Wbytes, 4), [4, 3, 1, 2]);
    }

    #[test]
    fn intervals_are_differences_of_the_cumulative_counters() {
        let earlier = Counts { reads: 3, read_bytes: 300, writes: 1, write_bytes: 10 };
        let now = Counts { reads: 5, read_bytes: 1324, writes: 1, write_bytes: 10 };
        assert_eq!(now.since(Some(&earlier)), Counts { reads: 2, read_bytes: 1024, writes: 0, write_bytes: 0 });
        assert_eq!(now.since(None), now);
        assert!(earlier.since(Some(&earlier)).is_zero());
    }

    #[test]
    fn names_are_escaped_in_the_table_and_raw_in_json() {
        let reporter = Reporter {
            sort: Sort::All,
            rows: 20,
            json: false,
            clear: false,
            interval: 1,
            previous: HashMap::new(),
            lost: LostReporter::new(TOOL, LOST_REASONS),
        };
        let mut evil = row(7, 1, 2048, 0, 0);
        evil.name = b"a\x1b[2Jb".to_vec();
        let text = reporter.text(std::slice::from_ref(&evil));
        let line = text.lines().nth(2).unwrap();
        assert_eq!(line.split_whitespace().collect::<Vec<_>>(), ["7", "c", "1", "0", "2", "0", "R", "a\\x1b[2Jb"]);
        let json: serde_json::Value = serde_json::from_str(reporter.json(&[evil]).trim()).unwrap();
        assert_eq!(json["file"], "a\x1b[2Jb");
        assert_eq!(json["read_bytes"], 2048);
    }
}
