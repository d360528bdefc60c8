//! The static binary of `cargo xtask dist` runs on a host with nothing
//! installed: here, a root directory holding only `tracer`, with the
//! kernel's /proc and /sys bind-mounted (in a private mount namespace, so the
//! mounts vanish with it). No libc, no loader, no /etc, no /dev, no /tmp.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use tracer_tests::*;

/// `TRACER_STATIC_BIN` (set by `cargo xtask test`), else where dist builds it.
fn static_bin() -> PathBuf {
    let path = std::env::var_os("TRACER_STATIC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist/tracer"));
    assert!(path.exists(), "{} not found: run the tests with `cargo xtask test` (it runs dist)", path.display());
    path
}

/// An empty root with only the binary and the two mount points.
struct EmptyRoot(PathBuf);

impl EmptyRoot {
    fn new() -> Self {
        let root = std::env::temp_dir().join(unique("empty-root"));
        for dir in ["proc", "sys"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::copy(static_bin(), root.join("tracer")).unwrap();
        Self(root)
    }

    /// Runs `/tracer ARGS` chrooted into the root, /proc and /sys mounted.
    fn run(&self, args: &[&str]) -> Output {
        require_root();
        let script = r#"root="$1"; shift
mount --rbind /proc "$root/proc" && mount --rbind /sys "$root/sys" && exec chroot "$root" /tracer "$@""#;
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(&self.0)
            .args(args)
            .env_clear()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("unshare");
        wait_with_timeout(child, Duration::from_secs(60))
    }

    /// What the root holds (outside the mount namespace: nothing mounted).
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for EmptyRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// doctor's TOOL table as (tool, runs, hook).
fn tools_table(doctor: &str) -> Vec<(String, String, String)> {
    doctor
        .lines()
        .skip_while(|line| !line.starts_with("TOOL "))
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.next()?, words.next()?))
        })
        .collect()
}

#[test]
fn the_static_binary_runs_doctor_and_runqlat_in_an_empty_root() {
    let root = EmptyRoot::new();
    assert_eq!(root.entries(), ["proc", "sys", "tracer"]);

    let version = root.run(&["--version"]);
    let dynamic = run_tracer(&["--version"]);
    assert!(version.status.success(), "{:?}", text(&version));
    assert_eq!(version.stdout, dynamic.stdout, "the static and the dynamic build are of the same commit");

    // doctor loads and attaches every tool's programs: the static binary
    // must find the same tools runnable, with the same hooks, as the
    // dynamic build on this host.
    let doctor = root.run(&["doctor"]);
    let (stdout, stderr) = text(&doctor);
    assert!(doctor.status.success(), "doctor in an empty root: {stdout}{stderr}");
    let dynamic = run_tracer(&["doctor"]);
    assert!(dynamic.status.success());
    let static_tools = tools_table(&stdout);
    assert!(static_tools.len() >= 12, "{stdout}");
    assert!(static_tools.iter().all(|(_, runs, _)| runs == "yes"), "{stdout}");
    assert_eq!(static_tools, tools_table(&String::from_utf8_lossy(&dynamic.stdout)));

    let runqlat = root.run(&["runqlat", "1", "1"]);
    let (stdout, stderr) = text(&runqlat);
    assert!(runqlat.status.success(), "runqlat in an empty root: {stdout}{stderr}");
    assert!(stdout.contains("usecs") && stdout.contains("p99"), "{stdout}");
    println!("doctor and runqlat 1 1 from an empty root:\n{}\n{stdout}", text(&doctor).0);

    // Nothing was written into the root (the mounts went with the namespace).
    assert_eq!(root.entries(), ["proc", "sys", "tracer"]);
}
