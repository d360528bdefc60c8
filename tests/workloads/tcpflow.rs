//! Test workload: one TCP connection between two threads of this process,
//! both bound to an address the test picks (a unique 127/8 address in the
//! test's network namespace), with known byte counts each way.
//!
//! Usage: tracer-tcpflow ADDR SEND_BYTES RECV_BYTES [CHUNK]
//!   listens on ADDR port 0 and prints `ready PID` then `port N`; on a line
//!   on stdin, the client thread (`flow-client`) binds ADDR:0, connects,
//!   writes SEND_BYTES in CHUNK-byte writes (64 KiB by default) and reads
//!   RECV_BYTES; the server thread (`flow-server`) reads SEND_BYTES and
//!   writes RECV_BYTES back. The client closes first. Prints
//!   `client_port N` and `done`, then exits.
//!
//! Usage: tracer-tcpflow ADDR pingpong ROUNDS SIZE
//!   the same connection, but ROUNDS exchanges: the client sends SIZE bytes
//!   and waits for the server's SIZE bytes back before the next, so at most
//!   one segment is in flight each way (none waits in a socket's backlog).

use std::{
    io::{BufRead, Read, Write},
    net::{IpAddr, SocketAddr, TcpListener, TcpStream},
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

fn write_all_in(stream: &mut TcpStream, total: usize, chunk: usize) {
    let buffer = vec![b'f'; chunk];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        stream.write_all(&buffer[..n]).expect("write");
        left -= n;
    }
}

/// A socket bound to `address` port 0 before it connects (so its local
/// address is the test's, not the 127.0.0.1 the route would pick).
fn connect_from(address: IpAddr, to: SocketAddr) -> TcpStream {
    let domain = if address.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket calls on a descriptor we own; the sockaddr
    // structures outlive the calls.
    unsafe {
        let fd = libc::socket(domain, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let (storage, len) = sockaddr(SocketAddr::new(address, 0));
        assert_eq!(libc::bind(fd, std::ptr::from_ref(&storage).cast(), len), 0, "bind {address}");
        let (storage, len) = sockaddr(to);
        assert_eq!(libc::connect(fd, std::ptr::from_ref(&storage).cast(), len), 0, "connect {to}");
        std::os::fd::FromRawFd::from_raw_fd(fd)
    }
}

fn sockaddr(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
            let sin = unsafe { &mut *std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            (storage, std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            (storage, std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: tracer-tcpflow ADDR SEND_BYTES RECV_BYTES [CHUNK]");
        std::process::exit(2);
    }
    let address: IpAddr = args[1].parse().expect("an IP address");
    // pingpong: ROUNDS exchanges of SIZE bytes each way.
    let rounds: Option<usize> = (args[2] == "pingpong").then(|| args[3].parse().expect("a round count"));
    let (send, recv, chunk) = match rounds {
        Some(_) => {
            let size: usize = args[4].parse().expect("a size");
            (size, size, size)
        }
        None => (
            args[2].parse().expect("a byte count"),
            args[3].parse().expect("a byte count"),
            args.get(4).map_or(65536, |c| c.parse().expect("a chunk size")),
        ),
    };
    let repeat = rounds.unwrap_or(1);
    let listener = TcpListener::bind(SocketAddr::new(address, 0)).expect("bind the listener");
    let server_address = listener.local_addr().expect("local address");
    println!("ready {}", std::process::id());
    println!("port {}", server_address.port());
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("read go");

    let server = std::thread::spawn(move || {
        set_comm("flow-server");
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        for _ in 0..repeat {
            read_exactly(&mut stream, send);
            write_all_in(&mut stream, recv, chunk);
        }
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).expect("read to end");
    });
    let client = std::thread::spawn(move || {
        set_comm("flow-client");
        let mut stream = connect_from(address, server_address);
        let port = stream.local_addr().expect("client address").port();
        stream.set_nodelay(true).expect("TCP_NODELAY");
        for _ in 0..repeat {
            write_all_in(&mut stream, send, chunk);
            read_exactly(&mut stream, recv);
        }
        drop(stream);
        port
    });
    let port = client.join().expect("client thread");
    server.join().expect("server thread");
    println!("client_port {port}");
    println!("done");
}
