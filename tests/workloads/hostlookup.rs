//! Test workload: name lookups through libc with known names, answered by
//! a hosts file of the caller's choosing.
//!
//! Usage: tracer-hostlookup [--hosts FILE] NAME...
//!
//! With `--hosts`, it first moves into a mount namespace of its own and
//! bind-mounts FILE over /etc/hosts there, so the lookups are answered by
//! FILE and nothing else on the host sees it. It names itself `hostlookup`,
//! prints `ready PID`, waits for a line on stdin, then resolves each NAME
//! with getaddrinfo, gethostbyname and gethostbyname2 (AF_INET), in that
//! order, printing `FUNCTION NAME ADDRESS` (`-` when not found) for each.

use std::{
    ffi::{CStr, CString, c_char, c_int},
    io::BufRead,
    net::Ipv4Addr,
};

#[repr(C)]
struct HostEnt {
    h_name: *mut c_char,
    h_aliases: *mut *mut c_char,
    h_addrtype: c_int,
    h_length: c_int,
    h_addr_list: *mut *mut c_char,
}

unsafe extern "C" {
    fn gethostbyname(name: *const c_char) -> *mut HostEnt;
    fn gethostbyname2(name: *const c_char, af: c_int) -> *mut HostEnt;
}

fn usage() -> ! {
    eprintln!("usage: tracer-hostlookup [--hosts FILE] NAME...");
    std::process::exit(2);
}

fn check(what: &str, result: c_int) {
    if result != 0 {
        eprintln!("tracer-hostlookup: {what}: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    }
}

/// A mount namespace of our own, with `hosts` as its /etc/hosts.
fn private_hosts(hosts: &str) {
    let source = CString::new(hosts).unwrap_or_else(|_| usage());
    // SAFETY: plain system calls on NUL-terminated strings.
    unsafe {
        check("unshare(CLONE_NEWNS)", libc::unshare(libc::CLONE_NEWNS));
        let root = c"/";
        check(
            "make / private",
            libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ),
        );
        check(
            "bind-mount the hosts file",
            libc::mount(source.as_ptr(), c"/etc/hosts".as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()),
        );
    }
}

fn first_address(entry: *mut HostEnt) -> String {
    // SAFETY: a non-NULL hostent from libc, read before the next lookup.
    unsafe {
        if entry.is_null() || (*entry).h_addr_list.is_null() || (*(*entry).h_addr_list).is_null() {
            return "-".into();
        }
        let bytes = std::slice::from_raw_parts(*(*entry).h_addr_list as *const u8, 4);
        Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()
    }
}

fn getaddrinfo(name: &CStr) -> String {
    // SAFETY: hints zeroed then set; the result list is freed.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_family = libc::AF_INET;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut result: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut result) != 0 || result.is_null() {
            return "-".into();
        }
        let address = &*((*result).ai_addr as *const libc::sockaddr_in);
        let text = Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr)).to_string();
        libc::freeaddrinfo(result);
        text
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--hosts") {
        let hosts = args.get(1).cloned().unwrap_or_else(|| usage());
        private_hosts(&hosts);
        args.drain(..2);
    }
    if args.is_empty() {
        usage();
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"hostlookup".as_ptr()) };
    println!("ready {}", std::process::id());
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    for name in &args {
        let c_name = CString::new(name.as_str()).unwrap_or_else(|_| usage());
        println!("getaddrinfo {name} {}", getaddrinfo(&c_name));
        // SAFETY: a NUL-terminated name; the result is read at once.
        println!("gethostbyname {name} {}", first_address(unsafe { gethostbyname(c_name.as_ptr()) }));
        // SAFETY: as above.
        println!("gethostbyname2 {name} {}", first_address(unsafe { gethostbyname2(c_name.as_ptr(), libc::AF_INET) }));
    }
}
