//! `tcprtt`: settings, offsets and the per-address keying of its histograms.

use crate::net::sock::EndpointOffsets;

/// How samples are split into histograms.
pub mod keying {
    /// One histogram for everything.
    pub const TOTAL: u16 = 0;
    /// One per local address (`-b`).
    pub const LOCAL: u16 = 1;
    /// One per remote address (`-B`).
    pub const REMOTE: u16 = 2;
}

/// Read-only global `TCPRTT_CONFIG`. Ports are in host order; an address
/// filter is on when its family is non-zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub lport: u16,
    pub rport: u16,
    /// Only this family (0: both).
    pub family: u16,
    pub keying: u16,
    pub laddr_family: u16,
    pub raddr_family: u16,
    pub _pad: u32,
    /// IPv4 in the first 4 bytes (network order), as `Endpoints` has it.
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
}

impl Config {
    pub const DEFAULT: Self = Self {
        lport: 0,
        rport: 0,
        family: 0,
        keying: keying::TOTAL,
        laddr_family: 0,
        raddr_family: 0,
        _pad: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    };
}

crate::impl_pod!(Config);

/// Read-only global `RTT_OFFSETS`: `struct sock` / `tcp_sock` fields (BTF
/// paths) and the classic `tcp:tcp_probe` record's fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RttOffsets {
    pub endpoints: EndpointOffsets,
    /// `tcp_sock.srtt_us`: the smoothed RTT in microseconds, times 8.
    pub srtt_us: u32,
    /// Classic record: `saddr`/`daddr` (a `sockaddr_in` or `sockaddr_in6`),
    /// `sport`/`dport` (host order), `srtt` (microseconds).
    pub tp_saddr: u32,
    pub tp_daddr: u32,
    pub tp_sport: u32,
    pub tp_dport: u32,
    pub tp_srtt: u32,
}

impl RttOffsets {
    pub const UNRESOLVED: Self = Self {
        endpoints: EndpointOffsets::UNRESOLVED,
        srtt_us: u32::MAX,
        tp_saddr: u32::MAX,
        tp_daddr: u32::MAX,
        tp_sport: u32::MAX,
        tp_dport: u32::MAX,
        tp_srtt: u32::MAX,
    };
}

crate::impl_pod!(RttOffsets);

/// An address that owns a histogram (`-b`/`-B`), the value of the
/// `TCPRTT_ADDRESSES` map keyed by its owner id.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub family: u16,
    pub _pad: u16,
    pub addr: [u8; 16],
}

crate::impl_pod!(Address);

/// The owner id of an address's histogram: FNV-1a of the family and the 16
/// bytes. The kernel keeps the address under its id and counts a different
/// address hashing to a taken id as a collision (the sample is dropped).
#[inline(always)]
pub fn owner_of(family: u16, addr: &[u8; 16]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let family = family.to_le_bytes();
    let mut i = 0;
    while i < 2 {
        hash = (hash ^ u32::from(family[i])).wrapping_mul(0x0100_0193);
        i += 1;
    }
    let mut i = 0;
    while i < 16 {
        hash = (hash ^ u32::from(addr[i])).wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// (owner, bucket) entries of the sparse per-address histograms.
pub const SPARSE_ENTRIES: u32 = 65536;
/// Addresses named at once.
pub const ADDRESS_ENTRIES: u32 = 10240;

/// Slots of `TCPRTT_DROPS`.
pub mod drop_reason {
    pub const HIST_MAP_FULL: u32 = 0;
    pub const ADDRESS_MAP_FULL: u32 = 1;
    pub const COLLISION: u32 = 2;
    pub const COUNT: u32 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_depend_on_family_and_every_byte() {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        let base = owner_of(2, &addr);
        assert_eq!(base, owner_of(2, &addr));
        assert_ne!(base, owner_of(10, &addr));
        for i in 0..16 {
            let mut other = addr;
            other[i] ^= 1;
            assert_ne!(base, owner_of(2, &other), "byte {i}");
        }
    }
}
