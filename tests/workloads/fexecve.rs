//! Test workload: runs PROGRAM through fexecve(3) (execveat with
//! AT_EMPTY_PATH on Linux), so the exec is by file descriptor, not by name.
//!
//! Usage: tracer-fexecve PROGRAM ARG...

use std::{ffi::CString, os::fd::AsRawFd};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let program = std::fs::File::open(&args[0]).expect("open program");
    let argv: Vec<CString> = args.iter().map(|a| CString::new(a.as_str()).expect("no NUL")).collect();
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: NULL-terminated argv and envp of valid C strings.
    unsafe { libc::fexecve(program.as_raw_fd(), argv_ptrs.as_ptr(), envp.as_ptr()) };
    panic!("fexecve failed: {}", std::io::Error::last_os_error());
}
