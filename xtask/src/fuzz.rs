//! `cargo xtask fuzz [--seconds N]`: runs every cargo-fuzz target in fuzz/
//! (the parsers of kernel-provided and untrusted input: tracefs formats,
//! BTF, /proc files, HdrHistogram logs) for N seconds each (default 20),
//! starting from the seeds in fuzz/seeds/. A crash fails the task and
//! leaves the input in fuzz/artifacts/.

use anyhow::{Result, bail};

use crate::util::{self, say};

pub const TARGETS: &[&str] = &["tracefs_format", "btf", "proc_files", "hdr_log"];

pub fn run(args: &[String]) -> Result<()> {
    let seconds: u64 = match args.iter().position(|a| a == "--seconds").and_then(|i| args.get(i + 1)) {
        Some(text) => match text.parse() {
            Ok(seconds) if seconds > 0 => seconds,
            _ => bail!("--seconds wants a whole number of seconds, got {text:?}"),
        },
        None => 20,
    };
    let root = util::workspace_root();
    // The pinned BPF nightly: a nightly we already have, and one that moves only on purpose.
    let nightly = format!("+{}", crate::setup::bpf_toolchain()?);
    for target in TARGETS {
        say(&format!("fuzzing {target} for {seconds} s"));
        let corpus = root.join("target/fuzz-corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let seeds = root.join("fuzz/seeds").join(target);
        util::run(
            util::command("cargo".as_ref())
                .current_dir(&root)
                // The targets build with a nightly (sanitizers); drop what the
                // outer stable cargo put in the environment.
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTC")
                .env_remove("RUSTFLAGS")
                .args([nightly.as_str(), "fuzz", "run", target])
                .arg(&corpus)
                .arg(&seeds)
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-print_final_stats=1"),
        )?;
    }
    Ok(())
}
