//! tcpdrop's kernel logic, shared by `tcpdrop` (tp_btf, ring buffer) and
//! `tcpdrop_compat` (raw_tp or classic tracepoint, perf buffer), all on
//! skb:kfree_skb.
//!
//! The packet's own headers say whether it is TCP and give its addresses,
//! ports and flags, so drops before any socket was found (netfilter at
//! INPUT, no listener) are reported too; bcc and libbpf-tools skip packets
//! without `skb->sk`. The state is that of `skb->sk`, else of the socket
//! the kernel passes as `rx_sk` (6.11+), else none.

use aya_ebpf::{
    EbpfContext, Global,
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated::bpf_get_stack},
    maps::PerCpuArray,
};
use tracer_common::{
    net::{
        sock::{AF_INET, AF_INET6, Endpoints, IPPROTO_TCP},
        tcpdrop::{Config, DropEvent, DropOffsets, IPS_OFFSET, drop_reason},
    },
    stacks::MAX_STACK_DEPTH,
};

use crate::{
    count_drop,
    events::{EventSink, opaque, send_or_count},
    setting,
    task::probe_read,
};

/// An unset `network_header`/`transport_header` (`(typeof(x))~0U`).
const HEADER_UNSET: u16 = 0xffff;

pub struct Tcpdrop<'a, S> {
    pub config: &'a Global<Config>,
    pub offsets: &'a Global<DropOffsets>,
    pub scratch: &'a PerCpuArray<DropEvent>,
    pub events: &'a S,
    pub drops: &'a PerCpuArray<u64>,
}

impl<S: EventSink> Tcpdrop<'_, S> {
    /// One `kfree_skb(skb, location[, reason[, rx_sk]])`; `reason` is None
    /// on kernels without drop reasons, `rx_sk` null before 6.11.
    #[inline(always)]
    pub fn kfree_skb<C: EbpfContext>(&self, ctx: &C, skb: *const u8, reason: Option<u32>, rx_sk: *const u8) {
        if let Some(reason) = reason
            && reason <= setting!(*self.config, skip_reasons_up_to)
        {
            return;
        }
        let offsets = self.offsets;
        // SAFETY: every read of kernel memory goes through the probe-read helper.
        let (packet, tcpflags, sk) = unsafe {
            let Some(head) = probe_read::<u64>(skb, setting!(*offsets, skb_head)) else { return };
            let Some(network) = probe_read::<u16>(skb, setting!(*offsets, skb_network_header)) else { return };
            let Some(transport) = probe_read::<u16>(skb, setting!(*offsets, skb_transport_header)) else { return };
            if head == 0 || network == HEADER_UNSET || transport == HEADER_UNSET {
                return;
            }
            let ip = head as *const u8;
            let Some(first) = probe_read::<u8>(ip, u32::from(network)) else { return };
            let mut packet = Endpoints::ZERO;
            match first >> 4 {
                4 => {
                    // protocol at 9, saddr at 12, daddr at 16
                    let Some(header) = probe_read::<[u8; 20]>(ip, u32::from(network)) else { return };
                    if u16::from(header[9]) != IPPROTO_TCP {
                        return;
                    }
                    packet.family = AF_INET;
                    packet.laddr[..4].copy_from_slice(&header[12..16]);
                    packet.raddr[..4].copy_from_slice(&header[16..20]);
                }
                6 => {
                    // next header at 6, saddr at 8, daddr at 24 (extension
                    // headers before TCP are not followed)
                    let Some(next) = probe_read::<u8>(ip, u32::from(network) + 6) else { return };
                    if u16::from(next) != IPPROTO_TCP {
                        return;
                    }
                    packet.family = AF_INET6;
                    let Some(saddr) = probe_read::<[u8; 16]>(ip, u32::from(network) + 8) else { return };
                    let Some(daddr) = probe_read::<[u8; 16]>(ip, u32::from(network) + 24) else { return };
                    packet.laddr = saddr;
                    packet.raddr = daddr;
                }
                _ => return,
            }
            let family = setting!(*self.config, target_family);
            if family != 0 && family != u32::from(packet.family) {
                return;
            }
            let Some(tcp) = probe_read::<[u8; 14]>(ip, u32::from(transport)) else { return };
            packet.lport = u16::from_be_bytes([tcp[0], tcp[1]]);
            packet.rport = u16::from_be_bytes([tcp[2], tcp[3]]);
            let sk = probe_read::<u64>(skb, setting!(*offsets, skb_sk)).unwrap_or(0);
            (packet, tcp[13], if sk != 0 { sk as *const u8 } else { rx_sk })
        };
        // SAFETY: as above.
        let state =
            if sk.is_null() { 0 } else { unsafe { probe_read::<u8>(sk, setting!(*offsets, skc_state)) }.unwrap_or(0) };
        // SAFETY: this CPU's scratch slot; nothing else runs here meanwhile.
        let Some(event) = self.scratch.get_ptr_mut(0).map(|slot| unsafe { &mut *slot }) else { return };
        // SAFETY: helper without arguments.
        event.timestamp_ns = unsafe { bpf_ktime_get_ns() };
        event.reason = reason.unwrap_or(0);
        event.pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        event.packet = packet;
        event.state = state;
        event.tcpflags = tcpflags;
        event.comm = bpf_get_current_comm().unwrap_or([0; 16]);
        let size = (MAX_STACK_DEPTH * 8) as u32;
        // SAFETY: the helper writes at most `size` bytes into the event's frames.
        let bytes = unsafe { bpf_get_stack(ctx.as_ptr(), event.ips.as_mut_ptr().cast(), size, 0) };
        let frames = if bytes > 0 { opaque((bytes as usize) / 8) } else { 0 };
        if frames == 0 {
            count_drop!(self.drops, drop_reason::STACK_MISSED);
        }
        event.frames = frames as u32;
        let size = opaque(IPS_OFFSET + frames * 8);
        if size > core::mem::size_of::<DropEvent>() {
            return;
        }
        // SAFETY: `size` is within the event, checked above.
        let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(event).cast::<u8>(), size) };
        send_or_count(self.events, self.drops, ctx, bytes);
    }
}
