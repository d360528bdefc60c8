//! The run loop shared by interval tools: report every interval, stop after
//! `count` reports, and on Ctrl-C or SIGTERM print the partial interval
//! before exiting (as BCC and libbpf-tools do). Dropping the BPF object on
//! return detaches every program.

use std::time::Duration;

use anyhow::Result;
use tokio::{
    signal::unix::{SignalKind, signal},
    time::{Instant, sleep_until},
};

/// When to report and when to stop.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Report every `interval`; `None` reports once, at the end.
    pub interval: Option<Duration>,
    /// Stop after this many reports; `None` runs until a signal.
    pub count: Option<u64>,
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    CountReached,
    Signal,
}

/// Calls `report` at each interval and once more when a signal ends the run.
pub fn run(schedule: Schedule, mut report: impl FnMut() -> Result<()>) -> Result<End> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().enable_io().build()?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut reports = 0u64;
        let start = Instant::now();
        loop {
            // Deadlines from the start time, so intervals do not drift by the
            // time each report takes.
            let deadline = schedule
                .interval
                .map(|interval| start + interval * (reports as u32 + 1))
                .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600));
            tokio::select! {
                () = sleep_until(deadline) => {
                    report()?;
                    reports += 1;
                    if schedule.count.is_some_and(|count| reports >= count) {
                        return Ok(End::CountReached);
                    }
                }
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
            }
        }
        report()?;
        Ok(End::Signal)
    })
}
