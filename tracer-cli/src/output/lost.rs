//! Reporting lost samples and events: every tool counts them per reason in a
//! per-CPU kernel array; each interval the new losses go to stderr (and to
//! stdout as a JSON record under --json). Nothing is dropped silently.

use serde::Serialize;

/// Remembers totals already reported, so each loss is reported once.
pub struct LostReporter {
    tool: &'static str,
    /// Human description per reason index, e.g. "samples: wakeup map full".
    reasons: &'static [(&'static str, &'static str)],
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
        Self { tool, reasons, reported: vec![0; reasons.len()] }
    }

    /// Reports what is new in `totals`; returns JSON lines for stdout when `json`.
    pub fn report(&mut self, totals: &[u64], json: bool) -> String {
        let mut lines = String::new();
        for (index, (&total, &(name, text))) in totals.iter().zip(self.reasons).enumerate() {
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
