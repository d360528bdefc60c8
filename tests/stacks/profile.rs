//! `tracer profile` against programs whose hot functions we named: the
//! samples of their pid must land in stacks through those names, kernel
//! frames must be marked, the SVG must be well formed, and a process that
//! exits before the profile ends must still be symbolized.

use std::collections::BTreeMap;

use tracer_tests::*;

const HOT: &str = "profile_target_spins_here_x7q";
const CALLER: &str = "profile_target_caller_x7q";

/// Folded lines as (stack, count).
fn folded(stdout: &[u8]) -> BTreeMap<String, u64> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .map(|line| {
            let (stack, count) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a folded line: {line:?}"));
            (stack.to_string(), count.parse().unwrap_or_else(|_| panic!("bad count in {line:?}")))
        })
        .collect()
}

fn sum_where(lines: &BTreeMap<String, u64>, wanted: impl Fn(&str) -> bool) -> u64 {
    lines.iter().filter(|(stack, _)| wanted(stack)).map(|(_, count)| count).sum()
}

#[test]
fn samples_of_a_busy_process_land_in_its_hot_function() {
    let busy = spin("cpu", 20.0);
    let pid = busy.pid.to_string();
    let started = start_tracer(&["profile", "-p", &pid, "-f", "3"]);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("attached via perf_event"), "{stderr}");
    let lines = folded(&stdout);
    let total: u64 = lines.values().sum();
    // One busy thread at 99 Hz for 3 s: about 297 samples.
    assert!((200..=320).contains(&total), "{total} samples in 3 s at 99 Hz: {lines:#?}");
    for stack in lines.keys() {
        assert!(stack.starts_with("tracer-spin;"), "-p {pid} let another process through: {stack}");
    }
    let hot = sum_where(&lines, |stack| stack.contains(HOT));
    assert!(hot * 10 >= total * 9, "only {hot} of {total} samples in {HOT}: {lines:#?}");
    // Frame pointers let the walk go up through the caller, root first.
    let through_caller =
        sum_where(&lines, |stack| stack.find(CALLER).zip(stack.find(HOT)).is_some_and(|(caller, hot)| caller < hot));
    assert!(through_caller * 10 >= total * 8, "{through_caller} of {total} samples show {CALLER} above {HOT}");
    assert!(stderr.contains(&format!("{total} events recorded")), "summary disagrees with the output: {stderr}");
    assert_no_programs_left("profile_");
}

#[test]
fn kernel_frames_are_marked_and_follow_user_frames() {
    let busy = spin("syscall", 20.0);
    let pid = busy.pid.to_string();
    let started = start_tracer(&["profile", "-p", &pid, "-f", "-d", "2"]);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    let lines = folded(&stdout);
    let mut in_kernel = 0;
    for (stack, count) in &lines {
        let frames: Vec<&str> = stack.split(';').collect();
        let Some(delimiter) = frames.iter().position(|frame| *frame == "-") else { continue };
        assert!(
            frames[delimiter + 1..].iter().all(|frame| frame.ends_with("_[k]")),
            "a frame after the delimiter lacks _[k]: {stack}"
        );
        assert!(frames[1..delimiter].iter().all(|frame| !frame.ends_with("_[k]")), "a user frame has _[k]: {stack}");
        assert!(frames[..delimiter].iter().any(|frame| frame.contains("syscall_target_loops_here_x7q")), "{stack}");
        in_kernel += count;
    }
    let total: u64 = lines.values().sum();
    // getppid in a loop: a good share of the time is in the kernel.
    assert!(in_kernel * 5 >= total, "only {in_kernel} of {total} samples with both stacks: {lines:#?}");
    let getppid = sum_where(&lines, |stack| stack.contains("getppid_[k]"));
    assert!(getppid > 0, "no sample inside the getppid system call: {lines:#?}");
}

#[test]
fn svg_flamegraph_is_well_formed_and_names_the_hot_function() {
    let busy = spin("cpu", 20.0);
    let dir = std::env::temp_dir().join(unique("profile-svg"));
    std::fs::create_dir_all(&dir).unwrap();
    let svg_path = dir.join("cpu.svg");
    let started = start_tracer(&[
        "profile",
        "-p",
        &busy.pid.to_string(),
        "--svg",
        svg_path.to_str().unwrap(),
        "--title",
        "x7q",
        "2",
    ]);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    assert!(stdout.is_empty(), "--svg alone prints nothing on stdout: {}", String::from_utf8_lossy(&stdout));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let document = roxmltree::Document::parse_with_options(
        &svg,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap_or_else(|err| panic!("malformed SVG: {err}"));
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let titles: Vec<&str> =
        document.descendants().filter(|node| node.has_tag_name("title")).filter_map(|node| node.text()).collect();
    assert!(titles.iter().any(|title| title.contains(HOT) && title.contains("samples")), "no frame for {HOT}");
    assert!(svg.contains("x7q"), "the title is missing");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_process_that_exits_before_the_end_is_still_symbolized() {
    let mut short = spin("cpu", 1.0);
    let pid = short.pid;
    let started = start_tracer(&["profile", "-p", &pid.to_string(), "-f", "3"]);
    short.child.wait().unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the workload should be gone");
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    let lines = folded(&stdout);
    let total: u64 = lines.values().sum();
    assert!(total >= 40, "too few samples of the short-lived process: {lines:#?}");
    let hot = sum_where(&lines, |stack| stack.contains(HOT));
    assert!(hot * 10 >= total * 8, "{hot} of {total} samples symbolized to {HOT} after exit: {lines:#?}");
}

#[test]
fn bad_targets_are_refused_in_one_line() {
    for args in [
        ["profile", "-p", "999999"].as_slice(),
        &["profile", "-C", "4096"],
        &["profile", "-F", "1000000"],
        &["offcputime", "-t", "999999"],
        &["offcputime", "-m", "100", "-M", "10"],
    ] {
        let output = run_tracer(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    }
}

#[test]
fn thousands_of_distinct_stacks_are_all_kept() {
    // Many short-lived processes walking the file system and compressing:
    // thousands of distinct stacks in a few seconds. The kernel's stack
    // trace map would lose a good share of them to bucket collisions.
    let mut shells: Vec<_> = (0..online_cpus())
        .map(|_| {
            std::process::Command::new("sh")
                .args([
                    "-c",
                    "while :; do find /usr/share/doc -name '*.gz' | head -100 | xargs -r cat | gzip -1 >/dev/null; done",
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    let started = start_tracer(&["profile", "-F", "999", "-f", "3"]);
    let (stdout, stderr, status) = started.finish();
    for shell in &mut shells {
        let _ = shell.kill();
        let _ = shell.wait();
    }
    assert!(status.success(), "{stderr}");
    let lines = folded(&stdout);
    assert!(lines.len() >= 1000, "only {} distinct stacks: the workload should make thousands", lines.len());
    assert!(stderr.contains("missed stacks: 0 user, 0 kernel"), "{stderr}");
}
