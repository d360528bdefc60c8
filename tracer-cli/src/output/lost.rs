//! Reporting lost samples and events: every tool counts them per reason in a
//! per-CPU kernel array; each interval the new losses go to stderr (and to
//! stdout as a JSON record under --json). Nothing is dropped silently.

use serde::Serialize;

/// Remembers totals already reported, so each loss is reported once.
pub struct LostReporter {
    tool: &'static str,
    /// Human description per reason index, e.g. "samples: wakeup map full".
    reasons: Vec<(&'static str, &'static str)>,
    reported: Vec<u64>,
}

#[derive(Serialize)]
struct LostRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    reason: &'a str,
    count: u64,
}

impl LostReporter {
    /// `reasons`: (JSON reason name, text for humans) per counter index.
    pub fn new(tool: &'static str, reasons: &'static [(&'static str, &'static str)]) -> Self {
        Self { tool, reasons: reasons.to_vec(), reported: vec![0; reasons.len()] }
    }

    /// How many loss reasons (counter slots) this reporter knows.
    pub fn reason_count(&self) -> usize {
        self.reasons.len()
    }

    /// Reports what is new in `totals`; returns JSON lines for stdout when `json`.
    pub fn report(&mut self, totals: &[u64], json: bool) -> String {
        let mut lines = String::new();
        for (index, (&total, &(name, text))) in totals.iter().zip(&self.reasons).enumerate() {
            let new = total.saturating_sub(self.reported[index]);
            if new == 0 {
                continue;
            }
            self.reported[index] = total;
            eprintln!("{}: lost {new} {text}", self.tool);
            if json {
                lines.push_str(&super::json::line(self.tool, &LostRecord { kind: "lost", reason: name, count: new }));
            }
        }
        lines
    }
}

/// Losses of an event tool: events the ring buffer had no room for (counted
/// per CPU by the programs in `EVENT_DROPS[0]`), events the kernel dropped
/// from full perf buffers (reported in the buffers themselves), and any of
/// the tool's own reasons (`EVENT_DROPS[1..]`, e.g. a full map).
pub struct EventLoss {
    reporter: LostReporter,
    /// Slots of `EVENT_DROPS` read: the ring buffer's and the tool's.
    slots: u32,
    perf_lost: u64,
    last_check: Option<std::time::Instant>,
}

const EVENT_LOSS_REASONS: &[(&str, &str)] =
    &[("ring_buffer_full", "events: ring buffer full"), ("perf_buffer_full", "events: perf buffer full")];

impl EventLoss {
    /// `extra`: the tool's own reasons, counted in `EVENT_DROPS[1..]` (most have none).
    pub fn new(tool: &'static str, extra: &'static [(&'static str, &'static str)]) -> Self {
        let mut reporter = LostReporter::new(tool, EVENT_LOSS_REASONS);
        reporter.reasons.extend_from_slice(extra);
        reporter.reported.resize(reporter.reasons.len(), 0);
        Self { reporter, slots: 1 + extra.len() as u32, perf_lost: 0, last_check: None }
    }

    /// Adds perf-buffer losses and, at most once a second (always when
    /// `last`), reports new losses. Returns JSON lines when `json`.
    pub fn check(&mut self, ebpf: &aya::Ebpf, perf_lost: u64, json: bool, last: bool) -> anyhow::Result<String> {
        self.perf_lost += perf_lost;
        let due = self.last_check.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(1));
        if !due && !last {
            return Ok(String::new());
        }
        self.last_check = Some(std::time::Instant::now());
        let slots = crate::bpf::maps::drop_counts(ebpf, tracer_common::events::EVENT_DROPS_MAP, self.slots)?;
        let mut totals = vec![slots[0], self.perf_lost];
        totals.extend_from_slice(&slots[1..]);
        Ok(self.reporter.report(&totals, json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_loss_once() {
        let mut lost = LostReporter::new("t", &[("a", "samples: a"), ("b", "samples: b")]);
        assert_eq!(lost.report(&[0, 0], true), "");
        let json = lost.report(&[3, 0], true);
        let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(value["type"], "lost");
        assert_eq!(value["reason"], "a");
        assert_eq!(value["count"], 3);
        assert_eq!(lost.report(&[3, 0], true), "");
        assert!(lost.report(&[5, 1], true).lines().count() == 2);
    }
}
