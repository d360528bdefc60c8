//! filetop's cost per traced syscall: small preads and pwrites of a cached
//! file, untraced, under `tracer filetop` and under a bpftrace script doing
//! the same at syscall level (the libbpf-tools/BCC filetop hooks vfs_read
//! with kprobes, which this kernel lacks): per (file, thread), count the
//! calls and add up the bytes they returned. Each run's counts are checked
//! against what the loop did, so a tool that misses calls cannot look cheap.

use std::{
    fmt::Write as _,
    fs::File,
    os::unix::fs::FileExt,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Result, ensure};

use super::{
    measure::{median, spread},
    storm::{self, Setup, Tool},
};
use crate::util::say;

/// Calls per storm: half preads, half pwrites.
const CALLS: usize = 400_000;

/// The syscall-level equivalent of filetop (regular files only): at entry
/// the file behind the fd, at exit its counters, keyed as libbpf-tools keys
/// them; printed and cleared every second.
pub const BPFTRACE_FILETOP: &str = r#"
BEGIN { printf("Tracing file reads and writes\n"); }
tracepoint:syscalls:sys_enter_pread64, tracepoint:syscalls:sys_enter_pwrite64
{
  $file = *(curtask->files->fdt->fd + args->fd);
  if (($file->f_inode->i_mode & 0170000) == 0100000) { @file[tid] = $file; }
}
tracepoint:syscalls:sys_exit_pread64 /@file[tid]/
{
  $f = (struct file *)@file[tid];
  $ino = $f->f_inode->i_ino; $dev = $f->f_inode->i_sb->s_dev; $name = str($f->f_path.dentry->d_name.name);
  @reads[$ino, $dev, pid, tid, comm, $name] = count();
  @rbytes[$ino, $dev, pid, tid, comm, $name] = sum(args->ret > 0 ? args->ret : 0);
  delete(@file[tid]);
}
tracepoint:syscalls:sys_exit_pwrite64 /@file[tid]/
{
  $f = (struct file *)@file[tid];
  $ino = $f->f_inode->i_ino; $dev = $f->f_inode->i_sb->s_dev; $name = str($f->f_path.dentry->d_name.name);
  @writes[$ino, $dev, pid, tid, comm, $name] = count();
  @wbytes[$ino, $dev, pid, tid, comm, $name] = sum(args->ret > 0 ? args->ret : 0);
  delete(@file[tid]);
}
interval:s:1 { print(@reads); print(@writes); clear(@reads); clear(@rbytes); clear(@writes); clear(@wbytes); }
END { clear(@file); clear(@reads); clear(@rbytes); clear(@writes); clear(@wbytes); }
"#;

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.args(["filetop", "-C", "1"]);
            command
        },
        // Printed every second, whether or not anything was read.
        ready: "loadavg:",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("filetop.bt"));
            command
        },
        ready: "Tracing file reads and writes",
    },
];

/// CALLS/2 preads and CALLS/2 pwrites of 64 bytes; returns the time per call.
fn io_loop(file: &File) -> Result<Duration> {
    let mut buffer = [0u8; 64];
    let started = Instant::now();
    for i in 0..CALLS / 2 {
        let offset = ((i % 64) * 64) as u64;
        file.read_at(&mut buffer, offset)?;
        file.write_at(&buffer, offset)?;
    }
    Ok(started.elapsed() / CALLS as u32)
}

/// The reads and writes of the bench's file that tracer's rows (one per
/// interval: TID COMM READS WRITES R_Kb W_Kb T FILE) add up to.
fn counted(stdout: &[u8], name: &str) -> (u64, u64) {
    let tid = std::process::id().to_string();
    let mut totals = (0, 0);
    for line in String::from_utf8_lossy(stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() == 8 && fields[0] == tid && fields[7] == name {
            totals.0 += fields[2].parse::<u64>().unwrap_or(0);
            totals.1 += fields[3].parse::<u64>().unwrap_or(0);
        }
    }
    totals
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("filetop.bt"), BPFTRACE_FILETOP)?;
    // On the root file system (ext4 here), cached after the first pass.
    let name = "filetop-io.dat";
    let path = setup.script_dir.join(name);
    std::fs::write(&path, vec![7u8; 4096])?;
    let file = File::options().read(true).write(true).open(&path)?;
    io_loop(&file)?;
    say(&format!("filetop: {rounds} rounds of {CALLS} cached 64-byte preads/pwrites: untraced, tracer, bpftrace"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, || io_loop(&file))?;
    std::fs::remove_file(&path)?;
    for run in &traced[0] {
        let (reads, writes) = counted(&run.stdout, name);
        ensure!(
            reads >= (CALLS / 2) as u64 && writes >= (CALLS / 2) as u64,
            "tracer filetop counted {reads} preads and {writes} pwrites of {name}, the loop made {} of each",
            CALLS / 2
        );
    }
    let ns = |runs: &[storm::Run<Duration>]| runs.iter().map(|r| r.storm.as_nanos() as f64).collect::<Vec<_>>();
    let base = median(&ns(&untraced));
    let mut out = String::new();
    let _ = writeln!(out, "### filetop: {CALLS} cached 64-byte preads and pwrites, {rounds} rounds\n");
    let _ = writeln!(out, "| | ns per call (median, min–max) | added per call |");
    let _ = writeln!(out, "|---|---|---|");
    let (lo, hi) = spread(&ns(&untraced));
    let _ = writeln!(out, "| untraced | {base:.0} ({lo:.0}–{hi:.0}) | |");
    for (name, runs) in [("tracer filetop (syscall path)", &traced[0]), ("bpftrace, syscall level", &traced[1])] {
        let values = ns(runs);
        let (lo, hi) = spread(&values);
        let _ =
            writeln!(out, "| {name} | {:.0} ({lo:.0}–{hi:.0}) | {:+.0} ns |", median(&values), median(&values) - base);
    }
    Ok(out)
}
