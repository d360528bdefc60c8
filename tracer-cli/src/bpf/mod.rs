//! The BPF side as userspace sees it: the embedded objects, loading them with
//! their read-only globals, and attaching with hook fallback.

pub mod hooks;
pub mod maps;
pub mod uprobes;

use anyhow::{Context, Result};
use aya::{Ebpf, EbpfLoader, programs::ProgramError};

/// The BPF objects built from tracer-ebpf, one per tool, embedded at build time.
pub mod objects {
    pub static RUNQLAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/runqlat"));
    pub static RUNQLAT_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/runqlat_compat"));
    pub static EXECSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/execsnoop"));
    pub static EXECSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/execsnoop_compat"));
    pub static EXITSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/exitsnoop"));
    pub static EXITSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/exitsnoop_compat"));
    pub static TCPLIFE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcplife"));
    pub static TCPLIFE_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcplife_compat"));
    pub static GETHOSTLATENCY: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/gethostlatency"));
    pub static GETHOSTLATENCY_COMPAT: &[u8] =
        aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/gethostlatency_compat"));
    pub static TCPRTT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcprtt"));
    pub static TCPTOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcptop"));
    pub static TCPCONNECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpconnect"));
    pub static TCPCONNECT_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpconnect_compat"));
    pub static TCPSTATES: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpstates"));
    pub static TCPSTATES_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpstates_compat"));
    pub static TCPRETRANS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpretrans"));
    pub static TCPRETRANS_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpretrans_compat"));
    pub static FSSLOWER: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/fsslower"));
    pub static FSSLOWER_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/fsslower_compat"));
    pub static FSDIST: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/fsdist"));
    pub static FILETOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/filetop"));
    pub static VFSSTAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vfsstat"));
    pub static CACHESTAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/cachestat"));
    pub static BIOLATENCY: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/biolatency"));
    pub static BIOSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/biosnoop"));
    pub static BIOSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/biosnoop_compat"));
    pub static BIOTOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/biotop"));
    pub static BITESIZE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bitesize"));
    pub static BIOPATTERN: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/biopattern"));
    pub static PROFILE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/profile"));
    pub static OFFCPUTIME: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/offcputime"));
    pub static SYSCOUNT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/syscount"));
    pub static OPENSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/opensnoop"));
    pub static OPENSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/opensnoop_compat"));
    pub static STATSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/statsnoop"));
    pub static STATSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/statsnoop_compat"));
    pub static SYNCSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/syncsnoop"));
    pub static SYNCSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/syncsnoop_compat"));
    pub static MOUNTSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/mountsnoop"));
    pub static MOUNTSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/mountsnoop_compat"));
    pub static FILELIFE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/filelife"));
    pub static FILELIFE_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/filelife_compat"));
    pub static CPUDIST: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/cpudist"));
    pub static HARDIRQS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/hardirqs"));
    pub static SOFTIRQS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/softirqs"));
    pub static RUNQLEN: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/runqlen"));
    pub static TCPDROP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpdrop"));
    pub static TCPDROP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpdrop_compat"));
    pub static TCPSYNBL: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpsynbl"));
    pub static TCPACCEPT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpaccept"));
    pub static TCPACCEPT_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tcpaccept_compat"));
    pub static BINDSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bindsnoop"));
    pub static BINDSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bindsnoop_compat"));
    pub static SOLISTEN: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/solisten"));
    pub static SOLISTEN_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/solisten_compat"));
    pub static RUNQSLOWER: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/runqslower"));
    pub static RUNQSLOWER_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/runqslower_compat"));
    pub static SIGSNOOP: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sigsnoop"));
    pub static SIGSNOOP_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sigsnoop_compat"));
    pub static OOMKILL: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/oomkill"));
    pub static OOMKILL_COMPAT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/oomkill_compat"));
    pub static PROBE: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/probe"));

    /// Every embedded object by name (tests check what build.rs left in them).
    #[cfg(test)]
    pub const ALL: &[(&str, &[u8])] = &[
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
pub fn load_object<'a>(object: &[u8], configure: impl FnOnce(&mut EbpfLoader<'a>)) -> Result<Ebpf> {
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
    loader.load(object).context("cannot create the BPF maps")
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
pub fn object_for(kind: hooks::HookKind, main: &'static [u8], compat: &'static [u8]) -> &'static [u8] {
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
        for (name, bytes) in objects::ALL {
            let file = object::File::parse(*bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
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
        for (name, bytes) in objects::ALL {
            let object = aya_obj::Object::parse(bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!object.programs.is_empty(), "{name} has no programs");
        }
    }
}
