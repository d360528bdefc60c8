//! Each run reads the kernel's BTF at most once: our index answers the
//! offsets and attach ids, and aya is never left to read or parse it again.
//! Counted from the system calls the run makes (strace), for every tool,
//! `use` and `doctor` (which attaches every tool through every hook kind).

use std::process::Command;

use tracer_tests::*;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Runs `tracer ARGS` under strace for about a second (SIGINT then, as a
/// user's Ctrl-C; a 60 s limit for the commands that end by themselves) and
/// returns how often it opened the kernel's BTF, and its exit status.
fn vmlinux_opens(args: &[&str]) -> (usize, std::process::ExitStatus, String) {
    let ends_by_itself = matches!(args[0], "use" | "doctor");
    require_root();
    let log = std::env::temp_dir().join(format!("tracer-btf-reads-{}-{}.strace", std::process::id(), args[0]));
    let output = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"])
        .arg(&log)
        .args(["timeout", "--preserve-status", "-s", "INT", if ends_by_itself { "60" } else { "1.5" }])
        .arg(tracer_bin())
        .args(args)
        .output()
        .expect("strace is installed by cargo xtask setup");
    let trace = std::fs::read_to_string(&log).expect("strace wrote its log");
    let _ = std::fs::remove_file(&log);
    let opens = trace.lines().filter(|line| line.contains(VMLINUX)).count();
    (opens, output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_tool_reads_the_kernels_btf_once() {
    // Tools whose programs or offsets need kernel types; the hook each uses
    // here is tp_btf, the classic syscall tracepoints, or perf_event.
    for args in [
        &["runqlat"][..],
        &["execsnoop"],
        &["exitsnoop"],
        &["tcplife"],
        &["tcprtt"],
        &["tcptop"],
        &["tcpconnect"],
        &["tcpconnlat"],
        &["tcpstates"],
        &["tcpretrans"],
        &["ext4slower"],
        &["biolatency"],
        &["syscount"],
        &["cpudist"],
        &["runqlen"],
        &["offcputime"],
        &["opensnoop", "-F"],
        &["statsnoop"],
        &["syncsnoop"],
        &["mountsnoop"],
        &["filelife"],
        &["tcpdrop"],
        &["tcpsynbl"],
        &["tcpaccept"],
        &["bindsnoop"],
        &["solisten"],
        &["runqslower"],
        &["sigsnoop"],
        &["killsnoop"],
        &["oomkill"],
        &["use", "-d", "1"],
        &["doctor"],
    ] {
        let (opens, status, stderr) = vmlinux_opens(args);
        assert!(status.success(), "tracer {args:?} failed ({status}): {stderr}");
        assert_eq!(opens, 1, "tracer {args:?} opened {VMLINUX} {opens} times");
    }
}

#[test]
fn tools_that_need_no_kernel_types_do_not_read_them() {
    // profile samples with perf events and reads no kernel struct; plain
    // opensnoop reads only the classic tracepoints' records; gethostlatency
    // probes libc with uprobes.
    for args in [&["profile"][..], &["opensnoop"], &["gethostlatency"]] {
        let (opens, status, stderr) = vmlinux_opens(args);
        assert!(status.success(), "tracer {args:?} failed ({status}): {stderr}");
        assert_eq!(opens, 0, "tracer {args:?} opened {VMLINUX} {opens} times");
    }
}
