//! Network namespaces made for one test: loopback up, optional veth links
//! between them, iptables rules and commands run inside, and the kernel's
//! own TCP counters of the namespace. Removed (with their links) on drop,
//! so a test sends no traffic anywhere outside its namespaces.

use std::{
    ffi::OsStr,
    process::{Command, Stdio},
};

use crate::{Waiting, workload_bin};

/// One network namespace, `ip netns` style (a bind mount under /run/netns).
pub struct NetNs {
    name: String,
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).stderr(Stdio::piped()).output().expect("run ip(8)");
    assert!(output.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
}

impl NetNs {
    /// A new namespace named after `tag` and this test process, with its
    /// loopback up.
    pub fn new(tag: &str) -> Self {
        let name = format!("tracer-{tag}-{}", std::process::id());
        // A namespace left by a killed earlier run of this same pid.
        let _ = Command::new("ip").args(["netns", "del", &name]).stderr(Stdio::null()).status();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        Self { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `program` run inside the namespace. `ip netns exec` execs it, so the
    /// child's pid is the program's own.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// Runs `program args` inside the namespace; panics with its stderr if
    /// it fails, and returns its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let output = self.command(program).args(args).stderr(Stdio::piped()).output().expect("run in netns");
        assert!(
            output.status.success(),
            "{program} {} in {}: {}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// An iptables rule (or any iptables command) for IPv4 in this namespace.
    pub fn iptables(&self, args: &[&str]) {
        self.run("iptables", args);
    }

    /// The same for IPv6.
    pub fn ip6tables(&self, args: &[&str]) {
        self.run("ip6tables", args);
    }

    /// A veth pair between this namespace and `peer`, with `local` and
    /// `remote` as their addresses (`10.1.2.1/24` style, or IPv6), up.
    pub fn link_to(&self, peer: &NetNs, local: &str, remote: &str) {
        let id = std::process::id() % 100_000;
        let (here, there) = (format!("tra{id}"), format!("trb{id}"));
        ip(&["link", "add", &here, "netns", &self.name, "type", "veth", "peer", "name", &there, "netns", &peer.name]);
        for (namespace, device, address) in [(self, &here, local), (peer, &there, remote)] {
            // nodad: an IPv6 address is usable at once, not after duplicate detection.
            let mut args = vec!["-n", &namespace.name, "addr", "add", address, "dev", device.as_str()];
            if address.contains(':') {
                args.push("nodad");
            }
            ip(&args);
            ip(&["-n", &namespace.name, "link", "set", device, "up"]);
        }
    }

    /// Delays every TCP packet this namespace sends to `port` (both IPv4
    /// and IPv6) by `ms` milliseconds, through NFQUEUE and the
    /// tracer-netdelay workload, until the returned delayer is dropped. On
    /// loopback this adds `ms` to each round trip of a connection to `port`.
    pub fn delay_to_port(&self, port: u16, ms: u32) -> Waiting {
        let mut command = self.command(workload_bin("tracer-netdelay"));
        command.args(["0", &ms.to_string()]);
        let delayer = Waiting::spawn(command);
        let port = port.to_string();
        let rule = ["-A", "OUTPUT", "-p", "tcp", "--dport", &port, "-j", "NFQUEUE", "--queue-num", "0"];
        self.iptables(&rule);
        self.ip6tables(&rule);
        delayer
    }

    /// A counter of this namespace's /proc/net/snmp (`Tcp`, `RetransSegs`).
    pub fn snmp(&self, group: &str, counter: &str) -> u64 {
        let text = self.run("cat", &["/proc/net/snmp"]);
        let prefix = format!("{group}:");
        let mut rows = text.lines().filter(|line| line.starts_with(&prefix));
        let (names, values) = (rows.next().expect("snmp header row"), rows.next().expect("snmp value row"));
        let column =
            names.split_whitespace().position(|name| name == counter).unwrap_or_else(|| panic!("no {counter}"));
        values.split_whitespace().nth(column).unwrap().parse().unwrap()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the namespace deletes its veth ends and their peers.
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}
