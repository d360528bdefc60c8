//! Test workload: one loopback TCP session with known byte counts.
//!
//! Usage:
//!   tracer-tcp server v4|v6 RECV_BYTES SEND_BYTES
//!       listens on loopback, prints `port N`, accepts one connection, reads
//!       RECV_BYTES, sends SEND_BYTES, waits for the client to close, closes.
//!   tracer-tcp client ADDR PORT SEND_BYTES RECV_BYTES HOLD_MS
//!       connects, sends, reads, holds the connection HOLD_MS, closes first,
//!       then prints `duration_ms D` (connect to close, as it measured it).
//!
//! The process names itself `tcp-server` / `tcp-client` so tests can check
//! which side a line belongs to.

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    time::{Duration, Instant},
};

fn set_comm(name: &str) {
    let name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn read_exactly(stream: &mut TcpStream, mut remaining: usize) {
    let mut buffer = vec![0u8; 65536];
    while remaining > 0 {
        let n = stream.read(&mut buffer[..remaining.min(65536)]).expect("read");
        assert!(n > 0, "peer closed with {remaining} bytes to go");
        remaining -= n;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |index: usize| -> usize { args[index].parse().expect("a number") };
    match args.get(1).map(String::as_str) {
        Some("server") => {
            set_comm("tcp-server");
            let address = if args[2] == "v6" { "[::1]:0" } else { "127.0.0.1:0" };
            let listener = TcpListener::bind(address).expect("bind");
            println!("port {}", listener.local_addr().expect("local addr").port());
            let (mut stream, _) = listener.accept().expect("accept");
            read_exactly(&mut stream, number(3));
            stream.write_all(&vec![b's'; number(4)]).expect("write");
            // Wait for the client's FIN, then close: our socket goes through LAST_ACK.
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).expect("read to end");
            drop(stream);
        }
        Some("client") => {
            set_comm("tcp-client");
            let started = Instant::now();
            let mut stream = TcpStream::connect((args[2].as_str(), number(3) as u16)).expect("connect");
            stream.write_all(&vec![b'c'; number(4)]).expect("write");
            read_exactly(&mut stream, number(5));
            std::thread::sleep(Duration::from_millis(number(6) as u64));
            stream.shutdown(Shutdown::Both).ok();
            drop(stream);
            println!("duration_ms {:.3}", started.elapsed().as_secs_f64() * 1e3);
        }
        _ => panic!("usage: tracer-tcp server|client ..."),
    }
}
