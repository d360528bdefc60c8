//! `tracer gethostlatency` against a workload resolving unique names that
//! only its own /etc/hosts knows: a hosts file bind-mounted over /etc/hosts
//! in the workload's own mount namespace, inside a network namespace with
//! nothing but loopback (so a lookup that missed the file would reach no
//! DNS server anywhere).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use serde_json::Value;
use tracer_tests::*;

const FUNCTIONS: [&str; 3] = ["getaddrinfo", "gethostbyname", "gethostbyname2"];

/// A unique name and address, in a hosts file of their own.
struct HostsFile {
    path: PathBuf,
    name: String,
    address: String,
}

impl HostsFile {
    fn new(tag: &str, last_octet: u8) -> Self {
        let name = format!("{}.tracer.test", unique(tag));
        let address = format!("10.77.{}.{last_octet}", std::process::id() % 250);
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{name}.hosts"));
        std::fs::write(&path, format!("{address} {name}\n")).unwrap();
        Self { path, name, address }
    }

    /// The workload, in `ns`, ready to resolve the name three ways.
    fn lookup_in(&self, ns: &NetNs) -> Waiting {
        let mut command = ns.command(workload_bin("tracer-hostlookup"));
        command.arg("--hosts").arg(&self.path).arg(&self.name);
        Waiting::spawn(command)
    }

    /// Lets `workload` resolve, and checks that the hosts file answered.
    fn resolve(&self, mut workload: Waiting) {
        workload.go();
        let lines = workload.finish();
        let want: Vec<String> = FUNCTIONS.iter().map(|f| format!("{f} {} {}", self.name, self.address)).collect();
        assert_eq!(lines, want, "the namespace's hosts file answers every lookup");
    }
}

impl Drop for HostsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lookups(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "lookup").collect()
}

/// Exactly the workload's three lookups of its name, one per function.
fn check_lookups(records: &[Value], hosts: &HostsFile, pid: u32) {
    let ours: Vec<&Value> = records.iter().filter(|r| r["host"] == hosts.name.as_str()).collect();
    assert_eq!(ours.len(), 3, "one lookup per function: {records:?}");
    let functions: BTreeSet<&str> = ours.iter().map(|r| r["function"].as_str().unwrap()).collect();
    assert_eq!(functions, FUNCTIONS.into_iter().collect(), "{ours:?}");
    for record in ours {
        assert_eq!(record["pid"], pid, "{record}");
        assert_eq!(record["comm"], "hostlookup", "{record}");
        assert_eq!(record["found"], true, "{record}");
        assert_eq!(record["truncated"], false, "{record}");
        assert!(record["latency_ms"].as_f64().unwrap() > 0.0, "{record}");
        assert_eq!(record["tool"], "gethostlatency");
    }
}

#[test]
fn lookups_answered_by_the_namespaces_hosts_file_are_reported_with_pid_and_name() {
    let ns = NetNs::new("ghl");
    let hosts = HostsFile::new("ghl", 1);
    let workload = hosts.lookup_in(&ns);
    let pid = workload.pid();
    let (stdout, stderr, ()) = trace_during(&["gethostlatency", "--json"], || hosts.resolve(workload));
    assert!(stderr.contains("attached via uprobe"), "{stderr}");
    assert!(stderr.contains("uprobes on getaddrinfo, gethostbyname, gethostbyname2 in "), "{stderr}");
    check_lookups(&lookups(&stdout), &hosts, pid);
    assert_no_programs_left("gethostlatency_");
}

#[test]
fn text_columns_are_libbpf_tools() {
    let ns = NetNs::new("ghltext");
    let hosts = HostsFile::new("ghltext", 2);
    let workload = hosts.lookup_in(&ns);
    let pid = workload.pid().to_string();
    let (stdout, _, ()) = trace_during(&["gethostlatency"], || hosts.resolve(workload));
    let text = String::from_utf8(stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "PID", "COMM", "LATms", "HOST"]);
    let ours: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<&str>>())
        .filter(|fields| fields.last() == Some(&hosts.name.as_str()))
        .collect();
    assert_eq!(ours.len(), 3, "{text}");
    for fields in ours {
        assert_eq!((fields[1], fields[2]), (pid.as_str(), "hostlookup"), "{fields:?}");
        assert_eq!(fields[0].len(), 8, "HH:MM:SS: {fields:?}");
        assert!(fields[3].parse::<f64>().unwrap() > 0.0, "{fields:?}");
    }
}

#[test]
fn pid_filter_keeps_only_that_process() {
    let ns = NetNs::new("ghlpid");
    let (mine, other) = (HostsFile::new("ghlmine", 3), HostsFile::new("ghlother", 4));
    let (traced, untraced) = (mine.lookup_in(&ns), other.lookup_in(&ns));
    let pid = traced.pid();
    let (stdout, _, ()) = trace_during(&["gethostlatency", "--json", "-p", &pid.to_string()], || {
        other.resolve(untraced);
        mine.resolve(traced);
    });
    let records = lookups(&stdout);
    assert!(records.iter().all(|r| r["pid"] == pid), "only PID {pid}: {records:?}");
    check_lookups(&records, &mine, pid);
}

/// The C library and loader this test binary maps (the host's glibc).
fn host_library(prefix: &str) -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| Path::new(path).file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("this test binary maps no {prefix}*"))
}

#[test]
fn a_private_deleted_libc_is_found_through_map_files() {
    // As in a container: the process maps its own copy of libc (another
    // inode), by a path that no longer exists by the time tracer starts.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../target/{}", unique("libcdir")));
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let (libc, loader) = (host_library("libc.so"), host_library("ld-linux"));
    for file in [&libc, &loader] {
        std::fs::copy(file, dir.join(file.file_name().unwrap())).unwrap();
    }
    let ns = NetNs::new("ghlcopy");
    let hosts = HostsFile::new("ghlcopy", 5);
    let mut command = ns.command(dir.join(loader.file_name().unwrap()));
    command.arg("--library-path").arg(&dir).arg(workload_bin("tracer-hostlookup"));
    command.arg("--hosts").arg(&hosts.path).arg(&hosts.name);
    let workload = Waiting::spawn(command);
    let pid = workload.pid();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let copy = dir.join(libc.file_name().unwrap());
    assert!(maps.contains(copy.to_str().unwrap()), "the workload maps the copy: {maps}");
    std::fs::remove_dir_all(&dir).unwrap();

    let (stdout, stderr, ()) = trace_during(&["gethostlatency", "--json"], || hosts.resolve(workload));
    assert!(stderr.contains(&format!("in {} (device", copy.display())), "the copy was probed: {stderr}");
    check_lookups(&lookups(&stdout), &hosts, pid);
}

#[test]
fn libc_option_traces_the_library_named() {
    let ns = NetNs::new("ghllibc");
    let hosts = HostsFile::new("ghllibc", 6);
    let workload = hosts.lookup_in(&ns);
    let pid = workload.pid();
    let libc = host_library("libc.so");
    let (stdout, stderr, ()) =
        trace_during(&["gethostlatency", "--json", "-l", libc.to_str().unwrap()], || hosts.resolve(workload));
    assert_eq!(stderr.matches("uprobes on getaddrinfo").count(), 1, "only the libc named: {stderr}");
    check_lookups(&lookups(&stdout), &hosts, pid);
}

#[test]
fn bad_libc_or_pid_is_a_one_line_error() {
    let not_elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    for args in [
        ["gethostlatency", "-l", "/nonexistent/libc.so.6"].as_slice(),
        &["gethostlatency", "-l", not_elf.to_str().unwrap()],
        &["gethostlatency", "-p", "999999999"],
    ] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("tracer: "), "{stderr}");
    }
    // A process that maps no libc (kthreadd maps nothing at all) is refused
    // with a remedy.
    let output = run_tracer(&["gethostlatency", "-p", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("maps no C library") && stderr.contains("-l"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}
