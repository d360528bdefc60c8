//! Stack-aggregating tools (`profile`, `offcputime`): the kernel side counts
//! samples (or sums off-CPU nanoseconds) per thread and pair of stacks; the
//! stacks themselves live in a hash map keyed by a 64-bit hash of their
//! frames. (The kernel's stack trace map would do the storing, but it has
//! one slot per hash bucket and no chaining: once a few thousand distinct
//! stacks are stored, new ones collide and are lost.)

use crate::TASK_COMM_LEN;

/// Frames kept per stack (the kernel's PERF_MAX_STACK_DEPTH).
pub const MAX_STACK_DEPTH: usize = 127;

/// Status of one side of a key: the stack was stored under its hash.
pub const STACK_STORED: i32 = 0;
/// Status of a stack the run did not ask for (`-U` drops kernel stacks,
/// `-K` user stacks).
pub const STACK_NOT_COLLECTED: i32 = i32::MIN;
/// `bpf_get_stack` fails with -EFAULT (or walks nothing) when there is no
/// stack of that kind: a kernel thread has no user stack, a sample taken in
/// user mode has no kernel stack. Not a loss.
pub const STACK_ABSENT: i32 = -14;
/// The walk worked but the stacks map was full.
pub const STACK_NO_ROOM: i32 = i32::MIN + 1;
// Any other negative status is the errno of a failed walk.

/// Default entries of the stacks map (`--stack-storage-size`), as BCC.
pub const STACK_STORAGE_DEFAULT: u32 = 16_384;
/// Entries of the counts map: distinct (thread, stacks) pairs.
pub const COUNTS_MAP_ENTRIES: u32 = 65_536;
/// Entries of the PID and TID filter maps (`-p 1,2,3`).
pub const FILTER_MAP_ENTRIES: u32 = 1024;
/// Processes whose memory maps userspace is asked to capture while they live.
pub const PROCESS_MAP_ENTRIES: u32 = 16_384;

/// Map names shared by both tools' objects.
pub const COUNTS_MAP: &str = "STACK_COUNTS";
pub const STACKS_MAP: &str = "STACK_TRACES";
pub const PIDS_MAP: &str = "FILTER_PIDS";
pub const TIDS_MAP: &str = "FILTER_TIDS";
pub const PROCESSES_MAP: &str = "NEW_PROCESSES";
pub const TOTALS_MAP: &str = "STACK_TOTALS";
pub const SCRATCH_MAP: &str = "STACK_SCRATCH";

/// One aggregation key: who was running (or blocked) and where.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StackKey {
    pub tid: u32,
    pub tgid: u32,
    /// Hash of the frames: the key of the stack in `STACK_TRACES`, valid
    /// when the matching status is `STACK_STORED`.
    pub user_stack: u64,
    pub kernel_stack: u64,
    /// `STACK_STORED`, `STACK_NOT_COLLECTED`, `STACK_ABSENT`,
    /// `STACK_NO_ROOM` or a negative errno.
    pub user_status: i32,
    pub kernel_status: i32,
    pub comm: [u8; TASK_COMM_LEN],
}

/// A stack: instruction pointers, leaf first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StackFrames {
    pub len: u32,
    pub _pad: u32,
    pub ips: [u64; MAX_STACK_DEPTH],
}

impl StackFrames {
    pub const EMPTY: Self = Self { len: 0, _pad: 0, ips: [0; MAX_STACK_DEPTH] };
}

/// FNV-1a over the frames: the stack's key. Shared so both sides agree.
#[inline(always)]
pub fn stack_hash(ips: &[u64; MAX_STACK_DEPTH], len: usize) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (index, ip) in ips.iter().enumerate() {
        if index >= len {
            break;
        }
        hash = (hash ^ ip).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // 0 never names a stored stack, so a zeroed key cannot alias one.
    hash | 1
}

/// Slots of the per-CPU totals array.
pub mod total {
    /// Samples (profile) or off-CPU intervals (offcputime) recorded.
    pub const EVENTS: u32 = 0;
    /// Events lost because the counts map was full.
    pub const COUNTS_MAP_FULL: u32 = 1;
    /// New processes userspace could not be told about (map full): their
    /// stacks may not symbolize if they exit before the end.
    pub const PROCESSES_MAP_FULL: u32 = 2;
    /// offcputime: threads whose switch-out could not be remembered.
    pub const START_MAP_FULL: u32 = 3;
    pub const COUNT: u32 = 4;
}

/// Settings shared by both tools, set by userspace before loading.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackFilters {
    /// 1: only threads whose tgid is in `FILTER_PIDS`.
    pub filter_pids: u32,
    /// 1: only threads whose tid is in `FILTER_TIDS`.
    pub filter_tids: u32,
    /// 1: collect user stacks.
    pub user_stacks: u32,
    /// 1: collect kernel stacks.
    pub kernel_stacks: u32,
}

impl StackFilters {
    pub const DEFAULT: Self = Self { filter_pids: 0, filter_tids: 0, user_stacks: 1, kernel_stacks: 1 };
}

/// `tracer profile`'s settings.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileConfig {
    pub filters: StackFilters,
    /// 1: also count samples of the idle task (pid 0).
    pub include_idle: u32,
}

impl ProfileConfig {
    pub const DEFAULT: Self = Self { filters: StackFilters::DEFAULT, include_idle: 0 };
}

/// Which threads `tracer offcputime` times.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadKind {
    All = 0,
    /// `-u`: threads with an address space.
    User = 1,
    /// `-k`: kernel threads.
    Kernel = 2,
}

/// `tracer offcputime`'s settings.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffcpuConfig {
    pub filters: StackFilters,
    /// A `ThreadKind`.
    pub thread_kind: u32,
    /// Off-CPU intervals outside [min_ns, max_ns] are not counted.
    pub min_ns: u64,
    pub max_ns: u64,
    /// 1: only threads leaving the CPU in `state` (see `state`).
    pub filter_state: u32,
    /// 0 matches TASK_RUNNING exactly (preempted); otherwise a bit mask,
    /// e.g. 1 interruptible, 2 uninterruptible sleep.
    pub state: u32,
    /// 1 when sched_switch passes `prev_state` (5.18+); else read the task.
    pub switch_has_prev_state: u32,
    pub _pad: u32,
}

impl OffcpuConfig {
    pub const DEFAULT: Self = Self {
        filters: StackFilters::DEFAULT,
        thread_kind: ThreadKind::All as u32,
        min_ns: 1000,
        max_ns: u64::MAX,
        filter_state: 0,
        state: 0,
        switch_has_prev_state: 0,
        _pad: 0,
    };
}

/// Where a thread left the CPU, kept until it comes back.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OffcpuStart {
    pub key: StackKey,
    pub since_ns: u64,
}

crate::impl_pod!(StackKey, StackFrames, StackFilters, ProfileConfig, OffcpuConfig, OffcpuStart);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_the_frames_in_use_only() {
        let mut a = [0u64; MAX_STACK_DEPTH];
        a[0] = 0xffff_ffff_8100_0000;
        a[1] = 0x4010;
        let mut b = a;
        b[5] = 99; // beyond len: ignored
        assert_eq!(stack_hash(&a, 2), stack_hash(&b, 2));
        assert_ne!(stack_hash(&a, 2), stack_hash(&a, 1));
        assert_ne!(stack_hash(&a, 0), 0);
    }
}
