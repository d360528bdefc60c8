//! Strips the DWARF from the BPF objects before tracer embeds them.
//!
//! The objects are built with `debug = 2`, which is what makes bpf-linker
//! emit BTF, so each also carries DWARF (.debug_* and their relocations):
//! most of every object's bytes. aya needs the code, maps, symbols, .BTF and
//! .BTF.ext; the verifier's log takes its source lines from .BTF.ext, so it
//! names what it named before.

use std::path::Path;

use anyhow::{Context, Result};
use object::build::elf::{Builder, SectionData};

/// Rewrites `path` without its DWARF sections if it is a BPF object (what
/// aya-build copied into OUT_DIR); returns (bytes before, bytes after).
pub fn strip_dwarf(path: &Path) -> Result<Option<(usize, usize)>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(mut builder) = Builder::read(&*data) else { return Ok(None) };
    if builder.header.e_machine != object::elf::EM_BPF {
        return Ok(None);
    }
    for section in builder.sections.iter_mut() {
        let name = section.name.as_slice();
        if name.starts_with(b".debug_") || name.starts_with(b".rel.debug_") {
            section.delete = true;
        }
    }
    builder.delete_orphans();
    // bpf-linker names sections from the symbol string table; the writer
    // keeps section names in a table of their own.
    if !builder.sections.iter().any(|section| matches!(section.data, SectionData::SectionString)) {
        let names = builder.sections.add();
        names.name = b".shstrtab"[..].into();
        names.sh_type = object::elf::SHT_STRTAB;
        names.data = SectionData::SectionString;
    }
    let mut stripped = Vec::with_capacity(data.len() / 4);
    builder.write(&mut stripped).with_context(|| format!("cannot rewrite {}", path.display()))?;
    std::fs::write(path, &stripped).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some((data.len(), stripped.len())))
}
