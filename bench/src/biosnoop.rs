//! biosnoop's cost per I/O: direct 4 KiB reads of a loop device (each one
//! request: start, issue and completion all traced), untraced, under
//! `tracer biosnoop` and under a bpftrace script doing the same on the same
//! tracepoints (Debian's biosnoop.bt needs kprobes, which this kernel
//! lacks). Both print a line per I/O. Measured: wall-clock time per read,
//! and the kernel's own accounting of the programs' run time per I/O.

use std::{
    fmt::Write as _,
    fs::{File, OpenOptions},
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use super::{
    measure::{self, median, spread},
    storm::{self, Setup, Tool},
};
use crate::util::say;

const READS: usize = 50_000;
/// The reads cycle over this much of the device, which stays in the loop
/// device's backing file's page cache.
const SPAN: u64 = 16 << 20;

/// biosnoop on tracepoints: the submitter at block_io_start (6.5+), the
/// issue time at block_rq_issue, a line at block_rq_complete; requests
/// keyed by (dev, sector), as the classic records allow.
pub const BPFTRACE_BIOSNOOP: &str = r#"
BEGIN { printf("Tracing block I/O. Hit Ctrl-C to end.\n"); }
tracepoint:block:block_io_start
{
  @pid[args->dev, args->sector] = pid;
  @comm[args->dev, args->sector] = comm;
}
tracepoint:block:block_rq_issue { @issue[args->dev, args->sector] = nsecs; }
tracepoint:block:block_rq_complete /@issue[args->dev, args->sector]/
{
  $key = (args->dev, args->sector);
  printf("%-14s %-7d %d %-10d %-7d %7.3d\n", @comm[args->dev, args->sector], @pid[args->dev, args->sector],
         args->dev, args->sector, args->nr_sector * 512, (nsecs - @issue[args->dev, args->sector]) / 1000);
  delete(@issue[args->dev, args->sector]);
  delete(@pid[args->dev, args->sector]);
  delete(@comm[args->dev, args->sector]);
}
END { clear(@issue); clear(@pid); clear(@comm); }
"#;

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.arg("biosnoop");
            command
        },
        ready: "LAT(ms)",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("biosnoop.bt"));
            command
        },
        ready: "Tracing block I/O",
    },
];

/// A loop device over a file in target/bench, detached when dropped.
struct LoopDevice {
    device: String,
    image: std::path::PathBuf,
}

impl LoopDevice {
    fn new(dir: &Path) -> Result<Self> {
        let image = dir.join("biosnoop.img");
        std::fs::write(&image, vec![0x5a; SPAN as usize])?;
        let output = Command::new("losetup").args(["-f", "--show"]).arg(&image).output()?;
        if !output.status.success() {
            bail!("losetup: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(Self { device: String::from_utf8(output.stdout)?.trim().to_owned(), image })
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
        let _ = std::fs::remove_file(&self.image);
    }
}

/// A page-aligned buffer for direct I/O.
#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// READS direct 4 KiB reads; returns the time per read.
fn read_loop(file: &File) -> Result<Duration> {
    let mut page = Box::new(Page([0; 4096]));
    let started = Instant::now();
    for i in 0..READS as u64 {
        file.read_at(&mut page.0, (i * 4096) % SPAN)?;
    }
    Ok(started.elapsed() / READS as u32)
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("biosnoop.bt"), BPFTRACE_BIOSNOOP)?;
    let disk = LoopDevice::new(&setup.script_dir)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&disk.device)
        .with_context(|| format!("cannot open {} for direct I/O", disk.device))?;
    read_loop(&file)?;
    say(&format!(
        "biosnoop: {rounds} rounds of {READS} direct 4 KiB reads of {}: untraced, tracer biosnoop, bpftrace",
        disk.device
    ));
    let _stats = aya::sys::enable_stats(aya::sys::Stats::RunTime).context("cannot enable BPF run-time stats")?;
    let mut program_ns: [Vec<f64>; 2] = Default::default();
    let mut before = measure::programs();
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, || {
        // The programs a round's tool loaded, and their run time over the round.
        let started = measure::programs();
        let per_read = read_loop(&file)?;
        let ended = measure::programs();
        let ids = measure::new_programs(&before, &started);
        before = ended.clone();
        // tracer names its programs; bpftrace's are named after the tracepoint
        // (bcc keeps what follows the last ':', 15 bytes: "block_rq_compl").
        let ours = |name: &str| name.starts_with("biosnoop_") || name.starts_with("block_");
        let ns = measure::ns_per_call(&started, &ended, &ids, ours).map(|(ns, calls)| ns * calls as f64);
        Ok((per_read, ns.map(|total| total / READS as f64), ids.len()))
    })?;
    // Which tool ran is known from its slot; the program time came with the run.
    for (slot, runs) in traced.iter().enumerate() {
        program_ns[slot].extend(runs.iter().filter_map(|run| run.storm.1));
    }
    let ns = |runs: &[storm::Run<(Duration, Option<f64>, usize)>]| {
        runs.iter().map(|run| run.storm.0.as_nanos() as f64).collect::<Vec<_>>()
    };
    let reported = |runs: &[storm::Run<(Duration, Option<f64>, usize)>], marker: &str| {
        runs.iter()
            .map(|run| String::from_utf8_lossy(&run.stdout).lines().filter(|line| line.contains(marker)).count() as f64)
            .collect::<Vec<_>>()
    };
    let base = median(&ns(&untraced));
    let mut out = String::new();
    let _ = writeln!(out, "### biosnoop: {READS} direct 4 KiB reads of a loop device, {rounds} rounds\n");
    let _ = writeln!(
        out,
        "| | ns per read (median, min–max) | added per read | BPF programs, ns per I/O | reported (of {READS}) | lost |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let (lo, hi) = spread(&ns(&untraced));
    let _ = writeln!(out, "| untraced | {base:.0} ({lo:.0}–{hi:.0}) | | | | |");
    for (index, name) in ["tracer biosnoop", "bpftrace, tracepoints"].iter().enumerate() {
        let runs = &traced[index];
        let values = ns(runs);
        let (lo, hi) = spread(&values);
        let lost: Vec<f64> = runs
            .iter()
            .map(|r| storm::lost_in(&(String::from_utf8_lossy(&r.stdout) + String::from_utf8_lossy(&r.stderr))) as f64)
            .collect();
        let _ = writeln!(
            out,
            "| {name} | {:.0} ({lo:.0}–{hi:.0}) | {:+.0} ns | {:.0} | {} | {:.0} |",
            median(&values),
            median(&values) - base,
            median(&program_ns[index]),
            storm::count_cell(&reported(runs, "tracer-bench")),
            median(&lost)
        );
    }
    Ok(out)
}
