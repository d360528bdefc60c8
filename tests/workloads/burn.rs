//! Test workload: keeps N threads busy on the CPU for S seconds.
//!
//! Usage: tracer-burn THREADS SECONDS [NAME]
//!
//! NAME (at most 15 bytes) becomes the comm of the process and its threads,
//! so tests can tell two burners apart. Prints `ready PID` once every thread
//! runs, then exits after SECONDS (or when killed).

use std::{
    io::Write,
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|a| a.parse().ok()).expect("usage: tracer-burn THREADS SECONDS [NAME]");
    let seconds: f64 = args.get(2).and_then(|a| a.parse().ok()).expect("usage: tracer-burn THREADS SECONDS [NAME]");
    if let Some(name) = args.get(3) {
        let name = std::ffi::CString::new(name.as_bytes()).expect("name without NUL");
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (truncated to 15 bytes).
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let started = Arc::clone(&started);
            std::thread::spawn(move || {
                started.wait();
                let mut x = 0u64;
                while Instant::now() < deadline {
                    for i in 0..10_000u64 {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
                    }
                }
                x
            })
        })
        .collect();
    started.wait();
    println!("ready {}", std::process::id());
    let _ = std::io::stdout().flush();
    for worker in workers {
        let _ = worker.join();
    }
}
