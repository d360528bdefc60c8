//! `tracer`: eBPF performance tracing tools in one static binary.

mod bpf;
mod cli;
mod docs;
mod error;
mod events;
mod flamegraph;
mod hist;
mod kernel;
mod logging;
mod output;
mod runner;
mod stacks;
mod symbols;
mod tools;

/// build.rs's commit lookup, included here so that it has unit tests.
#[cfg(test)]
#[path = "../build/commit.rs"]
mod build_commit;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    logging::init(cli.common.verbose);
    match tools::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<output::StdoutClosed>() => ExitCode::SUCCESS,
        Err(err) => {
            let (status, message) = error::report(&err);
            eprintln!("tracer: {message}");
            ExitCode::from(status as u8)
        }
    }
}

/// Help and version go to stdout as clap renders them; a usage error is one
/// line on stderr, with the remedy, and status 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let _ = err.print();
            ExitCode::from(error::USAGE_EXIT as u8)
        }
        _ => {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let message = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("tracer: {message} (see --help)");
            ExitCode::from(error::USAGE_EXIT as u8)
        }
    }
}
