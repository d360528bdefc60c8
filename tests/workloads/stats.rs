//! Test workload: stat-family calls on uniquely named files, through the
//! raw syscalls (glibc's stat() is newfstatat or statx underneath),
//! reporting what each returned.
//!
//! Usage: tracer-stats DIR [deep]
//!
//! Creates DIR and DIR/present, prints `ready PID`, waits for a line on
//! stdin, then makes each call of `main` and prints `call SYSCALL PATH RET
//! ERRNO` for it (SYSCALL as the kernel's tracepoint names it, PATH the
//! file the call referred to), then `done`, and waits for stdin to close.
//! With `deep`, the only call is an fstat of a file 60 directories below
//! DIR, deeper than statsnoop walks.

use std::{
    ffi::CString,
    io::{BufRead, Read, Write},
    os::unix::ffi::OsStrExt,
    path::Path,
};

fn cstring(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL")
}

/// errno of a raw syscall's result (0 on success).
fn errno(ret: libc::c_long) -> i64 {
    if ret < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64 } else { 0 }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    std::fs::create_dir_all(dir).expect("create dir");
    let dir = dir.canonicalize().expect("canonical dir");
    let present = dir.join("present");
    std::fs::write(&present, b"x").expect("create file");
    let missing = dir.join("missing");
    let deep = args.get(2).is_some_and(|mode| mode == "deep");
    let deep_file = (0..60).fold(dir.clone(), |path, _| path.join("d")).join("bottom");
    if deep {
        std::fs::create_dir_all(deep_file.parent().unwrap()).expect("deep dirs");
        std::fs::write(&deep_file, b"x").expect("deep file");
    }

    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut stdin = std::io::stdin().lock();
    let mut go = String::new();
    stdin.read_line(&mut go).expect("wait for go");

    let mut out = String::new();
    let mut report = |syscall: &str, path: &Path, ret: libc::c_long| {
        out.push_str(&format!("call {syscall} {} {ret} {}\n", path.display(), errno(ret)));
    };
    // SAFETY (all the calls below): valid NUL-terminated paths, buffers
    // large enough for the kernel's structures, descriptors we opened.
    let mut stat_buf = [0u8; 256];
    let mut statx_buf = [0u8; 512];
    let (present_c, missing_c, empty) = (cstring(&present), cstring(&missing), CString::new("").unwrap());
    if deep {
        let fd = unsafe { libc::open(cstring(&deep_file).as_ptr(), libc::O_RDONLY) };
        assert!(fd >= 0);
        report("newfstat", &deep_file, unsafe { libc::syscall(libc::SYS_fstat, fd, stat_buf.as_mut_ptr()) });
        println!("{out}done");
        std::io::stdout().flush().expect("flush");
        let mut rest = Vec::new();
        let _ = stdin.read_to_end(&mut rest);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let ret = unsafe { libc::syscall(libc::SYS_stat, present_c.as_ptr(), stat_buf.as_mut_ptr()) };
        report("newstat", &present, ret);
        let ret = unsafe { libc::syscall(libc::SYS_stat, missing_c.as_ptr(), stat_buf.as_mut_ptr()) };
        report("newstat", &missing, ret);
        let ret = unsafe { libc::syscall(libc::SYS_lstat, present_c.as_ptr(), stat_buf.as_mut_ptr()) };
        report("newlstat", &present, ret);
        let ret = unsafe { libc::syscall(libc::SYS_access, missing_c.as_ptr(), libc::F_OK) };
        report("access", &missing, ret);
    }
    let fd = unsafe { libc::open(present_c.as_ptr(), libc::O_RDONLY) };
    assert!(fd >= 0);
    let ret = unsafe { libc::syscall(libc::SYS_fstat, fd, stat_buf.as_mut_ptr()) };
    report("newfstat", &present, ret);
    let ret = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd,
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_BASIC_STATS,
            statx_buf.as_mut_ptr(),
        )
    };
    report("statx", &present, ret);
    let ret = unsafe { libc::syscall(libc::SYS_fstatfs, fd, stat_buf.as_mut_ptr()) };
    report("fstatfs", &present, ret);
    unsafe { libc::close(fd) };
    let ret = unsafe { libc::syscall(libc::SYS_statfs, present_c.as_ptr(), stat_buf.as_mut_ptr()) };
    report("statfs", &present, ret);
    // Relative names: to the cwd, and to a directory descriptor.
    std::env::set_current_dir(&dir).expect("chdir");
    let (present_rel, missing_rel) = (CString::new("present").unwrap(), CString::new("missing").unwrap());
    let ret =
        unsafe { libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, present_rel.as_ptr(), stat_buf.as_mut_ptr(), 0) };
    report("newfstatat", &present, ret);
    let dir_c = cstring(&dir);
    let dirfd = unsafe { libc::open(dir_c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(dirfd >= 0);
    let ret = unsafe {
        libc::syscall(libc::SYS_statx, dirfd, missing_rel.as_ptr(), 0, libc::STATX_BASIC_STATS, statx_buf.as_mut_ptr())
    };
    report("statx", &missing, ret);
    let ret = unsafe { libc::syscall(libc::SYS_faccessat2, dirfd, present_rel.as_ptr(), libc::R_OK, 0) };
    report("faccessat2", &present, ret);
    unsafe { libc::close(dirfd) };
    // A pipe has no path: the kernel names it by its inode.
    let mut pipe = [0i32; 2];
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let ret = unsafe { libc::syscall(libc::SYS_fstat, pipe[0], &raw mut st) };
    report("newfstat", Path::new(&format!("pipe:[{}]", st.st_ino)), ret);

    println!("{out}done");
    std::io::stdout().flush().expect("flush");
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
}
