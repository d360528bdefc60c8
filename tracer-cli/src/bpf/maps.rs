//! Reading tracer's maps: per-CPU histograms, sparse histograms and the
//! per-CPU drop counters every tool keeps.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aya::{
    Ebpf,
    maps::{HashMap as BpfHashMap, MapData, PerCpuArray},
};
use tracer_common::hist::{Histogram, SparseKey};

use crate::hist::Counts;

/// Sums the per-CPU histogram at index 0 of `name`.
pub fn dense_histogram(ebpf: &Ebpf, name: &str) -> Result<Counts> {
    dense_histogram_at(ebpf, name, 0)
}

/// Sums the per-CPU histogram at `index` of `name`.
pub fn dense_histogram_at(ebpf: &Ebpf, name: &str, index: u32) -> Result<Counts> {
    let map: PerCpuArray<&MapData, Histogram> = PerCpuArray::try_from(map(ebpf, name)?)?;
    let mut counts = Counts::default();
    for cpu in map.get(&index, 0).with_context(|| format!("cannot read map {name}"))?.iter() {
        counts.add_cpu(cpu);
    }
    Ok(counts)
}

/// Every (owner, bucket) entry of a sparse histogram map.
pub fn sparse_histograms(ebpf: &Ebpf, name: &str) -> Result<HashMap<SparseKey, u64>> {
    let map: BpfHashMap<&MapData, SparseKey, u64> = BpfHashMap::try_from(map(ebpf, name)?)?;
    // An entry deleted while we walk the map only ends the walk early; the
    // next interval picks up whatever was missed, as counters are cumulative.
    Ok(map.iter().filter_map(Result::ok).collect())
}

/// Deletes entries of a sparse histogram map (idle owners).
pub fn delete_sparse(ebpf: &mut Ebpf, name: &str, keys: &[SparseKey]) -> Result<()> {
    let mut map: BpfHashMap<&mut MapData, SparseKey, u64> =
        BpfHashMap::try_from(ebpf.map_mut(name).with_context(|| format!("BPF object has no map {name}"))?)?;
    for key in keys {
        let _ = map.remove(key);
    }
    Ok(())
}

/// Looks up a `u32 -> [u8; N]` map entry (comm by owner).
pub fn lookup_bytes<const N: usize>(ebpf: &Ebpf, name: &str, key: u32) -> Option<[u8; N]> {
    let map: BpfHashMap<&MapData, u32, [u8; N]> = BpfHashMap::try_from(ebpf.map(name)?).ok()?;
    map.get(&key, 0).ok()
}

/// Deletes `u32`-keyed entries (comm by owner).
pub fn delete_u32_keys<V: aya::Pod>(ebpf: &mut Ebpf, name: &str, keys: &[u32]) -> Result<()> {
    let Some(map) = ebpf.map_mut(name) else { return Ok(()) };
    let mut map: BpfHashMap<&mut MapData, u32, V> = BpfHashMap::try_from(map)?;
    for key in keys {
        let _ = map.remove(key);
    }
    Ok(())
}

/// Per-reason totals of a per-CPU drop-counter array, summed over CPUs.
pub fn drop_counts(ebpf: &Ebpf, name: &str, reasons: u32) -> Result<Vec<u64>> {
    let map: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map(ebpf, name)?)?;
    (0..reasons).map(|reason| Ok(map.get(&reason, 0)?.iter().sum())).collect()
}

fn map<'a>(ebpf: &'a Ebpf, name: &str) -> Result<&'a aya::maps::Map> {
    ebpf.map(name).with_context(|| format!("BPF object has no map {name}"))
}
