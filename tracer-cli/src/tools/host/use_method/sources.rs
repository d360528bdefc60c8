//! What `tracer use` reads from /proc and /sys (through procfs), as
//! snapshots: the report is the difference between one taken before and one
//! after the sampling period. A source that cannot be read is `None`, and
//! the cells that need it say so.

use std::collections::BTreeMap;

use procfs::{CpuPressure, Current, CurrentSI, IoPressure, KernelStats, Meminfo, MemoryPressure};

/// Busy and total ticks of one CPU (or of all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub busy: u64,
    pub total: u64,
}

impl CpuTicks {
    fn of(time: &procfs::CpuTime) -> Self {
        let idle = time.idle + time.iowait.unwrap_or(0);
        let busy = time.user
            + time.nice
            + time.system
            + time.irq.unwrap_or(0)
            + time.softirq.unwrap_or(0)
            + time.steal.unwrap_or(0);
        Self { busy, total: busy + idle }
    }

    /// Busy share between two readings, in percent.
    pub fn busy_percent_since(self, earlier: Self) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        (total > 0).then(|| 100.0 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64)
    }
}

/// Cumulative counters of one block device (/proc/diskstats).
#[derive(Clone, Copy, Debug, Default)]
pub struct DiskCounters {
    pub ios: u64,
    /// Milliseconds with at least one I/O in flight (busy time).
    pub busy_ms: u64,
    /// Sum over I/Os of their time in flight, ms (queue depth × time).
    pub weighted_ms: u64,
    /// Sectors read and written.
    pub sectors: u64,
}

/// Cumulative counters of one network interface (/proc/net/dev).
#[derive(Clone, Copy, Debug, Default)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub drops: u64,
    pub errors: u64,
}

/// Everything cumulative, read at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub cpu_total: Option<CpuTicks>,
    pub cpus: Vec<CpuTicks>,
    /// Machine-check exceptions so far (/proc/interrupts MCE), all CPUs.
    pub machine_checks: Option<u64>,
    pub swap_pages: Option<u64>,
    pub oom_kills: Option<u64>,
    pub disks: BTreeMap<String, DiskCounters>,
    /// SCSI I/O error counts per disk, where the driver keeps one.
    pub disk_errors: BTreeMap<String, u64>,
    pub nets: BTreeMap<String, NetCounters>,
    /// TCP segments sent and retransmitted (/proc/net/snmp).
    pub tcp_out_segs: Option<u64>,
    pub tcp_retrans_segs: Option<u64>,
    /// PSI "some" totals: microseconds in which some task stalled.
    pub cpu_stall_us: Option<u64>,
    pub memory_stall_us: Option<u64>,
    pub io_stall_us: Option<u64>,
}

impl Snapshot {
    pub fn take() -> Self {
        let stats = KernelStats::current().ok();
        let vmstat = procfs::vmstat().ok();
        let counter = |name: &str| vmstat.as_ref().and_then(|v| v.get(name)).map(|&v| v.max(0) as u64);
        let snmp = procfs::net::snmp().ok();
        Self {
            cpu_total: stats.as_ref().map(|s| CpuTicks::of(&s.total)),
            cpus: stats.as_ref().map(|s| s.cpu_time.iter().map(CpuTicks::of).collect()).unwrap_or_default(),
            machine_checks: machine_checks(),
            swap_pages: counter("pswpin").zip(counter("pswpout")).map(|(i, o)| i + o),
            oom_kills: counter("oom_kill"),
            disk_errors: disk_errors(),
            disks: disks(),
            nets: nets(),
            tcp_out_segs: snmp.as_ref().map(|s| s.tcp_out_segs),
            tcp_retrans_segs: snmp.as_ref().map(|s| s.tcp_retrans_segs),
            cpu_stall_us: CpuPressure::current().ok().map(|p| p.some.total),
            memory_stall_us: MemoryPressure::current().ok().map(|p| p.some.total),
            io_stall_us: IoPressure::current().ok().map(|p| p.some.total),
        }
    }
}

/// Whole disks worth reporting: not partitions, not ram disks; loop and
/// device-mapper devices only once they have done I/O.
fn disks() -> BTreeMap<String, DiskCounters> {
    let Ok(stats) = procfs::diskstats() else { return BTreeMap::new() };
    stats
        .into_iter()
        .filter(|disk| std::path::Path::new(&format!("/sys/block/{}", disk.name)).exists())
        .filter(|disk| !disk.name.starts_with("ram") && !disk.name.starts_with("zram"))
        .map(|disk| {
            let counters = DiskCounters {
                ios: disk.reads + disk.writes,
                busy_ms: disk.time_in_progress,
                weighted_ms: disk.weighted_time_in_progress,
                sectors: disk.sectors_read + disk.sectors_written,
            };
            (disk.name, counters)
        })
        .collect()
}

/// `/sys/block/DISK/device/ioerr_cnt` (SCSI disks; a hex count).
fn disk_errors() -> BTreeMap<String, u64> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else { return BTreeMap::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("device/ioerr_cnt")).ok()?;
            let text = text.trim();
            let count = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok()?,
                None => text.parse().ok()?,
            };
            Some((entry.file_name().to_string_lossy().into_owned(), count))
        })
        .collect()
}

fn nets() -> BTreeMap<String, NetCounters> {
    let Ok(devices) = procfs::net::dev_status() else { return BTreeMap::new() };
    devices
        .into_values()
        .filter(|dev| dev.name != "lo")
        .map(|dev| {
            let counters = NetCounters {
                rx_bytes: dev.recv_bytes,
                tx_bytes: dev.sent_bytes,
                drops: dev.recv_drop + dev.sent_drop,
                errors: dev.recv_errs + dev.sent_errs,
            };
            (dev.name, counters)
        })
        .collect()
}

/// The MCE line of /proc/interrupts, summed over CPUs (x86 only).
fn machine_checks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/interrupts").ok()?;
    let line = text.lines().find(|line| line.trim_start().starts_with("MCE:"))?;
    Some(line.split_whitespace().skip(1).map_while(|word| word.parse::<u64>().ok()).sum())
}

/// Readings that are levels, not counters: taken once, at the end.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    pub mem_total: Option<u64>,
    pub mem_available: Option<u64>,
    pub swap_total: Option<u64>,
    pub swap_free: Option<u64>,
    pub files_open: Option<u64>,
    pub files_max: Option<u64>,
    pub tasks: Option<u64>,
    pub tasks_max: Option<u64>,
    /// Link speed of each interface, Mbit/s (absent when the driver does not say).
    pub link_mbits: BTreeMap<String, u64>,
    pub online_cpus: usize,
}

impl Levels {
    pub fn take(nets: &BTreeMap<String, NetCounters>) -> Self {
        let meminfo = Meminfo::current().ok();
        let file_nr = procfs::sys::fs::file_nr().ok();
        let pid_max = procfs::sys::kernel::pid_max().ok().map(|max| max.max(0) as u64);
        let threads_max = procfs::sys::kernel::threads_max().ok().map(u64::from);
        Self {
            mem_total: meminfo.as_ref().map(|m| m.mem_total),
            mem_available: meminfo.as_ref().and_then(|m| m.mem_available),
            swap_total: meminfo.as_ref().map(|m| m.swap_total),
            swap_free: meminfo.as_ref().map(|m| m.swap_free),
            files_open: file_nr.as_ref().map(|f| f.allocated),
            files_max: file_nr.as_ref().map(|f| f.max),
            tasks: count_tasks(),
            tasks_max: match (pid_max, threads_max) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            link_mbits: nets
                .keys()
                .filter_map(|name| {
                    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/speed")).ok()?;
                    let speed: i64 = text.trim().parse().ok()?;
                    (speed > 0).then(|| (name.clone(), speed as u64))
                })
                .collect(),
            online_cpus: aya::util::online_cpus().map(|cpus| cpus.len()).unwrap_or(1).max(1),
        }
    }
}

/// Threads on the system: the entries of every /proc/PID/task.
fn count_tasks() -> Option<u64> {
    let processes = procfs::process::all_processes().ok()?;
    Some(processes.filter_map(Result::ok).map(|process| process.tasks().map_or(1, |tasks| tasks.count() as u64)).sum())
}

/// Runnable tasks right now (/proc/stat procs_running, which counts the
/// running ones too): sampled through the period for the run-queue length.
pub fn runnable_now() -> Option<u32> {
    KernelStats::current().ok()?.procs_running
}
