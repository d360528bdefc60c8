//! `fsdist` (and ext4dist, xfsdist, btrfsdist): settings, histogram slots
//! and loss reasons. Operation codes and offsets are in `ops`.

use super::ops::op;

/// Read-only global `FSDIST_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this process (0: all).
    pub target_tgid: u32,
    /// `super_block.s_magic` of the file system to trace (syscall path).
    pub magic: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0, magic: 0xEF53 };
}

crate::impl_pod!(Config);

/// The operations, in the order of their histograms (the slots of the
/// per-CPU histogram array), as libbpf-tools prints them.
pub const OPERATIONS: [u32; 5] = [op::READ, op::WRITE, op::OPEN, op::FSYNC, op::GETATTR];

/// The histogram slot of an operation code.
#[inline(always)]
pub const fn slot_of(code: u32) -> u32 {
    match code {
        op::READ => 0,
        op::WRITE => 1,
        op::OPEN => 2,
        op::FSYNC => 3,
        _ => 4,
    }
}

/// Reasons an operation goes untimed, indexes into `FSDIST_DROPS`.
pub mod drop_reason {
    /// The start-time map was full when the operation began.
    pub const START_MAP_FULL: u32 = 0;
    pub const COUNT: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_own_slot() {
        for (index, &code) in OPERATIONS.iter().enumerate() {
            assert_eq!(slot_of(code) as usize, index);
        }
    }
}
