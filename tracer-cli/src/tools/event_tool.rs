//! The run loop every event tool shares: header, then events in time order
//! as they arrive, losses reported, until Ctrl-C/SIGTERM (or `duration`).

use std::time::Duration;

use anyhow::Result;

use crate::{
    bpf::hooks::WithEvents,
    output::{self, lost::EventLoss},
    runner::Runner,
};

/// How a tool shows its events.
pub trait EventPrinter {
    /// The column header (not printed with --json).
    fn header(&self) -> String;
    /// One event's line (text or JSON), or None if filtered out.
    fn event(&mut self, bytes: &[u8]) -> Option<String>;
    /// The tool's own loss reasons (JSON name, text), counted by its
    /// programs in `EVENT_DROPS[1..]` after the ring buffer's slot.
    fn loss_reasons(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

pub fn stream(
    tool: &'static str,
    runner: Runner,
    (ebpf, buffers): WithEvents,
    json: bool,
    duration: Option<Duration>,
    printer: &mut impl EventPrinter,
) -> Result<()> {
    if !json {
        output::emit(&printer.header())?;
    }
    let mut loss = EventLoss::new(tool, printer.loss_reasons());
    runner.run_events(buffers, duration, |delivery| {
        let mut out: String = delivery.events.iter().filter_map(|bytes| printer.event(bytes)).collect();
        out.push_str(&loss.check(&ebpf, delivery.perf_lost, json, false)?);
        output::emit(&out)
    })?;
    output::emit(&loss.check(&ebpf, 0, json, true)?)
}
