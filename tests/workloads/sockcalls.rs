//! Test workload: socket calls with known ports, results and backlog, for
//! tcpaccept (through accept(2), not accept4), bindsnoop and solisten.
//!
//! Usage: tracer-sockcalls v4|v6 BACKLOG [PORT]
//!
//! Prints `ready PID`, waits for a line on stdin, then, as `sockcalls`:
//! 1. a TCP socket with SO_REUSEADDR binds the loopback address, port 0
//!    (the kernel picks P; or PORT), and listens with BACKLOG;
//! 2. a second TCP socket binds port P again: EADDRINUSE;
//! 3. a UDP socket binds port 0 (the kernel picks U), and listens with
//!    BACKLOG: EOPNOTSUPP;
//! 4. a thread connects to P and the listener accepts it with accept(2).
//!
//! Then prints `tcp P`, `udp U`, `peer PORT` (the accepted client's port)
//! `eaddrinuse 1` if step 2 failed as it should, and `udp_listen ERRNO`.

use std::{io::BufRead, mem::size_of, net::TcpStream};

fn set_comm(name: &str) {
    let name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn usage() -> ! {
    eprintln!("usage: tracer-sockcalls v4|v6 BACKLOG [PORT]");
    std::process::exit(2);
}

/// A loopback socket address of the family, with `port`.
fn address(v6: bool, port: u16) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    if v6 {
        // SAFETY: sockaddr_storage is large and aligned enough for any address.
        let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
        sin6.sin6_family = libc::AF_INET6 as u16;
        sin6.sin6_port = port.to_be();
        sin6.sin6_addr.s6_addr = std::net::Ipv6Addr::LOCALHOST.octets();
        (storage, size_of::<libc::sockaddr_in6>() as u32)
    } else {
        // SAFETY: as above.
        let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
        sin.sin_family = libc::AF_INET as u16;
        sin.sin_port = port.to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        (storage, size_of::<libc::sockaddr_in>() as u32)
    }
}

fn socket(family: i32, kind: i32) -> i32 {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(family, kind, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    fd
}

/// bind(2); Ok or the errno.
fn bind(fd: i32, v6: bool, port: u16) -> Result<(), i32> {
    let (storage, len) = address(v6, port);
    // SAFETY: the address is valid for `len` bytes.
    let ret = unsafe { libc::bind(fd, (&raw const storage).cast(), len) };
    if ret == 0 { Ok(()) } else { Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)) }
}

/// The port a socket is bound to.
fn port_of(fd: i32) -> u16 {
    // SAFETY: getsockname fills at most `len` bytes.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    assert_eq!(unsafe { libc::getsockname(fd, (&raw mut storage).cast(), &mut len) }, 0);
    // sin_port and sin6_port sit at the same offset.
    // SAFETY: as above.
    u16::from_be(unsafe { (*(&raw const storage).cast::<libc::sockaddr_in>()).sin_port })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let v6 = match args.get(1).map(String::as_str) {
        Some("v4") => false,
        Some("v6") => true,
        _ => usage(),
    };
    let backlog: i32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
    let wanted: u16 = args.get(3).map(|a| a.parse().unwrap_or_else(|_| usage())).unwrap_or(0);
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    set_comm("sockcalls");
    println!("ready {}", std::process::id());
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("read go");

    let listener = socket(family, libc::SOCK_STREAM);
    let one: i32 = 1;
    // SAFETY: a valid int option.
    unsafe {
        libc::setsockopt(
            listener,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&raw const one).cast(),
            size_of::<i32>() as u32,
        )
    };
    bind(listener, v6, wanted).expect("bind the listener");
    let port = port_of(listener);
    // SAFETY: plain syscall.
    assert_eq!(unsafe { libc::listen(listener, backlog) }, 0, "listen");

    let second = socket(family, libc::SOCK_STREAM);
    let in_use = bind(second, v6, port) == Err(libc::EADDRINUSE);

    let udp = socket(family, libc::SOCK_DGRAM);
    bind(udp, v6, 0).expect("bind the UDP socket");
    let udp_port = port_of(udp);
    // SAFETY: plain syscall; a datagram socket cannot listen.
    let udp_listen = if unsafe { libc::listen(udp, backlog) } == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    };

    let target = if v6 { format!("[::1]:{port}") } else { format!("127.0.0.1:{port}") };
    let client = std::thread::spawn(move || {
        let stream = TcpStream::connect(target).expect("connect");
        stream.local_addr().expect("local address").port()
    });
    // SAFETY: accept(2) without an address: the plain syscall, not accept4.
    let accepted = unsafe { libc::syscall(libc::SYS_accept, listener, 0usize, 0usize) };
    assert!(accepted >= 0, "accept: {}", std::io::Error::last_os_error());
    let peer = client.join().expect("client thread");
    println!("tcp {port}");
    println!("udp {udp_port}");
    println!("peer {peer}");
    println!("eaddrinuse {}", u8::from(in_use));
    println!("udp_listen {udp_listen}");
}
