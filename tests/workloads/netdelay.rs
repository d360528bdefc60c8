//! Test workload: a packet delayer, for tests that need latency on a path
//! (this host's kernel has no netem). iptables sends the test's packets to
//! NFQUEUE; this holds each one for a fixed time, then lets it through.
//!
//! Usage: tracer-netdelay QUEUE DELAY_MS
//!   binds NFQUEUE number QUEUE (in the network namespace it runs in),
//!   prints `ready PID`, and delays every queued packet by DELAY_MS until
//!   it is killed. Packets keep their order: each waits for the one before.

use std::{
    collections::VecDeque,
    io::ErrorKind,
    time::{Duration, Instant},
};

use nfq::{Queue, Verdict};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(queue_num), Some(delay_ms)) =
        (args.get(1).and_then(|a| a.parse::<u16>().ok()), args.get(2).and_then(|a| a.parse::<u64>().ok()))
    else {
        eprintln!("usage: tracer-netdelay QUEUE DELAY_MS");
        std::process::exit(2);
    };
    let delay = Duration::from_millis(delay_ms);
    // Real-time, so that a loaded host (parallel builds) does not wake it
    // late and add its own wait to the delay it is asked for (measured: 30
    // ms became 50-65 at a load average of 13 on 2 cores).
    let param = libc::sched_param { sched_priority: 50 };
    // SAFETY: plain system call on this process with a valid parameter.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    let mut queue = Queue::open().expect("open a netfilter queue socket (needs CAP_NET_ADMIN)");
    queue.bind(queue_num).expect("bind the NFQUEUE number");
    queue.set_nonblocking(true);
    println!("ready {}", std::process::id());
    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    loop {
        loop {
            match queue.recv() {
                Ok(message) => held.push_back((Instant::now() + delay, message)),
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => panic!("NFQUEUE receive: {error}"),
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            let (_, mut message) = held.pop_front().expect("front exists");
            message.set_verdict(Verdict::Accept);
            queue.verdict(message).expect("NFQUEUE verdict");
        }
        // Packets are due to the tenth of a millisecond; the wait is short.
        std::thread::sleep(Duration::from_micros(100));
    }
}
