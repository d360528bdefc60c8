//! Builds the BPF objects (tracer-ebpf, one per tool) with the pinned
//! nightly toolchain and bpf-linker, into OUT_DIR, strips and compresses
//! them for `src/bpf/embedded.rs` to embed; and names the commit being
//! built, for `tracer --version`.

#[path = "build/commit.rs"]
mod commit;
#[path = "build/deflate.rs"]
mod deflate;
#[path = "build/strip.rs"]
mod strip;

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    println!("cargo:rustc-env=TRACER_COMMIT={}", commit(&manifest_dir));
    let ebpf_dir = manifest_dir.join("../tracer-ebpf");
    let common_dir = manifest_dir.join("../tracer-common");
    println!("cargo:rerun-if-changed={}", common_dir.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // The objects are the same for every host target and profile: xtask
    // builds them once and points the other builds (static, unit tests) here.
    println!("cargo:rerun-if-env-changed={PREBUILT_OBJECTS}");
    if let Some(dir) = std::env::var_os(PREBUILT_OBJECTS) {
        return copy_prebuilt(&PathBuf::from(dir), &out_dir);
    }
    let toolchain = bpf_toolchain(&manifest_dir.join(".."))?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "tracer-ebpf",
            root_dir: ebpf_dir.to_str().expect("utf-8 path"),
            ..Default::default()
        }],
        aya_build::Toolchain::Custom(&toolchain),
    )?;
    strip_objects(&out_dir)
}

/// A directory of objects another build of tracer-cli made (its OUT_DIR).
const PREBUILT_OBJECTS: &str = "TRACER_BPF_OBJECTS";

/// Copies the compressed objects listed in `dir`/objects.txt into `out_dir`.
fn copy_prebuilt(dir: &std::path::Path, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let list = dir.join("objects.txt");
    let names = std::fs::read_to_string(&list)
        .map_err(|err| anyhow::anyhow!("{PREBUILT_OBJECTS}: cannot read {}: {err}", list.display()))?;
    for name in names.lines().filter_map(|line| line.split_whitespace().next()) {
        let source = deflate::deflated_path(&dir.join(name));
        println!("cargo:rerun-if-changed={}", source.display());
        std::fs::copy(&source, deflate::deflated_path(&out_dir.join(name)))?;
    }
    std::fs::copy(&list, out_dir.join("objects.txt"))?;
    Ok(())
}

/// Drops the DWARF of every BPF object aya-build left in `out_dir` and
/// compresses it; lists each object's sizes in OUT_DIR/objects.txt as
/// `name embedded stripped with-DWARF` (BENCHMARKS.md's "Size" quotes it).
fn strip_objects(out_dir: &std::path::Path) -> anyhow::Result<()> {
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(out_dir)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        if let Some((before, after)) = strip::strip_dwarf(&path)? {
            let embedded = deflate::deflate(&path)?;
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            sizes.push(format!("{name} {embedded} {after} {before}"));
        }
    }
    sizes.sort();
    std::fs::write(out_dir.join("objects.txt"), sizes.join("\n") + "\n")?;
    Ok(())
}

/// The nightly pinned in toolchains.toml: its LLVM is the one bpf-linker was
/// built against, so never "whatever nightly is installed".
fn bpf_toolchain(workspace: &std::path::Path) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Toolchains {
        bpf: Toolchain,
    }
    #[derive(serde::Deserialize)]
    struct Toolchain {
        channel: String,
    }
    let path = workspace.join("toolchains.toml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path)?;
    let file: Toolchains = toml::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(file.bpf.channel)
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
