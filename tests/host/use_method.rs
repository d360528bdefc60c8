//! `tracer use` on a machine we load ourselves: more busy threads than CPUs
//! must show as CPU saturation with runqlat as the next step; an idle
//! machine must show CPUs ok; and without privileges the report still
//! completes, saying which measures it could not take.

use std::os::unix::process::CommandExt;

use serde_json::Value;
use tracer_tests::*;

fn report(args: &[&str]) -> Value {
    let output = run_tracer(args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let records = json_lines(&output.stdout);
    assert_eq!(records.len(), 1, "one JSON record: {records:?}");
    records.into_iter().next().unwrap()
}

fn cell<'a>(record: &'a Value, resource: &str, check: &str) -> &'a Value {
    record["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cell| cell["resource"] == resource && cell["check"] == check)
        .unwrap_or_else(|| panic!("no {resource} {check} cell in {record:#}"))
}

#[test]
fn more_busy_threads_than_cpus_is_cpu_saturation() {
    let busy = burn(online_cpus() * 2, 30, "burn-use");
    let record = report(&["use", "--json", "--duration", "3"]);
    drop(busy);
    assert_eq!(record["tool"], "use");
    let saturation = cell(&record, "CPU", "saturation");
    assert_ne!(saturation["status"], "ok", "{saturation:#}");
    assert!(saturation["next"].as_str().unwrap().contains("tracer runqlat"), "{saturation:#}");
    let measure = saturation["measure"].as_str().unwrap();
    assert!(measure.contains("tasks waiting per CPU") && measure.contains("run-queue latency p99"), "{measure}");
    let utilization = cell(&record, "CPU", "utilization");
    assert_ne!(utilization["status"], "ok", "every CPU was busy: {utilization:#}");
    assert_no_programs_left("runqlat_");
    assert_no_programs_left("runqlen_");
}

#[test]
fn an_idle_machine_has_ok_cpus_and_every_resource_listed() {
    let record = report(&["use", "--json", "-d", "3"]);
    for check in ["utilization", "saturation"] {
        let cpu = cell(&record, "CPU", check);
        assert_eq!(cpu["status"], "ok", "{cpu:#}");
        assert!(cpu["next"].is_null());
    }
    for (resource, check) in [
        ("memory", "utilization"),
        ("memory", "saturation"),
        ("memory", "errors"),
        ("TCP", "saturation"),
        ("file descriptors", "utilization"),
        ("tasks", "utilization"),
    ] {
        let status = cell(&record, resource, check)["status"].as_str().unwrap().to_string();
        assert!(["ok", "warn", "critical", "unavailable"].contains(&status.as_str()));
    }
    let duration = record["duration_s"].as_f64().unwrap();
    assert!((2.9..4.0).contains(&duration), "measured for {duration} s");
}

#[test]
fn thresholds_can_be_overridden_and_markdown_is_plain() {
    // Any utilization at all is critical with these levels.
    let record = report(&["use", "--json", "-d", "1", "--threshold", "cpu.utilization=0:0"]);
    assert_eq!(cell(&record, "CPU", "utilization")["status"], "critical");
    let output = run_tracer(&["use", "-d", "1", "--markdown"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.contains("| Resource | Check | Status | Measure | Next step |"), "{text}");
    assert!(!text.contains('\x1b'), "colour in Markdown: {text:?}");
    let plain = run_tracer(&["use", "-d", "1"]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\x1b'), "colour on a pipe");
}

#[test]
fn without_privileges_the_report_completes_and_says_what_it_missed() {
    let output = tracer().args(["use", "--json", "-d", "1"]).uid(65534).gid(65534).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let record = json_lines(&output.stdout).remove(0);
    let saturation = cell(&record, "CPU", "saturation");
    let measure = saturation["measure"].as_str().unwrap();
    assert!(measure.contains("not measured") && measure.contains("sudo"), "{measure}");
    assert!(measure.contains("tasks waiting per CPU (from /proc/stat"), "{measure}");
    assert_eq!(cell(&record, "memory", "utilization")["status"], "ok");
}
