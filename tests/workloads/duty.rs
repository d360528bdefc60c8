//! Test workload: one thread alternating busy and asleep.
//!
//! Usage: tracer-duty BUSY_MS SLEEP_MS SECONDS
//!
//! Runs as a real-time (SCHED_FIFO) thread when it may, so that other load
//! on the machine (a parallel build) cannot preempt it and split its busy
//! periods: its on- and off-CPU times are then the ones it chose. Prints
//! `ready PID`, waits for a line on stdin, then for SECONDS spins on
//! the CPU for BUSY_MS and sleeps for SLEEP_MS, over and over; prints
//! `cycles N` at the end.

use std::{
    io::{BufRead, Write},
    time::{Duration, Instant},
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |index: usize| -> u64 {
        args.get(index).and_then(|a| a.parse().ok()).expect("usage: tracer-duty BUSY_MS SLEEP_MS SECONDS")
    };
    let (busy, sleep, seconds) =
        (Duration::from_millis(number(1)), Duration::from_millis(number(2)), Duration::from_secs(number(3)));
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: plain syscall on this thread; failure (not root) leaves it as it was.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &raw const param) };
    println!("ready {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).expect("wait for go");

    let end = Instant::now() + seconds;
    let mut cycles = 0u64;
    let mut x = 0u64;
    while Instant::now() < end {
        let spin_until = Instant::now() + busy;
        while Instant::now() < spin_until {
            for i in 0..1000u64 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
            }
        }
        std::thread::sleep(sleep);
        cycles += 1;
    }
    println!("cycles {cycles}");
}
