//! tracefs: where classic tracepoints are listed and described.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Returns the tracefs mount, mounting it at /sys/kernel/tracing when the
/// kernel has it but nobody mounted it (common on minimal hosts and VMs).
pub fn ensure_mounted() -> Result<PathBuf> {
    for candidate in [TRACEFS, DEBUGFS_TRACING] {
        if is_populated(Path::new(candidate)) {
            return Ok(candidate.into());
        }
    }
    nix::mount::mount(Some("tracefs"), TRACEFS, Some("tracefs"), nix::mount::MsFlags::empty(), None::<&str>)
        .with_context(|| format!("tracefs is not mounted and mounting it at {TRACEFS} failed"))?;
    log::info!("mounted tracefs at {TRACEFS}");
    Ok(TRACEFS.into())
}

fn is_populated(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false)
}

/// One field of a tracepoint record, as its `format` file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatField {
    pub name: String,
    pub offset: u32,
    pub size: u32,
}

/// The fields of tracepoint `category:name`.
pub fn tracepoint_format(category: &str, name: &str) -> Result<Vec<FormatField>> {
    let path = ensure_mounted()?.join("events").join(category).join(name).join("format");
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_format(&text).with_context(|| format!("cannot parse {}", path.display()))
}

/// Whether this kernel has tracepoint `category:name` (mounting tracefs if need be).
pub fn tracepoint_exists(category: &str, name: &str) -> bool {
    ensure_mounted().is_ok_and(|tracing| tracing.join("events").join(category).join(name).exists())
}

/// Parses the `field:` lines of a tracepoint format file, e.g.
/// `\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;`.
pub fn parse_format(text: &str) -> Result<Vec<FormatField>> {
    let mut fields = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| line.starts_with("field:")) {
        let mut declaration = None;
        let (mut offset, mut size) = (None, None);
        for part in line.split(';').map(str::trim) {
            if let Some(value) = part.strip_prefix("field:") {
                declaration = Some(value);
            } else if let Some(value) = part.strip_prefix("offset:") {
                offset = value.parse().ok();
            } else if let Some(value) = part.strip_prefix("size:") {
                size = value.parse().ok();
            }
        }
        let (Some(declaration), Some(offset), Some(size)) = (declaration, offset, size) else {
            bail!("malformed field line: {line:?}");
        };
        fields.push(FormatField { name: declared_name(declaration)?, offset, size });
    }
    if fields.is_empty() {
        bail!("no fields found");
    }
    Ok(fields)
}

/// The identifier declared by a C declaration such as `char prev_comm[16]`
/// or `__data_loc char[] name`.
fn declared_name(declaration: &str) -> Result<String> {
    // Drop every `[...]`, wherever it sits, then the name is the last word.
    let mut without_arrays = String::with_capacity(declaration.len());
    let mut depth = 0usize;
    for c in declaration.chars() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth.saturating_sub(1);
                without_arrays.push(' ');
            }
            c if depth == 0 => without_arrays.push(c),
            _ => {}
        }
    }
    let last = without_arrays.split_whitespace().last().unwrap_or("");
    let name: String = last.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if name.is_empty() {
        bail!("no field name in {declaration:?}");
    }
    Ok(name)
}

/// Finds field `name` among `fields`.
pub fn field<'a>(fields: &'a [FormatField], tracepoint: &str, name: &str) -> Result<&'a FormatField> {
    fields.iter().find(|f| f.name == name).with_context(|| format!("tracepoint {tracepoint} has no field {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHED_SWITCH: &str = "name: sched_switch
ID: 316
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;

print fmt: \"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid
";

    #[test]
    fn parses_sched_switch_format() {
        let fields = parse_format(SCHED_SWITCH).unwrap();
        assert_eq!(fields.len(), 11);
        let get = |name| field(&fields, "sched_switch", name).unwrap().clone();
        assert_eq!(get("prev_comm"), FormatField { name: "prev_comm".into(), offset: 8, size: 16 });
        assert_eq!(get("prev_state"), FormatField { name: "prev_state".into(), offset: 32, size: 8 });
        assert_eq!(get("next_pid").offset, 56);
        assert!(field(&fields, "sched_switch", "missing").is_err());
    }

    #[test]
    fn handles_data_loc_and_rejects_garbage() {
        let fields = parse_format("\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n").unwrap();
        assert_eq!(fields[0].name, "name");
        assert!(parse_format("nothing here").is_err());
        assert!(parse_format("\tfield:int x;\toffset:abc;\tsize:4;\n").is_err());
    }

    #[test]
    fn reads_the_live_sched_switch_format() {
        let fields = tracepoint_format("sched", "sched_switch").unwrap();
        for name in ["prev_pid", "prev_state", "next_pid", "next_comm"] {
            field(&fields, "sched_switch", name).unwrap();
        }
    }
}
