//! Builds the BPF objects (tracer-ebpf, one per tool) with the nightly
//! toolchain and bpf-linker, into OUT_DIR, where `src/bpf.rs` embeds them.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let ebpf_dir = manifest_dir.join("../tracer-ebpf");
    let common_dir = manifest_dir.join("../tracer-common");
    println!("cargo:rerun-if-changed={}", common_dir.display());
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "tracer-ebpf",
            root_dir: ebpf_dir.to_str().expect("utf-8 path"),
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}
