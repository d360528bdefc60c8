//! Test workload: allocates and touches memory until the OOM killer ends it.
//!
//! Usage: tracer-oomhog MIB
//!
//! Names itself `tracer-oomhog`, prints `ready PID`, waits for a line on
//! stdin (the test moves it into a memory-limited cgroup meanwhile), then
//! allocates MIB MiB in 1 MiB blocks and writes to every page of each, so
//! every page is resident and charged. Prints `survived` if it gets to the
//! end (the test's limit is meant to prevent that).

use std::io::{BufRead, Write};

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: tracer-oomhog MIB");
        std::process::exit(2);
    });
    let name = c"tracer-oomhog";
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(mib);
    for _ in 0..mib {
        let mut block = vec![0u8; 1 << 20];
        for page in block.chunks_mut(4096) {
            // Volatile: the write must reach memory, not be optimized away.
            // SAFETY: a valid, exclusive pointer into the block.
            unsafe { std::ptr::write_volatile(page.as_mut_ptr(), 1) };
        }
        blocks.push(block);
    }
    println!("survived {}", blocks.len());
}
