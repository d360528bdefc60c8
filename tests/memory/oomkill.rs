//! `tracer oomkill` against a process that runs its own 64 MiB memory
//! cgroup out of memory, compared with what the kernel logs of the kill.

use std::os::unix::process::ExitStatusExt;

use serde_json::Value;
use tracer_tests::*;

const LIMIT: u64 = 64 << 20;
const ALLOCATES_MIB: &str = "200";

/// The hog, started in a fresh memory cgroup and told to allocate while the
/// tracer runs; returns its pid and the cgroup's name once it was killed.
fn oom_kill_during(args: &[&str]) -> (Vec<u8>, String, u32, String) {
    let cgroup = MemoryCgroup::new("oomkill", LIMIT);
    let mut hog = Waiting::start("tracer-oomhog", &[ALLOCATES_MIB]);
    let pid = hog.pid();
    cgroup.adopt(pid);
    let (stdout, stderr, status) = trace_during(args, || {
        hog.go();
        hog.workload.child.wait().unwrap()
    });
    assert_eq!(status.signal(), Some(9), "the hog was not OOM-killed: {status:?}");
    drop(hog);
    let name = cgroup.name.clone();
    drop(cgroup);
    (stdout, stderr, pid, name)
}

/// The kernel log's account of the kill of `pid`: its `oom-kill:` summary
/// line (constraint, memcgs, task) and its `Killed process` line.
fn kernel_log_of(pid: u32) -> (String, String) {
    let output = std::process::Command::new("dmesg").output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = log
        .lines()
        .rev()
        .find(|line| line.contains("oom-kill:") && line.contains(&format!(",pid={pid},")))
        .unwrap_or_else(|| panic!("no oom-kill line for pid {pid} in the kernel log"))
        .to_owned();
    let killed = log
        .lines()
        .rev()
        .find(|line| line.contains(&format!("Killed process {pid} (")))
        .unwrap_or_else(|| panic!("no 'Killed process {pid}' in the kernel log"))
        .to_owned();
    (summary, killed)
}

/// `key=value` from the kernel's `oom-kill:` line.
fn logged<'a>(summary: &'a str, key: &str) -> &'a str {
    let fields = summary.split_once("oom-kill:").unwrap().1;
    fields
        .split(',')
        .find_map(|field| field.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {summary}"))
}

fn kills(stdout: &[u8]) -> Vec<Value> {
    json_lines(stdout).into_iter().filter(|record| record["type"] == "oom_kill").collect()
}

#[test]
fn the_victim_is_the_hog_in_its_cgroup_on_every_tracepoint_path() {
    for hook in ["tp_btf", "raw_tp", "tracepoint"] {
        let (stdout, stderr, pid, cgroup) = oom_kill_during(&["oomkill", "--json", "--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let records = kills(&stdout);
        let ours: Vec<&Value> = records.iter().filter(|r| r["victim_tid"] == pid).collect();
        assert_eq!(ours.len(), 1, "{hook}: one kill of {pid}: {records:?}");
        let kill = ours[0];
        for key in ["tool", "host", "timestamp"] {
            assert!(kill[key].is_string(), "{hook}: no {key}: {kill}");
        }
        assert_eq!(kill["tool"], "oomkill");
        assert_eq!(kill["hook"], hook);
        assert_eq!(kill["victim_pid"], pid, "{hook}: {kill}");
        assert_eq!(kill["victim_comm"], "tracer-oomhog", "{hook}: {kill}");
        // The hog's own page fault ran the memcg's OOM killer.
        assert_eq!(kill["trigger_pid"], pid, "{hook}: {kill}");
        assert_eq!(kill["trigger_tid"], pid, "{hook}: {kill}");
        assert_eq!(kill["trigger_comm"], "tracer-oomhog", "{hook}: {kill}");
        assert_eq!(kill["cgroup"], cgroup.as_str(), "{hook}: {kill}");
        assert!(kill["cgroup_id"].as_u64().unwrap() > 0, "{hook}: {kill}");
        // Tracepoints do not see oom_control.
        assert!(kill["totalpages"].is_null() && kill["constraint"].is_null(), "{hook}: {kill}");
        // Most of the 64 MiB limit is the hog's anonymous memory.
        let anon_kb = kill["anon_rss_kb"].as_u64().unwrap();
        assert!(anon_kb > 32 << 10 && anon_kb <= LIMIT >> 10, "{hook}: anon {anon_kb} kB: {kill}");
        let rss_pages = kill["rss_pages"].as_u64().unwrap();
        assert!(rss_pages > 0, "{hook}: {kill}");
        assert!(kill["total_vm_kb"].as_u64().unwrap() >= anon_kb, "{hook}: {kill}");
        assert_eq!(kill["uid"], 0, "{hook}: {kill}");
        assert_eq!(kill["oom_score_adj"], 0, "{hook}: {kill}");
        assert!(kill["loadavg"].as_str().unwrap().split_whitespace().count() == 5, "{hook}: {kill}");

        let (summary, killed) = kernel_log_of(pid);
        assert_eq!(logged(&summary, "task"), "tracer-oomhog", "{summary}");
        assert_eq!(logged(&summary, "task_memcg"), cgroup, "{summary}");
        assert_eq!(logged(&summary, "constraint"), "CONSTRAINT_MEMCG", "{summary}");
        assert!(killed.contains(&format!("Killed process {pid} (tracer-oomhog)")), "{killed}");
        // The kernel logs the same anon-rss the kill record carries.
        let logged_anon: u64 = killed
            .split("anon-rss:")
            .nth(1)
            .and_then(|rest| rest.split("kB").next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or_else(|| panic!("no anon-rss in {killed}"));
        assert_eq!(anon_kb, logged_anon, "{hook}: {killed}");
    }
}

#[test]
fn text_line_is_libbpf_tools_line_with_the_cgroup() {
    let (stdout, stderr, pid, cgroup) = oom_kill_during(&["oomkill"]);
    let text = String::from_utf8_lossy(&stdout);
    assert!(text.starts_with("Tracing OOM kills... Ctrl-C to stop.\n"), "{text}");
    let line = text
        .lines()
        .find(|line| line.contains(&format!("OOM kill of PID {pid} ")))
        .unwrap_or_else(|| panic!("no kill of {pid}: {text}{stderr}"));
    let rest = line.split_once(' ').unwrap().1;
    let expected = format!("Triggered by PID {pid} (\"tracer-oomhog\"), OOM kill of PID {pid} (\"tracer-oomhog\"), ");
    assert!(rest.starts_with(&expected), "{line}");
    let pages: u64 = rest[expected.len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(pages > 0, "{line}");
    assert!(rest.contains(" pages, loadavg: "), "{line}");
    assert!(line.ends_with(&format!(", cgroup: {cgroup}")), "{line}");
    let clock = line.split(' ').next().unwrap();
    assert_eq!(clock.len(), 8, "{line}");
    assert_eq!(clock.matches(':').count(), 2, "{line}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [["oomkill", "--hook", "nosuchhook"].as_slice(), &["oomkill", "123"], &["oomkill", "--hook", "fentry"]]
    {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("tracer"), "{stderr}");
    }
    let output = run_tracer(&["oomkill", "--hook", "fentry"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fentry") && stderr.contains("doctor"), "{stderr}");
}
