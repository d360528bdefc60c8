//! Test workload: many short TCP connections between two known processes.
//!
//! Usage:
//!   tracer-connects server v4|v6 PORT COUNT
//!       listens on loopback PORT (0: any), prints `ready PID`, then
//!       `port N`, accepts COUNT connections one after another (reading each
//!       until the client closes), prints `accepted COUNT` and exits.
//!   tracer-connects client ADDR PORT COUNT
//!       connects COUNT times in turn, each time sending one byte and
//!       closing, then prints `connected COUNT` (and the source ports it
//!       was given, as `ports P1,P2,...`).
//!
//! The processes name themselves `conn-server` / `conn-client`.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
};

fn set_comm(name: &str) {
    let name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn usage() -> ! {
    eprintln!("usage: tracer-connects server v4|v6 PORT COUNT | client ADDR PORT COUNT");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |index: usize| args.get(index).and_then(|a| a.parse::<u32>().ok()).unwrap_or_else(|| usage());
    match args.get(1).map(String::as_str) {
        Some("server") => {
            set_comm("conn-server");
            let address = match args.get(2).map(String::as_str) {
                Some("v4") => "127.0.0.1",
                Some("v6") => "::1",
                _ => usage(),
            };
            let (port, count) = (number(3), number(4));
            let listener = TcpListener::bind((address, port as u16)).expect("bind");
            println!("ready {}", std::process::id());
            println!("port {}", listener.local_addr().expect("local address").port());
            let mut buffer = [0u8; 64];
            for _ in 0..count {
                let (mut stream, _) = listener.accept().expect("accept");
                while stream.read(&mut buffer).expect("read") > 0 {}
            }
            println!("accepted {count}");
        }
        Some("client") => {
            set_comm("conn-client");
            let address = args.get(2).unwrap_or_else(|| usage()).clone();
            let (port, count) = (number(3), number(4));
            let mut ports = Vec::new();
            for _ in 0..count {
                let mut stream = TcpStream::connect((address.as_str(), port as u16)).expect("connect");
                ports.push(stream.local_addr().expect("local address").port().to_string());
                stream.write_all(b"x").expect("write");
            }
            println!("connected {count}");
            println!("ports {}", ports.join(","));
        }
        _ => usage(),
    }
}
