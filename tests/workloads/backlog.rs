//! Test workload: a listener that never accepts, and clients with known
//! source ports, for the SYN backlog and drop tools.
//!
//! Usage:
//!   tracer-backlog listen ADDR PORT BACKLOG
//!       listens on ADDR:PORT with listen(BACKLOG), prints `ready PID`, and
//!       never accepts; exits when its stdin closes.
//!   tracer-backlog connect ADDR PORT COUNT FIRST_SPORT WAIT_MS
//!       prints `ready PID`, waits for a `go` line, then starts COUNT
//!       non-blocking connects from source ports FIRST_SPORT,
//!       FIRST_SPORT+1, ..., holds them WAIT_MS, prints `connected N` (how
//!       many completed) and exits.
//!
//! The processes name themselves `bl-listen` / `bl-connect`.

use std::{
    io::BufRead,
    mem::size_of,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

fn set_comm(name: &str) {
    let name = std::ffi::CString::new(name).expect("no NUL");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn usage() -> ! {
    eprintln!("usage: tracer-backlog listen ADDR PORT BACKLOG | connect ADDR PORT COUNT FIRST_SPORT WAIT_MS");
    std::process::exit(2);
}

/// A socket address as the kernel takes it.
fn raw(address: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// A TCP socket bound to `address` (SO_REUSEADDR set).
fn bound_socket(address: SocketAddr) -> i32 {
    let family = if address.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain system calls on a descriptor we own.
    unsafe {
        let fd = libc::socket(family, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let one: libc::c_int = 1;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, std::ptr::from_ref(&one).cast(), 4);
        let (storage, len) = raw(address);
        let bound = libc::bind(fd, std::ptr::from_ref(&storage).cast(), len);
        assert!(bound == 0, "bind {address}: {}", std::io::Error::last_os_error());
        fd
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |index: usize| args.get(index).and_then(|a| a.parse::<u32>().ok()).unwrap_or_else(|| usage());
    let ip: IpAddr = args.get(2).and_then(|a| a.parse().ok()).unwrap_or_else(|| usage());
    let port = number(3) as u16;
    let stdin = std::io::stdin();
    match args.get(1).map(String::as_str) {
        Some("listen") => {
            set_comm("bl-listen");
            let fd = bound_socket(SocketAddr::new(ip, port));
            // SAFETY: a socket we own.
            let listening = unsafe { libc::listen(fd, number(4) as i32) };
            assert!(listening == 0, "listen: {}", std::io::Error::last_os_error());
            println!("ready {}", std::process::id());
            // Never accept: hold the listener until stdin closes.
            for _ in stdin.lock().lines() {}
        }
        Some("connect") => {
            set_comm("bl-connect");
            let (count, first, wait_ms) = (number(4), number(5), number(6));
            println!("ready {}", std::process::id());
            let mut line = String::new();
            stdin.lock().read_line(&mut line).expect("read go");
            let (storage, len) = raw(SocketAddr::new(ip, port));
            let sockets: Vec<i32> = (0..count)
                .map(|index| {
                    let local = SocketAddr::new(
                        if ip.is_ipv4() { "127.0.0.1".parse().unwrap() } else { "::1".parse().unwrap() },
                        (first + index) as u16,
                    );
                    let fd = bound_socket(local);
                    // SAFETY: a socket we own, and an address we built.
                    unsafe {
                        libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
                        libc::connect(fd, std::ptr::from_ref(&storage).cast(), len);
                    }
                    fd
                })
                .collect();
            std::thread::sleep(Duration::from_millis(u64::from(wait_ms)));
            let connected = sockets
                .iter()
                .filter(|&&fd| {
                    let mut error: libc::c_int = 0;
                    let mut size = 4 as libc::socklen_t;
                    let mut pollfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                    // SAFETY: system calls on a socket we own.
                    unsafe {
                        libc::poll(&mut pollfd, 1, 0);
                        libc::getsockopt(
                            fd,
                            libc::SOL_SOCKET,
                            libc::SO_ERROR,
                            std::ptr::from_mut(&mut error).cast(),
                            &mut size,
                        );
                    }
                    pollfd.revents & libc::POLLOUT != 0 && error == 0
                })
                .count();
            println!("connected {connected}");
        }
        _ => usage(),
    }
}
