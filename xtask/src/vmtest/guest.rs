//! The guest: an initramfs (busybox, the static tracer, and the test
//! workloads with the shared libraries they link, an ext4 image, the loop module, smoke.sh as
//! /init) and a qemu run that streams the serial console until poweroff.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use super::{ToolResult, kernel::Kernel};
use crate::util::{self, say};

const SMOKE: &str = include_str!("smoke.sh");
const WORKLOADS: &[&str] = &[
    "tracer-burn",
    "tracer-tcp",
    "tracer-tcpflow",
    "tracer-connects",
    "tracer-fsio",
    "tracer-spin",
    "tracer-syscalls",
    "tracer-vfsops",
    "tracer-pagecache",
    "tracer-blockio",
    "tracer-stats",
    "tracer-syncs",
    "tracer-mounts",
    "tracer-hostlookup",
    "tracer-backlog",
    "tracer-sockcalls",
    "tracer-sigs",
    "tracer-oomhog",
];

/// The kernel-independent part of the initramfs, staged in a directory.
pub struct Image {
    root: PathBuf,
}

impl Image {
    pub fn build(tracer: &Path, dir: &Path) -> Result<Self> {
        say("vmtest: building the test workloads");
        util::run(util::cargo().args(["build", "--release", "--package", "tracer-tests", "--bins"]))?;
        let root = dir.join("root");
        if root.exists() {
            std::fs::remove_dir_all(&root)?;
        }
        for sub in ["bin", "proc", "sys", "dev", "tmp", "mnt", "modules", "sys/fs/bpf"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        std::fs::copy("/usr/bin/busybox", root.join("bin/busybox")).context("busybox-static is required")?;
        // The workloads are ordinary (glibc) builds of the tests crate.
        let release = util::workspace_root().join("target/release");
        let mut binaries = vec![tracer.to_path_buf()];
        binaries.extend(WORKLOADS.iter().map(|name| release.join(name)));
        for binary in &binaries {
            let name = binary.file_name().context("binary name")?;
            std::fs::copy(binary, root.join("bin").join(name))
                .with_context(|| format!("cannot copy {}", binary.display()))?;
            copy_libraries(binary, &root)?;
        }
        let image = root.join("ext4.img");
        let file = std::fs::File::create(&image)?;
        file.set_len(32 << 20)?;
        util::run(Command::new("mkfs.ext4").args(["-q", "-F", "-L", "vmtest"]).arg(&image))?;
        std::fs::write(root.join("init"), SMOKE)?;
        set_executable(&root.join("init"))?;
        Ok(Self { root })
    }

    /// The image plus this kernel's loop module, as a gzip'd newc cpio.
    pub fn initrd_for(&self, kernel: &Kernel, dir: &Path) -> Result<PathBuf> {
        let module = kernel.modules.join("kernel/drivers/block/loop.ko");
        let compressed = kernel.modules.join("kernel/drivers/block/loop.ko.xz");
        let staged = self.root.join("modules/loop.ko");
        if module.exists() {
            std::fs::copy(&module, &staged)?;
        } else if compressed.exists() {
            // 6.12's modules are xz-compressed; busybox insmod wants them plain.
            let plain = Command::new("xz").arg("-dc").arg(&compressed).output().context("xz is required")?;
            if !plain.status.success() {
                bail!("cannot decompress {}", compressed.display());
            }
            std::fs::write(&staged, plain.stdout)?;
        } else if staged.exists() {
            // Built into this kernel: nothing to load.
            std::fs::remove_file(&staged)?;
        }
        let initrd = dir.join(format!("initrd-{}.cpio.gz", kernel.release));
        let script = format!(
            "cd {} && find . | cpio -o -H newc --quiet | gzip -1 > {}",
            shell_quote(&self.root),
            shell_quote(&initrd)
        );
        util::run(Command::new("sh").args(["-c", &script]))?;
        Ok(initrd)
    }
}

/// The shared libraries a dynamically linked binary needs (ldd), copied to
/// the same paths in the image.
fn copy_libraries(binary: &Path, root: &Path) -> Result<()> {
    let listing = util::output(Command::new("ldd").arg(binary)).unwrap_or_default();
    for line in listing.lines() {
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else { continue };
        let target = root.join(path.trim_start_matches('/'));
        if !target.exists() {
            std::fs::create_dir_all(target.parent().context("library dir")?)?;
            std::fs::copy(path, &target).with_context(|| format!("cannot copy {path}"))?;
        }
    }
    Ok(())
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// What a guest run produced.
pub struct Outcome {
    pub results: Vec<ToolResult>,
    pub doctor: String,
    /// Why the run as a whole failed (hung, crashed), if it did.
    pub problem: Option<String>,
}

/// Boots the kernel with the initrd, streams the console to `log`, and
/// collects the RESULT lines (echoed with `label`, as guests run side by
/// side); a guest still running after `limit` is killed.
/// One virtual CPU: with two, TCG's vCPU threads compete for this host's two
/// cores, and kernel code that waits for the other CPU (code patching when
/// fentry or kprobes attach) once spun for minutes (soft lockup).
pub fn boot(label: &str, kernel: &Kernel, initrd: &Path, limit: Duration, log: &Path) -> Result<Outcome> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-m", "1024", "-smp", "1", "-nographic", "-no-reboot"])
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 quiet panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start qemu-system-x86_64 (qemu-system-x86 is required)")?;
    let stdout = child.stdout.take().context("qemu stdout")?;
    let (lines, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log_file = std::fs::File::create(log)?;
    let deadline = Instant::now() + limit;
    let mut outcome = Outcome { results: Vec::new(), doctor: String::new(), problem: None };
    let mut in_doctor = false;
    let mut done = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(line) => {
                let line = line.trim_end_matches('\r').to_string();
                writeln!(log_file, "{line}")?;
                if line.starts_with("RESULT ") || line.starts_with("--- ") {
                    println!("    [{label}] {line}");
                }
                if let Some(rest) = line.strip_prefix("RESULT ") {
                    let parts: Vec<&str> = rest.split_whitespace().collect();
                    if let [tool, hook, verdict] = parts[..] {
                        outcome.results.push(ToolResult {
                            tool: tool.to_string(),
                            hook: hook.to_string(),
                            passed: verdict == "pass",
                        });
                    }
                } else if line == "=== doctor" {
                    in_doctor = true;
                } else if line == "=== end doctor" {
                    in_doctor = false;
                } else if in_doctor {
                    outcome.doctor.push_str(&line);
                    outcome.doctor.push('\n');
                } else if line == "=== done" {
                    done = true;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    outcome.problem = Some(format!("the guest did not finish within {} s", limit.as_secs()));
                    break;
                }
                if child.try_wait()?.is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait()?;
    if outcome.problem.is_none() && !done {
        outcome.problem = Some(format!("the guest stopped before the suite finished ({status})"));
    }
    if outcome.results.is_empty() && outcome.problem.is_none() {
        bail!("the guest reported no results; see {}", log.display());
    }
    Ok(outcome)
}
