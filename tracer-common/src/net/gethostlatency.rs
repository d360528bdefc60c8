//! `gethostlatency`: the event and settings of libc name lookups traced by
//! uprobes (getaddrinfo, gethostbyname, gethostbyname2).

use crate::TASK_COMM_LEN;

/// Bytes kept of the name looked up, NUL included: a DNS name has at most
/// 253 characters, so a read that fills the buffer was cut short.
pub const HOST_LEN: usize = 256;

/// The traced functions, in the order of `Lookup::function`.
pub const FUNCTIONS: [&str; 3] = ["getaddrinfo", "gethostbyname", "gethostbyname2"];

/// Lookups in flight at once (one per thread).
pub const IN_FLIGHT_ENTRIES: u32 = 10240;

/// Loss reason counted in `EVENT_DROPS[1]`: no room in the in-flight map.
pub const DROP_IN_FLIGHT_FULL: u32 = 1;

/// One lookup: filled at entry (in the in-flight map, by thread), completed
/// and sent at return.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Lookup {
    /// At entry the start; at return the end (the event's time).
    pub timestamp_ns: u64,
    pub latency_ns: u64,
    /// The function's return value: getaddrinfo's error code (0: found),
    /// gethostbyname*'s `struct hostent *` (0: not found).
    pub ret: u64,
    pub pid: u32,
    pub tid: u32,
    /// Index into `FUNCTIONS`.
    pub function: u32,
    /// `bpf_probe_read_user_str`'s result: the name's length with its NUL,
    /// `HOST_LEN` if cut short, negative if unreadable.
    pub host_len: i32,
    pub comm: [u8; TASK_COMM_LEN],
    pub host: [u8; HOST_LEN],
}

impl Lookup {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        latency_ns: 0,
        ret: 0,
        pid: 0,
        tid: 0,
        function: 0,
        host_len: 0,
        comm: [0; TASK_COMM_LEN],
        host: [0; HOST_LEN],
    };
}

crate::impl_pod!(Lookup);

/// Read-only global `GETHOSTLATENCY_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only lookups of this process (0: all).
    pub target_tgid: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { target_tgid: 0 };
}

crate::impl_pod!(Config);
