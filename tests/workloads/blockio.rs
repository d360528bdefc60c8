//! Test workload: direct (O_DIRECT) reads of a block device at known offsets
//! and sizes, so that each read is one request whose sector and size the
//! test knows.
//!
//! Usage: tracer-blockio DEVICE OFFSET:SIZE...
//!
//! Prints `ready PID`, waits for a line on stdin, then reads each OFFSET:SIZE
//! (bytes, multiples of the device's logical block size) in order, one at a
//! time, and prints `done N BYTES`.

use std::{
    alloc::{Layout, alloc_zeroed},
    fs::OpenOptions,
    io::{BufRead, Write},
    os::unix::fs::{FileExt, OpenOptionsExt},
};

/// Direct I/O needs an aligned buffer; a page suits every device.
const ALIGN: usize = 4096;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let device = &args[1];
    let reads: Vec<(u64, usize)> = args[2..]
        .iter()
        .map(|spec| {
            let (offset, size) = spec.split_once(':').expect("OFFSET:SIZE");
            (offset.parse().expect("offset"), size.parse().expect("size"))
        })
        .collect();
    let largest = reads.iter().map(|&(_, size)| size).max().unwrap_or(ALIGN).max(ALIGN);
    let layout = Layout::from_size_align(largest, ALIGN).expect("layout");
    // SAFETY: a non-zero size; the buffer lives until the process exits.
    let buffer = unsafe { std::slice::from_raw_parts_mut(alloc_zeroed(layout), largest) };
    let file = OpenOptions::new().read(true).custom_flags(libc::O_DIRECT).open(device).expect("open O_DIRECT");

    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).expect("wait for go");

    let mut total = 0;
    for &(offset, size) in &reads {
        let read = file.read_at(&mut buffer[..size], offset).expect("pread");
        assert_eq!(read, size, "short read at {offset}");
        total += read;
    }
    println!("done {} {total}", reads.len());
}
