//! bindsnoop's kernel logic, shared by `bindsnoop` (ring buffer) and
//! `bindsnoop_compat` (perf buffer), on the classic `sys_enter_bind` and
//! `sys_exit_bind` tracepoints (libbpf-tools: kprobes on inet_bind and
//! inet6_bind). Entry keeps the caller's sockaddr (family, port, address)
//! per thread; exit adds the result and what the socket says: protocol,
//! option flags, bound device and, after a successful bind, its port.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns, bpf_probe_read_user,
    },
    maps::{LruHashMap, PerCpuArray},
};
use tracer_common::{
    net::{
        bindsnoop::{BindEvent, BindOffsets, Config, FlagBits, MAX_PORTS, PendingBind, opt},
        sock::{AF_INET, AF_INET6},
    },
    offsets::TaskOffsets,
};

use crate::{
    events::{EventSink, send_or_count},
    global_ptr,
    net::fd_socket,
    setting,
    task::{ProbeRead, Task, probe_read},
};

pub struct Bindsnoop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<BindOffsets>,
    pub task_offsets: &'a Global<TaskOffsets>,
    pub pending: &'a LruHashMap<u32, PendingBind>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

/// Whether the flag at `bits` is set in the socket `sk`.
///
/// # Safety
/// `bits` points into a read-only global; `sk` is a kernel socket pointer.
#[inline(always)]
unsafe fn flag(sk: *const u8, bits: *const FlagBits) -> bool {
    // SAFETY: reads of the global, then of the socket through the helper.
    unsafe {
        let word = core::ptr::read_volatile(&raw const (*bits).word);
        let shift = core::ptr::read_volatile(&raw const (*bits).shift) & 31;
        let width = core::ptr::read_volatile(&raw const (*bits).bits) & 31;
        if word == u32::MAX || width == 0 {
            return false;
        }
        probe_read::<u32>(sk, word).is_some_and(|value| (value >> shift) & ((1u32 << width) - 1) != 0)
    }
}

impl<S: EventSink> Bindsnoop<'_, S> {
    /// sys_enter_bind(fd, umyaddr, addrlen).
    #[inline(always)]
    pub fn enter(&self, fd: u64, user_addr: u64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let target_pid = setting!(*self.config, target_pid);
        if target_pid != 0 && (pid_tgid >> 32) as u32 != target_pid {
            return;
        }
        if setting!(*self.config, filter_cgroup) != 0 {
            // SAFETY: helper without arguments.
            let task = Task::<ProbeRead>::new(unsafe { bpf_get_current_task() } as *const u8);
            if !task.in_cgroup(
                self.task_offsets,
                setting!(*self.config, cgroup_level),
                setting!(*self.config, cgroup_id),
            ) {
                return;
            }
        }
        // sockaddr_in6 is the larger: family, port, flowinfo, address.
        // SAFETY: the helper checks the user address.
        let Ok(raw) = (unsafe { bpf_probe_read_user(user_addr as *const [u8; 24]) }) else { return };
        let family = u16::from_ne_bytes([raw[0], raw[1]]);
        let mut pending =
            PendingBind { fd: fd as i32, family, port: u16::from_be_bytes([raw[2], raw[3]]), addr: [0; 16] };
        if family == AF_INET {
            pending.addr[..4].copy_from_slice(&raw[4..8]);
        } else if family == AF_INET6 {
            pending.addr.copy_from_slice(&raw[8..24]);
        } else {
            return;
        }
        let _ = self.pending.insert(&(pid_tgid as u32), &pending, 0);
    }

    /// sys_exit_bind: report the call that returned `ret`.
    #[inline(always)]
    pub fn exit<C: EbpfContext>(&self, ctx: &C, ret: i64) {
        let pid_tgid = bpf_get_current_pid_tgid();
        let tid = pid_tgid as u32;
        // SAFETY: copied out before the entry is removed.
        let Some(pending) = (unsafe { self.pending.get(&tid) }).copied() else { return };
        let _ = self.pending.remove(&tid);
        if ret != 0 && setting!(*self.config, include_errors) == 0 {
            return;
        }
        let offsets = global_ptr(self.offsets);
        // SAFETY: field addresses inside the read-only global.
        let (fd_offsets, endpoint_offsets) = unsafe { (&raw const (*offsets).fd, &raw const (*offsets).endpoints) };
        // SAFETY: the walk reads through the probe-read helper.
        let Some(sk) = (unsafe { fd_socket::sock_of_fd(fd_offsets, i64::from(pending.fd)) }) else { return };
        let mut event = BindEvent::ZERO;
        event.port = pending.port;
        if ret == 0 {
            // A bind to port 0 got its port from the kernel.
            // SAFETY: the socket read goes through the helper.
            let sport =
                unsafe { probe_read::<u16>(sk, core::ptr::read_volatile(&raw const (*endpoint_offsets).inet_sport)) };
            event.port = u16::from_be(sport.unwrap_or(0));
        }
        if !self.port_admitted(event.port) {
            return;
        }
        // SAFETY: as above.
        unsafe {
            event.protocol = fd_socket::protocol(fd_offsets, sk).unwrap_or(0);
            event.bound_dev_if = probe_read::<i32>(sk, setting!(*self.offsets, bound_dev_if)).unwrap_or(0);
            let opts = &raw const (*offsets).opts;
            for (index, bit) in
                [opt::FREEBIND, opt::TRANSPARENT, opt::BIND_ADDRESS_NO_PORT, opt::REUSEADDR, opt::REUSEPORT]
                    .into_iter()
                    .enumerate()
            {
                if flag(sk, &raw const (*opts)[index]) {
                    event.opts |= bit;
                }
            }
            // SAFETY (outer): helper without arguments.
            event.timestamp_ns = bpf_ktime_get_ns();
        }
        event.pid = (pid_tgid >> 32) as u32;
        event.tid = tid;
        event.ret = ret as i32;
        event.family = pending.family;
        event.addr = pending.addr;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: the event is plain data on the stack.
        let bytes = unsafe {
            core::slice::from_raw_parts(core::ptr::from_ref(&event).cast::<u8>(), core::mem::size_of::<BindEvent>())
        };
        send_or_count(self.events, self.drops, ctx, bytes);
    }

    /// Whether `-P` admits `port` (no list: every port).
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

/// The programs, identical in both objects; `$bindsnoop` builds the
/// object's `Bindsnoop`, `$offsets` is its `BIND_OFFSETS` global.
#[macro_export]
macro_rules! bindsnoop_programs {
    ($bindsnoop:ident, $offsets:ident) => {
        #[tracepoint]
        pub fn bindsnoop_enter_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: offsets come from the tracepoint's format file.
            unsafe {
                if let (Ok(fd), Ok(addr)) = (
                    ctx.read_at::<u64>($crate::setting!($offsets, enter_fd) as usize),
                    ctx.read_at::<u64>($crate::setting!($offsets, enter_addr) as usize),
                ) {
                    $bindsnoop().enter(fd, addr);
                }
            }
            0
        }

        #[tracepoint]
        pub fn bindsnoop_exit_tp(ctx: TracePointContext) -> u32 {
            // SAFETY: the offset comes from the tracepoint's format file.
            if let Ok(ret) = unsafe { ctx.read_at::<i64>($crate::setting!($offsets, exit_ret) as usize) } {
                $bindsnoop().exit(&ctx, ret);
            }
            0
        }
    };
}
