//! The BPF measures behind `tracer use`: run-queue latency (runqlat's
//! object, one whole-system histogram), run-queue length (runqlen's, whole
//! queue of each CPU, sampled at 99 Hz) and block I/O latency per disk
//! (biolatency's, per-disk histograms), attached for the sampling period.
//! Each may fail on a host (no privileges, a kernel that refuses it): the
//! failure becomes the cells' explanation, never the end of the report.

use std::collections::BTreeMap;

use aya::{
    Ebpf,
    maps::{MapData, PerCpuArray},
};
use tracer_common::{block::biolatency::keying, sched::runqlen::QueueHistogram};

use crate::{
    bpf::{self, hooks::TRACEPOINT_KINDS, maps},
    cli::Common,
    hist::sparse::SparseTracker,
    kernel::{btf::KernelBtf, privileges},
    tools::{block::biolatency, sched::runqlat, sched::runqlen},
};

pub struct BpfProbes {
    runqlat: Result<Ebpf, String>,
    runqlen: Result<Ebpf, String>,
    biolatency: Result<Ebpf, String>,
}

impl BpfProbes {
    pub fn start(common: &Common) -> Self {
        if let Err(err) = privileges::require_bpf_privileges("use") {
            let why = format!("not measured: {err}");
            return Self { runqlat: Err(why.clone()), runqlen: Err(why.clone()), biolatency: Err(why) };
        }
        let btf = match KernelBtf::for_run(common.btf.as_deref()) {
            Ok(btf) => btf,
            Err(err) => {
                let why = format!("not measured: {}", bpf::short_error(&err));
                return Self { runqlat: Err(why.clone()), runqlen: Err(why.clone()), biolatency: Err(why) };
            }
        };
        let runqlat_plan = runqlat::Plan {
            keying: tracer_common::sched::runqlat::Keying::Total,
            target_tgid: None,
            cgroup: None,
            hooks: TRACEPOINT_KINDS.to_vec(),
        };
        let runqlat = runqlat::attach(&runqlat_plan, btf.as_ref())
            .map(|attached| attached.loaded)
            .map_err(|err| format!("runqlat could not attach: {}", bpf::short_error(&err)));
        // The CPU's whole run queue (-H), at runqlen's default rate.
        let runqlen_plan =
            runqlen::Plan { config: tracer_common::sched::runqlen::Config { host: 1, _pad: 0 }, frequency: 99 };
        let runqlen = runqlen::attach(&runqlen_plan, btf.as_ref())
            .map(|attached| attached.loaded)
            .map_err(|err| format!("runqlen could not attach: {}", bpf::short_error(&err)));
        let biolatency_plan = biolatency::Plan {
            queued: false,
            keying: keying::DISK,
            disk: None,
            cgroup: None,
            hooks: TRACEPOINT_KINDS.to_vec(),
        };
        let biolatency = biolatency::attach(&biolatency_plan, btf.as_ref())
            .map(|attached| attached.loaded)
            .map_err(|err| format!("biolatency could not attach: {}", bpf::short_error(&err)));
        Self { runqlat, runqlen, biolatency }
    }

    /// Mean tasks waiting per CPU (besides the running one), from runqlen's
    /// samples over the period; None without samples.
    pub fn runqlen_waiting(&self) -> Result<Option<f64>, String> {
        let ebpf = self.runqlen.as_ref().map_err(Clone::clone)?;
        let map: PerCpuArray<&MapData, QueueHistogram> = ebpf
            .map(runqlen::MAP_HIST)
            .ok_or_else(|| "runqlen has no histogram map".to_string())
            .and_then(|map| PerCpuArray::try_from(map).map_err(|err| err.to_string()))?;
        let cpus = map.get(&0, 0).map_err(|err| err.to_string())?;
        let (mut samples, mut waiting) = (0u64, 0u64);
        for cpu in cpus.iter() {
            for (length, &count) in cpu.slots.iter().enumerate() {
                samples += count;
                waiting += length as u64 * count;
            }
        }
        Ok((samples > 0).then(|| waiting as f64 / samples as f64))
    }

    /// Run-queue latency p99 over the period, ns (None: no samples).
    pub fn runqlat_p99(&self) -> Result<Option<u64>, String> {
        let ebpf = self.runqlat.as_ref().map_err(Clone::clone)?;
        let counts = maps::dense_histogram(ebpf, runqlat::MAP_HIST).map_err(|err| format!("{err:#}"))?;
        Ok((counts.total() > 0).then(|| counts.summary().p99))
    }

    /// Block I/O latency p99 per disk name over the period, ns.
    pub fn disk_p99(&self) -> Result<BTreeMap<String, u64>, String> {
        let ebpf = self.biolatency.as_ref().map_err(Clone::clone)?;
        let snapshot = maps::sparse_histograms(ebpf, biolatency::MAP_SPARSE).map_err(|err| format!("{err:#}"))?;
        let interval = SparseTracker::default().interval(snapshot);
        Ok(interval
            .owners
            .into_iter()
            .map(|(dev, counts)| (biolatency::disk_name(dev), counts.summary().p99))
            .collect())
    }
}
