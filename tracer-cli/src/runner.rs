//! The run loop shared by interval tools: report every interval, stop after
//! `count` reports, and on Ctrl-C or SIGTERM print the partial interval
//! before exiting (as BCC and libbpf-tools do). Dropping the BPF object on
//! return detaches every program.

use std::time::Duration;

use anyhow::Result;
use tokio::{
    runtime::Runtime,
    signal::unix::{Signal, SignalKind, signal},
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

/// Catches SIGINT and SIGTERM from the moment it is created: make it before
/// attaching, so a signal that arrives while the programs load still ends
/// the run through the normal path (report, detach) instead of being lost.
pub struct Runner {
    runtime: Runtime,
    interrupt: Signal,
    terminate: Signal,
}

impl Runner {
    pub fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().enable_io().build()?;
        let (interrupt, terminate) = {
            let _context = runtime.enter();
            (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
        };
        Ok(Self { runtime, interrupt, terminate })
    }

    /// Calls `report` at each interval and once more when a signal ends the run.
    pub fn run(mut self, schedule: Schedule, mut report: impl FnMut() -> Result<()>) -> Result<End> {
        self.runtime.block_on(async {
            let mut reports = 0u64;
            let start = Instant::now();
            loop {
                // Deadlines from the start, so intervals do not drift by the
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
                    _ = self.interrupt.recv() => break,
                    _ = self.terminate.recv() => break,
                }
            }
            report()?;
            Ok(End::Signal)
        })
    }
}
