//! Fetching a Debian kernel image package (apt-get download, dpkg -x): the
//! cloud flavour, which has ext4 built in and everything a VM needs.
//! A series from another Debian release than the host's comes through a
//! private apt configuration (apt::Private), never the host's sources.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::util::{self, say};

/// A kernel series of the matrix and the Debian release that ships it.
pub struct Series {
    /// e.g. 5.10: packages are named linux-image-5.10.*
    pub version: &'static str,
    /// The Debian release (codename) whose archive has the package.
    pub debian: &'static str,
}

pub struct Kernel {
    /// e.g. 6.1.0-50-cloud-amd64
    pub release: String,
    pub vmlinuz: PathBuf,
    /// lib/modules/RELEASE of the unpacked package.
    pub modules: PathBuf,
}

/// The newest cloud kernel release of a series (e.g. 6.1.0-57-cloud-amd64)
/// and the packages that ship it: the unsigned one first, then the signed
/// one (the same kernel and modules, with Secure Boot signatures), as the
/// archive may lack either.
fn newest_release(series: &Series, apt: &Apt) -> Result<(String, Vec<String>)> {
    let listing = util::output(apt.command("apt-cache").args(["search", "--names-only", "^linux-image-"]))
        .context("apt-cache search failed")?;
    let prefix = format!("{}.", series.version);
    let mut releases: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.strip_prefix("linux-image-"))
        .filter(|name| name.starts_with(&prefix))
        .map(|name| name.trim_end_matches("-unsigned"))
        .filter(|release| release.ends_with("-cloud-amd64"))
        .collect();
    // Newest last: compare the numeric parts (6.1.0-50 before 6.1.0-56).
    releases.sort_by_key(|release| {
        release.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).collect::<Vec<_>>()
    });
    let release = releases.pop().with_context(|| {
        format!("no Debian {} cloud kernel package for {} (run apt-get update)", series.debian, series.version)
    })?;
    let packages = [format!("linux-image-{release}-unsigned"), format!("linux-image-{release}")]
        .into_iter()
        .filter(|package| listing.lines().any(|line| line.split_whitespace().next() == Some(package)))
        .collect();
    Ok((release.to_string(), packages))
}

pub fn fetch(series: &Series, dir: &Path) -> Result<Kernel> {
    let apt = Apt::for_release(series.debian, dir)?;
    let (release, packages) = newest_release(series, &apt)?;
    let unpacked = dir.join(format!("kernel-{release}"));
    if !unpacked.join("boot").exists() {
        let deb = download_any(&apt, &packages, &dir.join("downloads"))?;
        util::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked))?;
    }
    let vmlinuz = unpacked.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.exists() {
        bail!("the kernel package has no boot/vmlinuz-{release}");
    }
    let modules = unpacked.join("lib/modules").join(&release);
    if !modules.exists() {
        bail!("the kernel package has no lib/modules/{release}");
    }
    Ok(Kernel { release, vmlinuz, modules })
}

/// Downloads the first of `packages` that the archive delivers (apt says
/// why the others failed) and returns its .deb.
fn download_any(apt: &Apt, packages: &[String], downloads: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(downloads)?;
    for package in packages {
        say(&format!("vmtest: downloading {package}"));
        if util::run(apt.command("apt-get").args(["download", "-q", package]).current_dir(downloads)).is_err() {
            continue;
        }
        return std::fs::read_dir(downloads)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_"))))
            .with_context(|| format!("apt-get download left no {package}_*.deb"));
    }
    bail!("the Debian archive delivered none of {}", packages.join(", "))
}

/// The keyring that signs every Debian release's archive (package
/// debian-archive-keyring, which apt itself depends on).
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// apt as the host has it configured, or, for another Debian release, with
/// options that swap in a private sources list, package lists and cache
/// under target/vmtest/apt/RELEASE: that release's suites exist for this
/// download only, and the host's package sources never change.
struct Apt {
    options: Vec<String>,
}

impl Apt {
    fn for_release(release: &str, dir: &Path) -> Result<Self> {
        let host = host_release()?;
        if release == host {
            return Ok(Self { options: Vec::new() });
        }
        let root = dir.join("apt").join(release);
        let lists = root.join("lists");
        let cache = root.join("cache");
        std::fs::create_dir_all(lists.join("partial"))?;
        std::fs::create_dir_all(cache.join("archives/partial"))?;
        let sources = root.join("sources.list");
        std::fs::write(&sources, sources_for(release, &host)?)?;
        let options = [
            ("Dir::Etc::SourceList", sources.display().to_string()),
            ("Dir::Etc::SourceParts", "/dev/null".into()),
            ("Dir::State::Lists", lists.display().to_string()),
            ("Dir::Cache", cache.display().to_string()),
            // Only the package indices are needed, not the AppStream metadata.
            ("Acquire::IndexTargets::deb::DEP-11::DefaultEnabled", "false".into()),
        ];
        let apt = Self {
            options: options.iter().flat_map(|(name, value)| ["-o".into(), format!("{name}={value}")]).collect(),
        };
        // Every run: "newest" must mean the archive's newest, and an
        // unchanged release costs only its InRelease files.
        say(&format!("vmtest: updating the package lists of Debian {release} (private to vmtest)"));
        util::run(apt.command("apt-get").args(["update", "-qq"]))?;
        Ok(apt)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.args(&self.options);
        command
    }
}

/// The host's Debian codename (/etc/os-release VERSION_CODENAME).
fn host_release() -> Result<String> {
    let text = std::fs::read_to_string("/etc/os-release").context("cannot read /etc/os-release")?;
    text.lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|name| name.trim_matches('"').to_string())
        .filter(|name| !name.is_empty())
        .context("/etc/os-release names no VERSION_CODENAME: is this Debian?")
}

/// A sources.list for `release` on the host's own mirrors (from the host's
/// index targets, one `SITE SUITE` per line).
fn sources_for(release: &str, host: &str) -> Result<String> {
    let targets = util::output(Command::new("apt-get").args(["indextargets", "--format", "$(SITE) $(RELEASE)"]))
        .context("apt-get indextargets failed")?;
    let list = sources_list(&targets, host, release);
    if list.is_empty() {
        bail!("the host's apt sources have no {host} suite whose Debian mirror {release} could come from");
    }
    Ok(list)
}

/// Each suite the host has of its own release (`bookworm`,
/// `bookworm-updates`, `bookworm-security`), renamed (`bullseye`,
/// `bullseye-updates`, ...), on the same site, signed by Debian's keyring.
fn sources_list(targets: &str, host: &str, release: &str) -> String {
    let mut lines: Vec<String> = targets
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter_map(|(site, suite)| {
            let suffix = suite.strip_prefix(host).filter(|rest| rest.is_empty() || rest.starts_with('-'))?;
            Some(format!("deb [signed-by={DEBIAN_KEYRING}] {site} {release}{suffix} main\n"))
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines.concat()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sources_list_renames_the_host_suites_on_their_sites() {
        let targets = "http://deb.debian.org/debian bookworm\n\
                       http://deb.debian.org/debian bookworm\n\
                       http://deb.debian.org/debian bookworm-updates\n\
                       http://deb.debian.org/debian-security bookworm-security\n\
                       https://deb.nodesource.com/node_20.x nodistro\n";
        let key = super::DEBIAN_KEYRING;
        assert_eq!(
            super::sources_list(targets, "bookworm", "bullseye"),
            format!(
                "deb [signed-by={key}] http://deb.debian.org/debian bullseye main\n\
                 deb [signed-by={key}] http://deb.debian.org/debian bullseye-updates main\n\
                 deb [signed-by={key}] http://deb.debian.org/debian-security bullseye-security main\n"
            )
        );
        assert_eq!(super::sources_list("http://x/debian bookwormish\n", "bookworm", "bullseye"), "");
    }
}
