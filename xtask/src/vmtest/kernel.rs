//! Fetching a Debian kernel image package (apt-get download, dpkg -x): the
//! cloud flavour, which has ext4 built in and everything a VM needs.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::util::{self, say};

pub struct Kernel {
    /// e.g. 6.1.0-50-cloud-amd64
    pub release: String,
    pub vmlinuz: PathBuf,
    /// lib/modules/RELEASE of the unpacked package.
    pub modules: PathBuf,
}

/// The newest `linux-image-*-cloud-amd64-unsigned` package of a series.
fn package_for(series: &str) -> Result<String> {
    let listing = util::output(Command::new("apt-cache").args(["search", "--names-only", "^linux-image-"]))
        .context("apt-cache is required")?;
    let prefix = format!("linux-image-{series}.");
    let mut candidates: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(&prefix) && name.ends_with("-cloud-amd64-unsigned"))
        .map(str::to_owned)
        .collect();
    // Newest last: compare the numeric parts (6.1.0-50 before 6.1.0-56).
    candidates.sort_by_key(|name| {
        name.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).collect::<Vec<_>>()
    });
    candidates.pop().with_context(|| format!("no Debian cloud kernel package for {series} (run apt-get update)"))
}

pub fn fetch(series: &str, dir: &Path) -> Result<Kernel> {
    let package = package_for(series)?;
    let unpacked = dir.join(&package);
    if !unpacked.join("boot").exists() {
        say(&format!("vmtest: downloading {package}"));
        let downloads = dir.join("downloads");
        std::fs::create_dir_all(&downloads)?;
        util::run(Command::new("apt-get").args(["download", "-q", &package]).current_dir(&downloads))?;
        let deb = std::fs::read_dir(&downloads)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_"))))
            .with_context(|| format!("apt-get download left no {package}_*.deb"))?;
        util::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked))?;
    }
    let vmlinuz = std::fs::read_dir(unpacked.join("boot"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .context("the kernel package has no boot/vmlinuz-*")?;
    let release = vmlinuz.file_name().unwrap().to_string_lossy().trim_start_matches("vmlinuz-").to_string();
    let modules = unpacked.join("lib/modules").join(&release);
    if !modules.exists() {
        bail!("the kernel package has no lib/modules/{release}");
    }
    Ok(Kernel { release, vmlinuz, modules })
}
