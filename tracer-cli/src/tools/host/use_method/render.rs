//! The report as a terminal table (colour for status only, none under
//! NO_COLOR or when not a terminal), Markdown for an incident ticket, or one
//! JSON record.

use std::fmt::Write as _;

use serde::Serialize;

use super::{checks::Cell, status::Status};
use crate::output::{escape, json};

/// The header facts of a report.
pub struct Context {
    pub host: String,
    pub kernel: String,
    pub cpus: usize,
    pub seconds: f64,
}

fn coloured(status: Status, colour: bool) -> String {
    let name = status.name();
    if !colour {
        return name.to_string();
    }
    let code = match status {
        Status::Ok => "32",
        Status::Warn => "33",
        Status::Critical => "1;31",
        Status::Unavailable => return name.to_string(),
    };
    format!("\x1b[{code}m{name}\x1b[0m")
}

pub fn text(context: &Context, cells: &[Cell], colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "USE method check of {} over {:.0} s ({}, {} CPUs)\n",
        escape::for_terminal(context.host.as_bytes()),
        context.seconds,
        context.kernel,
        context.cpus
    );
    let width = cells.iter().map(|cell| cell.resource.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(out, "{:<width$}  {:<11}  {:<8}  MEASURE", "RESOURCE", "CHECK", "STATUS");
    for cell in cells {
        // Padding is computed on the plain name; colour codes have no width.
        let pad = " ".repeat(8usize.saturating_sub(cell.status.name().len()));
        let _ = writeln!(
            out,
            "{:<width$}  {:<11}  {}{pad}  {}",
            escape::for_terminal(cell.resource.as_bytes()),
            cell.check.name(),
            coloured(cell.status, colour),
            cell.measure
        );
        if let Some(next) = &cell.next {
            let _ = writeln!(out, "{:<width$}  {:<11}  {:<8}  next: {next}", "", "", "");
        }
    }
    let _ = writeln!(out, "\n{}", summary(cells));
    out
}

pub fn markdown(context: &Context, cells: &[Cell]) -> String {
    let cell_text = |text: &str| escape::for_terminal(text.as_bytes()).replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### USE method check: {} ({}, {} CPUs, {:.0} s)\n",
        cell_text(&context.host),
        context.kernel,
        context.cpus,
        context.seconds
    );
    let _ = writeln!(out, "| Resource | Check | Status | Measure | Next step |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for cell in cells {
        let status = match cell.status {
            Status::Ok => "ok".to_string(),
            other => format!("**{}**", other.name()),
        };
        let next = cell.next.as_deref().map(|next| format!("`{}`", next.replace('`', "'"))).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {status} | {} | {} |",
            cell_text(&cell.resource),
            cell.check.name(),
            cell_text(&cell.measure),
            next.replace('|', "\\|")
        );
    }
    let _ = writeln!(out, "\n{}", summary(cells));
    out
}

#[derive(Serialize)]
struct Record<'a> {
    duration_s: f64,
    kernel: &'a str,
    cpus: usize,
    cells: &'a [Cell],
}

pub fn json(context: &Context, cells: &[Cell]) -> String {
    json::line("use", &Record { duration_s: context.seconds, kernel: &context.kernel, cpus: context.cpus, cells })
}

fn summary(cells: &[Cell]) -> String {
    let count = |status: Status| cells.iter().filter(|cell| cell.status == status).count();
    format!(
        "{} ok, {} warn, {} critical, {} not measurable here",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Critical),
        count(Status::Unavailable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::host::use_method::checks::Check;

    fn cells() -> Vec<Cell> {
        vec![
            Cell {
                resource: "CPU".into(),
                check: Check::Saturation,
                status: Status::Warn,
                measure: "2.10 runnable per CPU".into(),
                next: Some("tracer runqlat 1 10".into()),
            },
            Cell {
                resource: "net e|th0".into(),
                check: Check::Errors,
                status: Status::Ok,
                measure: "0.0 errors/s".into(),
                next: None,
            },
        ]
    }

    fn context() -> Context {
        Context { host: "h".into(), kernel: "Linux 6.18".into(), cpus: 2, seconds: 3.0 }
    }

    #[test]
    fn colour_marks_only_the_status() {
        let plain = text(&context(), &cells(), false);
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("next: tracer runqlat 1 10"));
        let colour = text(&context(), &cells(), true);
        assert!(colour.contains("\x1b[33mwarn\x1b[0m"));
        assert_eq!(colour.matches('\x1b').count(), 4, "two statuses, each opened and reset");
    }

    #[test]
    fn markdown_escapes_pipes_and_bolds_problems() {
        let text = markdown(&context(), &cells());
        assert!(text.contains("| CPU | saturation | **warn** | 2.10 runnable per CPU | `tracer runqlat 1 10` |"));
        assert!(text.contains("net e\\|th0"));
        assert!(text.contains("1 ok, 1 warn, 0 critical"));
    }
}
