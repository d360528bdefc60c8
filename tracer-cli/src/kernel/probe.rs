//! Finding out, by trying, which hook kinds and kernel features work here:
//! load and attach the smallest program of each kind (tracer-ebpf's `probe`
//! object), never by comparing kernel version numbers.

use anyhow::{Context, Result};
use aya::{
    maps::MapType,
    programs::{
        BtfTracePoint, FEntry, KProbe, PerfEvent, RawTracePoint, TracePoint, UProbe,
        perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent},
        uprobe::UProbeScope,
    },
};
use serde::Serialize;

use super::{btf::KernelBtf, tracefs};
use crate::bpf::{self, hooks::HookKind};

/// A kernel function that exists on every kernel we support, to probe
/// fentry and kprobe attachment.
const PROBE_FUNCTION: &str = "do_nanosleep";

#[derive(Clone, Debug, Serialize)]
pub struct Feature {
    pub name: &'static str,
    pub works: bool,
    pub detail: String,
}

/// Probes every feature tracer can use.
pub fn probe_all(btf: Option<&KernelBtf>) -> Vec<Feature> {
    let aya_btf = btf.and_then(|btf| btf.attach_targets(&["sched_switch"], &[PROBE_FUNCTION]).stub_btf().ok());
    let mut features = vec![Feature {
        name: "btf",
        works: btf.is_some(),
        detail: match btf {
            Some(btf) => {
                format!("{} ({:.1} MiB)", super::btf::VMLINUX_BTF, btf.len() as f64 / (1 << 20) as f64)
            }
            None => format!("{} missing: tools fall back to classic tracepoints", super::btf::VMLINUX_BTF),
        },
    }];
    for kind in [
        HookKind::TpBtf,
        HookKind::RawTp,
        HookKind::Tracepoint,
        HookKind::Fentry,
        HookKind::Kprobe,
        HookKind::PerfEvent,
        HookKind::Uprobe,
    ] {
        let result = probe_hook(kind, aya_btf.as_ref());
        features.push(Feature {
            name: kind.name(),
            works: result.is_ok(),
            detail: match result {
                Ok(detail) => detail,
                Err(err) => bpf::short_error(&err),
            },
        });
    }
    features.push(match aya::sys::is_map_supported(MapType::RingBuf) {
        Ok(true) => Feature { name: "ringbuf", works: true, detail: String::new() },
        Ok(false) => Feature { name: "ringbuf", works: false, detail: "not supported: perf buffer fallback".into() },
        Err(err) => Feature { name: "ringbuf", works: false, detail: err.to_string() },
    });
    features
}

/// Loads and attaches the probe program for `kind`; dropping the object detaches it.
fn probe_hook(kind: HookKind, btf: Option<&aya::Btf>) -> Result<String> {
    let mut ebpf = bpf::load_object(bpf::objects::PROBE, |_| {})?;
    let name = format!("probe_{}", kind.name());
    let program = ebpf.program_mut(&name).with_context(|| format!("probe object has no {name}"))?;
    let needs_btf = || btf.context("needs the kernel's BTF");
    let detail = match kind {
        HookKind::TpBtf => {
            let program: &mut BtfTracePoint = program.try_into()?;
            program.load("sched_switch", needs_btf()?)?;
            program.attach()?;
            String::new()
        }
        HookKind::RawTp => {
            let program: &mut RawTracePoint = program.try_into()?;
            program.load()?;
            program.attach("sched_switch")?;
            String::new()
        }
        HookKind::Tracepoint => {
            let tracefs = tracefs::ensure_mounted()?;
            let program: &mut TracePoint = program.try_into()?;
            program.load()?;
            program.attach("sched", "sched_switch")?;
            format!("tracefs at {}", tracefs.display())
        }
        HookKind::Fentry => {
            let program: &mut FEntry = program.try_into()?;
            program.load(PROBE_FUNCTION, needs_btf()?)?;
            program.attach()?;
            String::new()
        }
        HookKind::Kprobe => {
            let program: &mut KProbe = program.try_into()?;
            program.load()?;
            program.attach(PROBE_FUNCTION, 0)?;
            String::new()
        }
        HookKind::PerfEvent => {
            let program: &mut PerfEvent = program.try_into()?;
            program.load()?;
            program.attach(
                PerfEventConfig::Software(SoftwareEvent::CpuClock),
                PerfEventScope::AllProcessesOneCpu { cpu: 0 },
                SamplePolicy::Frequency(1),
                false,
            )?;
            String::new()
        }
        HookKind::Uprobe => {
            // Our own executable's entry point: every host has one, mapped
            // (by us) and never run again, so the probe never fires.
            let exe = std::path::Path::new("/proc/self/exe");
            let offset = bpf::uprobes::entry_offset(exe)?;
            let program: &mut UProbe = program.try_into()?;
            program.load()?;
            program.attach([offset], exe, UProbeScope::AllProcesses)?;
            String::new()
        }
    };
    Ok(detail)
}
