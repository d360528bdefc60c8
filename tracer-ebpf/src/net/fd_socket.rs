//! From a descriptor of the current task to its `struct sock`, at the
//! offsets userspace resolved from BTF (`tracer_common::net::fd_socket`).
//! Shared by the tools on the socket syscalls (tcpaccept, bindsnoop, solisten).

use aya_ebpf::helpers::bpf_get_current_task;
use tracer_common::net::fd_socket::{FdSocketOffsets, S_IFMT, S_IFSOCK};

use crate::task::probe_read;

/// One offset of a read-only global's `FdSocketOffsets`.
#[inline(always)]
fn offset(field: *const u32) -> u32 {
    // SAFETY: `field` points into a read-only global, initialised before load.
    unsafe { core::ptr::read_volatile(field) }
}

/// The `struct sock *` behind descriptor `fd` of the current task, or
/// None when `fd` is not open or not a socket.
///
/// # Safety
/// `offsets` must point into a read-only global.
#[inline(always)]
pub unsafe fn sock_of_fd(offsets: *const FdSocketOffsets, fd: i64) -> Option<*const u8> {
    // SAFETY: as this function's.
    unsafe { socket_of_fd(offsets, fd) }.map(|(_, sk)| sk)
}

/// The `struct socket *` and `struct sock *` behind descriptor `fd`.
///
/// # Safety
/// As [`sock_of_fd`].
#[inline(always)]
pub unsafe fn socket_of_fd(offsets: *const FdSocketOffsets, fd: i64) -> Option<(*const u8, *const u8)> {
    if fd < 0 {
        return None;
    }
    // SAFETY: every hop goes through the probe-read helper; the field
    // pointers stay inside the global.
    unsafe {
        let task = bpf_get_current_task() as *const u8;
        let files = probe_read::<*const u8>(task, offset(&raw const (*offsets).task_files))?;
        let fdt = probe_read::<*const u8>(files, offset(&raw const (*offsets).files_fdt))?;
        let max_fds = probe_read::<u32>(fdt, offset(&raw const (*offsets).fdtable_max_fds))?;
        if fd as u64 >= u64::from(max_fds) {
            return None;
        }
        let table = probe_read::<*const u8>(fdt, offset(&raw const (*offsets).fdtable_fd))?;
        let file = probe_read::<*const u8>(table, (fd as u32).wrapping_mul(8))?;
        if file.is_null() {
            return None;
        }
        let inode = probe_read::<*const u8>(file, offset(&raw const (*offsets).file_inode))?;
        let mode = probe_read::<u16>(inode, offset(&raw const (*offsets).inode_mode))?;
        if mode & S_IFMT != S_IFSOCK {
            return None;
        }
        let socket = probe_read::<*const u8>(file, offset(&raw const (*offsets).file_private_data))?;
        let sk = probe_read::<*const u8>(socket, offset(&raw const (*offsets).socket_sk))?;
        (!sk.is_null()).then_some((socket, sk))
    }
}

/// `sock.sk_protocol` of `sk` (the u16 field, or the bitfield of older
/// kernels, by its bit position), or None if unreadable.
///
/// # Safety
/// As [`sock_of_fd`]; `sk` a kernel socket pointer.
#[inline(always)]
pub unsafe fn protocol(offsets: *const FdSocketOffsets, sk: *const u8) -> Option<u16> {
    // SAFETY: as above.
    unsafe {
        let word = probe_read::<u32>(sk, offset(&raw const (*offsets).protocol_word))?;
        let shift = offset(&raw const (*offsets).protocol_shift) & 31;
        let bits = offset(&raw const (*offsets).protocol_bits) & 31;
        Some(((word >> shift) & ((1u32 << bits) - 1)) as u16)
    }
}
