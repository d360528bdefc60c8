//! Test workload: the mount calls of both mount APIs on one directory.
//!
//! Usage: tracer-mounts DIR
//!
//! Creates DIR, prints `ready PID`, waits for a line on stdin, then through
//! the raw syscalls: mounts a tmpfs named after DIR's last component on DIR
//! and unmounts it, fails to unmount it again (EINVAL), then does the same
//! with the new API (fsopen, fsconfig, fsmount, move_mount, umount2) and
//! clones DIR with open_tree; prints `call SYSCALL RET` for each (RET: the
//! raw return, -errno on failure), then `done`, and waits for stdin to
//! close. Calls the kernel lacks (the new API before 5.2) fail with ENOSYS.

use std::{
    ffi::CString,
    io::{BufRead, Read, Write},
    os::unix::ffi::OsStrExt,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::Path::new(&args[1]);
    std::fs::create_dir_all(dir).expect("create the directory");
    let tag = dir.file_name().expect("a directory name").to_str().expect("UTF-8");
    let c = |text: &str| CString::new(text).expect("no NUL");
    let (target, source) = (CString::new(dir.as_os_str().as_bytes()).expect("no NUL"), c(tag));
    let (tmpfs, data, size, two, empty) = (c("tmpfs"), c("size=1m,mode=700"), c("size"), c("2m"), c(""));
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut stdin = std::io::stdin().lock();
    let mut go = String::new();
    stdin.read_line(&mut go).expect("wait for go");

    let mut out = String::new();
    let mut call = |syscall: &str, ret: libc::c_long| -> libc::c_long {
        let ret = if ret < 0 { -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)) } else { ret };
        out.push_str(&format!("call {syscall} {ret}\n"));
        ret
    };
    // SAFETY (all the calls below): NUL-terminated strings we own, and
    // descriptors the calls returned.
    unsafe {
        let flags = libc::MS_NOSUID | libc::MS_NODEV;
        let mounted =
            libc::syscall(libc::SYS_mount, source.as_ptr(), target.as_ptr(), tmpfs.as_ptr(), flags, data.as_ptr());
        assert_eq!(call("mount", mounted), 0, "mount a tmpfs");
        assert_eq!(call("umount", libc::syscall(libc::SYS_umount2, target.as_ptr(), 0)), 0);
        call("umount", libc::syscall(libc::SYS_umount2, target.as_ptr(), 0));

        let fs = call("fsopen", libc::syscall(libc::SYS_fsopen, tmpfs.as_ptr(), 1)); // FSOPEN_CLOEXEC
        if fs >= 0 {
            call("fsconfig", libc::syscall(libc::SYS_fsconfig, fs, 1, size.as_ptr(), two.as_ptr(), 0)); // SET_STRING
            call("fsconfig", libc::syscall(libc::SYS_fsconfig, fs, 6, 0, 0, 0)); // CMD_CREATE
            let mnt = call("fsmount", libc::syscall(libc::SYS_fsmount, fs, 1, 4)); // CLOEXEC, MOUNT_ATTR_NODEV
            let moved = libc::syscall(libc::SYS_move_mount, mnt, empty.as_ptr(), libc::AT_FDCWD, target.as_ptr(), 4);
            call("move_mount", moved); // MOVE_MOUNT_F_EMPTY_PATH
            call("umount", libc::syscall(libc::SYS_umount2, target.as_ptr(), 2)); // MNT_DETACH
            let clone = libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, target.as_ptr(), 1 | libc::O_CLOEXEC);
            call("open_tree", clone); // OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
            for fd in [fs, mnt, clone] {
                libc::close(fd as i32);
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
    println!("{out}done");
    std::io::stdout().flush().expect("flush");
    let mut rest = Vec::new();
    let _ = stdin.read_to_end(&mut rest);
}
