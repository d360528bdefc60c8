//! The benchmarks behind `cargo xtask bench TOOL`: tracer measured side by
//! side with a peer in the same run (alternating, medians); prints a Markdown
//! report and writes it to target/bench/TOOL.md. Figures and method go into
//! BENCHMARKS.md. xtask sets up and builds, then runs this binary (built,
//! like tracer, with the pinned toolchain: it reads BPF program statistics
//! through aya) as `tracer-bench TRACER TOOL [ARGS]`.

mod biosnoop;
mod execsnoop;
mod filetop;
mod fsslower;
mod measure;
mod profile;
mod runqlat;
mod startup;
mod statsnoop;
mod storm;
mod tcpaccept;
mod tcpconnect;
mod tcplife;
mod tcpretrans;
mod tcptop;
mod util;

use std::{path::Path, process::ExitCode};

use anyhow::{Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((tracer, rest)) = args.split_first() else {
        eprintln!("usage: tracer-bench TRACER TOOL [ARGS] (run it through `cargo xtask bench TOOL`)");
        return ExitCode::from(2);
    };
    match run(Path::new(tracer), rest) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(tracer: &Path, args: &[String]) -> Result<()> {
    if !crate::util::is_root() {
        bail!("benchmarks load BPF programs: run as root");
    }
    let report = match args.first().map(String::as_str) {
        Some("runqlat") => runqlat::run(tracer, &args[1..])?,
        Some("execsnoop") => execsnoop::run(tracer, &args[1..])?,
        Some("tcplife") => tcplife::run(tracer, &args[1..])?,
        Some("tcptop") => tcptop::run(tracer, &args[1..])?,
        Some("tcpconnect") => tcpconnect::run(tracer, &args[1..])?,
        Some("tcpretrans") => tcpretrans::run(tracer, &args[1..])?,
        Some("ext4slower") => fsslower::run(tracer, &args[1..])?,
        Some("filetop") => filetop::run(tracer, &args[1..])?,
        Some("profile") => profile::run(tracer, &args[1..])?,
        Some("biosnoop") => biosnoop::run(tracer, &args[1..])?,
        Some("startup") => startup::run(tracer, &args[1..])?,
        Some("statsnoop") => statsnoop::run(tracer, &args[1..])?,
        Some("tcpaccept") => tcpaccept::run(tracer, &args[1..])?,
        Some(other) => {
            bail!(
                "no benchmark for {other:?}; available: startup, runqlat, execsnoop, tcplife, tcptop, tcpconnect, tcpretrans, tcpaccept, ext4slower, filetop, profile, biosnoop, statsnoop"
            )
        }
        None => {
            bail!(
                "usage: cargo xtask bench startup [TOOL...]|runqlat|execsnoop|tcplife|tcptop|tcpconnect|tcpretrans|tcpaccept|ext4slower|filetop|profile|biosnoop|statsnoop [--quick]"
            )
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
