//! `tracer mountsnoop` against a workload that mounts a tmpfs on a uniquely
//! named directory and unmounts it, with both mount APIs, and fails one
//! umount on purpose.

use std::path::PathBuf;

use nix::sys::signal::Signal;
use serde_json::Value;
use tracer_tests::*;

/// One call as the workload saw it: (syscall, ret).
type Call = (String, i64);

/// Runs `tracer mountsnoop -p PID ARGS` around one run of the workload;
/// returns (stdout, stderr, the workload's calls, its directory, its tag,
/// its mount namespace's inode number).
fn snoop(args: &[&str]) -> (Vec<u8>, String, Vec<Call>, PathBuf, String, u64) {
    let tag = unique("mnt");
    let dir = std::env::temp_dir().join(&tag);
    let mut workload = Waiting::start("tracer-mounts", &[dir.to_str().unwrap()]);
    let pid = workload.pid().to_string();
    let namespace = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let namespace: u64 = namespace.to_str().unwrap().trim_start_matches("mnt:[").trim_end_matches(']').parse().unwrap();
    let mut full = vec!["mountsnoop", "-p", &pid];
    full.extend_from_slice(args);
    let started = start_tracer(&full);
    workload.go();
    let mut calls = Vec::new();
    loop {
        let line = workload.line();
        let cells: Vec<&str> = line.split(' ').collect();
        match cells[0] {
            "done" => break,
            "call" => calls.push((cells[1].to_owned(), cells[2].parse().unwrap())),
            _ => panic!("{line:?}"),
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&started.child, Signal::SIGINT);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    drop(workload);
    (stdout, stderr, calls, dir, tag, namespace)
}

#[test]
fn the_tmpfs_mount_and_its_umount_with_their_arguments() {
    let (stdout, stderr, calls, dir, tag, namespace) = snoop(&["--json"]);
    assert!(stderr.contains("attached via tracepoint"), "{stderr}");
    assert!(!stderr.contains("lost") && !stderr.contains("truncated"), "{stderr}");
    let records: Vec<Value> = json_lines(&stdout).into_iter().filter(|r| r["type"] == "mount").collect();
    let dir = dir.to_str().unwrap();
    // This host has the new mount API: all 10 calls.
    assert_eq!(calls.len(), 10, "{calls:?}");
    assert_eq!(records.len(), calls.len(), "exactly the workload's calls: {records:#?}");
    for ((syscall, ret), record) in calls.iter().zip(&records) {
        assert_eq!((record["syscall"].as_str(), record["ret"].as_i64()), (Some(syscall.as_str()), Some(*ret)));
        assert_eq!((&record["comm"], record["mnt_ns"].as_u64()), (&Value::from("tracer-mounts"), Some(namespace)));
        assert!(record["latency_ns"].as_u64().unwrap() > 0, "{record}");
    }
    let mount = &records[0]["args"];
    assert_eq!(
        (&mount["source"], &mount["target"], &mount["filesystemtype"], &mount["data"]),
        (&Value::from(tag.as_str()), &Value::from(dir), &Value::from("tmpfs"), &Value::from("size=1m,mode=700"))
    );
    assert_eq!(mount["mountflags"], 6, "MS_NOSUID | MS_NODEV");
    assert_eq!(records[0]["ret"], 0);
    assert_eq!((&records[1]["args"]["target"], &records[1]["args"]["flags"]), (&Value::from(dir), &Value::from(0)));
    assert_eq!((&records[1]["ret"], &records[2]["ret"]), (&Value::from(0), &Value::from(-22)), "the second is EINVAL");
    assert_eq!(records[2]["call"], format!("umount2(\"{dir}\", 0x0) = -EINVAL"));
    assert_eq!(records[3]["args"]["fsname"], "tmpfs");
    assert_eq!((&records[4]["args"]["key"], &records[4]["args"]["value"]), (&Value::from("size"), &Value::from("2m")));
    assert_eq!(records[5]["args"]["key"], Value::Null, "FSCONFIG_CMD_CREATE takes no key");
    assert_eq!(
        (&records[7]["args"]["to_path"], &records[7]["args"]["to_dirfd"]),
        (&Value::from(dir), &Value::from(-100))
    );
    assert_eq!(records[9]["args"]["path"], dir);
}

#[test]
fn text_rows_show_the_call_as_c() {
    let (stdout, _, calls, dir, tag, _) = snoop(&["-t"]);
    let text = String::from_utf8(stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TIME", "COMM", "PID", "TID", "MNT_NS", "LAT(us)", "CALL"]);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), calls.len(), "{text}");
    let dir = dir.to_str().unwrap();
    let mount = format!(r#"mount("{tag}", "{dir}", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700") = 0"#);
    assert!(rows[0].ends_with(&mount) && rows[0].contains(" tracer-mounts "), "{text}");
    assert!(rows[1].ends_with(&format!(r#"umount2("{dir}", 0x0) = 0"#)), "{text}");
    assert!(rows[2].ends_with(&format!(r#"umount2("{dir}", 0x0) = -EINVAL"#)), "{text}");
    assert!(rows[3].contains(r#"fsopen("tmpfs", FSOPEN_CLOEXEC) = "#), "{text}");
    let moved = format!(r#", "", AT_FDCWD, "{dir}", MOVE_MOUNT_F_EMPTY_PATH) = 0"#);
    assert!(rows[7].contains("move_mount(") && rows[7].ends_with(&moved), "{text}");
    assert!(rows[8].ends_with(&format!(r#"umount2("{dir}", MNT_DETACH) = 0"#)), "{text}");
}
