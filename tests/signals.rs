//! Every way a run can end: Ctrl-C, SIGTERM, SIGHUP (the SSH session went
//! away) and a reader that closes stdout (`tracer ... | head -1`) must end it
//! with status 0 and, where the tool reports at the end, the partial report;
//! after each of them, and after SIGKILL, none of the programs, links and
//! maps the tracer held may remain in the kernel.
//!
//! The check is by kernel ID: while the tracer runs we read which programs,
//! links and maps its file descriptors hold (/proc/PID/fdinfo), and after it
//! exits none of those IDs may be in the kernel's lists. Other BPF users on
//! the machine (or a parallel run of these tests) cannot confuse it.

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;
use tracer_tests::*;

/// A tool, how to start it so that it runs until told to stop, how to start
/// it so that it writes again soon (for the closed-stdout case), and what
/// its stdout must contain after a signal ended it.
struct Tool {
    until_signal: &'static [&'static str],
    writes_soon: &'static [&'static str],
    report_contains: fn(&str) -> Vec<String>,
}

const BURN: &str = "burn-endings";

/// runqlat and execsnoop (tp_btf, ring buffer), profile and runqlen (one
/// perf event per CPU).
fn tools() -> Vec<Tool> {
    vec![
        Tool {
            until_signal: &["runqlat"],
            writes_soon: &["runqlat", "1"],
            report_contains: |_| vec!["usecs".into(), "p99.9".into()],
        },
        Tool {
            until_signal: &["execsnoop"],
            writes_soon: &["execsnoop"],
            // An exec made while the tracer ran (see `activity`) is printed.
            report_contains: |token| vec!["PCOMM".into(), token.into()],
        },
        Tool { until_signal: &["profile"], writes_soon: &["profile", "2"], report_contains: |_| vec![BURN.into()] },
        Tool {
            until_signal: &["runqlen"],
            writes_soon: &["runqlen", "1"],
            report_contains: |_| vec!["runqlen".into(), "distribution".into()],
        },
    ]
}

/// Something for every tool to see: an exec with a known argument.
fn activity(token: &str) {
    let status = Command::new("/bin/true").arg(token).status().expect("run /bin/true");
    assert!(status.success());
}

/// Starts the tracer, records what it holds in the kernel, and checks that
/// the holdings are real and new.
fn start(args: &[&str]) -> (Started, BpfIds) {
    let before = BpfIds::in_kernel();
    let started = start_tracer(args);
    let held = BpfIds::held_by(started.child.id());
    assert!(
        !held.programs.is_empty() && !held.links.is_empty() && !held.maps.is_empty(),
        "{args:?} holds no programs, links or maps once attached: {held:?}"
    );
    assert!(held.common(&before).is_empty(), "{args:?} holds objects that existed before it started: {held:?}");
    assert!(held.common(&BpfIds::in_kernel()) == held, "the kernel does not list what {args:?} holds");
    (started, held)
}

/// Ends a run of every tool with `signal` and checks the exit and the kernel.
fn end_each_tool_with(signal: Signal) {
    let _busy = burn(online_cpus(), 120, BURN);
    for tool in tools() {
        let args = tool.until_signal;
        let token = unique("ending");
        let (started, held) = start(args);
        activity(&token);
        // Events wait ~20 ms to be put in order; profile wants samples.
        thread::sleep(Duration::from_millis(1000));
        tracer_tests::signal(&started.child, signal);
        let (stdout, stderr, status) = started.finish();
        let stdout = String::from_utf8_lossy(&stdout);
        if signal == Signal::SIGKILL {
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{args:?}: {status}");
        } else {
            assert!(status.success(), "{args:?} after {signal}: {status} {stderr}");
            for wanted in (tool.report_contains)(&token) {
                assert!(stdout.contains(&wanted), "{args:?} after {signal}: no {wanted:?} in {stdout}");
            }
        }
        assert_released(&held);
    }
}

#[test]
fn ctrl_c_ends_runs_cleanly_and_leaves_nothing_in_the_kernel() {
    end_each_tool_with(Signal::SIGINT);
}

#[test]
fn sigterm_ends_runs_cleanly_and_leaves_nothing_in_the_kernel() {
    end_each_tool_with(Signal::SIGTERM);
}

#[test]
fn sighup_ends_runs_cleanly_and_leaves_nothing_in_the_kernel() {
    end_each_tool_with(Signal::SIGHUP);
}

#[test]
fn sigkill_leaves_nothing_in_the_kernel() {
    end_each_tool_with(Signal::SIGKILL);
}

#[test]
fn a_reader_closing_stdout_ends_runs_cleanly_and_leaves_nothing_in_the_kernel() {
    let _busy = burn(online_cpus(), 120, BURN);
    for tool in tools() {
        let args = tool.writes_soon;
        let (mut started, held) = start(args);
        // `tracer ... | head -1`: head gets the tracer's stdout and exits
        // after one line, closing the pipe.
        let stdout = started.child.stdout.take().expect("stdout");
        let head = Command::new("head").arg("-n1").stdin(Stdio::from(stdout)).stdout(Stdio::piped()).spawn().unwrap();
        let first = head.wait_with_output().expect("head");
        assert!(first.status.success() && first.stdout.ends_with(b"\n"), "{args:?}: head got {first:?}");
        // Give execsnoop something to write into the closed pipe, until the
        // tracer notices and exits.
        let deadline = Instant::now() + Duration::from_secs(20);
        while started.child.try_wait().expect("try_wait").is_none() && Instant::now() < deadline {
            activity("after-close");
            thread::sleep(Duration::from_millis(50));
        }
        let (_, stderr, status) = started.finish();
        assert!(status.success(), "{args:?} after its reader left: {status} {stderr}");
        assert_released(&held);
    }
}
