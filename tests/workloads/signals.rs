//! Test workload: signals sent in known ways between two processes of
//! known names, for sigsnoop and killsnoop.
//!
//! Usage: tracer-sigs
//!
//! Forks a target (`sigs-target`, which handles SIGUSR1, SIGRTMIN+1 and
//! SIGRTMIN+2 and ignores SIGUSR2), prints `ready PID` (its own, the
//! sender `sigs-sender`), `target TID` and `missing PID` (a PID no process
//! has), waits for a line on stdin, then sends:
//! 1. kill(target, SIGUSR1): delivered;
//! 2. kill(target, SIGUSR2): ignored by the target;
//! 3. kill(missing, SIGUSR1): fails with ESRCH;
//! 4. tgkill(target, target, SIGRTMIN+1);
//! 5. sigqueue (rt_sigqueueinfo) of SIGRTMIN+2 to the target.
//! The target exits once it has the three handled signals, which sends the
//! sender a SIGCHLD from the kernel; the sender reaps it and prints
//! `rtmin N` (SIGRTMIN's number) and `done`.

use std::{
    io::BufRead,
    sync::atomic::{AtomicU32, Ordering},
};

static RECEIVED: AtomicU32 = AtomicU32::new(0);

extern "C" fn count(_: libc::c_int) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

fn set_comm(name: &str) {
    let name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn check(what: &str, ret: libc::c_long) {
    assert!(ret >= 0, "{what}: {}", std::io::Error::last_os_error());
}

/// The target: handlers installed with the signals blocked, then waits
/// for all three in sigsuspend.
fn target(ready: libc::c_int, rtmin: i32) -> ! {
    set_comm("sigs-target");
    // SAFETY: plain libc calls on local, initialised data.
    unsafe {
        let mut blocked: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut blocked);
        for sig in [libc::SIGUSR1, rtmin + 1, rtmin + 2] {
            libc::sigaddset(&mut blocked, sig);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = count as *const () as usize;
            check("sigaction", libc::sigaction(sig, &action, std::ptr::null_mut()).into());
        }
        libc::signal(libc::SIGUSR2, libc::SIG_IGN);
        check("sigprocmask", libc::sigprocmask(libc::SIG_BLOCK, &blocked, std::ptr::null_mut()).into());
        check("write", libc::write(ready, b"r".as_ptr().cast(), 1) as libc::c_long);
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        while RECEIVED.load(Ordering::SeqCst) < 3 {
            libc::sigsuspend(&none);
        }
        libc::_exit(0);
    }
}

/// A PID no process has (nor, very likely, will before it is used).
fn missing_pid() -> i32 {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(32768);
    (2..max)
        .rev()
        .find(|&pid| {
            // SAFETY: signal 0 only checks the PID.
            unsafe { libc::kill(pid, 0) != 0 && *libc::__errno_location() == libc::ESRCH }
        })
        .expect("a free PID")
}

fn main() {
    let rtmin = libc::SIGRTMIN();
    let mut pipe = [0; 2];
    // SAFETY: plain syscalls.
    check("pipe", unsafe { libc::pipe(pipe.as_mut_ptr()) }.into());
    // SAFETY: the child only calls async-signal-safe functions before exiting.
    let child = unsafe { libc::fork() };
    check("fork", child.into());
    if child == 0 {
        target(pipe[1], rtmin);
    }
    let mut byte = 0u8;
    // SAFETY: reads one byte into a local.
    check("read", unsafe { libc::read(pipe[0], (&raw mut byte).cast(), 1) } as libc::c_long);
    set_comm("sigs-sender");
    let missing = missing_pid();
    println!("ready {}", std::process::id());
    println!("target {child}");
    println!("missing {missing}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("read go");
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        check("kill USR1", libc::kill(child, libc::SIGUSR1).into());
        check("kill USR2", libc::kill(child, libc::SIGUSR2).into());
        assert_eq!(libc::kill(missing, libc::SIGUSR1), -1);
        assert_eq!(*libc::__errno_location(), libc::ESRCH);
        check("tgkill", libc::syscall(libc::SYS_tgkill, child, child, rtmin + 1));
        let value = libc::sigval { sival_ptr: std::ptr::null_mut() };
        check("sigqueue", libc::sigqueue(child, rtmin + 2, value).into());
        let mut status = 0;
        check("waitpid", libc::waitpid(child, &mut status, 0).into());
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "target status {status}");
    }
    println!("rtmin {rtmin}");
    println!("done");
}
