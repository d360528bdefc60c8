//! `tracer doctor` on this host: the hooks the project's CI kernel offers
//! must be found working, and each tool's hook must be the best that works.

use tracer_tests::*;

#[test]
fn doctor_finds_this_hosts_hooks_by_trying_them() {
    let output = run_tracer(&["doctor", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let works = |name: &str| {
        report["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not probed"))["works"]
            == true
    };
    for feature in ["btf", "tp_btf", "raw_tp", "tracepoint", "perf_event", "uprobe", "ringbuf"] {
        assert!(works(feature), "{feature} works on the CI kernel: {report:#}");
    }
    for probed in ["fentry", "kprobe"] {
        let feature = report["features"].as_array().unwrap().iter().find(|f| f["name"] == probed).unwrap();
        if feature["works"] == false {
            assert!(!feature["detail"].as_str().unwrap().is_empty(), "a failed probe says why: {feature}");
        }
    }
    for name in [
        "runqlat",
        "execsnoop",
        "exitsnoop",
        "tcplife",
        "tcprtt",
        "tcpconnlat",
        "tcpstates",
        "tcpretrans",
        "biolatency",
        "syscount",
        "cpudist",
        "hardirqs",
        "softirqs",
        "tcpdrop",
        "runqslower",
        "sigsnoop",
    ] {
        let tool = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == name).unwrap();
        assert_eq!(tool["runs"], true, "{tool}");
        assert_eq!(tool["hook"], "tp_btf", "{tool}");
        let tried: Vec<&str> = tool["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
        assert_eq!(tried, ["tp_btf", "raw_tp", "tracepoint"]);
        assert!(tool["tried"].as_array().unwrap().iter().all(|t| t["works"] == true), "every path works here: {tool}");
        assert_no_programs_left(&format!("{name}_"));
    }
    // fsslower: only the syscall path works on this kernel (fentry refused,
    // no kprobes), and doctor must say so.
    let ext4slower = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "ext4slower").unwrap();
    let tried: Vec<&str> =
        ext4slower["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
    assert_eq!(tried, ["fentry", "kprobe", "tracepoint"]);
    assert_eq!(ext4slower["runs"], true);
    assert_eq!(ext4slower["hook"], "tracepoint", "{ext4slower}");
    assert_no_programs_left("fsslower_");
    // The file system tools with fsslower's three paths: the syscall one here.
    for name in ["ext4dist", "filetop", "vfsstat", "cachestat"] {
        let tool = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == name).unwrap();
        let tried: Vec<&str> = tool["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
        assert_eq!(tried, ["fentry", "kprobe", "tracepoint"], "{tool}");
        assert_eq!((&tool["runs"], &tool["hook"]), (&true.into(), &"tracepoint".into()), "{tool}");
    }
    // cachestat's row says what its tracepoint path cannot count.
    let cachestat = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "cachestat").unwrap();
    assert!(cachestat["tried"][2]["detail"].as_str().unwrap().contains("hits need fentry or kprobes"), "{cachestat}");
    for prefix in ["fsdist_", "filetop_", "vfsstat_", "cachestat_"] {
        assert_no_programs_left(prefix);
    }
    // opensnoop: the syscall tracepoints exist only as classic tracepoints.
    let opensnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "opensnoop").unwrap();
    assert_eq!((&opensnoop["runs"], &opensnoop["hook"]), (&true.into(), &"tracepoint".into()), "{opensnoop}");
    assert_no_programs_left("opensnoop_");
    let statsnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "statsnoop").unwrap();
    assert_eq!((&statsnoop["runs"], &statsnoop["hook"]), (&true.into(), &"tracepoint".into()), "{statsnoop}");
    assert_no_programs_left("statsnoop_");
    let syncsnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "syncsnoop").unwrap();
    assert_eq!((&syncsnoop["runs"], &syncsnoop["hook"]), (&true.into(), &"tracepoint".into()), "{syncsnoop}");
    assert_no_programs_left("syncsnoop_");
    let mountsnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "mountsnoop").unwrap();
    assert_eq!((&mountsnoop["runs"], &mountsnoop["hook"]), (&true.into(), &"tracepoint".into()), "{mountsnoop}");
    assert_no_programs_left("mountsnoop_");
    let filelife = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "filelife").unwrap();
    assert_eq!((&filelife["runs"], &filelife["hook"]), (&true.into(), &"tracepoint".into()), "{filelife}");
    let tried: Vec<&str> = filelife["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
    assert_eq!(tried, ["fentry", "kprobe", "tracepoint"], "best first: {filelife}");
    assert_no_programs_left("filelife_");
    // tcpconnect: the syscall path here (libbpf-tools' kprobes fail).
    let tcpconnect = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "tcpconnect").unwrap();
    assert_eq!((&tcpconnect["runs"], &tcpconnect["hook"]), (&true.into(), &"tracepoint".into()), "{tcpconnect}");
    let tried: Vec<&str> =
        tcpconnect["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
    assert_eq!(tried, ["fentry", "kprobe", "tracepoint"], "best first: {tcpconnect}");
    assert_no_programs_left("tcpconnect_");
    assert_no_programs_left("tcpconnlat_");
    let tcpaccept = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "tcpaccept").unwrap();
    assert_eq!((&tcpaccept["runs"], &tcpaccept["hook"]), (&true.into(), &"tracepoint".into()), "{tcpaccept}");
    assert_no_programs_left("tcpaccept_");
    let bindsnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "bindsnoop").unwrap();
    assert_eq!((&bindsnoop["runs"], &bindsnoop["hook"]), (&true.into(), &"tracepoint".into()), "{bindsnoop}");
    assert_no_programs_left("bindsnoop_");
    let solisten = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "solisten").unwrap();
    assert_eq!((&solisten["runs"], &solisten["hook"]), (&true.into(), &"tracepoint".into()), "{solisten}");
    assert_no_programs_left("solisten_");
    let killsnoop = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "killsnoop").unwrap();
    assert_eq!((&killsnoop["runs"], &killsnoop["hook"]), (&true.into(), &"tracepoint".into()), "{killsnoop}");
    assert_no_programs_left("sigsnoop_");
    // oomkill: oom_kill_process needs fentry or kprobes; here mark_victim on tp_btf (6.8+ passes the task).
    let oomkill = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "oomkill").unwrap();
    let tried: Vec<&str> = oomkill["tried"].as_array().unwrap().iter().map(|t| t["hook"].as_str().unwrap()).collect();
    assert_eq!(tried, ["fentry", "kprobe", "tp_btf", "raw_tp", "tracepoint"], "best first: {oomkill}");
    assert_eq!((&oomkill["runs"], &oomkill["hook"]), (&true.into(), &"tp_btf".into()), "{oomkill}");
    assert_no_programs_left("oomkill_");
    let runqlen = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "runqlen").unwrap();
    assert_eq!((&runqlen["runs"], &runqlen["hook"]), (&true.into(), &"perf_event".into()), "{runqlen}");
    assert_no_programs_left("runqlen_");
    let gethostlatency = report["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "gethostlatency").unwrap();
    assert_eq!(
        (&gethostlatency["runs"], &gethostlatency["hook"]),
        (&true.into(), &"uprobe".into()),
        "{gethostlatency}"
    );
    assert_no_programs_left("gethostlatency_");
    assert_no_programs_left("probe_");

    let text = run_tracer(&["doctor"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("runqlat") && text.contains("tp_btf"), "{text}");
}
