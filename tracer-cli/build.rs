//! Builds the BPF objects (tracer-ebpf, one per tool) with the pinned
//! nightly toolchain and bpf-linker, into OUT_DIR, where `src/bpf.rs` embeds
//! them; and names the commit being built, for `tracer --version`.

#[path = "build/commit.rs"]
mod commit;

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    println!("cargo:rustc-env=TRACER_COMMIT={}", commit(&manifest_dir));
    let ebpf_dir = manifest_dir.join("../tracer-ebpf");
    let common_dir = manifest_dir.join("../tracer-common");
    println!("cargo:rerun-if-changed={}", common_dir.display());
    let toolchain = bpf_toolchain(&ebpf_dir)?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "tracer-ebpf",
            root_dir: ebpf_dir.to_str().expect("utf-8 path"),
            ..Default::default()
        }],
        aya_build::Toolchain::Custom(&toolchain),
    )
}

/// The nightly pinned in tracer-ebpf/rust-toolchain.toml: its LLVM is the one
/// bpf-linker was built against, so never "whatever nightly is installed".
fn bpf_toolchain(ebpf_dir: &std::path::Path) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct File {
        toolchain: Toolchain,
    }
    #[derive(serde::Deserialize)]
    struct Toolchain {
        channel: String,
    }
    let path = ebpf_dir.join("rust-toolchain.toml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path)?;
    let file: File = toml::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(file.toolchain.channel)
}

/// The commit for `--version`: `TRACER_COMMIT` if set (builds from a source
/// archive), else HEAD of this checkout, else "unknown commit". Cargo re-runs
/// this when HEAD moves.
fn commit(manifest_dir: &std::path::Path) -> String {
    println!("cargo:rerun-if-env-changed=TRACER_COMMIT");
    if let Ok(commit) = std::env::var("TRACER_COMMIT") {
        return commit;
    }
    match commit::head(manifest_dir) {
        Some((hash, watch)) => {
            // Only files that exist: a missing one would re-run this every build.
            for path in watch {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            hash
        }
        None => commit::UNKNOWN.to_string(),
    }
}
