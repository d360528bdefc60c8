//! Turning a `-c CGROUP_PATH` into what the BPF filter compares: the cgroup
//! v2 id (the directory's inode number) and its depth below the root.

use std::{
    os::unix::fs::MetadataExt,
    path::{Component, Path},
};

use anyhow::Result;

use crate::error::refuse;

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupFilter {
    pub id: u64,
    pub level: u32,
}

/// Validates a cgroup v2 directory and returns its id and depth.
pub fn resolve(path: &Path) -> Result<CgroupFilter> {
    let Ok(metadata) = std::fs::metadata(path) else {
        refuse!(
            "cgroup path {} does not exist: pass a cgroup v2 directory such as /sys/fs/cgroup/system.slice",
            path.display()
        )
    };
    if !metadata.is_dir() {
        refuse!("cgroup path {} is not a directory: pass a cgroup v2 directory", path.display());
    }
    let statfs = nix::sys::statfs::statfs(path)?;
    if statfs.filesystem_type().0 as i64 != CGROUP2_SUPER_MAGIC {
        refuse!(
            "{} is not on a cgroup v2 file system: -c needs a cgroup v2 directory (see `mount -t cgroup2`)",
            path.display()
        );
    }
    let canonical = path.canonicalize()?;
    let Some(mount) = cgroup2_mount_containing(&canonical) else {
        refuse!("cannot find the cgroup v2 mount holding {}", path.display())
    };
    let below_mount = canonical.strip_prefix(&mount.mount_point).unwrap_or(Path::new(""));
    let level = depth(&mount.root) + depth(below_mount);
    Ok(CgroupFilter { id: metadata.ino(), level })
}

struct Cgroup2Mount {
    mount_point: std::path::PathBuf,
    /// The cgroup the mount shows as its root (not "/" for bind mounts).
    root: std::path::PathBuf,
}

fn cgroup2_mount_containing(path: &Path) -> Option<Cgroup2Mount> {
    let mounts = procfs::process::Process::myself().ok()?.mountinfo().ok()?;
    mounts
        .into_iter()
        .filter(|m| m.fs_type == "cgroup2" && path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .map(|m| Cgroup2Mount { mount_point: m.mount_point, root: m.root.into() })
}

fn depth(path: &Path) -> u32 {
    path.components().filter(|c| matches!(c, Component::Normal(_))).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_v2_paths_are_refused() {
        let err = resolve(Path::new("/no/such/cgroup")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = resolve(Path::new("/tmp")).unwrap_err();
        assert!(err.to_string().contains("not on a cgroup v2"), "{err}");
    }
}
