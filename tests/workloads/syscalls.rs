//! Test workload: an exact number of known syscalls.
//!
//! Usage: tracer-syscalls GETPPID BADCLOSE
//!
//! Prints `ready PID`, waits for a line on stdin, then makes GETPPID
//! getppid(2) calls and BADCLOSE close(-1) calls (each failing with EBADF),
//! straight through syscall(2) so no libc caching hides one, prints `done`
//! and waits for stdin to close.

use std::io::{BufRead, Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count = |index: usize| -> u64 {
        args.get(index).and_then(|a| a.parse().ok()).expect("usage: tracer-syscalls GETPPID BADCLOSE")
    };
    let (getppid, bad_close) = (count(1), count(2));
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut stdin = std::io::stdin().lock();
    let mut go = String::new();
    stdin.read_line(&mut go).expect("wait for go");

    for _ in 0..getppid {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    for _ in 0..bad_close {
        // SAFETY: closing fd -1 only fails (EBADF).
        let ret = unsafe { libc::syscall(libc::SYS_close, -1i64) };
        assert_eq!(ret, -1);
    }
    println!("done");
    std::io::stdout().flush().expect("flush");
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
}
