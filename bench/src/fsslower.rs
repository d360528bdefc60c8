//! ext4slower's cost on a read-heavy loop: small preads from the page cache,
//! untraced, under `tracer ext4slower` and under a bpftrace script doing the
//! same at syscall level (Debian's ext4slower.bt needs kprobes, which this
//! kernel lacks). Neither reports anything (no read is slower than 10 ms):
//! this is the price of watching, per read.

use std::{
    fmt::Write as _,
    fs::File,
    os::unix::fs::FileExt,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Result;

use super::{
    measure::{median, spread},
    storm::{self, Setup, Tool},
};
use crate::util::say;

const READS: usize = 300_000;

/// The syscall-level equivalent: pread64 on files whose super block has the
/// ext4 magic, timed from entry to exit, printed if slower than 10 ms.
pub const BPFTRACE_EXT4SLOWER: &str = r#"
BEGIN { printf("Tracing ext4 operations slower than 10 ms\n"); }
tracepoint:syscalls:sys_enter_pread64
{
  $file = *(curtask->files->fdt->fd + args->fd);
  if ($file->f_inode->i_sb->s_magic == 0xEF53) { @start[tid] = nsecs; }
}
tracepoint:syscalls:sys_exit_pread64 /@start[tid]/
{
  $d = nsecs - @start[tid];
  delete(@start[tid]);
  if ($d > 10000000) { printf("%s %d %d ms\n", comm, pid, $d / 1000000); }
}
END { clear(@start); }
"#;

const TOOLS: [Tool; 2] = [
    Tool {
        command: |setup| {
            let mut command = Command::new(&setup.tracer);
            command.arg("ext4slower");
            command
        },
        ready: "Tracing ext4 operations",
    },
    Tool {
        command: |setup| {
            let mut command = Command::new("bpftrace");
            command.arg(setup.script_dir.join("ext4slower.bt"));
            command
        },
        ready: "Tracing ext4 operations",
    },
];

/// READS preads of 64 bytes from a cached file; returns the time per read.
fn read_loop(file: &File) -> Result<Duration> {
    let mut buffer = [0u8; 64];
    let started = Instant::now();
    for i in 0..READS {
        file.read_at(&mut buffer, ((i % 64) * 64) as u64)?;
    }
    Ok(started.elapsed() / READS as u32)
}

pub fn run(tracer: &Path, args: &[String]) -> Result<String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let setup = Setup { tracer: tracer.to_path_buf(), script_dir: crate::util::workspace_root().join("target/bench") };
    std::fs::create_dir_all(&setup.script_dir)?;
    std::fs::write(setup.script_dir.join("ext4slower.bt"), BPFTRACE_EXT4SLOWER)?;
    // On the root file system (ext4 here), cached after the first read.
    let path = setup.script_dir.join("ext4slower-reads.dat");
    std::fs::write(&path, vec![7u8; 4096])?;
    let file = File::open(&path)?;
    read_loop(&file)?;
    say(&format!("fsslower: {rounds} rounds of {READS} cached 64-byte preads: untraced, tracer ext4slower, bpftrace"));
    let storm::Storms { untraced, traced } = storm::rounds(rounds, &setup, &TOOLS, || read_loop(&file))?;
    std::fs::remove_file(&path)?;
    let ns = |runs: &[storm::Run<Duration>]| runs.iter().map(|r| r.storm.as_nanos() as f64).collect::<Vec<_>>();
    let base = median(&ns(&untraced));
    let mut out = String::new();
    let _ = writeln!(out, "### ext4slower: {READS} cached 64-byte preads, {rounds} rounds\n");
    let _ = writeln!(out, "| | ns per read (median, min–max) | added per read |");
    let _ = writeln!(out, "|---|---|---|");
    let (lo, hi) = spread(&ns(&untraced));
    let _ = writeln!(out, "| untraced | {base:.0} ({lo:.0}–{hi:.0}) | |");
    for (name, runs) in [("tracer ext4slower (syscall path)", &traced[0]), ("bpftrace, syscall level", &traced[1])] {
        let values = ns(runs);
        let (lo, hi) = spread(&values);
        let _ =
            writeln!(out, "| {name} | {:.0} ({lo:.0}–{hi:.0}) | {:+.0} ns |", median(&values), median(&values) - base);
    }
    Ok(out)
}
