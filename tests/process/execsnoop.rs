//! `tracer execsnoop` against real execs whose pids and arguments we know.

use std::{
    collections::BTreeMap,
    os::unix::{fs::symlink, process::CommandExt},
    process::{Command, Stdio},
};

use serde_json::Value;
use tracer_tests::*;

fn execs(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|r| r["type"] == "exec").collect()
}

fn args_of(record: &Value) -> Vec<String> {
    record["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
}

fn run_true(arg: &str) -> u32 {
    let mut child = Command::new("/bin/true").arg(arg).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    pid
}

#[test]
fn an_exec_storm_is_reported_in_full() {
    let token = unique("storm");
    let (stdout, stderr, pids) = trace_during(&["execsnoop", "--json"], || {
        (0..300).map(|i| (run_true(&format!("{token}-{i}")), i)).collect::<BTreeMap<u32, usize>>()
    });
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    assert!(!stderr.contains("lost"), "{stderr}");
    let mut seen = BTreeMap::new();
    for record in execs(&stdout) {
        let args = args_of(&record);
        if args.len() == 2 && args[1].starts_with(&token) {
            let pid = record["pid"].as_u64().unwrap() as u32;
            let index = pids.get(&pid).unwrap_or_else(|| panic!("unknown pid in {record}"));
            assert_eq!(args, vec!["/bin/true".to_string(), format!("{token}-{index}")], "{record}");
            assert_eq!(record["ppid"], std::process::id(), "{record}");
            assert_eq!(record["ret"], 0);
            assert_eq!(record["comm"], "true");
            assert_eq!(record["truncated"], false);
            seen.insert(pid, record);
        }
    }
    assert_eq!(seen.len(), 300, "{} of 300 execs reported", seen.len());
}

#[test]
fn failed_execs_appear_only_with_x() {
    let token = unique("missing");
    let path = format!("/nonexistent/{token}");
    let fail = || {
        let err = Command::new(&path).arg("an-arg").spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc_enoent()));
    };
    let (with_x, _, ()) = trace_during(&["execsnoop", "-x", "--json"], fail);
    let failed: Vec<Value> = execs(&with_x).into_iter().filter(|r| args_of(r).first() == Some(&path)).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["ret"], -libc_enoent());
    assert_eq!(failed[0]["ppid"], std::process::id());
    assert_eq!(args_of(&failed[0]), vec![path.clone(), "an-arg".to_string()]);

    let (without_x, _, ()) = trace_during(&["execsnoop", "--json"], fail);
    assert!(!String::from_utf8_lossy(&without_x).contains(&token));
}

fn libc_enoent() -> i32 {
    2
}

#[test]
fn execveat_by_file_descriptor_is_reported() {
    let token = unique("fexecve");
    let (stdout, _, pid) = trace_during(&["execsnoop", "--json"], || {
        let mut child =
            Command::new(workload_bin("tracer-fexecve")).args(["/bin/true", "true", &token]).spawn().unwrap();
        let pid = child.id();
        assert!(child.wait().unwrap().success());
        pid
    });
    let records = execs(&stdout);
    let ours: Vec<&Value> = records.iter().filter(|r| r["pid"] == pid).collect();
    // Two execs in this pid: the workload itself, then /bin/true by fd.
    let by_fd = ours
        .iter()
        .find(|r| r["comm"] == "true" && args_of(r).last() == Some(&token))
        .unwrap_or_else(|| panic!("{ours:?}"));
    assert!(args_of(by_fd)[0].starts_with("/dev/fd/"), "execveat names the file by fd: {by_fd}");
}

#[test]
fn hostile_names_and_arguments_are_escaped() {
    let dir = std::env::temp_dir().join(unique("evil"));
    std::fs::create_dir_all(&dir).unwrap();
    let evil = dir.join("ev\x1b[31mil");
    symlink("/bin/true", &evil).unwrap();
    let (stdout, _, ()) = trace_during(&["execsnoop"], || {
        assert!(Command::new(&evil).arg("a\x07b\x1b]0;title\x07").status().unwrap().success());
    });
    std::fs::remove_dir_all(&dir).unwrap();
    let text = String::from_utf8(stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "raw control characters in output: {text:?}");
    let line = text.lines().find(|l| l.contains("ev\\x1b[31mil")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("ev\\x1b[31mil "), "escaped comm in PCOMM: {line}");
    assert!(line.contains("a\\x07b\\x1b]0;title\\x07"), "{line}");
}

#[test]
fn uid_name_and_line_filters_are_exact() {
    let token = unique("filters");
    let workload = || {
        let as_nobody = Command::new("/bin/true").arg(format!("{token}-nobody")).uid(65534).gid(65534).status();
        assert!(as_nobody.unwrap().success());
        run_true(&format!("{token}-root"));
        assert!(
            Command::new("/bin/echo").arg(format!("{token}-echo")).stdout(Stdio::null()).status().unwrap().success()
        );
    };
    let ours = |stdout: &[u8]| -> Vec<String> {
        execs(stdout).iter().filter_map(|r| args_of(r).last().filter(|a| a.starts_with(&token)).cloned()).collect()
    };
    let (stdout, _, ()) = trace_during(&["execsnoop", "-u", "65534", "--json"], workload);
    assert_eq!(ours(&stdout), vec![format!("{token}-nobody")]);
    let (stdout, _, ()) = trace_during(&["execsnoop", "-n", "ech", "--json"], workload);
    assert_eq!(ours(&stdout), vec![format!("{token}-echo")]);
    let (stdout, _, ()) = trace_during(&["execsnoop", "-l", &format!("{token}-ro"), "--json"], workload);
    assert_eq!(ours(&stdout), vec![format!("{token}-root")]);
}

#[test]
fn text_columns_quotes_and_truncation() {
    let token = unique("cols");
    let (stdout, _, pid) = trace_during(&["execsnoop", "-T", "-U", "-q", "--max-args", "3"], || {
        let mut child =
            Command::new("/bin/echo").args([&token, "two words", "c", "d"]).stdout(Stdio::null()).spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    });
    let text = String::from_utf8(stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["TIME", "UID", "PCOMM", "PID", "PPID", "RET", "ARGS"]);
    let line = text.lines().find(|l| l.contains(&token)).unwrap_or_else(|| panic!("{text}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[1..6], ["0", "echo", &pid.to_string(), &std::process::id().to_string(), "0"]);
    assert!(line.ends_with(&format!("\"/bin/echo\" \"{token}\" \"two words\" ...")), "{line}");
}

#[test]
fn raw_and_classic_tracepoint_paths_with_perf_buffers() {
    for hook in ["raw_tp", "tracepoint"] {
        let token = unique(hook);
        let (stdout, stderr, pid) = trace_during(&["execsnoop", "--hook", hook, "--json"], || run_true(&token));
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = execs(&stdout);
        let ours = records.iter().find(|r| r["pid"] == pid).unwrap_or_else(|| panic!("{hook}: {records:?}"));
        assert_eq!(args_of(ours), vec!["/bin/true".to_string(), token]);
    }
    assert_no_programs_left("execsnoop_");
}

#[test]
fn a_closed_stdout_ends_the_run_cleanly() {
    let mut child = tracer().args(["execsnoop"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Read the header, then close our end: the next write fails with EPIPE.
    let mut stdout = child.stdout.take().unwrap();
    let mut header = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut header).unwrap();
    drop(stdout);
    for i in 0..20 {
        run_true(&format!("after-close-{i}"));
    }
    let output = wait_with_timeout(child, std::time::Duration::from_secs(10));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_no_programs_left("execsnoop_");
}
