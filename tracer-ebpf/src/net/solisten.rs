//! solisten's kernel logic, shared by `solisten` (ring buffer) and
//! `solisten_compat` (perf buffer), on the classic `sys_enter_listen` and
//! `sys_exit_listen` tracepoints (libbpf-tools: fexit or kprobes on
//! inet_listen). Entry keeps the descriptor and backlog per thread; exit
//! reads the socket (`net::fd_socket`): its type, family, and the local
//! port and address it listens on.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::net::solisten::{Config, ListenEvent, ListenOffsets, PendingListen};

use crate::{
    events::{EventSink, send_or_count},
    global_ptr,
    net::{fd_socket, sock},
    setting,
    task::probe_read,
};

pub struct Solisten<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<ListenOffsets>,
    pub pending: &'a LruHashMap<u32, PendingListen>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Solisten<'_, S> {
    /// sys_enter_listen(fd, backlog).
    #[inline(always)]
    pub fn enter(&self, fd: u64, backlog: u64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && (pid_tgid >> 32) as u32 != target_pid {
            return;
        }
        let pending = PendingListen { fd: fd as i32, backlog: backlog as i32 };
        let _ = self.pending.insert(&(pid_tgid as u32), &pending, 0);
    }

    /// sys_exit_listen: report the call that returned `ret`.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        let offsets = global_ptr(self.offsets);
        // SAFETY: field addresses inside the read-only global.
        let (fd_offsets, endpoint_offsets) = unsafe { (&raw const (*offsets).fd, &raw const (*offsets).endpoints) };
        // SAFETY: the walk reads through the probe-read helper.
        let Some((socket, sk)) = (unsafe { fd_socket::socket_of_fd(fd_offsets, i64::from(pending.fd)) }) else {
            return;
        };
        // SAFETY: as above.
        let Some(endpoints) = (unsafe { sock::endpoints(sk, endpoint_offsets) }) else { return };
        let mut event = ListenEvent::ZERO;
        // SAFETY: helper without arguments; the socket read goes through the helper.
        unsafe {
            event.timestamp_ns = bpf_ktime_get_ns();
            event.sock_type =
                probe_read::<u16>(socket, core::ptr::read_volatile(&raw const (*fd_offsets).socket_type)).unwrap_or(0);
        }
        event.pid = (pid_tgid >> 32) as u32;
        event.tid = tid;
        event.ret = ret as i32;
        event.backlog = pending.backlog;
        event.family = endpoints.family;
        event.port = endpoints.lport;
        event.addr = endpoints.laddr;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<ListenEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}

/// The programs, identical in both objects; `$solisten` builds the
/// object's `Solisten`, `$offsets` is its `LISTEN_OFFSETS` global.
#[macro_export]
macro_rules! solisten_programs {
    ($solisten:ident, $offsets:ident) => {
        #[tracepoint]
        pub fn solisten_enter_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: offsets come from the tracepoint's format file.
            unsafe {
                if let (Ok(fd), Ok(backlog)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, enter_fd) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, enter_backlog) as usize),
                ) {
                    $solisten().enter(fd, backlog);
                }
            }
            0
        }

        #[tracepoint]
        pub fn solisten_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoint's format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $solisten().exit(&ctx, ret);
            }
            0
        }
    };
}
