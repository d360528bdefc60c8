//! Addresses to names, with blazesym: kernel addresses through kallsyms,
//! user addresses through the ELF symbols and DWARF of each process's
//! mappings (read through /proc/PID/map_files, so binaries in other mount
//! namespaces resolve), perf-PID.map files for JIT runtimes, and Rust and
//! C++ names demangled.
//!
//! A process that exits before the report can only be symbolized from what
//! was captured while it lived: `note_process` caches its mappings (and perf
//! map) as soon as the kernel side reports its first stack. Its files are
//! then opened by path. An address nothing resolves is shown as
//! `module+0xOFFSET` (file offset), never dropped.

use std::collections::{HashMap, HashSet};

use blazesym::{
    MaybeDefault,
    symbolize::{
        Input, Symbolized, Symbolizer,
        cache::{self, Cache},
        source::{Kernel, Process, Source},
    },
};

/// A file-backed (or special) mapping of a process, for the fallback names.
#[derive(Clone, Debug)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    module: String,
}

/// Names for the addresses of one run. Not `Send` (blazesym's symbolizer is
/// not): it lives on the thread that reports.
pub struct Symbols {
    symbolizer: Symbolizer,
    kernel: HashMap<u64, String>,
    user: HashMap<u32, HashMap<u64, String>>,
    mappings: HashMap<u32, Vec<Mapping>>,
    noted: HashSet<u32>,
}

impl Default for Symbols {
    fn default() -> Self {
        Self::new()
    }
}

impl Symbols {
    pub fn new() -> Self {
        let symbolizer = Symbolizer::builder().enable_code_info(false).enable_inlined_fns(false).build();
        Self {
            symbolizer,
            kernel: HashMap::new(),
            user: HashMap::new(),
            mappings: HashMap::new(),
            noted: HashSet::new(),
        }
    }

    /// Captures what symbolizing `pid` will need if it exits before the
    /// report: its mappings and perf map. Cheap to call again for a pid
    /// already noted (nothing is done).
    pub fn note_process(&mut self, pid: u32) {
        if pid == 0 || !self.noted.insert(pid) {
            return;
        }
        if let Err(err) = self.symbolizer.cache(&Cache::Process(cache::Process::new(pid.into()))) {
            log::debug!("cannot cache the mappings of PID {pid}: {err}");
        }
        if let Some(mappings) = read_mappings(pid) {
            self.mappings.insert(pid, mappings);
        }
    }

    /// How many processes were noted while they ran.
    pub fn noted_processes(&self) -> usize {
        self.noted.len()
    }

    /// Resolves kernel addresses (kallsyms), in one batch.
    pub fn resolve_kernel(&mut self, addrs: &HashSet<u64>) {
        let wanted: Vec<u64> = addrs.iter().copied().filter(|addr| !self.kernel.contains_key(addr)).collect();
        if wanted.is_empty() {
            return;
        }
        let source = Source::Kernel(Kernel {
            // kallsyms is always there and fast; a vmlinux with debug info
            // adds little for function names and costs seconds to parse.
            vmlinux: MaybeDefault::None,
            debug_syms: false,
            ..Kernel::default()
        });
        let names = match self.symbolizer.symbolize(&source, Input::AbsAddr(&wanted)) {
            Ok(results) => results.iter().map(name_of).collect(),
            Err(err) => {
                log::info!("cannot symbolize kernel addresses: {err}");
                vec![None; wanted.len()]
            }
        };
        for (addr, name) in wanted.into_iter().zip(names) {
            self.kernel.insert(addr, name.unwrap_or_else(|| format!("0x{addr:x}")));
        }
    }

    /// Resolves user addresses of process `pid`, in one batch.
    pub fn resolve_user(&mut self, pid: u32, addrs: &HashSet<u64>) {
        let known = self.user.entry(pid).or_default();
        let wanted: Vec<u64> = addrs.iter().copied().filter(|addr| !known.contains_key(addr)).collect();
        if wanted.is_empty() {
            return;
        }
        // A zombie still has its /proc entry, but no mappings any more.
        let alive = std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|maps| !maps.is_empty());
        let mut source = Process::new(pid.into());
        // A live process's files are reached through map_files (right mount
        // namespace, even deleted files); after exit only the mappings cached
        // by `note_process` remain, and the files are opened by path.
        source.map_files = alive;
        let names: Vec<Option<String>> =
            match self.symbolizer.symbolize(&Source::Process(source), Input::AbsAddr(&wanted)) {
                Ok(results) => results.iter().map(name_of).collect(),
                Err(err) => {
                    log::info!("cannot symbolize addresses of PID {pid}: {err}");
                    vec![None; wanted.len()]
                }
            };
        let mappings = self.mappings.get(&pid);
        let known = self.user.entry(pid).or_default();
        for (addr, name) in wanted.into_iter().zip(names) {
            let name = name.unwrap_or_else(|| fallback_name(mappings.map(Vec::as_slice), addr));
            known.insert(addr, name);
        }
    }

    /// The name of a kernel address resolved before.
    pub fn kernel(&self, addr: u64) -> &str {
        self.kernel.get(&addr).map_or("[unresolved]", String::as_str)
    }

    /// The name of a user address of `pid` resolved before.
    pub fn user(&self, pid: u32, addr: u64) -> &str {
        self.user.get(&pid).and_then(|names| names.get(&addr)).map_or("[unresolved]", String::as_str)
    }
}

fn name_of(symbolized: &Symbolized<'_>) -> Option<String> {
    symbolized.as_sym().map(|sym| sym.name.to_string())
}

/// `module+0xOFFSET` for an address no symbol covers: the file and offset
/// still tell a reader (or a later `addr2line`) where it was.
fn fallback_name(mappings: Option<&[Mapping]>, addr: u64) -> String {
    match mappings.and_then(|maps| maps.iter().find(|map| (map.start..map.end).contains(&addr))) {
        Some(map) => format!("{}+0x{:x}", map.module, addr - map.start + map.offset),
        None => format!("0x{addr:x}"),
    }
}

/// The process's mappings from /proc/PID/maps (procfs), named by file name
/// or by the kernel's label (`[heap]`, `[anon]`...).
fn read_mappings(pid: u32) -> Option<Vec<Mapping>> {
    use procfs::process::MMapPath;
    let maps = procfs::process::Process::new(pid as i32).ok()?.maps().ok()?;
    Some(
        maps.into_iter()
            .map(|map| {
                let module = match &map.pathname {
                    MMapPath::Path(path) => {
                        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
                    }
                    MMapPath::Heap => "[heap]".into(),
                    MMapPath::Stack | MMapPath::TStack(_) => "[stack]".into(),
                    MMapPath::Vdso => "[vdso]".into(),
                    MMapPath::Anonymous => "[anon]".into(),
                    other => format!("{other:?}"),
                };
                Mapping { start: map.address.0, end: map.address.1, offset: map.offset, module }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function of this test binary, with a name to find.
    #[inline(never)]
    fn a_function_only_this_test_has(x: u64) -> u64 {
        std::hint::black_box(x.wrapping_mul(3))
    }

    #[test]
    fn own_function_resolves_demangled() {
        let addr = a_function_only_this_test_has as *const () as u64;
        let pid = std::process::id();
        let mut symbols = Symbols::new();
        symbols.note_process(pid);
        symbols.resolve_user(pid, &HashSet::from([addr]));
        let name = symbols.user(pid, addr);
        assert!(name.contains("a_function_only_this_test_has"), "{name}");
        assert!(!name.starts_with("_ZN") && !name.starts_with("_R"), "not demangled: {name}");
    }

    #[test]
    fn unmapped_addresses_fall_back_to_module_offset_or_hex() {
        let maps = [Mapping { start: 0x1000, end: 0x2000, offset: 0x400, module: "libx.so".into() }];
        assert_eq!(fallback_name(Some(&maps), 0x1010), "libx.so+0x410");
        assert_eq!(fallback_name(Some(&maps), 0x3000), "0x3000");
        assert_eq!(fallback_name(None, 0x10), "0x10");
    }
}
