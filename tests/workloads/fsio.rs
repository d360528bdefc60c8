//! Test workload: file system I/O with known sizes and a self-timed fsync.
//!
//! Usage: tracer-fsio PATH MIB
//!
//! Prints `ready PID`, waits for a line on stdin, then writes MIB MiB to PATH
//! in 1 MiB writes, fsyncs (timing it), closes, reopens it, stats it
//! through the fd once (statx with AT_EMPTY_PATH), reads it back in 1 MiB
//! reads until end of file, and prints `fsync_ms D`.

use std::{
    fs::File,
    io::{BufRead, Read, Write},
    time::Instant,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, mib): (&str, usize) = (&args[1], args[2].parse().expect("MiB"));
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).expect("wait for go");

    let chunk = vec![0x5au8; 1 << 20];
    let mut file = File::create(path).expect("create");
    for _ in 0..mib {
        file.write_all(&chunk).expect("write");
    }
    let started = Instant::now();
    file.sync_all().expect("fsync");
    let fsync = started.elapsed();
    drop(file);

    let mut file = File::open(path).expect("open");
    assert_eq!(file.metadata().expect("fstat").len(), (mib as u64) << 20);
    let mut buffer = vec![0u8; 1 << 20];
    while file.read(&mut buffer).expect("read") > 0 {}
    println!("fsync_ms {:.3}", fsync.as_secs_f64() * 1e3);
}
