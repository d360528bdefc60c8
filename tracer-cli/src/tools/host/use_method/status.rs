//! Statuses and the thresholds that set them. Every threshold has a name,
//! a warning and a critical level, and can be overridden with
//! `--threshold NAME=WARN:CRIT`.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The measure could not be taken on this host (the cell says why).
    Unavailable,
    Warn,
    Critical,
}

impl Status {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unavailable => "n/a",
            Self::Warn => "warn",
            Self::Critical => "critical",
        }
    }
}

/// One threshold: values at or above `warn` warn, at or above `critical`
/// are critical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub name: &'static str,
    pub warn: f64,
    pub critical: f64,
    pub unit: &'static str,
}

impl Threshold {
    pub fn classify(&self, value: f64) -> Status {
        if value >= self.critical {
            Status::Critical
        } else if value >= self.warn {
            Status::Warn
        } else {
            Status::Ok
        }
    }
}

const fn t(name: &'static str, warn: f64, critical: f64, unit: &'static str) -> Threshold {
    Threshold { name, warn, critical, unit }
}

/// The defaults (README lists them).
pub const DEFAULTS: &[Threshold] = &[
    t("cpu.utilization", 70.0, 90.0, "% busy, all CPUs"),
    t("cpu.runqlen", 1.0, 3.0, "tasks waiting per CPU, mean"),
    t("cpu.runqlat_p99", 5.0, 20.0, "ms run-queue latency, p99"),
    t("cpu.machine_checks", 1.0, 1.0, "machine-check exceptions"),
    t("pressure", 10.0, 40.0, "% of time some task stalled (PSI)"),
    t("memory.utilization", 85.0, 95.0, "% of memory not available"),
    t("memory.swapping", 100.0, 1000.0, "pages swapped per second"),
    t("memory.oom_kills", 1.0, 1.0, "OOM kills"),
    t("disk.utilization", 60.0, 90.0, "% of time busy"),
    t("disk.queue", 2.0, 8.0, "I/Os in flight, mean"),
    t("disk.p99", 50.0, 200.0, "ms I/O latency, p99"),
    t("disk.errors", 1.0, 1.0, "I/O errors"),
    t("net.utilization", 70.0, 90.0, "% of link speed"),
    t("net.drops", 1.0, 100.0, "drops per second"),
    t("net.errors", 1.0, 100.0, "errors per second"),
    t("tcp.retransmits", 1.0, 5.0, "% of segments retransmitted"),
    t("fds.utilization", 70.0, 90.0, "% of file-max"),
    t("tasks.utilization", 70.0, 90.0, "% of the task limit"),
];

/// The thresholds of a run: the defaults with the user's overrides.
#[derive(Clone, Debug)]
pub struct Thresholds(Vec<Threshold>);

impl Thresholds {
    pub fn with_overrides(overrides: &[Override]) -> Self {
        let mut all = DEFAULTS.to_vec();
        for change in overrides {
            if let Some(threshold) = all.iter_mut().find(|t| t.name == change.name) {
                threshold.warn = change.warn;
                threshold.critical = change.critical;
            }
        }
        Self(all)
    }

    pub fn get(&self, name: &str) -> Threshold {
        *self.0.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no threshold named {name}"))
    }
}

/// `--threshold NAME=WARN:CRIT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub name: &'static str,
    pub warn: f64,
    pub critical: f64,
}

pub fn override_arg(text: &str) -> Result<Override, String> {
    let names = || DEFAULTS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ");
    let (name, levels) =
        text.split_once('=').ok_or_else(|| format!("'{text}' is not NAME=WARN:CRIT (e.g. cpu.utilization=80:95)"))?;
    let threshold = DEFAULTS
        .iter()
        .find(|t| t.name == name.trim())
        .ok_or_else(|| format!("no threshold named '{name}' (known: {})", names()))?;
    let (warn, critical) = levels.split_once(':').ok_or_else(|| format!("'{levels}' is not WARN:CRIT (e.g. 80:95)"))?;
    let parse = |v: &str| v.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
    let (Some(warn), Some(critical)) = (parse(warn), parse(critical)) else {
        return Err(format!("'{levels}' must be two non-negative numbers, WARN:CRIT"));
    };
    if warn > critical {
        return Err(format!("the warning level {warn} is above the critical level {critical}"));
    }
    Ok(Override { name: threshold.name, warn, critical })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_classify_inclusively() {
        let threshold = t("x", 10.0, 20.0, "");
        assert_eq!(threshold.classify(9.9), Status::Ok);
        assert_eq!(threshold.classify(10.0), Status::Warn);
        assert_eq!(threshold.classify(20.0), Status::Critical);
    }

    #[test]
    fn overrides_are_validated_and_applied() {
        let change = override_arg("cpu.utilization=50:60").unwrap();
        let thresholds = Thresholds::with_overrides(&[change]);
        assert_eq!(thresholds.get("cpu.utilization").warn, 50.0);
        assert!(override_arg("cpu.nothing=1:2").unwrap_err().contains("known:"));
        assert!(override_arg("cpu.utilization=9:2").is_err());
        assert!(override_arg("cpu.utilization=x:2").is_err());
        assert!(override_arg("cpu.utilization").is_err());
    }

    #[test]
    fn worst_status_wins() {
        assert_eq!([Status::Ok, Status::Critical, Status::Warn].into_iter().max(), Some(Status::Critical));
        assert!(Status::Unavailable < Status::Warn);
    }
}
