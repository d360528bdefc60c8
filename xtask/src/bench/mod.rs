//! `cargo xtask bench TOOL`: measures tracer side by side with a peer in the
//! same run (alternating, medians), prints a Markdown report and writes it to
//! target/bench/TOOL.md. Figures and method go into BENCHMARKS.md.

mod execsnoop;
mod fsslower;
mod measure;
mod profile;
mod runqlat;
mod startup;
mod storm;
mod tcplife;

use std::path::Path;

use anyhow::{Result, bail};

pub fn run(tracer: &Path, args: &[String]) -> Result<()> {
    if !crate::util::is_root() {
        bail!("benchmarks load BPF programs: run as root");
    }
    let report = match args.first().map(String::as_str) {
        Some("runqlat") => runqlat::run(tracer, &args[1..])?,
        Some("execsnoop") => execsnoop::run(tracer, &args[1..])?,
        Some("tcplife") => tcplife::run(tracer, &args[1..])?,
        Some("ext4slower") => fsslower::run(tracer, &args[1..])?,
        Some("profile") => profile::run(tracer, &args[1..])?,
        Some("startup") => startup::run(tracer, &args[1..])?,
        Some(other) => {
            bail!("no benchmark for {other:?}; available: startup, runqlat, execsnoop, tcplife, ext4slower, profile")
        }
        None => {
            bail!("usage: cargo xtask bench startup [TOOL...]|runqlat|execsnoop|tcplife|ext4slower|profile [--quick]")
        }
    };
    let dir = crate::util::workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.md", args[0]));
    std::fs::write(&path, &report)?;
    println!("{report}");
    crate::util::say(&format!("report written to {}", path.display()));
    Ok(())
}
