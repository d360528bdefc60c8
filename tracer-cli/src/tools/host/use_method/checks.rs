//! From two snapshots, the levels at the end and the BPF measures to the
//! report's cells: for each resource, Utilization, Saturation and Errors,
//! each with a status and, when not ok, the next command to run.

use std::time::Duration;

use serde::Serialize;

use super::{
    probes::BpfProbes,
    sources::{Levels, Snapshot},
    status::{Status, Threshold, Thresholds},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Utilization,
    Saturation,
    Errors,
}

impl Check {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Utilization => "utilization",
            Self::Saturation => "saturation",
            Self::Errors => "errors",
        }
    }
}

/// One cell of the USE table.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub resource: String,
    pub check: Check,
    pub status: Status,
    /// What was measured, in words and numbers.
    pub measure: String,
    /// The next command to run, for cells that are not ok.
    pub next: Option<String>,
}

/// Collects the measures of one cell; its status is the worst of them.
struct CellBuilder {
    resource: String,
    check: Check,
    parts: Vec<String>,
    status: Option<Status>,
}

impl CellBuilder {
    fn new(resource: impl Into<String>, check: Check) -> Self {
        Self { resource: resource.into(), check, parts: Vec::new(), status: None }
    }

    /// A measured value, judged by `threshold`.
    fn measured(&mut self, threshold: Threshold, value: f64, text: String) -> &mut Self {
        let status = threshold.classify(value);
        self.status = Some(self.status.map_or(status, |s| s.max(status)));
        self.parts.push(text);
        self
    }

    /// A measured value that does not set the status (context).
    fn note(&mut self, text: String) -> &mut Self {
        self.parts.push(text);
        self
    }

    /// A measure this host could not give.
    fn missing(&mut self, why: impl Into<String>) -> &mut Self {
        self.parts.push(why.into());
        self
    }

    /// Raises the status to at least `status`.
    fn at_least(&mut self, status: Status) -> &mut Self {
        self.status = Some(self.status.map_or(status, |s| s.max(status)));
        self
    }

    fn done(&mut self, next: &str) -> Cell {
        let status = self.status.unwrap_or(Status::Unavailable);
        let next = matches!(status, Status::Warn | Status::Critical).then(|| next.to_string());
        Cell {
            resource: std::mem::take(&mut self.resource),
            check: self.check,
            status,
            measure: self.parts.join("; "),
            next,
        }
    }
}

/// What the period measured.
pub struct Period<'a> {
    pub before: &'a Snapshot,
    pub after: &'a Snapshot,
    pub levels: &'a Levels,
    pub probes: &'a BpfProbes,
    /// procs_running samples taken through the period.
    pub runnable: &'a [u32],
    pub elapsed: Duration,
    pub thresholds: &'a Thresholds,
}

impl Period<'_> {
    fn seconds(&self) -> f64 {
        self.elapsed.as_secs_f64().max(0.001)
    }

    fn delta(&self, pick: impl Fn(&Snapshot) -> Option<u64>) -> Option<u64> {
        Some(pick(self.after)?.saturating_sub(pick(self.before)?))
    }

    /// PSI stall share over the period, percent.
    fn pressure(&self, pick: impl Fn(&Snapshot) -> Option<u64>) -> Option<f64> {
        self.delta(pick).map(|us| us as f64 / 1e6 / self.seconds() * 100.0)
    }

    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = self.cpu();
        cells.extend(self.memory());
        cells.extend(self.disks());
        cells.extend(self.network());
        cells.extend(self.limits());
        cells
    }

    fn cpu(&self) -> Vec<Cell> {
        let t = self.thresholds;
        let mut utilization = CellBuilder::new("CPU", Check::Utilization);
        match self.after.cpu_total.zip(self.before.cpu_total).and_then(|(a, b)| a.busy_percent_since(b)) {
            Some(total) => {
                utilization.measured(t.get("cpu.utilization"), total, format!("{total:.0}% busy"));
                let busiest = self
                    .after
                    .cpus
                    .iter()
                    .zip(&self.before.cpus)
                    .filter_map(|(a, b)| a.busy_percent_since(*b))
                    .fold(0.0f64, f64::max);
                utilization.note(format!("busiest CPU {busiest:.0}%"));
                // One CPU pegged while the others idle: a single-threaded limit.
                if t.get("cpu.utilization").classify(busiest) == Status::Critical {
                    utilization.at_least(Status::Warn);
                }
            }
            None => {
                utilization.missing("/proc/stat unreadable");
            }
        }
        let mut saturation = CellBuilder::new("CPU", Check::Saturation);
        match self.probes.runqlen_waiting() {
            Ok(Some(waiting)) => {
                saturation.measured(t.get("cpu.runqlen"), waiting, format!("{waiting:.2} tasks waiting per CPU"));
            }
            Ok(None) => {
                saturation.note("no run-queue length samples".into());
            }
            Err(why) if !self.runnable.is_empty() => {
                // Without BPF: /proc/stat's procs_running counts the running
                // tasks (and our sampler) too; what exceeds the CPUs waits.
                let cpus = self.levels.online_cpus as f64;
                let waiting =
                    self.runnable.iter().map(|&n| (f64::from(n.saturating_sub(1)) - cpus).max(0.0)).sum::<f64>()
                        / self.runnable.len() as f64
                        / cpus;
                saturation.measured(
                    t.get("cpu.runqlen"),
                    waiting,
                    format!("{waiting:.2} tasks waiting per CPU (from /proc/stat; {why})"),
                );
            }
            Err(why) => {
                saturation.missing(format!("run-queue length {why}"));
            }
        }
        match self.probes.runqlat_p99() {
            Ok(Some(p99)) => {
                let ms = p99 as f64 / 1e6;
                saturation.measured(t.get("cpu.runqlat_p99"), ms, format!("run-queue latency p99 {ms:.2} ms"));
            }
            Ok(None) => {
                saturation.note("no run-queue samples".into());
            }
            Err(why) => {
                saturation.missing(format!("run-queue latency {why}"));
            }
        }
        match self.pressure(|s| s.cpu_stall_us) {
            Some(share) => saturation.measured(t.get("pressure"), share, format!("PSI {share:.1}%")),
            None => saturation.missing("no PSI (CONFIG_PSI off?)"),
        };
        let mut errors = CellBuilder::new("CPU", Check::Errors);
        match self.delta(|s| s.machine_checks) {
            Some(count) => {
                errors.measured(t.get("cpu.machine_checks"), count as f64, format!("{count} machine checks"))
            }
            None => errors.missing("no machine-check counter on this architecture"),
        };
        vec![
            utilization.done("tracer profile -F 99 --svg cpu.svg 30  (who is on CPU; also: mpstat -P ALL 1)"),
            saturation.done("tracer runqlat 1 10  (then tracer runqlat -P 1 10 for who waits)"),
            errors.done("dmesg | grep -i 'machine check'"),
        ]
    }

    fn memory(&self) -> Vec<Cell> {
        let t = self.thresholds;
        let levels = self.levels;
        let mut utilization = CellBuilder::new("memory", Check::Utilization);
        match levels.mem_total.zip(levels.mem_available) {
            Some((total, available)) if total > 0 => {
                let used = 100.0 * total.saturating_sub(available) as f64 / total as f64;
                utilization.measured(
                    t.get("memory.utilization"),
                    used,
                    format!("{used:.0}% used ({} MiB available)", available / (1 << 20)),
                );
                if let Some((swap_total, swap_free)) = levels.swap_total.zip(levels.swap_free)
                    && swap_total > 0
                {
                    utilization.note(format!(
                        "swap {} of {} MiB used",
                        (swap_total - swap_free) >> 20,
                        swap_total >> 20
                    ));
                }
            }
            _ => {
                utilization.missing("/proc/meminfo has no MemAvailable");
            }
        }
        let mut saturation = CellBuilder::new("memory", Check::Saturation);
        match self.delta(|s| s.swap_pages) {
            Some(pages) => {
                let rate = pages as f64 / self.seconds();
                saturation.measured(t.get("memory.swapping"), rate, format!("{rate:.0} pages swapped/s"))
            }
            None => saturation.missing("no swap counters"),
        };
        match self.pressure(|s| s.memory_stall_us) {
            Some(share) => saturation.measured(t.get("pressure"), share, format!("PSI {share:.1}%")),
            None => saturation.missing("no PSI"),
        };
        let mut errors = CellBuilder::new("memory", Check::Errors);
        match self.delta(|s| s.oom_kills) {
            Some(kills) => errors.measured(t.get("memory.oom_kills"), kills as f64, format!("{kills} OOM kills")),
            None => errors.missing("no oom_kill counter (kernel before 4.13)"),
        };
        vec![
            utilization.done("ps -eo pid,comm,rss --sort=-rss | head  (and slabtop for the kernel)"),
            saturation.done("vmstat 1  (si/so columns), then tracer offcputime -u 10 for who stalls"),
            errors.done("dmesg | grep -i 'out of memory'"),
        ]
    }

    fn disks(&self) -> Vec<Cell> {
        let t = self.thresholds;
        let millis = self.seconds() * 1000.0;
        let latencies = self.probes.disk_p99();
        let mut cells = Vec::new();
        for (name, after) in &self.after.disks {
            let Some(before) = self.before.disks.get(name) else { continue };
            let ios = after.ios.saturating_sub(before.ios);
            // Loop and device-mapper devices are shown only when in use.
            let virtual_device = name.starts_with("loop") || name.starts_with("dm-");
            if virtual_device && ios == 0 {
                continue;
            }
            let resource = format!("disk {name}");
            let mut utilization = CellBuilder::new(&resource, Check::Utilization);
            let busy = 100.0 * after.busy_ms.saturating_sub(before.busy_ms) as f64 / millis;
            utilization.measured(t.get("disk.utilization"), busy, format!("{busy:.0}% busy"));
            let mib = after.sectors.saturating_sub(before.sectors) as f64 * 512.0 / f64::from(1 << 20);
            utilization.note(format!("{:.0} IOPS, {:.1} MiB/s", ios as f64 / self.seconds(), mib / self.seconds()));
            let mut saturation = CellBuilder::new(&resource, Check::Saturation);
            let depth = after.weighted_ms.saturating_sub(before.weighted_ms) as f64 / millis;
            saturation.measured(t.get("disk.queue"), depth, format!("{depth:.2} I/Os in flight"));
            match &latencies {
                Ok(p99s) => match p99s.get(name) {
                    Some(&p99) => {
                        let ms = p99 as f64 / 1e6;
                        saturation.measured(t.get("disk.p99"), ms, format!("latency p99 {ms:.2} ms"));
                    }
                    None => {
                        saturation.note("no I/O completed".into());
                    }
                },
                Err(why) => {
                    saturation.missing(format!("latency {why}"));
                }
            }
            let mut errors = CellBuilder::new(&resource, Check::Errors);
            match (self.after.disk_errors.get(name), self.before.disk_errors.get(name)) {
                (Some(after), Some(before)) => {
                    let count = after.saturating_sub(*before);
                    errors.measured(t.get("disk.errors"), count as f64, format!("{count} I/O errors"))
                }
                _ => errors.missing("the driver keeps no error count: see dmesg"),
            };
            cells.push(utilization.done(&format!("tracer biolatency -D 1 10  (and iostat -x {name} 1)")));
            cells.push(saturation.done(&format!("tracer biolatency -D -Q 1 10  (and iostat -x {name} 1)")));
            cells.push(errors.done("dmesg | grep -i 'i/o error'"));
        }
        let mut io = CellBuilder::new("I/O (all disks)", Check::Saturation);
        match self.pressure(|s| s.io_stall_us) {
            Some(share) => io.measured(t.get("pressure"), share, format!("PSI {share:.1}%")),
            None => io.missing("no PSI"),
        };
        cells.push(io.done("tracer biolatency -D 1 10, then tracer offcputime --state 2 10 for who waits"));
        cells
    }

    fn network(&self) -> Vec<Cell> {
        let t = self.thresholds;
        let mut cells = Vec::new();
        for (name, after) in &self.after.nets {
            let Some(before) = self.before.nets.get(name) else { continue };
            let resource = format!("net {name}");
            let rx = after.rx_bytes.saturating_sub(before.rx_bytes) as f64 * 8.0 / self.seconds() / 1e6;
            let tx = after.tx_bytes.saturating_sub(before.tx_bytes) as f64 * 8.0 / self.seconds() / 1e6;
            let mut utilization = CellBuilder::new(&resource, Check::Utilization);
            match self.levels.link_mbits.get(name) {
                Some(&speed) => {
                    let used = 100.0 * rx.max(tx) / speed as f64;
                    utilization.measured(
                        t.get("net.utilization"),
                        used,
                        format!("{used:.0}% of {speed} Mbit/s (rx {rx:.1}, tx {tx:.1} Mbit/s)"),
                    );
                }
                None => {
                    utilization.missing(format!("rx {rx:.1}, tx {tx:.1} Mbit/s; link speed unknown"));
                }
            }
            let mut saturation = CellBuilder::new(&resource, Check::Saturation);
            let drops = after.drops.saturating_sub(before.drops) as f64 / self.seconds();
            saturation.measured(t.get("net.drops"), drops, format!("{drops:.1} drops/s"));
            let mut errors = CellBuilder::new(&resource, Check::Errors);
            let errs = after.errors.saturating_sub(before.errors) as f64 / self.seconds();
            errors.measured(t.get("net.errors"), errs, format!("{errs:.1} errors/s"));
            cells.push(utilization.done(&format!("sar -n DEV 1  (and tracer tcplife for who sends on {name})")));
            cells.push(saturation.done(&format!("ip -s link show {name}; nstat -az | grep -i drop")));
            cells.push(errors.done(&format!("ip -s link show {name}; ethtool -S {name}")));
        }
        let mut tcp = CellBuilder::new("TCP", Check::Saturation);
        match (self.delta(|s| s.tcp_retrans_segs), self.delta(|s| s.tcp_out_segs)) {
            (Some(retrans), Some(out)) if out > 0 => {
                let share = 100.0 * retrans as f64 / out as f64;
                tcp.measured(
                    t.get("tcp.retransmits"),
                    share,
                    format!("{share:.2}% retransmitted ({retrans} of {out} segments)"),
                );
            }
            (Some(_), Some(_)) => {
                tcp.measured(t.get("tcp.retransmits"), 0.0, "no segments sent".into());
            }
            _ => {
                tcp.missing("/proc/net/snmp unreadable");
            }
        }
        cells.push(tcp.done("tracer tcplife  (and ss -ti for the retransmitting sockets)"));
        cells
    }

    fn limits(&self) -> Vec<Cell> {
        let t = self.thresholds;
        let levels = self.levels;
        let mut files = CellBuilder::new("file descriptors", Check::Utilization);
        match levels.files_open.zip(levels.files_max) {
            Some((open, max)) if max > 0 => {
                let used = 100.0 * open as f64 / max as f64;
                files.measured(t.get("fds.utilization"), used, format!("{open} of {max} ({used:.1}%)"))
            }
            _ => files.missing("/proc/sys/fs/file-nr unreadable"),
        };
        let mut tasks = CellBuilder::new("tasks", Check::Utilization);
        match levels.tasks.zip(levels.tasks_max) {
            Some((count, max)) if max > 0 => {
                let used = 100.0 * count as f64 / max as f64;
                tasks.measured(t.get("tasks.utilization"), used, format!("{count} of {max} ({used:.1}%)"))
            }
            _ => tasks.missing("task limits unreadable"),
        };
        vec![
            files.done("lsof -n | awk '{print $2}' | sort | uniq -c | sort -n | tail  (then raise fs.file-max)"),
            tasks.done("ps -eo nlwp,pid,comm --sort=-nlwp | head  (then raise kernel.pid_max / threads-max)"),
        ]
    }
}
