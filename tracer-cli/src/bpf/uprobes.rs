//! User-space probes, for every tool that traces a function in a program or
//! library (gethostlatency; later funclatency, memleak, bashreadline):
//!
//! - a function's **file offset** in an ELF file (the kernel places a uprobe
//!   by inode and file offset, not by name), from `.dynsym` or `.symtab`;
//! - the **files processes really map** (/proc/PID/maps), each reachable
//!   through /proc/PID/map_files even when it lives in another mount
//!   namespace (a container's own libc) or was deleted since, and told apart
//!   by device and inode, which is what a uprobe is bound to;
//! - **attaching** uprobe and uretprobe programs there, for every process.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, anyhow, bail};
use aya::programs::{Program, UProbe, uprobe::UProbeScope};
use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

/// A file that a uprobe can be bound to, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    /// A path that this process can open and the kernel can resolve:
    /// /proc/PID/map_files/START-END for a process's mapping, else the path.
    pub open_path: PathBuf,
    /// The file's name as its mapper sees it (in its own mount namespace).
    pub name: String,
    /// `major:minor` of its device and its inode: a uprobe's identity.
    pub dev: (u32, u32),
    pub inode: u64,
    /// The processes seen mapping it (empty for a path given or found on the host).
    pub pids: Vec<u32>,
}

/// One file-backed line of /proc/PID/maps.
#[derive(Debug, PartialEq, Eq)]
struct MapsLine<'a> {
    range: &'a str,
    dev: (u32, u32),
    inode: u64,
    path: &'a str,
}

fn parse_maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let _perms = fields.next()?;
    let _offset = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let inode: u64 = fields.next()?.parse().ok()?;
    let path = fields.next()?.trim_start();
    if inode == 0 || !path.starts_with('/') {
        return None;
    }
    let dev = (u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?);
    Some(MapsLine { range, dev, inode, path: path.strip_suffix(" (deleted)").unwrap_or(path) })
}

/// The files mapped by process `pid` whose path `wanted` accepts, one per
/// (device, inode).
pub fn mapped_by(pid: u32, wanted: &dyn Fn(&str) -> bool) -> Vec<MappedFile> {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else { return Vec::new() };
    let mut files: Vec<MappedFile> = Vec::new();
    for line in maps.lines().filter_map(parse_maps_line).filter(|line| wanted(line.path)) {
        if files.iter().any(|file| file.dev == line.dev && file.inode == line.inode) {
            continue;
        }
        // map_files reaches the very file mapped, in whatever mount namespace;
        // the root link is the fallback where map_files is not readable.
        let map_file = PathBuf::from(format!("/proc/{pid}/map_files/{}", line.range));
        let open_path = if File::open(&map_file).is_ok() {
            map_file
        } else {
            PathBuf::from(format!("/proc/{pid}/root{}", line.path))
        };
        files.push(MappedFile {
            open_path,
            name: line.path.to_owned(),
            dev: line.dev,
            inode: line.inode,
            pids: vec![pid],
        });
    }
    files
}

/// The files `wanted` accepts mapped by every running process, one per
/// (device, inode), with the processes that map each.
pub fn mapped_by_all(wanted: &dyn Fn(&str) -> bool) -> Vec<MappedFile> {
    let mut found: BTreeMap<((u32, u32), u64), MappedFile> = BTreeMap::new();
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<u32> =
        entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).filter(|&pid| pid != me).collect();
    pids.sort_unstable();
    for pid in pids {
        for file in mapped_by(pid, wanted) {
            found.entry((file.dev, file.inode)).and_modify(|known| known.pids.push(pid)).or_insert(file);
        }
    }
    found.into_values().collect()
}

/// `path` as a uprobe target: the device and inode the kernel will bind to.
/// Taken from our own mapping of it, as /proc/self/maps shows it (on overlay
/// file systems `stat` shows the overlay's inode, a mapping the real one).
pub fn file_at(path: &Path) -> Result<MappedFile> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: read-only mapping, dropped before returning; we read nothing from it.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))?;
    let start = map.as_ptr() as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").context("cannot read /proc/self/maps")?;
    let line = maps
        .lines()
        .filter_map(parse_maps_line)
        .find(|line| {
            line.range.split_once('-').and_then(|(from, _)| usize::from_str_radix(from, 16).ok()) == Some(start)
        })
        .with_context(|| format!("{} does not show in /proc/self/maps once mapped", path.display()))?;
    Ok(MappedFile {
        open_path: path.to_owned(),
        name: path.display().to_string(),
        dev: line.dev,
        inode: line.inode,
        pids: Vec::new(),
    })
}

/// The file offsets of functions `names` in ELF file `path` (None where a
/// name is not a function defined there), from the dynamic symbols or
/// the full symbol table.
pub fn function_offsets(path: &Path, names: &[&str]) -> Result<Vec<Option<u64>>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: read-only mapping of a file we only parse.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))?;
    let elf = object::File::parse(&*map).map_err(|err| anyhow!("{} is not an ELF file: {err}", path.display()))?;
    let mut offsets = vec![None; names.len()];
    for symbol in elf.dynamic_symbols().chain(elf.symbols()) {
        if !symbol.is_definition() || symbol.kind() != SymbolKind::Text {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if let Some(index) = names.iter().position(|wanted| *wanted == name)
            && offsets[index].is_none()
        {
            offsets[index] = file_offset(&elf, symbol.address());
        }
    }
    Ok(offsets)
}

/// The file offset of the entry point of ELF file `path`.
pub fn entry_offset(path: &Path) -> Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: read-only mapping of a file we only parse.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot map {}", path.display()))?;
    let elf = object::File::parse(&*map).map_err(|err| anyhow!("{} is not an ELF file: {err}", path.display()))?;
    file_offset(&elf, elf.entry()).with_context(|| format!("{}'s entry point is in no segment", path.display()))
}

/// Where virtual address `address` lies in the file: the loadable segment
/// that holds it says.
fn file_offset(elf: &object::File<'_>, address: u64) -> Option<u64> {
    elf.segments().find_map(|segment| {
        let (offset, size) = segment.file_range();
        let start = segment.address();
        (address >= start && address - start < size).then(|| offset + (address - start))
    })
}

/// Loads uprobe or uretprobe program `name` if it is not yet loaded, and
/// attaches it to each file offset of `path`, for every process.
pub fn attach(ebpf: &mut aya::Ebpf, name: &str, path: &Path, offsets: &[u64]) -> Result<()> {
    let program = ebpf.program_mut(name).with_context(|| format!("BPF object has no program {name}"))?;
    let Program::UProbe(program) = program else { bail!("{name} is not a uprobe program") };
    let program: &mut UProbe = program;
    if program.fd().is_err() {
        program.load().with_context(|| format!("uprobe {name}"))?;
    }
    for &offset in offsets {
        program
            .attach([offset], path, UProbeScope::AllProcesses)
            .with_context(|| format!("uprobe at {}+{offset:#x}", path.display()))?;
    }
    Ok(())
}

/// Whether `path` names a C library: glibc's `libc.so.6` (`libc-2.31.so`
/// before 2.34) or musl's `ld-musl-ARCH.so.1` / `libc.musl-ARCH.so.1`.
pub fn is_libc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("libc.so")
        || (name.starts_with("libc-") && name.ends_with(".so"))
        || name.starts_with("ld-musl-")
        || name.starts_with("libc.musl-")
}

/// Where hosts keep their C library (tracer is static: no loader to ask).
const HOST_LIBCS: &[&str] = &[
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/usr/lib/aarch64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/lib/libc.so.6",
    "/usr/lib/libc.so.6",
    "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",
];

/// The host's own C libraries (in our mount namespace), one per inode.
pub fn host_libcs() -> Vec<MappedFile> {
    let mut found: Vec<MappedFile> = Vec::new();
    for path in HOST_LIBCS.iter().map(Path::new).filter(|path| path.exists()) {
        match file_at(path) {
            Ok(file) if !found.iter().any(|known| known.dev == file.dev && known.inode == file.inode) => {
                found.push(file);
            }
            Ok(_) => {}
            Err(err) => log::info!("skipping {}: {err:#}", path.display()),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_backed_maps_lines_only() {
        let line = "7f1c2a400000-7f1c2a428000 r--p 00000000 fd:01 1315226                    /usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(
            parse_maps_line(line),
            Some(MapsLine {
                range: "7f1c2a400000-7f1c2a428000",
                dev: (0xfd, 1),
                inode: 1315226,
                path: "/usr/lib/x86_64-linux-gnu/libc.so.6"
            })
        );
        let deleted = "7f1c2a400000-7f1c2a428000 r-xp 00028000 08:10 42 /tmp/libc.so.6 (deleted)";
        assert_eq!(parse_maps_line(deleted).unwrap().path, "/tmp/libc.so.6");
        assert_eq!(
            parse_maps_line("7ffd5e1f0000-7ffd5e211000 rw-p 00000000 00:00 0                          [stack]"),
            None
        );
        assert_eq!(parse_maps_line("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0"), None);
    }

    #[test]
    fn recognises_glibc_and_musl() {
        for libc in ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/libc-2.31.so", "/lib/ld-musl-x86_64.so.1"] {
            assert!(is_libc(libc), "{libc}");
        }
        for other in ["/usr/lib/x86_64-linux-gnu/libcap.so.2", "/usr/lib/libcrypt.so.1", "/usr/bin/libc-tool"] {
            assert!(!is_libc(other), "{other}");
        }
    }

    #[test]
    fn finds_this_hosts_libc_and_its_lookup_functions() {
        let libcs = host_libcs();
        let libc = libcs.first().expect("a C library on this host");
        let offsets = function_offsets(&libc.open_path, &["getaddrinfo", "gethostbyname", "no_such_function_q9"])
            .expect("libc parses");
        assert!(offsets[0].is_some() && offsets[1].is_some() && offsets[2].is_none(), "{offsets:?}");
        // The test binary maps the same libc: found through its map_files, same inode.
        let mine = mapped_by(std::process::id(), &is_libc);
        assert!(mine.iter().any(|file| file.dev == libc.dev && file.inode == libc.inode), "{mine:?} vs {libc:?}");
        assert!(mine[0].open_path.starts_with("/proc"), "{mine:?}");
        assert_eq!(function_offsets(&mine[0].open_path, &["getaddrinfo"]).unwrap()[0], offsets[0]);
    }

    #[test]
    fn entry_point_is_in_the_file() {
        let exe = std::env::current_exe().unwrap();
        let offset = entry_offset(&exe).unwrap();
        assert!(offset > 0 && offset < std::fs::metadata(&exe).unwrap().len());
    }
}
