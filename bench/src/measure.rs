//! Measuring primitives: launch-to-ready time, peak memory, the kernel's
//! per-program BPF run-time accounting, and `perf bench sched pipe`.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
    os::fd::{FromRawFd, OwnedFd},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

/// A tool (tracer or a peer) started and attached.
pub struct Running {
    pub child: Child,
    /// From spawn to the line that says it is attached.
    pub startup: Duration,
    /// Everything it prints after that line, and on stderr.
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

/// Starts `command` and waits until a stdout line contains `ready_marker`
/// (printed only once every probe is attached).
pub fn start(mut command: Command, ready_marker: &str) -> Result<Running> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    wait_until_ready(command, child, started, Box::new(stdout), ready_marker)
}

/// As `start`, with stdout on a pseudo-terminal, as when an operator runs
/// the tool by hand (line-buffered output, terminal-only behaviour).
pub fn start_on_terminal(mut command: Command, ready_marker: &str) -> Result<Running> {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into our locals; no name, termios or size.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot open a pseudo-terminal");
    }
    // SAFETY: both fds were just opened and are owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    command.stdin(Stdio::null()).stdout(Stdio::from(slave)).stderr(Stdio::piped());
    let started = Instant::now();
    let child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
    // The child holds the only slave fd now (the Command's copy closes when
    // it is dropped below), so the master reads EOF/EIO once the child exits.
    wait_until_ready(command, child, started, Box::new(std::fs::File::from(master)), ready_marker)
}

fn wait_until_ready(
    command: Command,
    mut child: Child,
    started: Instant,
    stdout: Box<dyn Read + Send>,
    ready_marker: &str,
) -> Result<Running> {
    drop(command);
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        // A terminal's master reports EIO, not EOF, once the child is gone.
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.wait();
            bail!("the tool exited before printing {ready_marker:?}");
        }
        if line.contains(ready_marker) {
            break;
        }
    }
    let startup = started.elapsed();
    // Keep reading both pipes so the tool never blocks on a full pipe.
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr_pipe, &mut bytes);
        bytes
    });
    Ok(Running { child, startup, stdout, stderr })
}

impl Running {
    /// Peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        self.status_kib("VmHWM:")
    }

    /// Page faults (minor and major) so far, from /proc/PID/stat.
    pub fn page_faults(&self) -> Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the parenthesised comm: state is 3rd, minflt 10th, majflt 12th.
        let fields: Vec<&str> =
            stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1.split_whitespace().collect();
        let field = |n: usize| -> Result<u64> { Ok(fields.get(n - 3).context("short /proc/PID/stat")?.parse()?) };
        Ok(field(10)? + field(12)?)
    }

    /// Resident memory now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        self.status_kib("VmRSS:")
    }

    fn status_kib(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/PID/status"))
    }

    /// Ends it as a user would (SIGINT), waits, and returns what it printed
    /// (stdout after the ready line, stderr).
    pub fn stop(mut self) -> Result<(Vec<u8>, Vec<u8>)> {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.wait();
        let stdout = self.stdout.join().unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        Ok((stdout, stderr))
    }
}

/// Run time and run count of one BPF program, from the kernel's accounting.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProgramStats {
    pub run_time_ns: u64,
    pub run_count: u64,
}

pub type Programs = HashMap<u32, (String, ProgramStats)>;

/// All loaded BPF programs: id -> (name, stats).
pub fn programs() -> Programs {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .map(|info| {
            let name = info.name_as_str().unwrap_or("").to_owned();
            let stats = ProgramStats { run_time_ns: info.run_time().as_nanos() as u64, run_count: info.run_count() };
            (info.id(), (name, stats))
        })
        .collect()
}

/// Ids of programs in `after` that were not in `before`: what a tool loaded.
pub fn new_programs(before: &Programs, after: &Programs) -> Vec<u32> {
    after.keys().filter(|id| !before.contains_key(id)).copied().collect()
}

/// Mean nanoseconds per call, and calls, of the programs among `ids` whose
/// name satisfies `pick`, between two snapshots.
pub fn ns_per_call(
    before: &Programs,
    after: &Programs,
    ids: &[u32],
    pick: impl Fn(&str) -> bool,
) -> Option<(f64, u64)> {
    let (mut time, mut count) = (0u64, 0u64);
    for id in ids {
        let (Some((name, start)), Some((_, end))) = (before.get(id), after.get(id)) else { continue };
        if pick(name) {
            time += end.run_time_ns - start.run_time_ns;
            count += end.run_count - start.run_count;
        }
    }
    (count > 0).then(|| (time as f64 / count as f64, count))
}

/// `perf bench sched pipe` with both tasks pinned to one CPU: every loop is
/// two context switches. Returns microseconds per loop.
pub fn sched_pipe(loops: u64, cpu: usize) -> Result<f64> {
    let output = Command::new("taskset")
        .args(["-c", &cpu.to_string(), "perf", "bench", "sched", "pipe", "-l", &loops.to_string()])
        .output()
        .context("cannot run perf bench (install linux-perf)")?;
    if !output.status.success() {
        bail!("perf bench failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter(|line| line.contains("usecs/op"))
        .find_map(|line| line.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no usecs/op in perf output: {text}"))
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.is_empty() {
        f64::NAN
    } else if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// (min, max) of the values.
pub fn spread(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}
