//! tcpaccept's kernel logic, shared by `tcpaccept` (ring buffer) and
//! `tcpaccept_compat` (perf buffer): one program on the classic
//! `sys_exit_accept` and `sys_exit_accept4` tracepoints. The new
//! descriptor leads to the accepted socket (`net::fd_socket`); the task is
//! the process that accepted, as bcc's kretprobe on inet_csk_accept sees it
//! (sock:inet_sock_set_state would report the softirq's interrupted task).

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::PerCpuArray,
};
use tracer_common::net::{
    sock::IPPROTO_TCP,
    tcpaccept::{AcceptEvent, AcceptOffsets, Config, MAX_PORTS},
};

use crate::{
    events::{EventSink, send_or_count},
    global_ptr,
    net::{fd_socket, sock},
    setting,
};

pub struct Tcpaccept<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<AcceptOffsets>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Tcpaccept<'_, S> {
    /// sys_exit_accept/accept4 returned `ret` (the new descriptor, or -errno).
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        if ret < 0 {
            return;
        }
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && (pid_tgid >> 32) as u32 != target_pid {
            return;
        }
        // SAFETY: field addresses inside the read-only global.
        let (fd_offsets, endpoint_offsets) = unsafe {
            let offsets = global_ptr(self.offsets);
            (&raw const (*offsets).fd, &raw const (*offsets).endpoints)
        };
        // SAFETY: the walk reads through the probe-read helper.
        let Some(sk) = (unsafe { fd_socket::sock_of_fd(fd_offsets, ret) }) else { return };
        // SAFETY: as above; sk came from the walk.
        if unsafe { fd_socket::protocol(fd_offsets, sk) } != Some(IPPROTO_TCP) {
            return;
        }
        // SAFETY: as above.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, endpoint_offsets) }) else { return };
        let target_family = setting!(*self.config, target_family);
        if target_family != 0 && u32::from(endpoints.family) != target_family {
            return;
        }
        if !self.port_admitted(endpoints.lport) {
            return;
        }
        let mut event = AcceptEvent::ZERO;
        // SAFETY: helper without arguments.
        event.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.pid = (pid_tgid >> 32) as u32;
        event.tid = pid_tgid as u32;
        event.fd = ret as i32;
        event.endpoints = endpoints;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<AcceptEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// Whether `-P` admits local port `port` (no list: every port).
    #[inline(always)]
    fn port_admitted(&self, port: u16) -> bool {
        let count = setting!(*self.config, port_count) as usize;
        if count == 0 {
            return true;
        }
        let config = global_ptr(self.config);
        for index in 0..MAX_PORTS {
            if index >= count {
                break;
            }
            // SAFETY: index < MAX_PORTS, inside the read-only global.
            if unsafe { core::ptr::read_volatile(&raw const (*config).ports[index]) } == port {
                return true;
            }
        }
        false
    }
}

/// The exit program, identical in both objects; `$tcpaccept` builds the
/// object's `Tcpaccept`, `$offsets` is its `ACCEPT_OFFSETS` global.
#[macro_export]
macro_rules! tcpaccept_programs {
    ($tcpaccept:ident, $offsets:ident) => {
        /// Attached to sys_exit_accept and sys_exit_accept4.
        #[tracepoint]
        pub fn tcpaccept_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoints' format files.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $tcpaccept().exit(&ctx, ret);
            }
            0
        }
    };
}
