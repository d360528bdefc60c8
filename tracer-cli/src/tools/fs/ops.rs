//! What fsslower and fsdist share: the file systems they know, the three
//! paths to those file systems' operations (fentry/fexit and kprobes on the
//! file system's functions, or the syscall tracepoints filtered by super
//! block magic), the offsets those paths read (filetop reads them too), and
//! attaching them.

use anyhow::Result;
use aya::Ebpf;
use tracer_common::fs::ops::FsOffsets;

use crate::{
    bpf::hooks::{self, FunctionHook, HookKind, TracepointHook},
    kernel::{
        btf::{AttachTargets, KernelBtf},
        tracefs,
    },
};

/// A file system the tools know: its super block magic and the functions
/// behind read, write, open, fsync and getattr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FileSystem {
    Ext4,
    Xfs,
    Btrfs,
}

impl FileSystem {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ext4 => "ext4",
            Self::Xfs => "xfs",
            Self::Btrfs => "btrfs",
        }
    }

    pub const fn magic(self) -> u32 {
        match self {
            Self::Ext4 => 0xEF53,
            Self::Xfs => 0x5846_5342,
            Self::Btrfs => 0x9123_683E,
        }
    }

    /// (read, write, open, fsync) functions.
    pub const fn functions(self) -> [&'static str; 4] {
        match self {
            Self::Ext4 => ["ext4_file_read_iter", "ext4_file_write_iter", "ext4_file_open", "ext4_sync_file"],
            Self::Xfs => ["xfs_file_read_iter", "xfs_file_write_iter", "xfs_file_open", "xfs_file_fsync"],
            Self::Btrfs => ["btrfs_file_read_iter", "btrfs_file_write_iter", "btrfs_file_open", "btrfs_sync_file"],
        }
    }

    /// The getattr function, where libbpf-tools' fsdist times one (ext4's;
    /// xfs and btrfs have none in its table, and none here).
    pub const fn getattr_function(self) -> Option<&'static str> {
        match self {
            Self::Ext4 => Some("ext4_file_getattr"),
            Self::Xfs | Self::Btrfs => None,
        }
    }

    /// Every function a run may trace (for `KernelBtf::attach_targets`).
    pub fn all_functions(self) -> Vec<&'static str> {
        self.functions().into_iter().chain(self.getattr_function()).collect()
    }
}

/// A tool's programs for the three paths, by naming convention:
/// `<tool>_<op>_fentry`/`_fexit`/`_kprobe` per operation, one
/// `<tool>_exit_kretprobe`, `<tool>_enter_<call>_tp` per syscall and one
/// `<tool>_exit_tp`. Built by `op_programs!("tool")`.
pub struct OpPrograms {
    pub read: &'static str,
    pub write: &'static str,
    pub open: &'static str,
    pub sync: &'static str,
    pub getattr: &'static str,
    /// The kretprobe every function shares (the entry said which op it was).
    pub exit: &'static str,
    /// The syscall tracepoints of read, write, open and fsync.
    pub syscalls: [TracepointHook; 18],
    /// Those of the stat calls that can name an open file (getattr).
    pub stat_syscalls: [TracepointHook; 6],
}

/// The `OpPrograms` of the tool whose programs start with `$tool`.
macro_rules! op_programs {
    ($tool:literal) => {{
        use $crate::bpf::hooks::TracepointHook;
        const fn hook(name: &'static str, program: &'static str) -> TracepointHook {
            TracepointHook { category: "syscalls", name, program }
        }
        const EXIT: &str = concat!($tool, "_exit");
        $crate::tools::fs::ops::OpPrograms {
            read: concat!($tool, "_read"),
            write: concat!($tool, "_write"),
            open: concat!($tool, "_open"),
            sync: concat!($tool, "_sync"),
            getattr: concat!($tool, "_getattr"),
            exit: EXIT,
            syscalls: [
                hook("sys_enter_read", concat!($tool, "_enter_read")),
                hook("sys_exit_read", EXIT),
                hook("sys_enter_readv", concat!($tool, "_enter_read")),
                hook("sys_exit_readv", EXIT),
                hook("sys_enter_pread64", concat!($tool, "_enter_pread")),
                hook("sys_exit_pread64", EXIT),
                hook("sys_enter_write", concat!($tool, "_enter_write")),
                hook("sys_exit_write", EXIT),
                hook("sys_enter_writev", concat!($tool, "_enter_write")),
                hook("sys_exit_writev", EXIT),
                hook("sys_enter_pwrite64", concat!($tool, "_enter_pwrite")),
                hook("sys_exit_pwrite64", EXIT),
                hook("sys_enter_openat", concat!($tool, "_enter_open")),
                hook("sys_exit_openat", EXIT),
                hook("sys_enter_fsync", concat!($tool, "_enter_sync")),
                hook("sys_exit_fsync", EXIT),
                hook("sys_enter_fdatasync", concat!($tool, "_enter_sync")),
                hook("sys_exit_fdatasync", EXIT),
            ],
            stat_syscalls: [
                hook("sys_enter_newfstat", concat!($tool, "_enter_fstat")),
                hook("sys_exit_newfstat", EXIT),
                hook("sys_enter_newfstatat", concat!($tool, "_enter_fstatat")),
                hook("sys_exit_newfstatat", EXIT),
                hook("sys_enter_statx", concat!($tool, "_enter_statx")),
                hook("sys_exit_statx", EXIT),
            ],
        }
    }};
}
pub(crate) use op_programs;

/// What a run traces: the file system, and whether getattr is timed too.
#[derive(Clone, Copy, Debug)]
pub struct Traced {
    pub fs: FileSystem,
    pub getattr: bool,
}

impl Traced {
    /// For `--verbose`: the functions or syscalls the hook kind reaches.
    pub fn describe(self, kind: HookKind) -> String {
        match kind {
            HookKind::Tracepoint => format!(
                "read/write/pread64/pwrite64/readv/writev/openat/fsync/fdatasync{} syscalls on {}",
                if self.getattr { "/fstat/newfstatat/statx (of an fd)" } else { "" },
                self.fs.name()
            ),
            _ => self.functions().join(", "),
        }
    }

    fn functions(self) -> Vec<&'static str> {
        let getattr = self.fs.getattr_function().filter(|_| self.getattr);
        self.fs.functions().into_iter().chain(getattr).collect()
    }
}

/// The chain fd -> file -> inode -> super block and name, from BTF.
pub fn fs_offsets(btf: &KernelBtf) -> Result<FsOffsets> {
    let mut offsets = FsOffsets::UNRESOLVED;
    offsets.task_files = btf.field("task_struct", "files")?.offset;
    offsets.files_fdt = btf.field("files_struct", "fdt")?.offset;
    offsets.fdtable_fd = btf.field("fdtable", "fd")?.offset;
    offsets.fdtable_max_fds = btf.field("fdtable", "max_fds")?.offset;
    offsets.file_inode = btf.field("file", "f_inode")?.offset;
    offsets.file_pos = btf.field("file", "f_pos")?.offset;
    offsets.file_dentry = btf.field("file", "f_path")?.offset + btf.field("path", "dentry")?.offset;
    offsets.dentry_name = btf.field("dentry", "d_name")?.offset + btf.field("qstr", "name")?.offset;
    offsets.inode_sb = btf.field("inode", "i_sb")?.offset;
    offsets.sb_magic = btf.field("super_block", "s_magic")?.offset;
    offsets.inode_mode = btf.field("inode", "i_mode")?.offset;
    offsets.inode_ino = btf.field("inode", "i_ino")?.offset;
    offsets.inode_rdev = btf.field("inode", "i_rdev")?.offset;
    offsets.sb_dev = btf.field("super_block", "s_dev")?.offset;
    offsets.kiocb_filp = btf.field("kiocb", "ki_filp")?.offset;
    offsets.kiocb_pos = btf.field("kiocb", "ki_pos")?.offset;
    Ok(offsets)
}

/// Where the syscall path finds arguments and return values in the
/// classic records (tracefs); every sys_enter/sys_exit record has them at
/// the same place.
pub fn syscall_offsets(offsets: &mut FsOffsets) -> Result<()> {
    let enter = tracefs::tracepoint_format("syscalls", "sys_enter_read")?;
    let exit = tracefs::tracepoint_format("syscalls", "sys_exit_read")?;
    offsets.syscall_args = tracefs::field(&enter, "sys_enter_read", "fd")?.offset;
    offsets.syscall_ret = tracefs::field(&exit, "sys_exit_read", "ret")?.offset;
    Ok(())
}

/// Attaches, through `kind`, the programs that time `traced`'s operations.
/// fentry needs the functions' `targets`.
pub fn attach(
    ebpf: &mut Ebpf,
    kind: HookKind,
    traced: Traced,
    programs: &OpPrograms,
    targets: &AttachTargets,
) -> Result<()> {
    if kind == HookKind::Tracepoint {
        hooks::attach_tracepoints(ebpf, kind, &programs.syscalls, None)?;
        if traced.getattr {
            // Architectures name their stat calls differently: take those this kernel has.
            let mut stats: Vec<TracepointHook> = programs.stat_syscalls.to_vec();
            stats.retain(|hook| tracefs::tracepoint_exists(hook.category, hook.name));
            hooks::attach_tracepoints(ebpf, kind, &stats, None)?;
        }
        return Ok(());
    }
    let [read, write, open, sync] = traced.fs.functions();
    let exit = (kind == HookKind::Kprobe).then_some(programs.exit);
    let hook = |function: &str, stem: &'static str| FunctionHook {
        function: function.to_owned(),
        entry: stem,
        exit: exit.unwrap_or(stem),
    };
    let mut functions = vec![
        hook(read, programs.read),
        hook(write, programs.write),
        hook(open, programs.open),
        hook(sync, programs.sync),
    ];
    if let Some(getattr) = traced.fs.getattr_function().filter(|_| traced.getattr) {
        functions.push(hook(getattr, programs.getattr));
    }
    hooks::attach_functions(ebpf, kind, &functions, Some(targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_systems_know_their_magic_and_functions() {
        assert_eq!(FileSystem::Ext4.magic(), 0xEF53);
        assert_eq!(FileSystem::Xfs.functions()[3], "xfs_file_fsync");
        assert_eq!(FileSystem::Btrfs.functions()[0], "btrfs_file_read_iter");
        assert_eq!(FileSystem::Ext4.all_functions().last(), Some(&"ext4_file_getattr"));
        assert_eq!(FileSystem::Xfs.all_functions().len(), 4);
    }

    #[test]
    fn programs_follow_the_naming_convention() {
        let programs = op_programs!("fsdist");
        assert_eq!(programs.read, "fsdist_read");
        assert_eq!(programs.exit, "fsdist_exit");
        assert!(programs.syscalls.iter().all(|hook| hook.program.starts_with("fsdist_")));
        assert_eq!(programs.syscalls[1].program, "fsdist_exit");
        assert_eq!(programs.stat_syscalls[4].name, "sys_enter_statx");
    }

    #[test]
    fn offsets_resolve_on_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let offsets = fs_offsets(&btf).unwrap();
        assert_ne!(offsets.file_inode, u32::MAX);
        assert_ne!(offsets.sb_magic, u32::MAX);
        assert_eq!(offsets.syscall_args, u32::MAX, "tracefs offsets are resolved only for that path");
    }
}
