//! Test workload for the stack tools: spends its time in functions with
//! names no other program has, so a profile can be checked against them.
//!
//! Usage: tracer-spin MODE SECONDS
//!   cpu    spin on the CPU inside `profile_target_spins_here_x7q` (called
//!          through `profile_target_caller_x7q`, so stacks have depth)
//!   syscall  call getppid(2) in a loop inside `syscall_target_loops_here_x7q`
//!   sleep  sleep in 10 ms nanosleeps inside `offcpu_target_sleeps_here_x7q`,
//!          then print the total time spent inside nanosleep, in microseconds
//!
//! Prints `ready PID` before starting; for `sleep`, waits for a line on stdin
//! first so the tracer can attach before the first sleep.

use std::{
    io::{BufRead, Write},
    time::{Duration, Instant},
};

#[inline(never)]
fn profile_target_spins_here_x7q(deadline: Instant) -> u64 {
    let mut x = 0u64;
    while Instant::now() < deadline {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
    x
}

#[inline(never)]
fn profile_target_caller_x7q(deadline: Instant) -> u64 {
    std::hint::black_box(profile_target_spins_here_x7q(deadline))
}

/// A system call made right here, not in a libc wrapper: libc's wrappers
/// have no frame pointer, so a stack walk from inside them skips their
/// caller, and the named functions below would vanish from the stacks.
#[inline(always)]
fn raw_syscall(number: i64, arg0: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86-64 syscall ABI; callers pass valid arguments for
    // getppid (none) and nanosleep (a timespec, no remainder).
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") arg0,
            in("rsi") 0usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[inline(never)]
fn syscall_target_loops_here_x7q(deadline: Instant) -> u64 {
    let mut calls = 0u64;
    while Instant::now() < deadline {
        for _ in 0..1000 {
            std::hint::black_box(raw_syscall(libc::SYS_getppid, 0));
        }
        calls += 1000;
    }
    calls
}

#[inline(never)]
fn offcpu_target_sleeps_here_x7q(until: Instant) -> Duration {
    let mut asleep = Duration::ZERO;
    let request = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
    while Instant::now() < until {
        let before = Instant::now();
        raw_syscall(libc::SYS_nanosleep, &request as *const libc::timespec as usize);
        asleep += before.elapsed();
    }
    asleep
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: tracer-spin cpu|syscall|sleep SECONDS";
    let mode = args.get(1).expect(usage).clone();
    let seconds: f64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    println!("ready {}", std::process::id());
    let _ = std::io::stdout().flush();
    match mode.as_str() {
        "cpu" => {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            std::hint::black_box(profile_target_caller_x7q(deadline));
        }
        "syscall" => {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            std::hint::black_box(syscall_target_loops_here_x7q(deadline));
        }
        "sleep" => {
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            let asleep = offcpu_target_sleeps_here_x7q(Instant::now() + Duration::from_secs_f64(seconds));
            println!("asleep_us {}", asleep.as_micros());
        }
        _ => panic!("{usage}"),
    }
}
