//! Reading what the stack tools aggregated in the kernel: the counts per
//! (thread, user stack, kernel stack), the stacks themselves, the totals, and
//! the processes userspace should capture while they live.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Context, Result};
use aya::{
    Ebpf,
    maps::{HashMap as BpfHashMap, MapData, PerCpuArray},
};
use tracer_common::{
    TASK_COMM_LEN,
    stacks::{
        COUNTS_MAP, PROCESSES_MAP, STACK_ABSENT, STACK_NO_ROOM, STACK_NOT_COLLECTED, STACK_STORED, STACKS_MAP,
        StackFrames, StackKey, TOTALS_MAP, total,
    },
};

use crate::symbols::Symbols;

/// One side (user or kernel) of a counted stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frames {
    /// Not asked for, or there was none (kernel thread, sample in user mode).
    Absent,
    /// The walk failed (a negative errno) or the stacks map was full
    /// (`STACK_NO_ROOM`).
    Missed(i32),
    /// Instruction pointers, leaf first.
    Addrs(Vec<u64>),
}

/// Samples (or off-CPU time) of one process with one pair of stacks.
#[derive(Clone, Debug)]
pub struct Stack {
    pub pid: u32,
    pub comm: [u8; TASK_COMM_LEN],
    pub user: Frames,
    pub kernel: Frames,
    pub value: u64,
}

/// The kernel side's totals (see `tracer_common::stacks::total`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub events: u64,
    pub counts_map_full: u64,
    pub processes_map_full: u64,
    pub start_map_full: u64,
}

/// Reads the per-CPU totals while the programs run.
pub fn totals(ebpf: &Ebpf) -> Result<Totals> {
    let map: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map(ebpf, TOTALS_MAP)?)?;
    totals_of(&map)
}

fn totals_of<T: std::borrow::Borrow<MapData>>(map: &PerCpuArray<T, u64>) -> Result<Totals> {
    let sum = |slot: u32| -> Result<u64> { Ok(map.get(&slot, 0)?.iter().sum()) };
    Ok(Totals {
        events: sum(total::EVENTS)?,
        counts_map_full: sum(total::COUNTS_MAP_FULL)?,
        processes_map_full: sum(total::PROCESSES_MAP_FULL)?,
        start_map_full: sum(total::START_MAP_FULL)?,
    })
}

/// Processes the kernel side has seen stacks of; userspace notes each while
/// it still lives, so it can be symbolized after it exits.
pub fn note_new_processes(ebpf: &Ebpf, symbols: &mut Symbols) -> Result<()> {
    let map: BpfHashMap<&MapData, u32, u8> = BpfHashMap::try_from(map(ebpf, PROCESSES_MAP)?)?;
    for pid in map.keys().filter_map(Result::ok) {
        symbols.note_process(pid);
    }
    Ok(())
}

/// The maps a report needs, taken out of the object so that the programs can
/// be detached (by dropping the object) before the slow part: symbolizing.
pub struct Aggregates {
    counts: BpfHashMap<MapData, StackKey, u64>,
    traces: BpfHashMap<MapData, u64, StackFrames>,
    totals: PerCpuArray<MapData, u64>,
}

impl Aggregates {
    pub fn take(ebpf: &mut Ebpf) -> Result<Self> {
        let mut take = |name: &str| ebpf.take_map(name).with_context(|| format!("BPF object has no map {name}"));
        Ok(Self {
            counts: BpfHashMap::try_from(take(COUNTS_MAP)?)?,
            traces: BpfHashMap::try_from(take(STACKS_MAP)?)?,
            totals: PerCpuArray::try_from(take(TOTALS_MAP)?)?,
        })
    }

    pub fn totals(&self) -> Result<Totals> {
        totals_of(&self.totals)
    }

    /// Every counted stack, threads of a process merged (as BCC shows them),
    /// sorted by value, smallest first (the biggest ends up last, next to the
    /// prompt).
    pub fn stacks(&self) -> Result<Vec<Stack>> {
        type Side = (i32, u64);
        let mut merged: BTreeMap<(u32, [u8; TASK_COMM_LEN], Side, Side), u64> = BTreeMap::new();
        for entry in self.counts.iter() {
            let (key, value) = entry.context("cannot read the stack counts")?;
            let user = (key.user_status, key.user_stack);
            let kernel = (key.kernel_status, key.kernel_stack);
            *merged.entry((key.tgid, key.comm, user, kernel)).or_default() += value;
        }
        let mut frames_of = HashMap::new();
        let mut stacks: Vec<Stack> = merged
            .into_iter()
            .map(|((pid, comm, user, kernel), value)| Stack {
                pid,
                comm,
                user: self.frames(user, &mut frames_of),
                kernel: self.frames(kernel, &mut frames_of),
                value,
            })
            .collect();
        stacks.sort_by_key(|stack| stack.value);
        Ok(stacks)
    }

    fn frames(&self, (status, hash): (i32, u64), cache: &mut HashMap<u64, Frames>) -> Frames {
        match status {
            STACK_STORED => cache
                .entry(hash)
                .or_insert_with(|| match self.traces.get(&hash, 0) {
                    Ok(frames) => Frames::Addrs(frames.ips[..(frames.len as usize).min(frames.ips.len())].to_vec()),
                    // Counted, but its stack is gone: report it as missed.
                    Err(_) => Frames::Missed(-2),
                })
                .clone(),
            STACK_NOT_COLLECTED | STACK_ABSENT => Frames::Absent,
            other => Frames::Missed(other),
        }
    }
}

/// Stacks that could not be walked or stored, in the tool's unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missed {
    pub user: u64,
    pub kernel: u64,
    /// Of those, how many failed for lack of room in the stacks map.
    pub for_lack_of_room: u64,
}

pub fn missed(stacks: &[Stack]) -> Missed {
    let mut missed = Missed::default();
    for stack in stacks {
        for (frames, side) in [(&stack.user, &mut missed.user), (&stack.kernel, &mut missed.kernel)] {
            if let Frames::Missed(errno) = frames {
                *side += stack.value;
                if *errno == STACK_NO_ROOM {
                    missed.for_lack_of_room += stack.value;
                }
            }
        }
    }
    missed
}

/// Symbolizes every address of `stacks` in one batch per source.
pub fn symbolize(stacks: &[Stack], symbols: &mut Symbols) {
    let mut kernel = HashSet::new();
    let mut user: HashMap<u32, HashSet<u64>> = HashMap::new();
    for stack in stacks {
        if let Frames::Addrs(addrs) = &stack.kernel {
            kernel.extend(lookup_addrs(addrs));
        }
        if let Frames::Addrs(addrs) = &stack.user {
            user.entry(stack.pid).or_default().extend(lookup_addrs(addrs));
        }
    }
    symbols.resolve_kernel(&kernel);
    for (pid, addrs) in user {
        symbols.resolve_user(pid, &addrs);
    }
}

/// The addresses to look up for a leaf-first stack: the leaf is where the
/// CPU was; every other frame is a return address, which can already belong
/// to the next function when the call was the last instruction (noreturn
/// calls), so the byte before it names the caller.
pub fn lookup_addrs(addrs: &[u64]) -> impl DoubleEndedIterator<Item = u64> + '_ {
    addrs.iter().enumerate().map(|(index, &addr)| if index == 0 { addr } else { addr.saturating_sub(1) })
}

fn map<'a>(ebpf: &'a Ebpf, name: &str) -> Result<&'a aya::maps::Map> {
    ebpf.map(name).with_context(|| format!("BPF object has no map {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(user: Frames, kernel: Frames, value: u64) -> Stack {
        Stack { pid: 1, comm: [0; TASK_COMM_LEN], user, kernel, value }
    }

    #[test]
    fn missed_stacks_are_weighted_by_their_value() {
        let stacks = [
            stack(Frames::Missed(STACK_NO_ROOM), Frames::Addrs(vec![1]), 5),
            stack(Frames::Absent, Frames::Missed(-14 - 1), 2),
            stack(Frames::Addrs(vec![1]), Frames::Absent, 100),
        ];
        assert_eq!(missed(&stacks), Missed { user: 5, kernel: 2, for_lack_of_room: 5 });
    }

    #[test]
    fn return_addresses_are_looked_up_one_byte_back() {
        assert_eq!(lookup_addrs(&[100, 200, 300]).collect::<Vec<_>>(), vec![100, 199, 299]);
    }
}
