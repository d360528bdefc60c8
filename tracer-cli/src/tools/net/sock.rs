//! What the network tools share in userspace: the socket offsets they
//! resolve from BTF, decoding endpoints, port lists, `-4`/`-6`, and the
//! names of TCP states.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Result;
use tracer_common::net::sock::{
    AF_INET, AF_INET6, EndpointOffsets, Endpoints, MAX_FILTER_PORTS, PortFilter, StateRecord, state,
};

use crate::{
    error::refuse,
    kernel::{btf::KernelBtf, tracefs},
};

/// Where this kernel's `struct sock` keeps the family and endpoints.
/// `sk_protocol` stays unresolved where it is a bitfield (before 5.6).
pub fn endpoint_offsets(btf: &KernelBtf) -> Result<EndpointOffsets> {
    let sock = |field: &str| btf.field("sock_common", field).map(|f| f.offset);
    let mut offsets = EndpointOffsets::UNRESOLVED;
    offsets.skc_family = sock("skc_family")?;
    offsets.inet_sport = btf.field("inet_sock", "inet_sport")?.offset;
    offsets.skc_dport = sock("skc_dport")?;
    offsets.skc_rcv_saddr = sock("skc_rcv_saddr")?;
    offsets.skc_daddr = sock("skc_daddr")?;
    offsets.skc_v6_rcv_saddr = sock("skc_v6_rcv_saddr")?;
    offsets.skc_v6_daddr = sock("skc_v6_daddr")?;
    if let Ok(field) = btf.field("sock", "sk_protocol")
        && field.size == 2
    {
        offsets.sk_protocol = field.offset;
    }
    Ok(offsets)
}

/// Where the classic `sock:inet_sock_set_state` record keeps the socket,
/// both states and the protocol (its tracefs format).
pub fn state_record() -> Result<StateRecord> {
    let format = tracefs::tracepoint_format("sock", "inet_sock_set_state")?;
    let field = |name| tracefs::field(&format, "inet_sock_set_state", name).map(|f| f.offset);
    Ok(StateRecord {
        skaddr: field("skaddr")?,
        oldstate: field("oldstate")?,
        newstate: field("newstate")?,
        protocol: field("protocol")?,
    })
}

/// An address of `family` as the kernel side stores it (IPv4 in the first
/// four bytes, network order).
pub fn address(family: u16, raw: [u8; 16]) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(raw))),
        _ => None,
    }
}

/// A connection's endpoints as userspace prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flow {
    pub local: IpAddr,
    pub lport: u16,
    pub remote: IpAddr,
    pub rport: u16,
}

impl Flow {
    /// None for a family other than IPv4 and IPv6.
    pub fn decode(endpoints: &Endpoints) -> Option<Self> {
        Some(Self {
            local: address(endpoints.family, endpoints.laddr)?,
            lport: endpoints.lport,
            remote: address(endpoints.family, endpoints.raddr)?,
            rport: endpoints.rport,
        })
    }

    /// 4 or 6, as the IP column and JSON `family` show it.
    pub fn ip_version(&self) -> u8 {
        if self.local.is_ipv4() { 4 } else { 6 }
    }
}

/// A set of ports given as `80,443`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

impl Ports {
    /// True when `port` is wanted by an optional filter.
    pub fn admits(filter: &Option<Ports>, port: u16) -> bool {
        filter.as_ref().is_none_or(|ports| ports.0.contains(&port))
    }
}

/// An optional port list as a kernel-side filter (`flag` names it in the
/// error when the list is longer than the kernel's filter holds).
pub fn port_filter(ports: &Option<Ports>, flag: &str) -> Result<PortFilter> {
    let mut filter = PortFilter::ANY;
    let Some(Ports(list)) = ports else { return Ok(filter) };
    if list.len() > MAX_FILTER_PORTS {
        refuse!(
            "{flag} takes at most {MAX_FILTER_PORTS} ports ({} given): trace fewer, or none and filter the output",
            list.len()
        );
    }
    filter.ports[..list.len()].copy_from_slice(list);
    filter.count = list.len() as u32;
    Ok(filter)
}

/// clap value parser of a port list.
pub fn ports_arg(text: &str) -> Result<Ports, String> {
    text.split(',')
        .map(|port| match port.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(format!("{port:?} is not a port number (1-65535)")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Ports)
}

/// The address family `-4`/`-6` select (0: both).
pub fn family_filter(ipv4: bool, ipv6: bool) -> u16 {
    if ipv4 {
        AF_INET
    } else if ipv6 {
        AF_INET6
    } else {
        0
    }
}

/// A TCP state's name as bcc and libbpf-tools print it.
pub fn tcp_state_name(value: i32) -> &'static str {
    match value {
        state::ESTABLISHED => "ESTABLISHED",
        state::SYN_SENT => "SYN_SENT",
        state::SYN_RECV => "SYN_RECV",
        state::FIN_WAIT1 => "FIN_WAIT1",
        state::FIN_WAIT2 => "FIN_WAIT2",
        state::TIME_WAIT => "TIME_WAIT",
        state::CLOSE => "CLOSE",
        state::CLOSE_WAIT => "CLOSE_WAIT",
        state::LAST_ACK => "LAST_ACK",
        state::LISTEN => "LISTEN",
        state::CLOSING => "CLOSING",
        state::NEW_SYN_RECV => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists_parse_and_bad_ones_are_refused() {
        assert_eq!(ports_arg("80").unwrap(), Ports(vec![80]));
        assert_eq!(ports_arg("80, 443").unwrap(), Ports(vec![80, 443]));
        assert!(ports_arg("0").is_err());
        assert!(ports_arg("http").is_err());
        assert!(ports_arg("70000").is_err());
        assert!(Ports::admits(&None, 1));
        assert!(!Ports::admits(&Some(Ports(vec![80])), 81));
    }

    #[test]
    fn port_filters_hold_up_to_eight_ports() {
        assert_eq!(port_filter(&None, "-L").unwrap(), PortFilter::ANY);
        let filter = port_filter(&Some(Ports(vec![80, 443])), "-L").unwrap();
        assert_eq!((filter.count, &filter.ports[..3]), (2, &[80, 443, 0][..]));
        let error = port_filter(&Some(Ports((1..=9).collect())), "-L").unwrap_err();
        assert!(error.to_string().contains("at most 8"), "{error}");
    }

    #[test]
    fn decodes_ipv4_and_ipv6_endpoints() {
        let mut endpoints = Endpoints::ZERO;
        endpoints.family = AF_INET;
        endpoints.laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        endpoints.raddr[..4].copy_from_slice(&[10, 1, 2, 3]);
        endpoints.lport = 5000;
        endpoints.rport = 80;
        let flow = Flow::decode(&endpoints).unwrap();
        assert_eq!((flow.local.to_string(), flow.remote.to_string()), ("127.0.0.1".into(), "10.1.2.3".into()));
        assert_eq!((flow.lport, flow.rport, flow.ip_version()), (5000, 80, 4));
        endpoints.family = AF_INET6;
        endpoints.laddr = Ipv6Addr::LOCALHOST.octets();
        assert_eq!(Flow::decode(&endpoints).unwrap().local.to_string(), "::1");
        endpoints.family = 1;
        assert!(Flow::decode(&endpoints).is_none());
    }

    #[test]
    fn state_names_match_the_kernel_numbers() {
        assert_eq!(tcp_state_name(1), "ESTABLISHED");
        assert_eq!(tcp_state_name(7), "CLOSE");
        assert_eq!(tcp_state_name(12), "NEW_SYN_RECV");
        assert_eq!(tcp_state_name(99), "UNKNOWN");
    }
}
