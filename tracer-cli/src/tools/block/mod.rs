//! Block devices. What the block tools share in userspace: disks by name and
//! number, the offsets from a request to its disk, position, size and flags
//! (BTF), the classic records' layout (tracefs), the hooks of the tools that
//! follow a request from its submitter (`Following`), and the kernel's rwbs
//! spelling of a request's flags.

pub mod biolatency;
pub mod biopattern;
pub mod biosnoop;
pub mod biotop;
pub mod bitesize;

use anyhow::{Result, ensure};
use aya::EbpfLoader;
use tracer_common::{
    block::{BlockOffsets, RequestFilter},
    offsets::TaskOffsets,
};

use crate::{
    bpf::hooks::{HookKind, TracepointHook},
    error::{refuse, user_error},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        cgroup::CgroupFilter,
        offsets::{TaskFields, task_offsets},
        tracefs,
    },
};

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

/// The classic records' `dev` and `sector` (the same in every block
/// tracepoint: checked) and block_rq_complete's `nr_sector` and `rwbs`.
pub(crate) fn record_offsets(offsets: &mut BlockOffsets, tracepoints: &[&str]) -> Result<()> {
    let complete = tracefs::tracepoint_format("block", "block_rq_complete")?;
    let field = |name| tracefs::field(&complete, "block_rq_complete", name).map(|f| f.offset);
    offsets.tp_dev = field("dev")?;
    offsets.tp_sector = field("sector")?;
    offsets.tp_nr_sector = field("nr_sector")?;
    offsets.tp_rwbs = field("rwbs")?;
    for name in tracepoints.iter().filter(|&&name| name != "block_rq_complete") {
        let format = tracefs::tracepoint_format("block", name)?;
        let (dev, sector) =
            (tracefs::field(&format, name, "dev")?.offset, tracefs::field(&format, name, "sector")?.offset);
        ensure!(
            (dev, sector) == (offsets.tp_dev, offsets.tp_sector),
            "block:{name} records dev and sector at other offsets than block_rq_complete"
        );
    }
    Ok(())
}

/// Where a request's submitter is taken: the hook that runs in its context
/// when the request is made for its bio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StartHook {
    /// `block_io_start` (6.5+): passes the request.
    #[value(name = "io_start")]
    IoStart,
    /// `block_getrq`: passes the bio the request is made for (every kernel).
    Getrq,
}

impl StartHook {
    const fn tracepoint(self) -> &'static str {
        match self {
            Self::IoStart => "block_io_start",
            Self::Getrq => "block_getrq",
        }
    }
}

/// The options of the tools that follow requests from their submitters.
#[derive(clap::Args, Debug, Clone)]
pub struct FollowArgs {
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
    /// Take each request's submitter at this tracepoint: io_start
    /// (block_io_start, 6.5+) or getrq (block_getrq, every kernel); default:
    /// io_start where the kernel has it
    #[arg(long, value_name = "HOOK", value_enum)]
    pub start_hook: Option<StartHook>,
}

/// Names of a tool's four programs without their hook suffix.
pub struct FollowPrograms {
    pub start: &'static str,
    pub getrq: &'static str,
    pub issue: &'static str,
    pub complete: &'static str,
}

/// What a request-following tool (biosnoop, biotop, bitesize) attaches
/// with: its filters, offsets, start hook and hook kinds.
pub struct Following {
    pub filter: RequestFilter,
    pub offsets: BlockOffsets,
    pub task_offsets: TaskOffsets,
    pub start: StartHook,
    pub kinds: Vec<HookKind>,
    /// What loading tp_btf programs needs of the kernel's BTF (None: it has none).
    pub targets: Option<AttachTargets>,
}

const FOLLOWED: [&str; 4] = ["block_io_start", "block_getrq", "block_rq_issue", "block_rq_complete"];

impl Following {
    /// Resolves what the tool needs on this kernel. Without BTF only the
    /// classic tracepoints serve, and not `-c`.
    pub fn prepare(
        mut filter: RequestFilter,
        cgroup: Option<CgroupFilter>,
        args: &FollowArgs,
        btf: Option<&KernelBtf>,
    ) -> Result<Self> {
        let mut kinds = crate::bpf::hooks::forced_or(args.hook.as_deref(), crate::bpf::hooks::TRACEPOINT_KINDS);
        let has_io_start = match btf {
            Some(btf) => btf.tracepoint_arg_count("block_io_start").is_ok(),
            None => tracefs::ensure_mounted()?.join("events/block/block_io_start").exists(),
        };
        let start = match args.start_hook {
            Some(StartHook::IoStart) if !has_io_start => {
                refuse!("this kernel has no block_io_start tracepoint (Linux 6.5+): use --start-hook getrq")
            }
            Some(start) => start,
            None if has_io_start => StartHook::IoStart,
            None => StartHook::Getrq,
        };
        let Some(btf) = btf else {
            if cgroup.is_some() || !kinds.contains(&HookKind::Tracepoint) {
                refuse!(
                    "this kernel has no BTF ({} is missing), which -c and the tp_btf/raw_tp hooks need: \
                     use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE",
                    crate::kernel::btf::VMLINUX_BTF
                );
            }
            kinds.retain(|&kind| kind == HookKind::Tracepoint);
            return Ok(Self {
                filter,
                offsets: BlockOffsets::UNRESOLVED,
                task_offsets: TaskOffsets::UNRESOLVED,
                start,
                kinds,
                targets: None,
            });
        };
        let offsets =
            request_offsets(btf).map_err(|err| user_error!("this kernel's block layer is not one we know: {err:#}"))?;
        let mut cgroup_offsets = TaskOffsets::UNRESOLVED;
        if let Some(cgroup) = cgroup {
            filter.filter_cgroup = 1;
            filter.cgroup_id = cgroup.id;
            filter.cgroup_level = cgroup.level;
            cgroup_offsets = task_offsets(btf, &[TaskFields::Cgroup])
                .map_err(|err| user_error!("this kernel cannot serve -c: {err:#}"))?;
        }
        let targets = Some(btf.attach_targets(&FOLLOWED, &[]));
        Ok(Self { filter, offsets, task_offsets: cgroup_offsets, start, kinds, targets })
    }

    /// The tracepoints attached, and through which of the tool's programs.
    pub fn tracepoints(&self, programs: &FollowPrograms) -> [TracepointHook; 3] {
        let hook = |name, program| TracepointHook { category: "block", name, program };
        let start = match self.start {
            StartHook::IoStart => programs.start,
            StartHook::Getrq => programs.getrq,
        };
        [
            hook(self.start.tracepoint(), start),
            hook("block_rq_issue", programs.issue),
            hook("block_rq_complete", programs.complete),
        ]
    }

    /// `block_io_start, block_rq_issue, block_rq_complete`, for --verbose.
    pub fn describe(&self) -> String {
        format!("block:{}, block:block_rq_issue, block:block_rq_complete", self.start.tracepoint())
    }

    /// The offsets for `kind`: the classic path also needs the records'.
    pub fn offsets_for(&self, kind: HookKind) -> Result<BlockOffsets> {
        let mut offsets = self.offsets;
        // A request whose start was keyed by its bio is found at issue
        // through its first bio; classic keys are (dev, sector) throughout.
        offsets.getrq = u32::from(self.start == StartHook::Getrq && kind != HookKind::Tracepoint);
        if kind == HookKind::Tracepoint {
            record_offsets(&mut offsets, &[self.start.tracepoint(), "block_rq_issue", "block_rq_complete"])?;
        }
        Ok(offsets)
    }

    /// Sets the globals every request-following object declares.
    pub fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>, offsets: &'a BlockOffsets) {
        loader.override_global("BLOCK_FILTER", &self.filter, true);
        loader.override_global("BLOCK_OFFSETS", offsets, true);
        loader.override_global("TASK_OFFSETS", &self.task_offsets, true);
    }
}

/// The bits of the request flags the kernel's rwbs spells (`__REQ_*` in
/// `enum req_flag_bits`, which move between kernels), read from BTF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlagBits {
    pub preflush: Option<u32>,
    pub fua: Option<u32>,
    pub rahead: Option<u32>,
    pub sync: Option<u32>,
    pub meta: Option<u32>,
    pub atomic: Option<u32>,
}

impl FlagBits {
    pub fn from_btf(btf: &KernelBtf) -> Self {
        let bit = |name| btf.enum_value("req_flag_bits", name).ok().and_then(|value| u32::try_from(value).ok());
        Self {
            preflush: bit("__REQ_PREFLUSH"),
            fua: bit("__REQ_FUA"),
            rahead: bit("__REQ_RAHEAD"),
            sync: bit("__REQ_SYNC"),
            meta: bit("__REQ_META"),
            atomic: bit("__REQ_ATOMIC"),
        }
    }

    /// The kernel's rwbs text for `flags` (as blk_fill_rwbs writes it in
    /// the classic records): F for a preflush, the operation (R, W, D, DE,
    /// F, or N for others), then F(ua), A (readahead), S(ync), M(eta),
    /// U (atomic).
    pub fn rwbs(&self, flags: u32) -> String {
        let set = |bit: Option<u32>| bit.is_some_and(|bit| bit < 32 && flags & (1 << bit) != 0);
        let mut out = String::new();
        if set(self.preflush) {
            out.push('F');
        }
        out.push_str(match flags & 0xff {
            0 => "R",
            1 => "W",
            2 => "F",
            3 => "D",
            5 => "DE",
            _ => "N",
        });
        for (bit, letter) in
            [(self.fua, 'F'), (self.rahead, 'A'), (self.sync, 'S'), (self.meta, 'M'), (self.atomic, 'U')]
        {
            if set(bit) {
                out.push(letter);
            }
        }
        out
    }
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
    fn rwbs_spells_flags_as_the_kernel_does() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let bits = FlagBits::from_btf(&btf);
        assert!(bits.preflush.is_some() && bits.fua.is_some() && bits.sync.is_some() && bits.meta.is_some());
        let bit = |b: Option<u32>| 1u32 << b.unwrap();
        assert_eq!(bits.rwbs(0), "R");
        assert_eq!(bits.rwbs(1 | bit(bits.sync)), "WS");
        assert_eq!(bits.rwbs(1 | bit(bits.preflush) | bit(bits.fua)), "FWF");
        assert_eq!(bits.rwbs(3), "D");
        assert_eq!(bits.rwbs(5), "DE");
        assert_eq!(bits.rwbs(bit(bits.rahead) | bit(bits.meta)), "RAM");
        assert_eq!(bits.rwbs(9), "N");
        // Without BTF only the operation is spelled.
        assert_eq!(FlagBits::default().rwbs(1 | bit(bits.sync)), "W");
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
