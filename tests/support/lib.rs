//! Helpers for the integration tests: run the real `tracer` binary as root
//! against this kernel, start workloads whose identity we know, and read what
//! the kernel itself says about them (/proc) to compare with.

use std::{
    collections::BTreeSet,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStderr, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

mod netns;
pub use netns::NetNs;

/// The `tracer` binary under test: `TRACER_BIN` (set by `cargo xtask test`),
/// else the workspace's release build.
pub fn tracer_bin() -> PathBuf {
    let path = std::env::var_os("TRACER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/tracer"));
    assert!(path.exists(), "{} not found: run the tests with `cargo xtask test`", path.display());
    path
}

/// The integration tests load BPF programs; without root they must fail, not skip.
pub fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "integration tests must run as root (cargo xtask test as root)");
}

pub fn tracer() -> Command {
    require_root();
    let mut command = Command::new(tracer_bin());
    command.stdin(Stdio::null());
    command
}

/// Runs `tracer ARGS` to completion (with a generous time limit).
pub fn run_tracer(args: &[&str]) -> Output {
    let child = tracer().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn tracer");
    wait_with_timeout(child, Duration::from_secs(60))
}

/// Waits for `child`, reading its piped stdout and stderr meanwhile (a tool
/// blocked on a full pipe would never exit), and kills it after `limit`.
pub fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    fn collect<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().expect("stdout reader"), stderr: stderr.join().expect("stderr reader") }
}

/// Parses JSON lines.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("bad JSON line {line:?}: {err}")))
        .collect()
}

/// A running tracer whose stderr we watch for the line saying it attached.
pub struct Started {
    pub child: Child,
    pub stderr: BufReader<ChildStderr>,
    pub stderr_text: String,
}

/// Starts `tracer -v ARGS` and returns once it reports having attached.
#[allow(clippy::zombie_processes, reason = "the child is waited for by Started::finish")]
pub fn start_tracer(args: &[&str]) -> Started {
    let mut child =
        tracer().arg("-v").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn tracer");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut stderr_text = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let output = child.wait_with_output().expect("wait");
            panic!(
                "tracer exited before attaching ({}): {stderr_text}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout)
            );
        }
        stderr_text.push_str(&line);
        if line.contains("attached via") {
            return Started { child, stderr, stderr_text };
        }
    }
}

impl Started {
    /// Waits for the tracer to exit and returns (stdout, all of stderr, status).
    pub fn finish(mut self) -> (Vec<u8>, String, std::process::ExitStatus) {
        let mut rest = String::new();
        let reader = thread::spawn(move || {
            let _ = std::io::Read::read_to_string(&mut self.stderr, &mut rest);
            rest
        });
        let output = wait_with_timeout(self.child, Duration::from_secs(60));
        let mut stderr = self.stderr_text;
        stderr.push_str(&reader.join().expect("stderr reader"));
        (output.stdout, stderr, output.status)
    }
}

/// A workload process, killed when dropped.
pub struct Workload {
    pub child: Child,
    pub pid: u32,
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `threads` busy threads for `seconds`, named `name` (≤ 15 bytes).
pub fn burn(threads: usize, seconds: u32, name: &str) -> Workload {
    let command = Command::new(workload_bin("tracer-burn"));
    spawn_ready(command, &[threads.to_string(), seconds.to_string(), name.to_string()])
}

/// Like `burn`, every thread pinned to `cpu` (util-linux `taskset`), so
/// they queue behind each other there whatever the other CPUs do.
pub fn burn_pinned(threads: usize, seconds: u32, name: &str, cpu: usize) -> Workload {
    let mut command = Command::new("taskset");
    command.args(["-c", &cpu.to_string()]).arg(workload_bin("tracer-burn"));
    spawn_ready(command, &[threads.to_string(), seconds.to_string(), name.to_string()])
}

/// Like `burn`, inside a new PID namespace (via util-linux `unshare`).
pub fn burn_in_new_pid_namespace(threads: usize, seconds: u32, name: &str) -> Workload {
    let mut command = Command::new("unshare");
    command.args(["--pid", "--fork", "--kill-child"]).arg(workload_bin("tracer-burn"));
    let mut workload = spawn_ready(command, &[threads.to_string(), seconds.to_string(), name.to_string()]);
    // `ready` printed the pid as seen inside the namespace; find the real one.
    workload.pid = children_of(workload.child.id()).into_iter().next().expect("unshare's child");
    workload
}

/// Starts the stack tools' workload (workloads/spin.rs) in `mode`
/// (cpu, syscall, sleep); its stdin is a pipe (sleep mode waits for a line).
pub fn spin(mode: &str, seconds: f64) -> Workload {
    let mut command = Command::new(workload_bin("tracer-spin"));
    command.stdin(Stdio::piped());
    spawn_ready(command, &[mode.to_string(), seconds.to_string()])
}

/// A workload binary of this crate. Cargo builds them next to the test
/// executables' `deps/` directory before running integration tests.
pub fn workload_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let path = exe.parent().and_then(Path::parent).expect("target profile dir").join(name);
    assert!(path.exists(), "{} not built", path.display());
    path
}

/// A workload that printed `ready PID` and waits for a line on stdin
/// before doing its work; killed when dropped.
pub struct Waiting {
    pub workload: Workload,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Waiting {
    /// Starts workload binary `name` with `args`; returns once it is ready.
    pub fn start(name: &str, args: &[&str]) -> Self {
        let mut command = Command::new(workload_bin(name));
        command.args(args);
        Self::spawn(command)
    }

    /// Starts a prepared command (a workload inside a [`NetNs`], say);
    /// returns once it printed `ready PID`.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn workload");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read ready line");
        let pid = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("workload said {line:?}"));
        Self { workload: Workload { pid, child }, stdin, stdout }
    }

    pub fn pid(&self) -> u32 {
        self.workload.pid
    }

    /// Tells the workload to start.
    pub fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        std::io::Write::write_all(stdin, b"go\n").expect("write go");
    }

    /// Its next line of output (without the newline).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read workload output");
        line.trim_end_matches('\n').to_owned()
    }

    /// Every remaining line of output, after closing its stdin.
    pub fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let _ = self.workload.child.wait();
        lines
    }
}

fn spawn_ready(mut command: Command, args: &[String]) -> Workload {
    let mut child = command.args(args).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn workload");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("read ready line");
    let pid = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("workload said {line:?}"));
    Workload { pid, child }
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let parent_line = format!("PPid:\t{pid}");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/status")).is_ok_and(|s| s.lines().any(|l| l == parent_line))
        })
        .collect()
}

/// Thread ids of a process.
pub fn tids_of(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("process exists")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Context switches of all threads of a process, as the kernel counts them
/// (voluntary + involuntary, from /proc/PID/task/TID/status).
pub fn switches_of(pid: u32) -> u64 {
    tids_of(pid)
        .into_iter()
        .map(|tid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches"))
                .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// The kernel's count of context switches on all CPUs (/proc/stat `ctxt`).
pub fn context_switches() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .expect("/proc/stat")
        .lines()
        .find_map(|line| line.strip_prefix("ctxt ")?.trim().parse().ok())
        .expect("ctxt line")
}

pub fn online_cpus() -> usize {
    thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// Names of BPF programs loaded in the kernel right now.
pub fn loaded_bpf_programs() -> Vec<String> {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|info| info.name_as_str().map(str::to_owned))
        .collect()
}

/// Asserts that no program whose name starts with `prefix` is loaded.
pub fn assert_no_programs_left(prefix: &str) {
    // The kernel frees programs asynchronously (RCU) after the last fd closes.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<String> = loaded_bpf_programs().into_iter().filter(|name| name.starts_with(prefix)).collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "BPF programs still loaded after tracer exited: {left:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).expect("kill");
}

/// Runs `tracer -v ARGS`, does `workload` once it is attached, gives the
/// events time to arrive, ends it with Ctrl-C and returns (stdout, stderr).
/// Asserts a clean exit and that no program is left loaded.
pub fn trace_during<T>(args: &[&str], workload: impl FnOnce() -> T) -> (Vec<u8>, String, T) {
    let started = start_tracer(args);
    let result = workload();
    // Events wait ~20 ms in the reorder buffer; leave generous slack.
    thread::sleep(Duration::from_millis(500));
    signal(&started.child, nix::sys::signal::Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "tracer {args:?} ended with {status}: {stderr}");
    (stdout, stderr, result)
}

/// A string unique to this test run, to find our own events among the system's.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{tag}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// IDs of BPF programs, links and maps: those a process holds open, or
/// those the kernel has loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BpfIds {
    pub programs: BTreeSet<u32>,
    pub links: BTreeSet<u32>,
    pub maps: BTreeSet<u32>,
}

impl BpfIds {
    /// What process `pid` holds through its file descriptors
    /// (`prog_id`, `link_id` and `map_id` in /proc/PID/fdinfo).
    pub fn held_by(pid: u32) -> Self {
        let mut ids = Self::default();
        let entries = std::fs::read_dir(format!("/proc/{pid}/fdinfo")).expect("process exists");
        for entry in entries.filter_map(Result::ok) {
            let Ok(info) = std::fs::read_to_string(entry.path()) else { continue };
            for line in info.lines() {
                let Some((key, value)) = line.split_once(':') else { continue };
                let Ok(id) = value.trim().parse::<u32>() else { continue };
                match key {
                    "prog_id" => ids.programs.insert(id),
                    "link_id" => ids.links.insert(id),
                    "map_id" => ids.maps.insert(id),
                    _ => false,
                };
            }
        }
        ids
    }

    /// Everything loaded in the kernel right now.
    pub fn in_kernel() -> Self {
        Self {
            programs: aya::programs::loaded_programs().filter_map(Result::ok).map(|info| info.id()).collect(),
            links: aya::programs::loaded_links().filter_map(Result::ok).map(|info| info.id()).collect(),
            maps: aya::maps::loaded_maps().filter_map(Result::ok).map(|info| info.id()).collect(),
        }
    }

    /// The IDs present in both.
    pub fn common(&self, other: &Self) -> Self {
        Self {
            programs: self.programs.intersection(&other.programs).copied().collect(),
            links: self.links.intersection(&other.links).copied().collect(),
            maps: self.maps.intersection(&other.maps).copied().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.programs.is_empty() && self.links.is_empty() && self.maps.is_empty()
    }
}

/// Asserts that none of `held` is still in the kernel (it frees them
/// asynchronously after the last reference goes, so wait a little).
pub fn assert_released(held: &BpfIds) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = held.common(&BpfIds::in_kernel());
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still in the kernel after tracer exited: {left:?}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A stopped tracer-fsio (workloads/fsio.rs): started, waiting for the go,
/// about to write, fsync and read back `mib` MiB of a uniquely named file.
pub struct FsIo {
    child: Child,
    pub pid: u32,
    pub path: PathBuf,
}

impl FsIo {
    /// The file goes in the workspace's target directory, on the root file
    /// system (ext4 here).
    pub fn start(tag: &str, mib: u64) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.dat", unique(tag)));
        let mut child = Command::new(workload_bin("tracer-fsio"))
            .arg(&path)
            .arg(mib.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn tracer-fsio");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("ready line");
        let pid = line.trim().strip_prefix("ready ").and_then(|pid| pid.parse().ok()).expect("ready PID");
        Self { child, pid, path }
    }

    /// The file's own name (what the tools show).
    pub fn name(&self) -> String {
        self.path.file_name().expect("file name").to_string_lossy().into_owned()
    }

    /// Lets it do its I/O; returns the fsync time it measured, in ms.
    pub fn go(mut self) -> f64 {
        std::io::Write::write_all(self.child.stdin.as_mut().expect("stdin"), b"go\n").expect("write go");
        let output = self.child.wait_with_output().expect("wait for tracer-fsio");
        assert!(output.status.success());
        std::fs::remove_file(&self.path).expect("remove the file");
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim().strip_prefix("fsync_ms ").and_then(|ms| ms.parse().ok()).expect("fsync_ms line")
    }
}

/// A loop device over a fresh ext4 image, detached and removed when
/// dropped: a disk whose every request the test causes (the VM's own disk
/// cannot be opened for direct I/O here).
pub struct LoopDisk {
    image: PathBuf,
    pub device: String,
}

impl LoopDisk {
    pub fn new() -> Self {
        let image = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}.img", unique("disk")));
        assert!(Command::new("truncate").args(["-s", "64M"]).arg(&image).status().unwrap().success());
        assert!(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().unwrap().success());
        let output = Command::new("losetup").args(["-f", "--show"]).arg(&image).output().unwrap();
        assert!(output.status.success(), "losetup: {}", String::from_utf8_lossy(&output.stderr));
        let device = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        Self { image, device }
    }

    /// The kernel's name for it (loop0, ...).
    pub fn name(&self) -> &str {
        self.device.trim_start_matches("/dev/")
    }

    /// `count` direct reads of `bs` bytes by dd, from the image's last 4 MiB,
    /// where no reader's plan goes: the classic block tracepoints know a
    /// request by disk and sector alone, so two requests in flight at one
    /// sector (dd's and a reader's) could not be told apart.
    pub fn dd_direct(&self, bs: &str, count: u32) {
        let status = Command::new("dd")
            .args([format!("if={}", self.device), "of=/dev/null".into(), format!("bs={bs}"), format!("count={count}")])
            .args([format!("skip={}", 60 << 20), "iflag=direct,skip_bytes".into()])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The block I/O workload (workloads/blockio.rs), ready to read each
    /// (offset, size) of this disk directly once told to `go`.
    pub fn reader(&self, reads: &[(u64, u32)]) -> Waiting {
        let specs: Vec<String> = reads.iter().map(|(offset, size)| format!("{offset}:{size}")).collect();
        let mut args = vec![self.device.as_str()];
        args.extend(specs.iter().map(String::as_str));
        Waiting::start("tracer-blockio", &args)
    }
}

impl Default for LoopDisk {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
        let _ = std::fs::remove_file(&self.image);
    }
}

/// A cgroup v2 directory made for one test and removed afterwards.
pub struct TestCgroup(pub PathBuf);

impl TestCgroup {
    pub fn new(name: &str) -> Self {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
        let root = mounts
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(fields[1]))
            })
            .expect("a cgroup v2 mount");
        let dir = root.join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Self(dir)
    }

    pub fn adopt(&self, pid: u32) {
        std::fs::write(self.0.join("cgroup.procs"), pid.to_string()).unwrap();
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 cgroup path")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Move any survivors out, then remove the directory.
        let parent = self.0.parent().unwrap().join("cgroup.procs");
        for pid in std::fs::read_to_string(self.0.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = std::fs::write(&parent, pid);
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A memory cgroup with a limit, made for one test and removed after it:
/// cgroup v1's memory controller where mounted (memory.limit_in_bytes),
/// else cgroup v2 (memory.max, the controller enabled below the root).
pub struct MemoryCgroup {
    dir: PathBuf,
    /// Its path as the kernel names it (relative to the hierarchy's root).
    pub name: String,
}

impl MemoryCgroup {
    pub fn new(tag: &str, limit_bytes: u64) -> Self {
        let name = format!("/{}", unique(tag));
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let dir = if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(&name[1..]);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("memory.limit_in_bytes"), limit_bytes.to_string()).unwrap();
            dir
        } else {
            let root = Path::new("/sys/fs/cgroup");
            let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            assert!(controllers.split_whitespace().any(|c| c == "memory"), "no memory controller on v1 or v2");
            std::fs::write(root.join("cgroup.subtree_control"), "+memory").unwrap();
            let dir = root.join(&name[1..]);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("memory.max"), limit_bytes.to_string()).unwrap();
            let _ = std::fs::write(dir.join("memory.swap.max"), "0");
            dir
        };
        Self { dir, name }
    }

    pub fn adopt(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let parent = self.dir.parent().unwrap().join("cgroup.procs");
        for pid in std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default().lines() {
            let _ = std::fs::write(&parent, pid);
        }
        // A killed task leaves the cgroup once it is reaped; give it a moment.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}
