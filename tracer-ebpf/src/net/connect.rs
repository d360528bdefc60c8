//! The kernel logic of tcpconnect and tcpconnlat, shared by the `tcpconnect`
//! (ring buffer) and `tcpconnect_compat` (perf buffer) objects.
//!
//! tcpconnect reports a connect once it is known, with its source port:
//! - function path (fentry/fexit, kprobes; libbpf-tools' hooks): when
//!   tcp_v4_connect/tcp_v6_connect return 0, i.e. a SYN was sent;
//! - tracepoint path: the socket that enters SYN_SENT (sock:inet_sock_set_state,
//!   in the connecting thread's context) during a connect() syscall is
//!   remembered by thread and reported at that syscall's exit, whatever it
//!   returned (0, EINPROGRESS for non-blocking sockets, ECONNREFUSED...).
//!   The source port is chosen after SYN_SENT is set, so not at the state
//!   change.
//!
//! tcpconnlat takes the SYN_SENT time and the connecting process at the
//! SYN_SENT change and reports at the change from SYN_SENT to ESTABLISHED
//! (in softirq, where the current task is not the connecting one).

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid, bpf_ktime_get_ns,
    },
    maps::{HashMap, PerCpuArray},
};
use tracer_common::net::{
    connect::{
        Config, ConnectEvent, ConnectOffsets, CountKey, DROP_COUNT_FULL, IPPROTO_TCP, MAX_PORTS, PendingConnect, Start,
        state,
    },
    sock::{EndpointOffsets, Endpoints},
};

use crate::{
    counters::{self, Added},
    events::{EventSink, send_or_count},
    global_ptr,
    net::sock,
    setting,
    task::{Offsets, ProbeRead, Task},
};

/// The maps and settings of one object.
pub struct Connect<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<ConnectOffsets>,
    pub task_offsets: &'a Offsets,
    /// Thread id → the socket that entered SYN_SENT in its connect().
    pub threads: &'a HashMap<u32, PendingConnect>,
    /// tcpconnlat: socket → its SYN_SENT time and owner.
    pub starts: &'a HashMap<u64, Start>,
    /// tcpconnect --count.
    pub counts: &'a HashMap<CountKey, u64>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Connect<'_, S> {
    #[inline(always)]
    fn endpoint_offsets(&self) -> *const EndpointOffsets {
        // SAFETY: a field address inside the read-only global.
        unsafe { &raw const (*global_ptr(self.offsets)).endpoints }
    }

    /// The protocol of a socket, read from `struct sock` (BTF paths).
    #[inline(always)]
    pub fn protocol(&self, sk: *const u8) -> u16 {
        // SAFETY: sk is the hook's socket pointer.
        unsafe { sock::protocol(sk, self.endpoint_offsets()) }
    }

    /// The pid, uid and cgroup filters, on the current task.
    #[inline(always)]
    fn admitted(&self) -> bool {
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && (bpf_get_current_pid_tgid() >> 32) as u32 != target_pid {
            return false;
        }
        let target_uid = setting!(*self.config, target_uid);
        if target_uid != u32::MAX && bpf_get_current_uid_gid() as u32 != target_uid {
            return false;
        }
        if setting!(*self.config, filter_cgroup) != 0 {
            // SAFETY: helper without arguments.
            let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
            if !task.in_cgroup(
                self.task_offsets,
                setting!(*self.config, cgroup_level),
                setting!(*self.config, cgroup_id),
            ) {
                return false;
            }
        }
        true
    }

    /// The family and destination port filters.
    #[inline(always)]
    fn wanted(&self, endpoints: &Endpoints) -> bool {
        let family = setting!(*self.config, target_family);
        if family != 0 && u32::from(endpoints.family) != family {
            return false;
        }
        let count = setting!(*self.config, port_count) as usize;
        if count == 0 {
            return true;
        }
        // SAFETY: a field address inside the read-only global.
        let ports = unsafe { (&raw const (*global_ptr(self.config)).ports).cast::<u16>() };
        let mut i = 0;
        while i < MAX_PORTS {
            // SAFETY: i < MAX_PORTS, the array's length.
            if i < count && unsafe { core::ptr::read_volatile(ports.add(i)) } == endpoints.rport {
                return true;
            }
            i += 1;
        }
        false
    }

    // --- tcpconnect, tracepoint path

    /// sys_enter_connect: this thread is connecting.
    #[inline(always)]
    pub fn enter_connect(&self) {
        if !self.admitted() {
            return;
        }
        let tid = bpf_get_current_pid_tgid() as u32;
        let _ = self.threads.insert(&tid, &PendingConnect::ZERO, 0);
    }

    /// inet_sock_set_state for tcpconnect: the socket a connecting thread
    /// put in SYN_SENT.
    #[inline(always)]
    pub fn connect_state(&self, sk: *const u8, newstate: i32, protocol: u16) {
        if newstate != state::SYN_SENT || protocol != IPPROTO_TCP {
            return;
        }
        let tid = bpf_get_current_pid_tgid() as u32;
        if let Some(slot) = self.threads.get_ptr_mut(&tid) {
            // SAFETY: sk is the tracepoint's socket; the reads go through the helper.
            let endpoints = unsafe { sock::endpoints(sk, self.endpoint_offsets()) }.unwrap_or(Endpoints::ZERO);
            // SAFETY: this thread's own entry.
            unsafe { *slot = PendingConnect { sk: sk as u64, endpoints } };
        }
    }

    /// sys_exit_connect: report the socket this call put in SYN_SENT.
    #[inline(always)]
    pub fn exit_connect<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.threads.get(&tid) }).copied() else { return };
        let _ = self.threads.remove(&tid);
        if pending.sk == 0 {
            return;
        }
        // The addresses and destination were set before SYN_SENT; the source
        // port after it, and it survives a disconnect.
        let mut endpoints = pending.endpoints;
        // SAFETY: the socket the call connected; read through the helper.
        endpoints.lport = unsafe { sock::local_port(pending.sk as *const u8, self.endpoint_offsets()) };
        self.connected(ctx, endpoints, ret as i32);
    }

    // --- tcpconnect, function path

    /// kprobe on tcp_v4_connect/tcp_v6_connect: the socket, by thread.
    #[inline(always)]
    pub fn function_entry(&self, sk: *const u8) {
        if sk.is_null() || !self.admitted() {
            return;
        }
        let tid = bpf_get_current_pid_tgid() as u32;
        let _ = self.threads.insert(&tid, &PendingConnect { sk: sk as u64, endpoints: Endpoints::ZERO }, 0);
    }

    /// kretprobe on the same.
    #[inline(always)]
    pub fn function_return<C: EbpfContext>(&self, ctx: &C, ret: i32) {
        let tid = bpf_get_current_pid_tgid() as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.threads.get(&tid) }).copied() else { return };
        let _ = self.threads.remove(&tid);
        if ret == 0 {
            self.connected_socket(ctx, pending.sk as *const u8);
        }
    }

    /// fexit on tcp_v4_connect/tcp_v6_connect: socket and return at once.
    /// `v6`: tcp_v6_connect, which hands an IPv4-mapped destination to
    /// tcp_v4_connect, whose fexit has reported it already.
    #[inline(always)]
    pub fn function_exit<C: EbpfContext>(&self, ctx: &C, sk: *const u8, ret: i32, v6: bool) {
        if ret != 0 || sk.is_null() || !self.admitted() {
            return;
        }
        // SAFETY: sk is the function's socket; read through the helper.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        let mapped = endpoints.raddr[..10].iter().all(|&b| b == 0) && endpoints.raddr[10..12] == [0xff, 0xff];
        if v6 && mapped {
            return;
        }
        self.connected(ctx, endpoints, 0);
    }

    /// A successful tcp_v4/v6_connect of `sk`.
    #[inline(always)]
    fn connected_socket<C: EbpfContext>(&self, ctx: &C, sk: *const u8) {
        // SAFETY: sk is a socket pointer; the reads go through the helper.
        if let Some(endpoints) = unsafe { sock::endpoints(sk, self.endpoint_offsets()) } {
            self.connected(ctx, endpoints, 0);
        }
    }

    /// A connect by the current task is known: count it or send it.
    #[inline(always)]
    fn connected<C: EbpfContext>(&self, ctx: &C, endpoints: Endpoints, ret: i32) {
        if !self.wanted(&endpoints) {
            return;
        }
        if setting!(*self.config, count) != 0 {
            let key = CountKey {
                family: endpoints.family,
                dport: endpoints.rport,
                _pad: 0,
                saddr: endpoints.laddr,
                daddr: endpoints.raddr,
            };
            if counters::add(self.counts, &key, 1) == Added::Full {
                crate::count_drop!(self.drops, DROP_COUNT_FULL);
            }
            return;
        }
        let pid_tgid = bpf_get_current_pid_tgid();
        let mut event = ConnectEvent::ZERO;
        // SAFETY: helper without arguments.
        event.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.pid = (pid_tgid >> 32) as u32;
        event.uid = bpf_get_current_uid_gid() as u32;
        event.ret = ret;
        event.endpoints = endpoints;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        self.send(ctx, &event);
    }

    #[inline(always)]
    fn send<C: EbpfContext>(&self, ctx: &C, event: &ConnectEvent) {
        // SAFETY: the event is plain data.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), core::mem::size_of::<ConnectEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    // --- tcpconnlat

    /// inet_sock_set_state for tcpconnlat.
    #[inline(always)]
    pub fn latency_state<C: EbpfContext>(&self, ctx: &C, sk: *const u8, oldstate: i32, newstate: i32, protocol: u16) {
        if protocol != IPPROTO_TCP {
            return;
        }
        let key = sk as u64;
        if newstate == state::SYN_SENT {
            if !self.admitted() {
                return;
            }
            let pid_tgid = bpf_get_current_pid_tgid();
            let start = Start {
                // SAFETY: helper without arguments.
                timestamp_ns: unsafe { bpf_ktime_get_ns() },
                pid: (pid_tgid >> 32) as u32,
                uid: bpf_get_current_uid_gid() as u32,
                comm: bpf_get_current_comm().unwrap_or([0; 16]),
            };
            let _ = self.starts.insert(&key, &start, 0);
            return;
        }
        if oldstate != state::SYN_SENT {
            return;
        }
        // SAFETY: copied out before the entry is removed.
        let Some(start) = (unsafe { self.starts.get(&key) }).copied() else { return };
        let _ = self.starts.remove(&key);
        if newstate != state::ESTABLISHED {
            return;
        }
        // SAFETY: helper without arguments.
        let now = unsafe { bpf_ktime_get_ns() };
        let latency = now.saturating_sub(start.timestamp_ns);
        if latency < setting!(*self.config, min_latency_ns) {
            return;
        }
        // SAFETY: sk is the tracepoint's socket.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, self.endpoint_offsets()) }) else { return };
        if !self.wanted(&endpoints) {
            return;
        }
        let mut event = ConnectEvent::ZERO;
        event.timestamp_ns = now;
        event.latency_ns = latency;
        event.pid = start.pid;
        event.uid = start.uid;
        event.endpoints = endpoints;
        event.comm = start.comm;
        self.send(ctx, &event);
    }

    /// Classic record fields of inet_sock_set_state: (sk, oldstate, newstate, protocol).
    ///
    /// # Safety
    /// `ctx` must be the classic tracepoint's context.
    #[inline(always)]
    pub unsafe fn state_record(
        &self,
        ctx: &aya_ebpf::programs::TracePointContext,
    ) -> Option<(*const u8, i32, i32, u16)> {
        // SAFETY: offsets come from the tracepoint's format file.
        unsafe {
            let sk = ctx.read_at::<u64>(setting!(*self.offsets, record.skaddr) as usize).ok()?;
            let old = ctx.read_at::<i32>(setting!(*self.offsets, record.oldstate) as usize).ok()?;
            let new = ctx.read_at::<i32>(setting!(*self.offsets, record.newstate) as usize).ok()?;
            let protocol = ctx.read_at::<u16>(setting!(*self.offsets, record.protocol) as usize).ok()?;
            Some((sk as *const u8, old, new, protocol))
        }
    }
}

/// Kprobes and classic tracepoint programs, identical in both objects.
/// `$connect` builds the object's `Connect`.
#[macro_export]
macro_rules! connect_programs {
    ($connect:ident, $offsets:ident) => {
        /// `tcp_v4_connect(sk, uaddr, addr_len)` and `tcp_v6_connect(...)`.
        #[kprobe]
        pub fn tcpconnect_kprobe(ctx: ProbeContext) -> u32 {
            $connect().function_entry(ctx.arg::<*const u8>(0).unwrap_or(core::ptr::null()));
            0
        }

        #[kretprobe]
        pub fn tcpconnect_kretprobe(ctx: RetProbeContext) -> u32 {
            $connect().function_return(&ctx, ctx.ret::<i32>());
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_enter_connect")]
        pub fn tcpconnect_enter_tp(_ctx: TracePointContext) -> u32 {
            $connect().enter_connect();
            0
        }

        #[tracepoint(category = "syscalls", name = "sys_exit_connect")]
        pub fn tcpconnect_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoint's format file.
            let ret = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) }.unwrap_or(0);
            $connect().exit_connect(&ctx, ret);
            0
        }

        #[tracepoint(category = "sock", name = "inet_sock_set_state")]
        pub fn tcpconnect_state_tp(ctx: TracePointContext) -> u32 {
            let connect = $connect();
            // SAFETY: the classic tracepoint's context.
            if let Some((sk, _, new, protocol)) = unsafe { connect.state_record(&ctx) } {
                connect.connect_state(sk, new, protocol);
            }
            0
        }

        #[tracepoint(category = "sock", name = "inet_sock_set_state")]
        pub fn tcpconnlat_state_tp(ctx: TracePointContext) -> u32 {
            let connect = $connect();
            // SAFETY: the classic tracepoint's context.
            if let Some((sk, old, new, protocol)) = unsafe { connect.state_record(&ctx) } {
                connect.latency_state(&ctx, sk, old, new, protocol);
            }
            0
        }
    };
}
