//! Compresses each stripped BPF object into `<object>.deflate`, the file
//! `src/bpf/embedded.rs` embeds: a quarter of the stripped size, which keeps
//! the static binary inside its budget as tools are added.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the compressed copy of `object` goes.
pub fn deflated_path(object: &Path) -> PathBuf {
    let mut name = object.as_os_str().to_owned();
    name.push(".deflate");
    PathBuf::from(name)
}

/// Writes `object`.deflate at the best compression; returns its size.
pub fn deflate(object: &Path) -> Result<usize> {
    let data = std::fs::read(object).with_context(|| format!("cannot read {}", object.display()))?;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&data)?;
    let deflated = encoder.finish()?;
    let target = deflated_path(object);
    std::fs::write(&target, &deflated).with_context(|| format!("cannot write {}", target.display()))?;
    Ok(deflated.len())
}
