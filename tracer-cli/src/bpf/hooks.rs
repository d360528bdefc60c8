//! Hook kinds and attaching with fallback: a tool lists the kinds it can use,
//! best first, and the first one this kernel accepts wins.

use std::fmt;

use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf,
    programs::{BtfTracePoint, FEntry, FExit, KProbe, Program, RawTracePoint, TracePoint},
};
use serde::Serialize;

use super::{short_error, verifier_log};
use crate::{error::UserError, kernel::btf::AttachTargets};

/// The ways a BPF program can be attached to kernel code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    /// BTF-typed raw tracepoint (5.5+): typed arguments, cheapest entry.
    #[value(name = "tp_btf")]
    TpBtf,
    /// Raw tracepoint (4.17+): the tracepoint's arguments, untyped.
    #[value(name = "raw_tp")]
    RawTp,
    /// Classic tracefs tracepoint: the fields of its record.
    Tracepoint,
    /// fentry/fexit trampolines on kernel functions (5.5+, needs BTF).
    Fentry,
    /// kprobes on kernel functions.
    Kprobe,
    /// perf_event sampling (CPU clock).
    PerfEvent,
    /// uprobes/uretprobes on functions in user programs and libraries.
    Uprobe,
}

impl HookKind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::TpBtf => "tp_btf",
            Self::RawTp => "raw_tp",
            Self::Tracepoint => "tracepoint",
            Self::Fentry => "fentry",
            Self::Kprobe => "kprobe",
            Self::PerfEvent => "perf_event",
            Self::Uprobe => "uprobe",
        }
    }

    /// Suffix of the program handling a tracepoint through this kind, by the
    /// naming convention of tracer-ebpf (`runqlat_switch_btf`, `..._raw`, `..._tp`).
    const fn program_suffix(self) -> &'static str {
        match self {
            Self::TpBtf => "btf",
            Self::RawTp => "raw",
            Self::Tracepoint => "tp",
            Self::Fentry => "fentry",
            Self::Kprobe => "kprobe",
            Self::PerfEvent => "perf",
            Self::Uprobe => "uprobe",
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The tracepoint preference order every tracepoint-based tool uses.
pub const TRACEPOINT_KINDS: &[HookKind] = &[HookKind::TpBtf, HookKind::RawTp, HookKind::Tracepoint];
/// For tools on kernel functions: trampolines, then kprobes, then a path
/// through tracepoints.
pub const FUNCTION_KINDS: &[HookKind] = &[HookKind::Fentry, HookKind::Kprobe, HookKind::Tracepoint];

/// The kinds to try: the one named by `--hook`, or all of `default`.
pub fn forced_or(forced: Option<&str>, default: &[HookKind]) -> Vec<HookKind> {
    match forced.and_then(|name| default.iter().find(|kind| kind.name() == name)) {
        Some(&kind) => vec![kind],
        None => default.to_vec(),
    }
}

/// A tracepoint and the stem of the programs that handle it.
#[derive(Clone, Copy, Debug)]
pub struct TracepointHook {
    pub category: &'static str,
    pub name: &'static str,
    /// Program name without its hook suffix, e.g. `runqlat_switch`.
    pub program: &'static str,
}

/// Takes an event tool's `EVENTS` map and opens its buffers; call it after
/// loading the object and before attaching, so no event is sent unheard.
pub fn open_events(ebpf: &mut Ebpf) -> Result<crate::events::EventBuffers> {
    let map = ebpf
        .take_map(tracer_common::events::EVENTS_MAP)
        .with_context(|| format!("BPF object has no {} map", tracer_common::events::EVENTS_MAP))?;
    crate::events::EventBuffers::open(map)
}

/// The names of `hooks`' tracepoints, for `KernelBtf::attach_targets`.
pub fn tracepoint_names(hooks: &[TracepointHook]) -> Vec<&'static str> {
    hooks.iter().map(|hook| hook.name).collect()
}

/// Loads and attaches, through `kind`, the program of each tracepoint in
/// `hooks`. tp_btf needs the hooks' `targets` (None: the kernel has no BTF).
pub fn attach_tracepoints(
    ebpf: &mut Ebpf,
    kind: HookKind,
    hooks: &[TracepointHook],
    targets: Option<&AttachTargets>,
) -> Result<()> {
    // aya looks the tp_btf targets up in a BTF; it gets the small stub made
    // from our index, and only for that kind.
    let btf = match (kind, targets) {
        (HookKind::TpBtf, Some(targets)) => Some(targets.stub_btf()?),
        _ => None,
    };
    for hook in hooks {
        let name = format!("{}_{}", hook.program, kind.program_suffix());
        let program = ebpf.program_mut(&name).with_context(|| format!("BPF object has no program {name}"))?;
        let what = || format!("{} {}:{}", kind, hook.category, hook.name);
        match kind {
            HookKind::TpBtf => {
                let btf = btf.as_ref().context("tp_btf needs the kernel's BTF")?;
                let program: &mut BtfTracePoint = program.try_into()?;
                program.load(hook.name, btf).with_context(what)?;
                program.attach().with_context(what)?;
            }
            HookKind::RawTp => {
                let program: &mut RawTracePoint = program.try_into()?;
                if program.fd().is_err() {
                    program.load().with_context(what)?;
                }
                program.attach(hook.name).with_context(what)?;
            }
            HookKind::Tracepoint => {
                crate::kernel::tracefs::ensure_mounted()?;
                let program: &mut TracePoint = program.try_into()?;
                // One program may serve several tracepoints (every sys_exit_*).
                if program.fd().is_err() {
                    program.load().with_context(what)?;
                }
                program.attach(hook.category, hook.name).with_context(what)?;
            }
            other => return Err(anyhow!("{other} is not a tracepoint hook")),
        }
    }
    Ok(())
}

/// A kernel function traced at entry and exit, and the stems of the two
/// programs (`<stem>_fentry`/`<stem>_fexit`, `<stem>_kprobe`/`<stem>_kretprobe`).
#[derive(Clone, Debug)]
pub struct FunctionHook {
    pub function: String,
    pub entry: &'static str,
    pub exit: &'static str,
}

/// Loads and attaches, through fentry/fexit or kprobes, the entry and exit
/// programs of each function. An fentry program is bound to one function at
/// load; a kprobe program may be attached to several. fentry needs the
/// functions' `targets` (None: the kernel has no BTF).
pub fn attach_functions(
    ebpf: &mut Ebpf,
    kind: HookKind,
    hooks: &[FunctionHook],
    targets: Option<&AttachTargets>,
) -> Result<()> {
    match kind {
        HookKind::Fentry => {
            let btf = targets.context("fentry needs the kernel's BTF")?.stub_btf()?;
            for hook in hooks {
                let what = || format!("fentry/fexit {}", hook.function);
                let entry = ebpf.program_mut(&format!("{}_fentry", hook.entry)).context("no fentry program")?;
                let entry: &mut FEntry = entry.try_into()?;
                entry.load(&hook.function, &btf).with_context(what)?;
                entry.attach().with_context(what)?;
                let exit = ebpf.program_mut(&format!("{}_fexit", hook.exit)).context("no fexit program")?;
                let exit: &mut FExit = exit.try_into()?;
                exit.load(&hook.function, &btf).with_context(what)?;
                exit.attach().with_context(what)?;
            }
        }
        HookKind::Kprobe => {
            for hook in hooks {
                let what = || format!("kprobe {}", hook.function);
                for name in [format!("{}_kprobe", hook.entry), format!("{}_kretprobe", hook.exit)] {
                    let program = ebpf.program_mut(&name).with_context(|| format!("no program {name}"))?;
                    let program: &mut KProbe = program.try_into()?;
                    if program.fd().is_err() {
                        program.load().with_context(what)?;
                    }
                    program.attach(&hook.function, 0).with_context(what)?;
                }
            }
        }
        other => return Err(anyhow!("{other} is not a function hook")),
    }
    Ok(())
}

/// A kernel function and one program for it, for tools that need only an
/// entry or only an exit there. The program's name ends in its kind:
/// `_fentry`, `_fexit`, `_kprobe` or `_kretprobe`.
#[derive(Clone, Debug)]
pub struct FunctionProgram {
    pub function: String,
    pub program: String,
}

/// Loads and attaches each program to its function (a kprobe program may
/// serve several). fentry/fexit programs need the functions' `targets`.
pub fn attach_function_programs(
    ebpf: &mut Ebpf,
    hooks: &[FunctionProgram],
    targets: Option<&AttachTargets>,
) -> Result<()> {
    let trampolines = hooks.iter().any(|hook| hook.program.ends_with("_fentry") || hook.program.ends_with("_fexit"));
    let btf = if trampolines { Some(targets.context("fentry needs the kernel's BTF")?.stub_btf()?) } else { None };
    for hook in hooks {
        attach_function_program(ebpf, &hook.program, &hook.function, btf.as_ref())?;
    }
    Ok(())
}

/// Loads and attaches one program to kernel function `function`, by the
/// kind the object gives it (fentry, fexit, kprobe or kretprobe), for tools
/// whose functions need only an entry or only an exit program. fentry and
/// fexit need `btf`, the stub of `AttachTargets::stub_btf`; a kprobe
/// program may be attached to several functions.
pub fn attach_function_program(ebpf: &mut Ebpf, name: &str, function: &str, btf: Option<&aya::Btf>) -> Result<()> {
    let program = ebpf.program_mut(name).with_context(|| format!("BPF object has no program {name}"))?;
    let btf = || btf.context("fentry needs the kernel's BTF");
    match program {
        Program::FEntry(program) => {
            let what = || format!("fentry {function}");
            program.load(function, btf()?).with_context(what)?;
            program.attach().with_context(what)?;
        }
        Program::FExit(program) => {
            let what = || format!("fexit {function}");
            program.load(function, btf()?).with_context(what)?;
            program.attach().with_context(what)?;
        }
        Program::KProbe(program) => {
            let what = || format!("kprobe {function}");
            if program.fd().is_err() {
                program.load().with_context(what)?;
            }
            program.attach(function, 0).with_context(what)?;
        }
        _ => return Err(anyhow!("{name} is not a function program")),
    }
    Ok(())
}

/// What a tool loaded (its object, and for event tools the opened event
/// buffers) with its programs attached, and the hook kind used.
pub struct Attached<T = Ebpf> {
    pub loaded: T,
    pub kind: HookKind,
}

/// An event tool's object and its opened event buffers.
pub type WithEvents = (Ebpf, crate::events::EventBuffers);

/// Tries `attach` for each kind in order and keeps the first success. A failed
/// kind's object is dropped, which detaches whatever it had attached.
/// `--verbose` shows each failure with the verifier's log.
pub fn first_that_attaches<T>(
    tool: &str,
    kinds: &[HookKind],
    mut attach: impl FnMut(HookKind) -> Result<T>,
) -> Result<Attached<T>> {
    let mut failures = Vec::new();
    for &kind in kinds {
        match attach(kind) {
            Ok(loaded) => {
                log::info!("{tool}: attached via {kind}");
                // Our BTF index and the object parse are freed by now; give the pages back.
                super::release_freed_memory();
                return Ok(Attached { loaded, kind });
            }
            Err(err) => {
                log::info!("{tool}: {kind} failed: {}", short_error(&err));
                if let Some(log) = verifier_log(&err).filter(|log| !log.trim().is_empty()) {
                    log::info!("{tool}: verifier log for {kind}:\n{}", tail(&log, 60));
                }
                failures.push((kind, short_error(&err)));
            }
        }
    }
    let said: Vec<String> = failures.iter().map(|(kind, why)| format!("{kind}: {why}")).collect();
    let sentence = format!(
        "tracer {tool} could not attach to this kernel ({}); run with --verbose for the verifier log, \
         and `tracer doctor` for what this kernel supports",
        said.join("; ")
    );
    // The user sees the sentence; `doctor`, which tries one kind at a time,
    // takes each kind's own reason from underneath it.
    Err(anyhow::Error::new(HookFailures(failures)).context(UserError(sentence)))
}

/// Why each hook kind a tool tried failed, best first.
#[derive(Debug)]
pub struct HookFailures(pub Vec<(HookKind, String)>);

impl fmt::Display for HookFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let said: Vec<String> = self.0.iter().map(|(kind, why)| format!("{kind}: {why}")).collect();
        f.write_str(&said.join("; "))
    }
}

impl std::error::Error for HookFailures {}

/// The last `lines` lines of a (possibly huge) verifier log.
fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("... ({start} earlier lines omitted)\n"));
    }
    out.push_str(&all[start..].join("\n"));
    out
}
