//! Block devices. What the block tools share in userspace: disks by name and
//! number, and the offsets from a request to its disk, position, size and
//! flags (BTF).

pub mod biolatency;

use anyhow::Result;
use tracer_common::block::BlockOffsets;

use crate::{error::user_error, kernel::btf::KernelBtf};

/// The kernel's dev_t encoding of `MAJ:MIN` (as block tracepoints record it).
pub(crate) fn kernel_dev(major: u32, minor: u32) -> u32 {
    (major << 20) | (minor & 0xf_ffff)
}

/// The dev_t of a block device by name, from /sys/class/block/NAME/dev.
pub(crate) fn disk_dev(name: &str) -> Result<u32> {
    let path = format!("/sys/class/block/{name}/dev");
    let text = std::fs::read_to_string(&path)
        .map_err(|_| user_error!("no disk named {name:?}: pick one from `lsblk -d -o NAME` (e.g. sda, nvme0n1)"))?;
    let (major, minor) = text.trim().split_once(':').ok_or_else(|| user_error!("unexpected contents of {path}"))?;
    Ok(kernel_dev(major.parse()?, minor.parse()?))
}

/// The name of a block device from its dev_t, from /sys/dev/block/MAJ:MIN.
pub(crate) fn disk_name(dev: u32) -> String {
    let (major, minor) = (dev >> 20, dev & 0xf_ffff);
    std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent"))
        .ok()
        .and_then(|uevent| uevent.lines().find_map(|line| line.strip_prefix("DEVNAME=").map(str::to_owned)))
        .unwrap_or_else(|| format!("{major}:{minor}"))
}

/// From a request to its disk, position, size, flags and first bio, from
/// BTF; and where the tracepoints pass the request and the bio.
pub(crate) fn request_offsets(btf: &KernelBtf) -> Result<BlockOffsets> {
    let mut offsets = BlockOffsets::UNRESOLVED;
    // 5.17 moved the disk from the request to its queue.
    match btf.field("request", "rq_disk") {
        Ok(field) => offsets.rq_disk = field.offset,
        Err(_) => {
            offsets.rq_q = btf.field("request", "q")?.offset;
            offsets.queue_disk = btf.field("request_queue", "disk")?.offset;
        }
    }
    offsets.disk_major = btf.field("gendisk", "major")?.offset;
    offsets.disk_first_minor = btf.field("gendisk", "first_minor")?.offset;
    offsets.rq_cmd_flags = btf.field("request", "cmd_flags")?.offset;
    offsets.rq_sector = btf.field("request", "__sector")?.offset;
    offsets.rq_data_len = btf.field("request", "__data_len")?.offset;
    offsets.rq_bio = btf.field("request", "bio")?.offset;
    // block_rq_insert/issue and block_getrq lost their queue argument in 5.11.
    offsets.rq_arg = u32::from(btf.tracepoint_arg_count("block_rq_issue").unwrap_or(1) == 2);
    offsets.bio_arg = u32::from(btf.tracepoint_arg_count("block_getrq").unwrap_or(1) == 3);
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_use_the_kernels_encoding_and_names_resolve() {
        assert_eq!(kernel_dev(253, 0), 253 << 20);
        assert_eq!(kernel_dev(8, 17), (8 << 20) | 17);
        // Every block device the kernel lists resolves both ways.
        for entry in std::fs::read_dir("/sys/class/block").unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert_eq!(disk_name(disk_dev(&name).unwrap()), name);
        }
        assert!(disk_dev("no-such-disk").unwrap_err().to_string().contains("no disk named"));
    }

    #[test]
    fn request_offsets_resolve_on_this_kernel() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let offsets = request_offsets(&btf).unwrap();
        assert_ne!(offsets.rq_sector, u32::MAX);
        assert_ne!(offsets.rq_bio, u32::MAX);
        // 6.18: request, then bio: one argument each.
        assert_eq!((offsets.rq_arg, offsets.bio_arg), (0, 0));
        assert!(offsets.rq_disk != u32::MAX || offsets.queue_disk != u32::MAX);
    }
}
