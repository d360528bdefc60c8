//! The `EVENTS` map of an object: a ring buffer, or one perf buffer per
//! online CPU. Userspace drains them on a short timer rather than being woken
//! per event: under a storm, a wakeup per event costs the traced system more
//! than the tracing itself, and events wait for reordering anyway.

use anyhow::{Context, Result, bail};
use aya::maps::{Map, MapData, PerfEventArray, RingBuf, perf::PerfEvent, perf::PerfEventArrayBuffer};
use tracer_common::events::PERF_PAGES;

use super::Reorder;

/// The buffers of an object's `EVENTS` map, opened. Open them before the
/// programs are attached: a perf buffer that is not open yet drops what the
/// programs send (a ring buffer keeps it).
pub enum EventBuffers {
    Ring(RingBuf<MapData>),
    /// The buffer of each CPU, installed in the array; the array is held
    /// for as long as its buffers are read.
    Perf {
        _array: PerfEventArray<MapData>,
        buffers: Vec<PerfEventArrayBuffer>,
    },
}

impl EventBuffers {
    pub fn open(map: Map) -> Result<Self> {
        match map {
            Map::RingBuf(_) => Ok(Self::Ring(RingBuf::try_from(map)?)),
            Map::PerfEventArray(_) => {
                let mut array = PerfEventArray::try_from(map)?;
                let cpus = aya::util::online_cpus().map_err(|(path, err)| anyhow::anyhow!("{path}: {err}"))?;
                let mut buffers = Vec::with_capacity(cpus.len());
                for cpu in cpus {
                    let buffer = PerfEventArrayBuffer::open(cpu, PERF_PAGES)
                        .with_context(|| format!("cannot open the perf buffer of CPU {cpu}"))?;
                    array.set(cpu, &buffer).with_context(|| format!("cannot install the perf buffer of CPU {cpu}"))?;
                    buffers.push(buffer);
                }
                Ok(Self::Perf { _array: array, buffers })
            }
            _ => bail!("the events map is neither a ring buffer nor a perf event array"),
        }
    }
}

impl EventBuffers {
    /// Moves every event now in the buffers into `reorder`, oldest first per
    /// buffer, and returns how many the kernel reports lost (perf buffers;
    /// ring buffer drops are counted by the programs).
    pub fn drain(&mut self, reorder: &mut Reorder) -> u64 {
        match self {
            Self::Ring(ring) => {
                while let Some(item) = ring.next() {
                    reorder.push(item.to_vec());
                }
                0
            }
            Self::Perf { buffers, .. } => {
                let mut lost = 0;
                for buffer in buffers.iter_mut() {
                    buffer.for_each(|event| match event {
                        PerfEvent::Sample { head, tail } => {
                            let mut bytes = Vec::with_capacity(head.len() + tail.len());
                            bytes.extend_from_slice(head);
                            bytes.extend_from_slice(tail);
                            reorder.push(bytes);
                        }
                        PerfEvent::Lost { count } => lost += count,
                    });
                }
                lost
            }
        }
    }
}
