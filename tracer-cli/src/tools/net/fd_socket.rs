//! What the tools on the socket syscalls (tcpaccept, bindsnoop, solisten)
//! share in userspace: the BTF offsets of the kernel's walk from a
//! descriptor to its `struct sock` (`tracer_common::net::fd_socket`).

use anyhow::{Result, ensure};
use tracer_common::net::fd_socket::FdSocketOffsets;

use crate::kernel::btf::KernelBtf;

/// The offsets of fd -> file -> socket -> sock, and of `sk_protocol` to the
/// bit (a bitfield before 5.6, which the kernel side reads by its word).
pub fn offsets(btf: &KernelBtf) -> Result<FdSocketOffsets> {
    let protocol = btf.field_bits("sock", "sk_protocol")?;
    ensure!(
        protocol.bits <= 16 && protocol.bit_offset % 32 + protocol.bits <= 32,
        "sock.sk_protocol ({} bits at bit {}) does not fit one aligned 32-bit word",
        protocol.bits,
        protocol.bit_offset
    );
    let (protocol_word, protocol_shift) = FdSocketOffsets::word_and_shift(protocol.bit_offset);
    Ok(FdSocketOffsets {
        task_files: btf.field("task_struct", "files")?.offset,
        files_fdt: btf.field("files_struct", "fdt")?.offset,
        fdtable_fd: btf.field("fdtable", "fd")?.offset,
        fdtable_max_fds: btf.field("fdtable", "max_fds")?.offset,
        file_inode: btf.field("file", "f_inode")?.offset,
        inode_mode: btf.field("inode", "i_mode")?.offset,
        file_private_data: btf.field("file", "private_data")?.offset,
        socket_sk: btf.field("socket", "sk")?.offset,
        socket_type: btf.field("socket", "type")?.offset,
        protocol_word,
        protocol_shift,
        protocol_bits: protocol.bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_walk_on_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().expect("this test needs /sys/kernel/btf/vmlinux");
        let offsets = offsets(&btf).unwrap();
        let protocol = btf.field_bits("sock", "sk_protocol").unwrap();
        assert_eq!(offsets.protocol_word * 8 + offsets.protocol_shift, protocol.bit_offset);
        assert!(offsets.protocol_bits == 16 || offsets.protocol_bits == 8);
        assert_eq!(offsets.fdtable_fd, btf.field("fdtable", "fd").unwrap().offset);
    }
}
