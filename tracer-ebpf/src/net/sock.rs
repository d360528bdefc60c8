//! Reading a socket's family and endpoints at the offsets userspace
//! resolved from BTF (`tracer_common::net::sock::EndpointOffsets`).

use tracer_common::net::sock::{AF_INET, AF_INET6, EndpointOffsets, Endpoints, MAX_FILTER_PORTS, PortFilter};

use crate::task::probe_read;

/// One offset of a read-only global's `EndpointOffsets`.
#[inline(always)]
fn offset(field: *const u32) -> u32 {
    // SAFETY: `field` points into a read-only global, initialised before load.
    unsafe { core::ptr::read_volatile(field) }
}

/// `sock.sk_protocol`, or 0 where it could not be read.
///
/// # Safety
/// `sk` must be a kernel socket pointer from the hook's arguments;
/// `offsets` must point at a read-only global.
#[inline(always)]
pub unsafe fn protocol(sk: *const u8, offsets: *const EndpointOffsets) -> u16 {
    // SAFETY: the read goes through the probe-read helper.
    unsafe { probe_read::<u16>(sk, offset(&raw const (*offsets).sk_protocol)) }.unwrap_or(0)
}

/// The local port of `sk` (host order), or 0.
///
/// # Safety
/// As [`protocol`].
#[inline(always)]
pub unsafe fn local_port(sk: *const u8, offsets: *const EndpointOffsets) -> u16 {
    // SAFETY: the read goes through the probe-read helper.
    u16::from_be(unsafe { probe_read::<u16>(sk, offset(&raw const (*offsets).inet_sport)) }.unwrap_or(0))
}

/// The family and both endpoints of `sk`; None for a family other than
/// IPv4 and IPv6 (or an unreadable socket).
///
/// # Safety
/// As [`protocol`].
#[inline(always)]
pub unsafe fn endpoints(sk: *const u8, offsets: *const EndpointOffsets) -> Option<Endpoints> {
    // SAFETY: every read goes through the probe-read helper; the field
    // pointers stay inside the global.
    unsafe {
        let at = |field: *const u32| offset(field);
        let family = probe_read::<u16>(sk, at(&raw const (*offsets).skc_family))?;
        let mut endpoints = Endpoints::ZERO;
        endpoints.family = family;
        endpoints.lport = u16::from_be(probe_read::<u16>(sk, at(&raw const (*offsets).inet_sport)).unwrap_or(0));
        endpoints.rport = u16::from_be(probe_read::<u16>(sk, at(&raw const (*offsets).skc_dport)).unwrap_or(0));
        if family == AF_INET {
            let local = probe_read::<[u8; 4]>(sk, at(&raw const (*offsets).skc_rcv_saddr)).unwrap_or([0; 4]);
            let remote = probe_read::<[u8; 4]>(sk, at(&raw const (*offsets).skc_daddr)).unwrap_or([0; 4]);
            endpoints.laddr[..4].copy_from_slice(&local);
            endpoints.raddr[..4].copy_from_slice(&remote);
        } else if family == AF_INET6 {
            endpoints.laddr = probe_read::<[u8; 16]>(sk, at(&raw const (*offsets).skc_v6_rcv_saddr)).unwrap_or([0; 16]);
            endpoints.raddr = probe_read::<[u8; 16]>(sk, at(&raw const (*offsets).skc_v6_daddr)).unwrap_or([0; 16]);
        } else {
            return None;
        }
        Some(endpoints)
    }
}

/// Whether a read-only global's port list admits `port` (an empty list
/// admits all). The list is a constant to the verifier, so an unused
/// filter costs nothing.
#[inline(always)]
pub fn port_admitted(filter: *const PortFilter, port: u16) -> bool {
    // SAFETY: `filter` points into a read-only global, initialised before load.
    let count = unsafe { core::ptr::read_volatile(&raw const (*filter).count) };
    if count == 0 {
        return true;
    }
    for index in 0..MAX_FILTER_PORTS {
        if index as u32 >= count {
            break;
        }
        // SAFETY: as above; the index is below the array's length.
        if unsafe { core::ptr::read_volatile(&raw const (*filter).ports[index]) } == port {
            return true;
        }
    }
    false
}
