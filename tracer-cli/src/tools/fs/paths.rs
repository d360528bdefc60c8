//! The userspace half of `fs::paths`, shared by the syscall tools
//! (opensnoop, statsnoop, ...): the BTF offsets the kernel walk needs, and
//! decoding a `PathData` (a name as passed, plus the components walked in
//! the kernel) into the path it names.

use std::mem::offset_of;

use anyhow::Result;
use tracer_common::fs::paths::{NAME_BYTES, PATH_DATA_OFFSET, PathData, PathOffsets, dir_state};

use crate::{kernel::btf::KernelBtf, output::escape};

/// Offsets from a task to its cwd and open files, and up the dentry and
/// mount trees (BTF).
pub fn offsets(btf: &KernelBtf) -> Result<PathOffsets> {
    Ok(PathOffsets {
        task_fs: btf.field("task_struct", "fs")?.offset,
        fs_pwd: btf.field("fs_struct", "pwd")?.offset,
        path_mnt: btf.field("path", "mnt")?.offset,
        path_dentry: btf.field("path", "dentry")?.offset,
        dentry_parent: btf.field("dentry", "d_parent")?.offset,
        dentry_name: btf.field("dentry", "d_name")?.offset + btf.field("qstr", "name")?.offset,
        vfsmount_root: btf.field("vfsmount", "mnt_root")?.offset,
        mount_mnt: btf.field("mount", "mnt")?.offset,
        mount_parent: btf.field("mount", "mnt_parent")?.offset,
        mount_mountpoint: btf.field("mount", "mnt_mountpoint")?.offset,
        task_files: btf.field("task_struct", "files")?.offset,
        files_fdt: btf.field("files_struct", "fdt")?.offset,
        fdtable_max_fds: btf.field("fdtable", "max_fds")?.offset,
        fdtable_fd: btf.field("fdtable", "fd")?.offset,
        file_path: btf.field("file", "f_path")?.offset,
        file_inode: btf.field("file", "f_inode")?.offset,
        inode_ino: btf.field("inode", "i_ino")?.offset,
        inode_sb: btf.field("inode", "i_sb")?.offset,
        sb_magic: btf.field("super_block", "s_magic")?.offset,
    })
}

/// A `PathData` as userspace sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkedPath {
    /// The name as passed (empty for a call on a descriptor).
    pub name: Vec<u8>,
    /// The components walked in the kernel, innermost first.
    pub components: Vec<Vec<u8>>,
    /// A `dir_state` value.
    pub state: u32,
    /// Super block magic and inode number of a file outside the tree.
    pub magic: u32,
    pub ino: u64,
}

impl WalkedPath {
    /// Decodes the `PathData` at the start of `bytes` (sent with only the
    /// bytes used).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let field = |offset: usize| Some(u32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?));
        let (name_len, dir_len) = (field(offset_of!(PathData, name_len))?, field(offset_of!(PathData, dir_len))?);
        let (state, magic) = (field(offset_of!(PathData, dir_state))?, field(offset_of!(PathData, magic))?);
        let ino_at = offset_of!(PathData, ino);
        let ino = u64::from_ne_bytes(bytes.get(ino_at..ino_at + 8)?.try_into().ok()?);
        let data = bytes.get(PATH_DATA_OFFSET..)?;
        let name_end = (name_len as usize).min(data.len());
        let dir_end = (name_end + dir_len as usize).min(data.len());
        let components = data[name_end..dir_end].split(|&b| b == 0).filter(|c| !c.is_empty()).map(<[u8]>::to_vec);
        Some(Self {
            name: escape::until_nul(&data[..name_end]).to_vec(),
            components: components.collect(),
            state,
            magic,
            ino,
        })
    }

    /// The name's bytes filled the buffer: a longer name was cut (the
    /// kernel refuses names of PATH_MAX bytes or more, ENAMETOOLONG).
    pub fn name_filled_buffer(&self) -> bool {
        self.name.len() + 1 >= NAME_BYTES
    }

    /// The walk stopped before the root (too deep or too long).
    pub fn walk_cut(&self) -> bool {
        self.state == dir_state::TRUNCATED
    }

    /// The whole path: the walked components (from the root) and the name,
    /// or the name alone when nothing was walked. A walk cut short has no
    /// leading `/`; an empty name (a call on a descriptor) adds nothing, so
    /// a file's path has no trailing `/`.
    pub fn full(&self) -> Vec<u8> {
        if self.state == dir_state::NONE {
            return self.name.clone();
        }
        if self.state == dir_state::DETACHED && self.name.is_empty() {
            return self.outside_tree_name();
        }
        let complete = self.state == dir_state::COMPLETE;
        let mut path = Vec::new();
        for (index, component) in self.components.iter().rev().enumerate() {
            if complete || index > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(component);
        }
        if !self.name.is_empty() {
            if complete || !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&self.name);
        } else if path.is_empty() && complete {
            path.push(b'/');
        }
        path
    }
}

/// Super block magics of the pseudo file systems whose files the kernel
/// names `KIND:[INODE]` (`pipe:[1234]`) rather than by a path.
const PIPEFS_MAGIC: u32 = 0x5049_5045;
const SOCKFS_MAGIC: u32 = 0x534f_434b;
const ANON_INODE_FS_MAGIC: u32 = 0x0904_1934;

impl WalkedPath {
    /// The name /proc/PID/fd shows for a file outside the tree.
    fn outside_tree_name(&self) -> Vec<u8> {
        let name = self.components.first().map_or(&[][..], Vec::as_slice);
        match self.magic {
            PIPEFS_MAGIC => format!("pipe:[{}]", self.ino).into_bytes(),
            SOCKFS_MAGIC => format!("socket:[{}]", self.ino).into_bytes(),
            ANON_INODE_FS_MAGIC => [b"anon_inode:".as_slice(), name].concat(),
            _ => name.to_vec(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn path_bytes(name: &[u8], components: &[&[u8]], state: u32) -> Vec<u8> {
        outside_tree_bytes(name, components, state, 0, 0)
    }

    pub fn outside_tree_bytes(name: &[u8], components: &[&[u8]], state: u32, magic: u32, ino: u64) -> Vec<u8> {
        let mut data = name.to_vec();
        data.push(0);
        let name_len = data.len() as u32;
        for component in components {
            data.extend_from_slice(component);
            data.push(0);
        }
        let mut bytes = Vec::new();
        for field in [name_len, data.len() as u32 - name_len, state, magic] {
            bytes.extend_from_slice(&field.to_ne_bytes());
        }
        bytes.extend_from_slice(&ino.to_ne_bytes());
        bytes.extend_from_slice(&data);
        bytes
    }

    fn full(name: &[u8], components: &[&[u8]], state: u32) -> String {
        String::from_utf8(WalkedPath::decode(&path_bytes(name, components, state)).unwrap().full()).unwrap()
    }

    #[test]
    fn names_join_the_components_walked() {
        assert_eq!(full(b"/etc/passwd", &[], dir_state::NONE), "/etc/passwd");
        assert_eq!(full(b"rel", &[], dir_state::NONE), "rel");
        assert_eq!(full(b"x.txt", &[b"tmp", b"home"], dir_state::COMPLETE), "/home/tmp/x.txt");
        assert_eq!(full(b"y", &[], dir_state::COMPLETE), "/y", "cwd is /");
        assert_eq!(full(b"y", &[b"c", b"b"], dir_state::TRUNCATED), "b/c/y", "a cut walk has no leading /");
    }

    #[test]
    fn a_file_walked_from_its_descriptor_has_no_trailing_slash() {
        assert_eq!(full(b"", &[b"data.db", b"srv"], dir_state::COMPLETE), "/srv/data.db");
        assert_eq!(full(b"", &[], dir_state::COMPLETE), "/", "the root directory itself");
        assert_eq!(full(b"", &[b"memfd:x"], dir_state::DETACHED), "memfd:x");
        let pipe = outside_tree_bytes(b"", &[], dir_state::DETACHED, PIPEFS_MAGIC, 4242);
        assert_eq!(WalkedPath::decode(&pipe).unwrap().full(), b"pipe:[4242]");
        let eventfd = outside_tree_bytes(b"", &[b"[eventfd]"], dir_state::DETACHED, ANON_INODE_FS_MAGIC, 1);
        assert_eq!(WalkedPath::decode(&eventfd).unwrap().full(), b"anon_inode:[eventfd]");
        let path = WalkedPath::decode(&path_bytes(b"", &[b"x"], dir_state::TRUNCATED)).unwrap();
        assert!(path.walk_cut() && !path.name_filled_buffer());
    }
}
