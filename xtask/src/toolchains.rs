//! The pinned toolchains (toolchains.toml at the workspace root), installed
//! by `setup` and used by name: xtask itself builds with whatever toolchain
//! the machine has (hence its own low rust-version), everything else with
//! these.

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::util;

#[derive(Clone, Debug, Deserialize)]
pub struct Toolchain {
    pub channel: String,
    pub components: Vec<String>,
    pub targets: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Toolchains {
    /// tracer, the tests, the benchmarks.
    pub userspace: Toolchain,
    /// The BPF objects (and the fuzz targets' sanitizers).
    pub bpf: Toolchain,
}

pub fn pinned() -> Result<Toolchains> {
    let path = util::workspace_root().join("toolchains.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pins_name_exact_releases() {
        let pinned = pinned().unwrap();
        // A moving channel ("stable", "nightly") would defeat the pin.
        assert!(pinned.userspace.channel.chars().next().unwrap().is_ascii_digit(), "{:?}", pinned.userspace);
        assert!(pinned.bpf.channel.starts_with("nightly-20"), "{:?}", pinned.bpf);
        assert!(pinned.bpf.components.iter().any(|c| c == "rust-src"));
        assert!(pinned.userspace.targets.iter().any(|t| t == crate::setup::STATIC_TARGET));
    }
}
