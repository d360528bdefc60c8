//! From a file descriptor of the current task to its `struct sock`, for
//! the tools on the socket syscalls (tcpaccept, bindsnoop, solisten):
//! `task->files->fdt->fd[fd]` is the file, `file->f_inode->i_mode` says
//! whether it is a socket, `file->private_data` is the `struct socket`,
//! `socket->sk` the sock. Every offset is resolved from BTF by userspace.

/// Read-only global part: the offsets of that walk, and where
/// `sock.sk_protocol` lives (a u16 since 5.6, an 8-bit bitfield before).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FdSocketOffsets {
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_inode: u32,
    pub inode_mode: u32,
    pub file_private_data: u32,
    pub socket_sk: u32,
    /// `socket.type` (SOCK_STREAM, SOCK_DGRAM, ...).
    pub socket_type: u32,
    /// Byte offset of the aligned 32-bit word holding `sk_protocol`...
    pub protocol_word: u32,
    /// ...the field's first bit in that word (little-endian bit order)...
    pub protocol_shift: u32,
    /// ...and its width in bits (16, or 8 for the old bitfield).
    pub protocol_bits: u32,
}

impl FdSocketOffsets {
    pub const UNRESOLVED: Self = Self {
        task_files: u32::MAX,
        files_fdt: u32::MAX,
        fdtable_fd: u32::MAX,
        fdtable_max_fds: u32::MAX,
        file_inode: u32::MAX,
        inode_mode: u32::MAX,
        file_private_data: u32::MAX,
        socket_sk: u32::MAX,
        socket_type: u32::MAX,
        protocol_word: u32::MAX,
        protocol_shift: 0,
        protocol_bits: 0,
    };

    /// Where a field of `bits` bits starting at bit `bit_offset` of the
    /// struct is read from: (aligned word offset, shift in the word).
    pub const fn word_and_shift(bit_offset: u32) -> (u32, u32) {
        ((bit_offset / 32) * 4, bit_offset % 32)
    }
}

crate::impl_pod!(FdSocketOffsets);

/// `S_IFMT` and `S_IFSOCK` of `inode.i_mode` (uapi stat.h).
pub const S_IFMT: u16 = 0o170000;
pub const S_IFSOCK: u16 = 0o140000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_shifts_cover_byte_and_bit_positions() {
        // A u16 at byte 0x20e: word 0x20c, bits 16..32.
        assert_eq!(FdSocketOffsets::word_and_shift(0x20e * 8), (0x20c, 16));
        // 5.4's sk_protocol: 8 bits from bit 3208 (byte 401).
        assert_eq!(FdSocketOffsets::word_and_shift(3208), (400, 8));
    }
}
