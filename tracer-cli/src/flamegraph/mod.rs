//! Rendering counted stacks: folded lines (`comm;user root..leaf;kernel
//! root..leaf value`, kernel frames suffixed `_[k]`), BCC's multi-line text
//! layout, and flamegraph SVGs drawn by inferno.

use std::{fs::File, io::BufWriter, path::Path};

use anyhow::{Context, Result};
use inferno::flamegraph::{self, Options, Palette};

use crate::{
    output::escape,
    stacks::{Frames, Stack, lookup_addrs},
    symbols::Symbols,
};

/// Frame names as the reports show them, root first.
struct Named {
    comm: Vec<u8>,
    user: Vec<String>,
    kernel: Vec<String>,
}

const MISSED_USER: &str = "[Missed User Stack]";
const MISSED_KERNEL: &str = "[Missed Kernel Stack]";

/// How stacks are turned into names.
#[derive(Clone, Copy, Debug, Default)]
pub struct Render {
    /// Put a `-` (folded) or `--` (text) between user and kernel frames.
    pub delimited: bool,
    /// Drop the leaf-side kernel frames of our own tracepoint program and the
    /// kernel's code that called it (offcputime's stacks are taken inside
    /// sched_switch's hook): they would sit on top of every stack.
    pub hide_hook_frames: bool,
}

/// Kernel functions that run BPF programs attached to tracepoints.
fn is_hook_frame(name: &str) -> bool {
    ["bpf_trace_run", "__bpf_trace_", "bpf_prog_", "trace_call_bpf", "perf_trace_", "__traceiter_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Frames leaf-side of the last hook frame near the leaf are the program
/// itself (JIT code that may resolve to any nearby symbol).
const HOOK_FRAMES_NEAR_LEAF: usize = 8;

fn named(stack: &Stack, symbols: &Symbols, render: &Render) -> Named {
    let user = match &stack.user {
        Frames::Absent => vec![],
        Frames::Missed(_) => vec![MISSED_USER.to_string()],
        Frames::Addrs(addrs) => {
            lookup_addrs(addrs).rev().map(|addr| symbols.user(stack.pid, addr).to_string()).collect()
        }
    };
    let kernel = match &stack.kernel {
        Frames::Absent => vec![],
        Frames::Missed(_) => vec![MISSED_KERNEL.to_string()],
        Frames::Addrs(addrs) => {
            let mut names: Vec<String> = lookup_addrs(addrs).map(|addr| symbols.kernel(addr).to_string()).collect();
            if render.hide_hook_frames
                && let Some(last) = names.iter().take(HOOK_FRAMES_NEAR_LEAF).rposition(|name| is_hook_frame(name))
            {
                names.drain(..=last);
            }
            names.reverse();
            names
        }
    };
    Named { comm: escape::until_nul(&stack.comm).to_vec(), user, kernel }
}

/// A frame name safe inside a folded line: no separators, no control bytes.
fn folded_frame(name: &[u8]) -> String {
    escape::for_terminal(name).replace(';', ":")
}

/// One folded stack: `comm;user frames;[-;]kernel frames_[k]` (the value
/// follows after a space).
pub fn folded_stack(stack: &Stack, symbols: &Symbols, render: &Render) -> String {
    let names = named(stack, symbols, render);
    let mut parts = vec![folded_frame(&names.comm)];
    parts.extend(names.user.iter().map(|name| folded_frame(name.as_bytes())));
    if render.delimited && !names.user.is_empty() && !names.kernel.is_empty() {
        parts.push("-".to_string());
    }
    parts.extend(names.kernel.iter().map(|name| format!("{}_[k]", folded_frame(name.as_bytes()))));
    parts.join(";")
}

/// BCC's layout: kernel frames leaf first, then user frames, then the
/// process; `text_block` adds the value.
pub fn text_stack(stack: &Stack, symbols: &Symbols, render: &Render) -> String {
    let names = named(stack, symbols, render);
    let mut out = String::new();
    for name in names.kernel.iter().rev() {
        out.push_str(&format!("    {}\n", escape::for_terminal(name.as_bytes())));
    }
    if render.delimited && !names.user.is_empty() && !names.kernel.is_empty() {
        out.push_str("    --\n");
    }
    for name in names.user.iter().rev() {
        out.push_str(&format!("    {}\n", escape::for_terminal(name.as_bytes())));
    }
    out.push_str(&format!("    {:<16} {} ({})\n", "-", escape::for_terminal(&names.comm), stack.pid));
    out
}

/// A text stack with its value, as BCC prints it.
pub fn text_block(stack_text: &str, value: u64) -> String {
    format!("{stack_text}        {value}\n\n")
}

/// Sums the values of stacks that render the same (different addresses in
/// one function, threads of one process), biggest last as BCC prints them.
pub fn merge(rendered: impl IntoIterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut sums: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (text, value) in rendered {
        *sums.entry(text).or_default() += value;
    }
    let mut merged: Vec<(String, u64)> = sums.into_iter().collect();
    merged.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    merged
}

/// How an SVG is drawn.
pub struct SvgStyle<'a> {
    pub title: &'a str,
    /// What the values count ("samples", "us").
    pub count_name: &'a str,
    pub palette: Palette,
}

/// Draws `folded` lines into an SVG file.
pub fn write_svg(path: &Path, folded: &[String], style: &SvgStyle) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut options = Options::default();
    options.title = style.title.to_string();
    options.count_name = style.count_name.to_string();
    options.colors = style.palette;
    // Colours from a hash of the name: the same function keeps its colour
    // from one graph to the next.
    options.hash = true;
    let mut writer = BufWriter::new(file);
    if folded.is_empty() {
        // inferno refuses empty input; an empty graph says "nothing sampled".
        options.title = format!("{} (no stacks were recorded)", style.title);
        let lines = ["(none) 1"];
        return flamegraph::from_lines(&mut options, lines.iter().copied(), &mut writer)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    flamegraph::from_lines(&mut options, folded.iter().map(String::as_str), &mut writer)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use tracer_common::TASK_COMM_LEN;

    use super::*;

    fn comm(name: &str) -> [u8; TASK_COMM_LEN] {
        let mut comm = [0; TASK_COMM_LEN];
        comm[..name.len()].copy_from_slice(name.as_bytes());
        comm
    }

    fn stack(user: Frames, kernel: Frames) -> Stack {
        Stack { pid: 42, comm: comm("app;x\x1b"), user, kernel, value: 7 }
    }

    const DELIMITED: Render = Render { delimited: true, hide_hook_frames: false };

    #[test]
    fn hook_frames_are_recognised() {
        assert!(is_hook_frame("bpf_trace_run4") && is_hook_frame("perf_trace_sched_switch"));
        assert!(!is_hook_frame("__schedule") && !is_hook_frame("do_nanosleep"));
    }

    #[test]
    fn folded_lines_put_roots_first_and_mark_kernel_frames() {
        let symbols = Symbols::new();
        // Unresolved addresses keep a placeholder name; the shape is what counts.
        let line = folded_stack(&stack(Frames::Addrs(vec![1, 2]), Frames::Addrs(vec![3])), &symbols, &DELIMITED);
        assert_eq!(line, "app:x\\x1b;[unresolved];[unresolved];-;[unresolved]_[k]");
        let line = folded_stack(
            &stack(Frames::Missed(tracer_common::stacks::STACK_NO_ROOM), Frames::Absent),
            &symbols,
            &DELIMITED,
        );
        assert_eq!(line, "app:x\\x1b;[Missed User Stack]");
    }

    #[test]
    fn text_blocks_follow_bcc_layout() {
        let symbols = Symbols::new();
        let block = text_block(
            &text_stack(
                &stack(Frames::Absent, Frames::Missed(tracer_common::stacks::STACK_NO_ROOM)),
                &symbols,
                &Render::default(),
            ),
            9,
        );
        assert_eq!(block, "    [Missed Kernel Stack]\n    -                app;x\\x1b (42)\n        9\n\n");
    }

    #[test]
    fn identical_renderings_are_summed_and_sorted() {
        let merged = merge([("a".to_string(), 5), ("b".to_string(), 1), ("a".to_string(), 2)]);
        assert_eq!(merged, vec![("b".to_string(), 1), ("a".to_string(), 7)]);
    }

    #[test]
    fn svg_is_written_even_for_no_stacks() {
        let dir = std::env::temp_dir().join(format!("tracer-svg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.svg");
        let style = SvgStyle { title: "t", count_name: "samples", palette: Palette::default() };
        write_svg(&path, &[], &style).unwrap();
        write_svg(&path, &["a;b_[k] 3".to_string()], &style).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("b (3 samples") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
