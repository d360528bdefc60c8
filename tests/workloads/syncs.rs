//! Test workload: an exact number of sync calls on a uniquely named file,
//! each timed by the workload itself.
//!
//! Usage: tracer-syncs FILE
//!
//! Creates FILE, prints `ready PID`, waits for a line on stdin, then writes
//! to it and makes 5 fsync, 1 syncfs, 1 fdatasync, 1 sync_file_range and 1
//! msync (of a mapping of FILE) through the raw syscalls, printing `call
//! SYSCALL RET NS` for each (NS: nanoseconds around the call, by
//! CLOCK_MONOTONIC), then `done`, and waits for stdin to close.

use std::{
    ffi::CString,
    io::{BufRead, Read, Write},
    os::unix::ffi::OsStrExt,
    time::Instant,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::Path::new(&args[1]);
    std::fs::write(path, vec![b'x'; 8192]).expect("create file");
    let name = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut stdin = std::io::stdin().lock();
    let mut go = String::new();
    stdin.read_line(&mut go).expect("wait for go");

    let mut out = String::new();
    let mut timed = |syscall: &str, call: &mut dyn FnMut() -> libc::c_long| {
        let started = Instant::now();
        let ret = call();
        out.push_str(&format!("call {syscall} {ret} {}\n", started.elapsed().as_nanos()));
    };
    // SAFETY (all the calls below): a descriptor and a mapping we made.
    unsafe {
        let fd = libc::open(name.as_ptr(), libc::O_RDWR);
        assert!(fd >= 0);
        for _ in 0..5 {
            assert_eq!(libc::write(fd, b"data".as_ptr().cast(), 4), 4);
            timed("fsync", &mut || libc::syscall(libc::SYS_fsync, fd));
        }
        timed("syncfs", &mut || libc::syscall(libc::SYS_syncfs, fd));
        timed("fdatasync", &mut || libc::syscall(libc::SYS_fdatasync, fd));
        timed("sync_file_range", &mut || libc::syscall(libc::SYS_sync_file_range, fd, 0, 4096, 2)); // SYNC_FILE_RANGE_WRITE
        let map = libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
        assert_ne!(map, libc::MAP_FAILED);
        *map.cast::<u8>() = b'y';
        timed("msync", &mut || libc::syscall(libc::SYS_msync, map, 4096, libc::MS_SYNC));
        out.push_str(&format!("mapping {:#x}\n", map as usize));
        libc::munmap(map, 4096);
        libc::close(fd);
    }
    println!("{out}done");
    std::io::stdout().flush().expect("flush");
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
}
