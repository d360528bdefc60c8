//! Test workload: opens of uniquely named files, some missing, through
//! every open syscall, reporting what each returned.
//!
//! Usage: tracer-opens DIR COUNT
//!
//! Creates DIR/f-0..f-(COUNT-1) except those that are meant to be missing,
//! changes into DIR, prints `ready PID`, waits for a line on stdin, then
//! opens each file once (cycling through open/openat/openat2, absolute
//! names, names relative to the cwd and to a directory fd) and prints
//! `open NAME FULL_PATH FD ERRNO` per open (FD -1 on failure), then
//! `done`; it keeps the files open until stdin closes. File 7's name holds
//! an escape sequence (`f-7-\x1b[2J`).

use std::{
    ffi::CString,
    io::{BufRead, Read, Write},
    os::unix::ffi::OsStrExt,
    path::Path,
};

/// How file `index` is opened, and whether it exists.
fn plan(index: usize) -> (&'static str, bool) {
    match index % 6 {
        0 => ("open-absolute", false),
        1 => ("openat-dirfd", true),
        2 => ("openat2-absolute", true),
        3 => ("openat2-dirfd", false),
        4 => ("create-absolute", false),
        _ => ("openat-cwd", true),
    }
}

fn name(index: usize) -> String {
    if index == 7 { format!("f-{index}-\x1b[2J") } else { format!("f-{index}") }
}

fn cstring(text: &str) -> CString {
    CString::new(text).expect("no NUL")
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let count: usize = args[2].parse().expect("COUNT");
    std::fs::create_dir_all(dir).expect("create dir");
    for index in 0..count {
        let (_, exists) = plan(index);
        if exists {
            std::fs::write(dir.join(name(index)), b"x").expect("create file");
        }
    }
    std::env::set_current_dir(dir).expect("chdir");
    let dir = std::env::current_dir().expect("cwd");
    let dir_c = CString::new(dir.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY: a valid path; the fd is used by openat below.
    let dirfd = unsafe { libc::open(dir_c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(dirfd >= 0);

    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut stdin = std::io::stdin().lock();
    let mut go = String::new();
    stdin.read_line(&mut go).expect("wait for go");

    let mut out = String::new();
    for index in 0..count {
        let (how, _) = plan(index);
        let file = name(index);
        let absolute = format!("{}/{file}", dir.display());
        let passed = if how.ends_with("absolute") { absolute.clone() } else { file.clone() };
        let path = cstring(&passed);
        // SAFETY: valid NUL-terminated paths and a live directory fd.
        let fd = unsafe {
            match how {
                "open-absolute" => libc::open(path.as_ptr(), libc::O_RDONLY),
                "openat-dirfd" => libc::openat(dirfd, path.as_ptr(), libc::O_RDONLY),
                "openat-cwd" => libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY),
                "create-absolute" => create(&path),
                _ => {
                    let how = OpenHow { flags: libc::O_RDONLY as u64, mode: 0, resolve: 0 };
                    let from = if how_is_dirfd(index) { dirfd } else { libc::AT_FDCWD };
                    libc::syscall(
                        libc::SYS_openat2,
                        from,
                        path.as_ptr(),
                        &raw const how,
                        std::mem::size_of::<OpenHow>(),
                    ) as i32
                }
            }
        };
        let errno = if fd < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(0) } else { 0 };
        out.push_str(&format!("open {passed} {absolute} {fd} {errno}\n"));
    }
    println!("{out}done");
    std::io::stdout().flush().expect("flush");
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
}

fn how_is_dirfd(index: usize) -> bool {
    index % 6 == 3
}

/// A new file, mode 0640: through the `open` syscall itself where the
/// architecture has one (x86-64), else openat.
unsafe fn create(path: &CString) -> i32 {
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a valid path.
    return unsafe { libc::syscall(libc::SYS_open, path.as_ptr(), flags, 0o640) as i32 };
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: a valid path.
    return unsafe { libc::openat(libc::AT_FDCWD, path.as_ptr(), flags, 0o640) };
}
