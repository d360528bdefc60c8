//! Everything printed: escaping of strings that came from the traced system,
//! JSON records, timestamps, and a stdout that ends the run cleanly when the
//! reader goes away.

pub mod escape;
pub mod json;
pub mod lost;
pub mod progress;
pub mod time;

use std::io::{self, Write};

/// Returned when stdout was closed by its reader (`tracer ... | head`); main
/// treats it as a normal end of the run.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `text` to stdout and flushes, so each interval appears at once even
/// through a pipe.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        other => Ok(other?),
    }
}
