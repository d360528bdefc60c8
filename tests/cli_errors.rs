//! Errors every tool shares: privileges and bad command lines.

use std::os::unix::process::CommandExt;

use tracer_tests::*;

#[test]
fn without_privileges_the_user_is_told_to_use_sudo() {
    for tool in [["runqlat"].as_slice(), &["doctor"]] {
        let output = tracer().args(tool).uid(65534).gid(65534).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("needs root or the CAP_BPF and CAP_PERFMON capabilities"), "{stderr}");
        assert!(stderr.contains("sudo"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    }
}

#[test]
fn unknown_tools_and_flags_are_one_line_errors() {
    for args in [["nosuchtool"].as_slice(), &["runqlat", "--nosuchflag"]] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("tracer: "), "{stderr}");
    }
}

#[test]
fn help_and_version_succeed() {
    let help = run_tracer(&["runqlat", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--timestamp", "--milliseconds", "--pids", "--tids", "--pidnss", "--pid", "--cgroup", "--json"] {
        assert!(text.contains(flag), "runqlat --help lacks {flag}");
    }
    let version = run_tracer(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("tracer "));
}
