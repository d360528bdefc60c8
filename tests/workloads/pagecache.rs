//! Test workload: a file read cold (none of it in the page cache), then
//! warm.
//!
//! Usage: tracer-pagecache PATH MIB
//!
//! Writes MIB MiB to PATH, fsyncs and drops the file's pages from the page
//! cache (posix_fadvise DONTNEED), prints `ready PID` and `resident N` (its
//! pages still cached, by mincore: 0 unless something else holds them).
//! Each line on stdin then makes it read the whole file in 1 MiB reads and
//! print `read`: the first read misses every page, the next ones hit.

use std::{
    fs::File,
    io::{BufRead, Read, Write},
    os::fd::AsRawFd,
};

const PAGE: usize = 4096;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, mib): (&str, usize) = (&args[1], args[2].parse().expect("MiB"));
    let mut file = File::create(path).expect("create");
    let chunk = vec![0xa5u8; 1 << 20];
    for _ in 0..mib {
        file.write_all(&chunk).expect("write");
    }
    file.sync_all().expect("fsync");
    // SAFETY: a valid fd; the advice only drops clean cached pages.
    let advised = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(advised, 0, "posix_fadvise");
    println!("ready {}", std::process::id());
    drop(file);
    println!("resident {}", resident_pages(&File::open(path).expect("open"), mib << 20));
    std::io::stdout().flush().expect("flush");

    let mut buffer = vec![0u8; 1 << 20];
    for line in std::io::stdin().lock().lines() {
        line.expect("stdin");
        let mut file = File::open(path).expect("open");
        while file.read(&mut buffer).expect("read") > 0 {}
        println!("read");
        std::io::stdout().flush().expect("flush");
    }
}

/// Pages of the file in the page cache (mincore of a mapping, which does
/// not fault anything in).
fn resident_pages(file: &File, len: usize) -> usize {
    // SAFETY: a read-only shared mapping of the whole file, unmapped below;
    // mincore writes one byte per page into a vector of that many bytes.
    unsafe {
        let map = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0);
        assert_ne!(map, libc::MAP_FAILED, "mmap");
        let mut pages = vec![0u8; len.div_ceil(PAGE)];
        assert_eq!(libc::mincore(map, len, pages.as_mut_ptr()), 0, "mincore");
        libc::munmap(map, len);
        pages.iter().filter(|&&page| page & 1 != 0).count()
    }
}
