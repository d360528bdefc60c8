//! `cargo xtask vmtest [--kernel 5.10|6.1|6.12|all]`: boots Debian's own kernels
//! under qemu (software emulation: nested KVM hangs on this VM) with an
//! initramfs holding busybox, tracer, its test workloads and an ext4 image,
//! runs `smoke.sh` inside (every tool against a workload it must see), and
//! reports pass/fail and the hook used per tool per kernel. This is how the
//! fentry and kprobe paths, which this host's kernel refuses, get exercised.

mod guest;
mod kernel;

use std::{fmt::Write as _, path::Path, time::Duration};

use anyhow::{Result, bail};

use self::kernel::Series;
use crate::util::say;

/// Kernels we claim: Debian 11's 5.10 (BTF, fentry and kprobes, but no task
/// storage for tracing: runqlat falls back), Debian 12's own 6.1 and its
/// 6.12 update.
const KERNELS: &[Series] = &[
    Series { version: "5.10", debian: "bullseye" },
    Series { version: "6.1", debian: "bookworm" },
    Series { version: "6.12", debian: "bookworm" },
];

/// A guest that has not powered off by then is killed and reported failed.
const GUEST_LIMIT: Duration = Duration::from_secs(600);

/// Guests booted side by side, each with its one vCPU. A guest spends about
/// half its time in the suite's sleeps, so three share this 2-core host well:
/// the three-kernel matrix took 50-58 s in five runs (all passing, no
/// lockups; some beside another build), against 2m15 one after another.
const GUESTS_AT_ONCE: usize = 3;

/// One tool's line in a kernel's report.
#[derive(Clone, Debug)]
pub struct ToolResult {
    pub tool: String,
    pub hook: String,
    pub passed: bool,
}

pub fn run(tracer: &Path, args: &[String]) -> Result<()> {
    let wanted: Vec<&Series> = match args.iter().position(|a| a == "--kernel").and_then(|i| args.get(i + 1)) {
        None => KERNELS.iter().collect(),
        Some(k) if k == "all" => KERNELS.iter().collect(),
        Some(k) => match KERNELS.iter().find(|series| series.version == k) {
            Some(series) => vec![series],
            None => {
                let versions: Vec<&str> = KERNELS.iter().map(|series| series.version).collect();
                bail!("no kernel {k:?} in the matrix; use --kernel {} or all", versions.join("|"))
            }
        },
    };
    let dir = crate::util::workspace_root().join("target/vmtest");
    std::fs::create_dir_all(&dir)?;
    let image = guest::Image::build(tracer, &dir)?;
    // One at a time: the initrds are staged in the image's one directory.
    let mut guests = Vec::new();
    for series in wanted {
        let kernel = kernel::fetch(series, &dir)?;
        let initrd = image.initrd_for(&kernel, &dir)?;
        guests.push((series.version, kernel, initrd));
    }
    let mut reports = Vec::new();
    for batch in guests.chunks(GUESTS_AT_ONCE) {
        let outcomes: Vec<Result<guest::Outcome>> = std::thread::scope(|scope| {
            let running: Vec<_> = batch
                .iter()
                .map(|(series, kernel, initrd)| {
                    say(&format!("vmtest: booting {} under qemu (TCG)", kernel.release));
                    let log = dir.join(format!("{series}.log"));
                    scope.spawn(move || guest::boot(series, kernel, initrd, GUEST_LIMIT, &log))
                })
                .collect();
            running.into_iter().map(|guest| guest.join().expect("a guest thread panicked")).collect()
        });
        for ((series, kernel, _), outcome) in batch.iter().zip(outcomes) {
            reports.push((*series, kernel.release.clone(), outcome?));
        }
    }
    let mut table = String::new();
    let _ = writeln!(table, "| tool | kernel | hook | result |");
    let _ = writeln!(table, "|---|---|---|---|");
    let mut failed = 0;
    for (series, release, outcome) in &reports {
        if let Some(problem) = &outcome.problem {
            failed += 1;
            let _ = writeln!(table, "| (guest) | {series} ({release}) | - | FAIL: {problem} |");
        }
        for result in &outcome.results {
            if !result.passed {
                failed += 1;
            }
            let verdict = if result.passed { "pass" } else { "FAIL" };
            let _ = writeln!(table, "| {} | {series} ({release}) | {} | {verdict} |", result.tool, result.hook);
        }
    }
    println!("{table}");
    for (series, _, outcome) in &reports {
        println!("doctor on {series}:\n{}", outcome.doctor);
    }
    std::fs::write(dir.join("matrix.md"), &table)?;
    say(&format!("vmtest: matrix written to {}; guest logs in {}", dir.join("matrix.md").display(), dir.display()));
    if failed > 0 {
        bail!("{failed} tool runs failed in the kernel matrix (see the logs)");
    }
    Ok(())
}
