//! BTF blobs (what /sys/kernel/btf/vmlinux or --btf FILE hands us) through
//! tracer's BTF reader, then the lookups tracer makes: errors, never panics;
//! and whatever attach targets it finds must make a stub BTF that aya parses.
#![no_main]

/// The one item of tracer-cli's error module the BTF reader uses.
mod error {
    #[derive(Debug)]
    pub struct UserError(pub String);
    impl std::fmt::Display for UserError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for UserError {}
    macro_rules! user_error {
        ($($arg:tt)*) => {
            anyhow::Error::new($crate::error::UserError(format!($($arg)*)))
        };
    }
    pub(crate) use user_error;
}

#[allow(dead_code)]
#[path = "../../tracer-cli/src/kernel/btf.rs"]
mod btf;

#[allow(dead_code)]
#[path = "../../tracer-cli/src/kernel/attach_btf.rs"]
mod attach_btf;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = btf::KernelBtf::parse(data.to_vec()) {
        let _ = parsed.field("task_struct", "pid");
        let _ = parsed.field_any("task_struct", &["__state", "state"]);
        let _ = parsed.tracepoint_arg_count("sched_switch");
        let _ = parsed.struct_id("cgroup");
        // The attach targets found in any blob make a stub aya accepts.
        let targets = parsed.attach_targets(&["sched_switch"], &["vfs_read"]);
        targets.stub_btf().expect("the stub of any target set parses");
    }
});
