//! Test workload: an exact number of each VFS operation vfsstat counts.
//!
//! Usage: tracer-vfsops DIR N
//!
//! Prints `ready PID`, waits for a line on stdin, then N times: creates a
//! file (openat with O_CREAT), writes a byte, fsyncs, closes, opens it
//! again, reads a byte, makes and removes a directory, and unlinks the
//! file. Per round: 2 opens, 1 create, 1 write, 1 fsync, 1 read, 1 mkdir,
//! 1 rmdir, 1 unlink. Prints `done`.

use std::{
    fs::{self, File},
    io::{BufRead, Read, Write},
    path::Path,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, rounds): (&Path, usize) = (Path::new(&args[1]), args[2].parse().expect("N"));
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).expect("wait for go");

    let mut byte = [0u8; 1];
    for round in 0..rounds {
        let file = dir.join(format!("f{round}"));
        let mut created = File::create(&file).expect("create");
        created.write_all(b"x").expect("write");
        created.sync_all().expect("fsync");
        drop(created);
        assert_eq!(File::open(&file).expect("open").read(&mut byte).expect("read"), 1);
        let sub = dir.join(format!("d{round}"));
        fs::create_dir(&sub).expect("mkdir");
        fs::remove_dir(&sub).expect("rmdir");
        fs::remove_file(&file).expect("unlink");
    }
    println!("done");
}
