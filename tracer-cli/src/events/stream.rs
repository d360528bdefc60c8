//! The `EVENTS` map of an object, read without busy-waiting: the ring buffer
//! (one fd) or one perf buffer per online CPU, each watched with epoll
//! through tokio's `AsyncFd`.

use std::{future::poll_fn, task::Poll};

use anyhow::{Context, Result, bail};
use aya::maps::{Map, MapData, PerfEventArray, RingBuf, perf::PerfEvent, perf::PerfEventArrayBuffer};
use tokio::io::unix::AsyncFd;
use tracer_common::events::PERF_PAGES;

use super::Reorder;

/// The buffers of an object's `EVENTS` map, opened. Open them before the
/// programs are attached: a perf buffer that is not open yet drops what the
/// programs send (a ring buffer keeps it).
pub enum EventBuffers {
    Ring(RingBuf<MapData>),
    Perf(Vec<PerfEventArrayBuffer<MapData>>),
}

impl EventBuffers {
    pub fn open(map: Map) -> Result<Self> {
        match map {
            Map::RingBuf(_) => Ok(Self::Ring(RingBuf::try_from(map)?)),
            Map::PerfEventArray(_) => {
                let mut array = PerfEventArray::try_from(map)?;
                let cpus = aya::util::online_cpus().map_err(|(path, err)| anyhow::anyhow!("{path}: {err}"))?;
                let buffers = cpus
                    .into_iter()
                    .map(|cpu| array.open(cpu, Some(PERF_PAGES)).with_context(|| format!("perf buffer of CPU {cpu}")))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Self::Perf(buffers))
            }
            _ => bail!("the events map is neither a ring buffer nor a perf event array"),
        }
    }
}

/// Registers a buffer's fd with tokio's reactor, for readability.
fn register<T: std::os::fd::AsRawFd>(buffer: T) -> Result<AsyncFd<T>> {
    // SAFETY: aya's RingBuf and PerfEventArrayBuffer own their fd for their
    // whole life and always return the same one.
    unsafe { AsyncFd::register_with_interest(buffer, tokio::io::Interest::READABLE) }
        .map_err(|err| anyhow::anyhow!("cannot watch the event buffer: {err}"))
}

/// The event buffers, watched by tokio's reactor (epoll), not polled.
pub enum EventStream {
    Ring(AsyncFd<RingBuf<MapData>>),
    Perf(Vec<AsyncFd<PerfEventArrayBuffer<MapData>>>),
}

impl EventStream {
    /// Must be called inside the tokio runtime.
    pub fn watch(buffers: EventBuffers) -> Result<Self> {
        Ok(match buffers {
            EventBuffers::Ring(ring) => Self::Ring(register(ring)?),
            EventBuffers::Perf(buffers) => Self::Perf(buffers.into_iter().map(register).collect::<Result<_>>()?),
        })
    }

    /// Waits until events are available, then moves every available event
    /// into `reorder`; returns how many the kernel reports lost (perf buffers
    /// only; ring buffer drops are counted by the programs).
    pub async fn drain_into(&mut self, reorder: &mut Reorder) -> Result<u64> {
        match self {
            Self::Ring(ring) => {
                // Clear before draining: a wakeup for an event written while
                // we drain then brings us back instead of being lost.
                ring.readable_mut().await?.clear_ready();
            }
            Self::Perf(buffers) => {
                poll_fn(|cx| {
                    let mut ready = false;
                    for buffer in buffers.iter() {
                        if let Poll::Ready(Ok(mut guard)) = buffer.poll_read_ready(cx) {
                            guard.clear_ready();
                            ready = true;
                        }
                    }
                    if ready { Poll::Ready(()) } else { Poll::Pending }
                })
                .await;
            }
        }
        Ok(self.drain_now(reorder))
    }

    /// Moves every event already in the buffers into `reorder`, without
    /// waiting: at the start (events sent before we watched the fds raise no
    /// new readiness) and at the end of a run.
    pub fn drain_now(&mut self, reorder: &mut Reorder) -> u64 {
        match self {
            Self::Ring(ring) => {
                let ring = ring.get_mut();
                while let Some(item) = ring.next() {
                    reorder.push(item.to_vec());
                }
                0
            }
            Self::Perf(buffers) => {
                let mut lost = 0;
                for buffer in buffers.iter_mut() {
                    buffer.get_mut().for_each(|event| match event {
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
