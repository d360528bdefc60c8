//! The BPF side as userspace sees it: the embedded objects, loading them with
//! their read-only globals, and attaching with hook fallback.

pub mod embedded;
pub mod hooks;
pub mod maps;
pub mod uprobes;

use anyhow::{Context, Result};
use aya::{Ebpf, EbpfLoader, programs::ProgramError};
pub use embedded::Embedded;

/// The BPF objects built from tracer-ebpf, one per tool, embedded at build
/// time (compressed: see [`embedded`]).
pub mod objects {
    use super::embedded::{Embedded, embed};

    pub static RUNQLAT: &Embedded = embed!("runqlat");
    pub static RUNQLAT_COMPAT: &Embedded = embed!("runqlat_compat");
    pub static EXECSNOOP: &Embedded = embed!("execsnoop");
    pub static EXECSNOOP_COMPAT: &Embedded = embed!("execsnoop_compat");
    pub static EXITSNOOP: &Embedded = embed!("exitsnoop");
    pub static EXITSNOOP_COMPAT: &Embedded = embed!("exitsnoop_compat");
    pub static TCPLIFE: &Embedded = embed!("tcplife");
    pub static TCPLIFE_COMPAT: &Embedded = embed!("tcplife_compat");
    pub static GETHOSTLATENCY: &Embedded = embed!("gethostlatency");
    pub static GETHOSTLATENCY_COMPAT: &Embedded = embed!("gethostlatency_compat");
    pub static TCPRTT: &Embedded = embed!("tcprtt");
    pub static TCPTOP: &Embedded = embed!("tcptop");
    pub static TCPCONNECT: &Embedded = embed!("tcpconnect");
    pub static TCPCONNECT_COMPAT: &Embedded = embed!("tcpconnect_compat");
    pub static TCPSTATES: &Embedded = embed!("tcpstates");
    pub static TCPSTATES_COMPAT: &Embedded = embed!("tcpstates_compat");
    pub static TCPRETRANS: &Embedded = embed!("tcpretrans");
    pub static TCPRETRANS_COMPAT: &Embedded = embed!("tcpretrans_compat");
    pub static FSSLOWER: &Embedded = embed!("fsslower");
    pub static FSSLOWER_COMPAT: &Embedded = embed!("fsslower_compat");
    pub static FSDIST: &Embedded = embed!("fsdist");
    pub static FILETOP: &Embedded = embed!("filetop");
    pub static VFSSTAT: &Embedded = embed!("vfsstat");
    pub static CACHESTAT: &Embedded = embed!("cachestat");
    pub static BIOLATENCY: &Embedded = embed!("biolatency");
    pub static BIOSNOOP: &Embedded = embed!("biosnoop");
    pub static BIOSNOOP_COMPAT: &Embedded = embed!("biosnoop_compat");
    pub static BIOTOP: &Embedded = embed!("biotop");
    pub static BITESIZE: &Embedded = embed!("bitesize");
    pub static BIOPATTERN: &Embedded = embed!("biopattern");
    pub static PROFILE: &Embedded = embed!("profile");
    pub static OFFCPUTIME: &Embedded = embed!("offcputime");
    pub static SYSCOUNT: &Embedded = embed!("syscount");
    pub static OPENSNOOP: &Embedded = embed!("opensnoop");
    pub static OPENSNOOP_COMPAT: &Embedded = embed!("opensnoop_compat");
    pub static STATSNOOP: &Embedded = embed!("statsnoop");
    pub static STATSNOOP_COMPAT: &Embedded = embed!("statsnoop_compat");
    pub static SYNCSNOOP: &Embedded = embed!("syncsnoop");
    pub static SYNCSNOOP_COMPAT: &Embedded = embed!("syncsnoop_compat");
    pub static MOUNTSNOOP: &Embedded = embed!("mountsnoop");
    pub static MOUNTSNOOP_COMPAT: &Embedded = embed!("mountsnoop_compat");
    pub static FILELIFE: &Embedded = embed!("filelife");
    pub static FILELIFE_COMPAT: &Embedded = embed!("filelife_compat");
    pub static CPUDIST: &Embedded = embed!("cpudist");
    pub static HARDIRQS: &Embedded = embed!("hardirqs");
    pub static SOFTIRQS: &Embedded = embed!("softirqs");
    pub static RUNQLEN: &Embedded = embed!("runqlen");
    pub static TCPDROP: &Embedded = embed!("tcpdrop");
    pub static TCPDROP_COMPAT: &Embedded = embed!("tcpdrop_compat");
    pub static TCPSYNBL: &Embedded = embed!("tcpsynbl");
    pub static TCPACCEPT: &Embedded = embed!("tcpaccept");
    pub static TCPACCEPT_COMPAT: &Embedded = embed!("tcpaccept_compat");
    pub static BINDSNOOP: &Embedded = embed!("bindsnoop");
    pub static BINDSNOOP_COMPAT: &Embedded = embed!("bindsnoop_compat");
    pub static SOLISTEN: &Embedded = embed!("solisten");
    pub static SOLISTEN_COMPAT: &Embedded = embed!("solisten_compat");
    pub static RUNQSLOWER: &Embedded = embed!("runqslower");
    pub static RUNQSLOWER_COMPAT: &Embedded = embed!("runqslower_compat");
    pub static SIGSNOOP: &Embedded = embed!("sigsnoop");
    pub static SIGSNOOP_COMPAT: &Embedded = embed!("sigsnoop_compat");
    pub static OOMKILL: &Embedded = embed!("oomkill");
    pub static OOMKILL_COMPAT: &Embedded = embed!("oomkill_compat");
    pub static PROBE: &Embedded = embed!("probe");

    /// Every embedded object by name (tests check what build.rs left in them).
    #[cfg(test)]
    pub const ALL: &[(&str, &Embedded)] = &[
        ("runqlat", RUNQLAT),
        ("runqlat_compat", RUNQLAT_COMPAT),
        ("execsnoop", EXECSNOOP),
        ("execsnoop_compat", EXECSNOOP_COMPAT),
        ("exitsnoop", EXITSNOOP),
        ("exitsnoop_compat", EXITSNOOP_COMPAT),
        ("tcplife", TCPLIFE),
        ("tcplife_compat", TCPLIFE_COMPAT),
        ("gethostlatency", GETHOSTLATENCY),
        ("gethostlatency_compat", GETHOSTLATENCY_COMPAT),
        ("tcprtt", TCPRTT),
        ("tcptop", TCPTOP),
        ("tcpconnect", TCPCONNECT),
        ("tcpconnect_compat", TCPCONNECT_COMPAT),
        ("tcpstates", TCPSTATES),
        ("tcpstates_compat", TCPSTATES_COMPAT),
        ("tcpretrans", TCPRETRANS),
        ("tcpretrans_compat", TCPRETRANS_COMPAT),
        ("fsslower", FSSLOWER),
        ("fsslower_compat", FSSLOWER_COMPAT),
        ("fsdist", FSDIST),
        ("filetop", FILETOP),
        ("vfsstat", VFSSTAT),
        ("cachestat", CACHESTAT),
        ("biolatency", BIOLATENCY),
        ("biosnoop", BIOSNOOP),
        ("biosnoop_compat", BIOSNOOP_COMPAT),
        ("biotop", BIOTOP),
        ("bitesize", BITESIZE),
        ("biopattern", BIOPATTERN),
        ("profile", PROFILE),
        ("offcputime", OFFCPUTIME),
        ("syscount", SYSCOUNT),
        ("opensnoop", OPENSNOOP),
        ("opensnoop_compat", OPENSNOOP_COMPAT),
        ("statsnoop", STATSNOOP),
        ("statsnoop_compat", STATSNOOP_COMPAT),
        ("syncsnoop", SYNCSNOOP),
        ("syncsnoop_compat", SYNCSNOOP_COMPAT),
        ("mountsnoop", MOUNTSNOOP),
        ("mountsnoop_compat", MOUNTSNOOP_COMPAT),
        ("filelife", FILELIFE),
        ("filelife_compat", FILELIFE_COMPAT),
        ("cpudist", CPUDIST),
        ("runqlen", RUNQLEN),
        ("hardirqs", HARDIRQS),
        ("softirqs", SOFTIRQS),
        ("tcpdrop", TCPDROP),
        ("tcpdrop_compat", TCPDROP_COMPAT),
        ("tcpsynbl", TCPSYNBL),
        ("tcpaccept", TCPACCEPT),
        ("tcpaccept_compat", TCPACCEPT_COMPAT),
        ("bindsnoop", BINDSNOOP),
        ("bindsnoop_compat", BINDSNOOP_COMPAT),
        ("solisten", SOLISTEN),
        ("solisten_compat", SOLISTEN_COMPAT),
        ("runqslower", RUNQSLOWER),
        ("runqslower_compat", RUNQSLOWER_COMPAT),
        ("sigsnoop", SIGSNOOP),
        ("sigsnoop_compat", SIGSNOOP_COMPAT),
        ("oomkill", OOMKILL),
        ("oomkill_compat", OOMKILL_COMPAT),
        ("probe", PROBE),
    ];
}

/// Loads an object: creates its maps and records its programs (each program
/// is loaded into the kernel later, when its hook is chosen). `configure`
/// sets the read-only globals, which the verifier then treats as constants.
pub fn load_object<'a>(object: &Embedded, configure: impl FnOnce(&mut EbpfLoader<'a>)) -> Result<Ebpf> {
    let elf = object.inflate()?;
    let mut loader = EbpfLoader::new();
    // aya would read and parse the kernel's BTF itself for CO-RE relocations
    // or typed ksyms. Our objects have neither (offsets come from our own BTF
    // index), and one that did would fail here rather than parse it again.
    loader.btf_source(|_| {
        Err(aya::EbpfError::BtfSourceError(std::io::Error::other(
            "tracer's BPF objects must not need kernel BTF relocations",
        )))
    });
    configure(&mut loader);
    loader.load(&elf).context("cannot create the BPF maps")
}

/// Gives maps this run never touches one entry. The code that uses them is
/// behind a setting the verifier sees as constant, so it is pruned; but a
/// preallocated hash map of 65536 entries still costs the kernel megabytes
/// and start-up about a millisecond to create.
pub fn shrink_unused_maps(loader: &mut EbpfLoader<'_>, unused: &[&'static str]) {
    for name in unused {
        loader.map_max_entries(name, 1);
    }
}

/// The object for a hook kind: tools keep their BTF-tracepoint programs in a
/// main object (ring buffer, task storage: maps old kernels cannot create)
/// and the raw/classic ones in a `_compat` object.
pub fn object_for(kind: hooks::HookKind, main: &'static Embedded, compat: &'static Embedded) -> &'static Embedded {
    if kind == hooks::HookKind::TpBtf { main } else { compat }
}

/// The verifier's log, if `err` is a program load failure that carries one.
pub fn verifier_log(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| match cause.downcast_ref::<ProgramError>() {
        Some(ProgramError::LoadError { verifier_log, .. }) => Some(verifier_log.to_string()),
        _ => None,
    })
}

/// A one-line description of `err`, without the verifier log that aya
/// embeds in load errors (that goes to `--verbose`).
pub fn short_error(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        match cause.downcast_ref::<ProgramError>() {
            Some(ProgramError::LoadError { io_error, .. }) => {
                parts.push(format!("the kernel refused the program ({io_error})"));
                break;
            }
            _ => parts.push(cause.to_string()),
        }
    }
    parts.dedup();
    parts.join(": ")
}

/// Hands memory freed after loading back to the OS: our BTF index and aya's
/// parse of the object. Without it glibc keeps those pages for the whole run
/// (measured: runqlat 7.3 MiB resident while tracing instead of 5.8).
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use object::{Object, ObjectSection};

    use super::objects;

    #[test]
    fn embedded_objects_keep_btf_and_line_info_but_no_dwarf() {
        for (name, embedded) in objects::ALL {
            let bytes = embedded.inflate().unwrap();
            let file = object::File::parse(&*bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
            let sections: Vec<&str> = file.sections().filter_map(|section| section.name().ok()).collect();
            // .BTF.ext carries the source lines the verifier's log quotes.
            for needed in [".BTF", ".BTF.ext", "license"] {
                assert!(sections.contains(&needed), "{name} lost {needed}: {sections:?}");
            }
            assert!(!sections.iter().any(|s| s.contains(".debug_")), "{name} still has DWARF: {sections:?}");
        }
    }

    #[test]
    fn every_stripped_object_still_parses_with_its_programs() {
        // aya parses the stripped ELF as it will at run time (no kernel needed).
        for (name, embedded) in objects::ALL {
            let bytes = embedded.inflate().unwrap();
            let object = aya_obj::Object::parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!object.programs.is_empty(), "{name} has no programs");
        }
    }
}
