//! The run loop shared by interval tools: report every interval, stop after
//! `count` reports, and on Ctrl-C, SIGTERM or SIGHUP (the SSH session that
//! started us went away) print the partial interval before exiting (as BCC
//! and libbpf-tools do). Dropping the BPF object on return detaches every
//! program.

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
    /// The count or duration the user asked for was reached.
    Finished,
    Signal,
}

/// Catches SIGINT, SIGTERM and SIGHUP from the moment it is created: make it
/// before attaching, so a signal that arrives while the programs load still
/// ends the run through the normal path (report, detach) instead of being
/// lost.
pub struct Runner {
    runtime: Runtime,
    stop: StopSignals,
}

/// The signals that end a run.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    /// Resolves when any of them arrives.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

impl Runner {
    pub fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().enable_io().build()?;
        let stop = {
            let _context = runtime.enter();
            StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            }
        };
        Ok(Self { runtime, stop })
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
                            return Ok(End::Finished);
                        }
                    }
                    () = self.stop.recv() => break,
                }
            }
            report()?;
            Ok(End::Signal)
        })
    }
}

/// What an event tool's handler receives: events in time order, and how
/// many the kernel reported lost since the last call (perf buffers).
pub struct Delivery {
    pub events: Vec<Vec<u8>>,
    pub perf_lost: u64,
}

/// How often the event buffers are drained.
const EVENT_TICK: Duration = Duration::from_millis(20);

impl Runner {
    /// Streams events from `buffers` to `handle` until a signal, or until
    /// `duration` has passed; then hands over every event still held.
    pub fn run_events(
        mut self,
        mut buffers: crate::events::EventBuffers,
        duration: Option<Duration>,
        mut handle: impl FnMut(Delivery) -> Result<()>,
    ) -> Result<End> {
        self.runtime.block_on(async {
            let mut reorder = crate::events::Reorder::default();
            let end = duration.map(|d| Instant::now() + d);
            let mut tick = tokio::time::interval(EVENT_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let ended = loop {
                let deadline = end.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    _ = tick.tick() => {}
                    () = sleep_until(deadline), if end.is_some() => break End::Finished,
                    () = self.stop.recv() => break End::Signal,
                }
                let drained_at = crate::events::monotonic_ns();
                let perf_lost = buffers.drain(&mut reorder);
                let horizon = drained_at.saturating_sub(crate::events::reorder::HOLD_NS);
                // Called on every tick, so tools can also check loss counters.
                handle(Delivery { events: reorder.ready(horizon), perf_lost })?;
            };
            // Collect what is still in the buffers, then release everything.
            let perf_lost = buffers.drain(&mut reorder);
            handle(Delivery { events: reorder.drain(), perf_lost })?;
            Ok(ended)
        })
    }
}

impl Runner {
    /// Calls `poll` every `tick` until `duration` has passed (if given) or a
    /// signal arrives; for tools that aggregate in the kernel and report once.
    pub fn run_polling(
        mut self,
        duration: Option<Duration>,
        tick: Duration,
        mut poll: impl FnMut() -> Result<()>,
    ) -> Result<End> {
        self.runtime.block_on(async {
            let end = duration.map(|d| Instant::now() + d);
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let deadline = end.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    _ = ticks.tick() => poll()?,
                    () = sleep_until(deadline), if end.is_some() => return Ok(End::Finished),
                    () = self.stop.recv() => return Ok(End::Signal),
                }
            }
        })
    }
}
