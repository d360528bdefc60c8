//! `tracer offcputime` against a program that sleeps in nanosleep for a
//! time it measures itself: the off-CPU time in its sleep stacks must match.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
};

use tracer_tests::*;

const SLEEPER: &str = "offcpu_target_sleeps_here_x7q";

fn folded(stdout: &[u8]) -> BTreeMap<String, u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let (stack, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a folded line: {line:?}"));
            (stack.to_string(), value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")))
        })
        .collect()
}

/// Runs the sleeper for 1 s under `offcputime ARGS -p PID -f 3` and returns
/// (folded output, the sleeper's own total of time inside nanosleep in us).
fn sleep_under(extra: &[&str]) -> (BTreeMap<String, u64>, u64, String) {
    let mut sleeper = spin("sleep", 1.0);
    let pid = sleeper.pid.to_string();
    let mut args = vec!["offcputime", "-p", &pid, "-f"];
    args.extend_from_slice(extra);
    args.push("3");
    let started = start_tracer(&args);
    writeln!(sleeper.child.stdin.as_mut().unwrap(), "go").unwrap();
    let mut line = String::new();
    BufReader::new(sleeper.child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let asleep_us: u64 = line.trim().strip_prefix("asleep_us ").and_then(|us| us.parse().ok()).expect(&line);
    let (stdout, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    (folded(&stdout), asleep_us, stderr)
}

fn sleep_time(lines: &BTreeMap<String, u64>) -> u64 {
    lines.iter().filter(|(stack, _)| stack.contains(SLEEPER) && stack.contains("nanosleep")).map(|(_, us)| us).sum()
}

#[test]
fn time_asleep_in_nanosleep_matches_the_sleepers_own_clock() {
    let (lines, asleep_us, stderr) = sleep_under(&[]);
    assert!(stderr.contains("attached via tp_btf"), "{stderr}");
    let traced = sleep_time(&lines);
    let error = traced.abs_diff(asleep_us) as f64 / asleep_us as f64;
    assert!(
        error <= 0.10,
        "offcputime saw {traced} us in nanosleep stacks, the sleeper measured {asleep_us} us: {lines:#?}"
    );
    for stack in lines.keys() {
        assert!(stack.starts_with("tracer-spin;"), "another process got through -p: {stack}");
    }
    // The kernel half of the sleep stacks goes through the scheduler.
    assert!(
        lines.keys().any(|stack| stack.contains(SLEEPER) && stack.contains("schedule_[k]")),
        "no kernel frames in the sleep stacks: {lines:#?}"
    );
    assert_no_programs_left("offcputime_");
}

#[test]
fn raw_and_classic_tracepoints_measure_the_same() {
    for hook in ["raw_tp", "tracepoint"] {
        let (lines, asleep_us, stderr) = sleep_under(&["--hook", hook]);
        assert!(stderr.contains(&format!("attached via {hook}")), "{stderr}");
        let traced = sleep_time(&lines);
        let error = traced.abs_diff(asleep_us) as f64 / asleep_us as f64;
        assert!(error <= 0.10, "{hook}: {traced} us traced vs {asleep_us} us measured: {lines:#?}");
    }
}

#[test]
fn min_block_time_leaves_out_shorter_blocks() {
    // Every sleep is ~10 ms: with -m 50000 (50 ms) none may be counted.
    let (lines, _, stderr) = sleep_under(&["-m", "50000"]);
    assert_eq!(sleep_time(&lines), 0, "blocks under -m were counted: {lines:#?} {stderr}");
}

#[test]
fn svg_counts_microseconds() {
    let mut sleeper = spin("sleep", 0.5);
    let dir = std::env::temp_dir().join(unique("offcpu-svg"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("off.svg");
    let started = start_tracer(&["offcputime", "-p", &sleeper.pid.to_string(), "--svg", path.to_str().unwrap(), "2"]);
    writeln!(sleeper.child.stdin.as_mut().unwrap(), "go").unwrap();
    let (_, stderr, status) = started.finish();
    assert!(status.success(), "{stderr}");
    let svg = std::fs::read_to_string(&path).unwrap();
    roxmltree::Document::parse_with_options(&svg, roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() })
        .unwrap_or_else(|err| panic!("malformed SVG: {err}"));
    assert!(svg.contains(SLEEPER) && svg.contains(" us, "), "no sleep frame counted in us");
    std::fs::remove_dir_all(dir).unwrap();
}
