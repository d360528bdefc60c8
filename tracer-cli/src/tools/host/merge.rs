//! `tracer merge FILE...`: the histograms that runs of one histogram tool
//! saved with `--save` (on one host or many), added together per owner tag
//! and reported as the tool would: log2 table and percentiles, or JSON.
//! HdrHistogram counts add exactly, so the merged percentiles are those of
//! all the samples together (within the tools' stated 1/16), not an average
//! of per-host percentiles.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::Result;
use hdrhistogram::Histogram as Hdr;

use crate::{
    cli::Common,
    error::refuse,
    hist::{
        TableUnit, hdr, hdr_log,
        report::{HistogramReport, Owner},
    },
    output::{self, json},
};

/// Combine histograms saved by runqlat, biolatency, cpudist, fsdist or bitesize --save
/// (from any number of hosts) into one report.
///
/// Examples:
///   tracer merge web1.hlog web2.hlog web3.hlog   # one histogram for the fleet
///   tracer merge --json logs/*.hlog              # the tools' JSON records
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Logs written by --save, all by the same tool
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Millisecond histogram
    #[arg(short = 'm', long = "milliseconds")]
    pub milliseconds: bool,
    /// One JSON object per merged histogram (the tools' record shape)
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, _common: &Common) -> Result<()> {
    let mut tool: Option<(String, PathBuf)> = None;
    // Untagged (whole system) first, then owners in tag order.
    let mut merged: BTreeMap<Option<String>, Hdr<u64>> = BTreeMap::new();
    let mut histograms = 0usize;
    for path in &args.files {
        let log = hdr_log::read(path)?;
        match &tool {
            Some((first, first_path)) if *first != log.tool => refuse!(
                "cannot merge {} histograms ({}) with {first} ones ({}): merge one tool's logs at a time",
                log.tool,
                path.display(),
                first_path.display()
            ),
            Some(_) => {}
            None => tool = Some((log.tool.clone(), path.clone())),
        }
        for (tag, histogram) in log.histograms {
            histograms += 1;
            let total = merged.entry(tag).or_insert_with(hdr::empty);
            if total.add(&histogram).is_err() {
                refuse!("{} holds values beyond 2^50 ns: it was not written by tracer --save", path.display());
            }
        }
    }
    let Some((tool, _)) = tool else { unreachable!("clap requires at least one file") };
    if histograms == 0 {
        refuse!("no histograms in {}: the runs saved nothing (did they end before an interval?)", list(&args.files));
    }
    let unit = match (tool.as_str(), args.milliseconds) {
        // Sizes, not times.
        ("bitesize", _) => TableUnit::Kbytes,
        (_, true) => TableUnit::Msecs,
        (_, false) => TableUnit::Usecs,
    };
    let mut out = String::new();
    if !args.json {
        let files = args.files.len();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        out.push_str(&format!(
            "Merged {histograms} {tool} histogram{} from {files} file{}.\n",
            plural(histograms),
            plural(files)
        ));
    }
    for (tag, histogram) in &merged {
        let report = HistogramReport { owner: tag.as_deref().map(owner_of), counts: hdr::to_counts(histogram), unit };
        if args.json {
            out.push_str(&json::line(&tool, &report.json(1)));
        } else {
            out.push_str(&report.text());
        }
    }
    output::emit(&out)
}

/// The owner a tag names: `pid=42` is pid 42 (a number), `disk=vda` disk
/// "vda"; a tag of another shape is kept whole as `tag`.
fn owner_of(tag: &str) -> Owner {
    const FIELDS: &[&str] = &["pid", "tid", "pidns", "disk", "flags", "operation", "comm"];
    let known = tag.split_once('=').and_then(|(field, id)| Some((*FIELDS.iter().find(|f| **f == field)?, id)));
    let (field, id) = known.unwrap_or(("tag", tag));
    let id = id.parse::<u64>().map_or_else(|_| serde_json::Value::from(id), serde_json::Value::from);
    Owner { field, id, comm: None }
}

fn list(files: &[PathBuf]) -> String {
    files.iter().map(|file| file.display().to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_owners() {
        let pid = owner_of("pid=42");
        assert_eq!((pid.field, pid.id), ("pid", 42.into()));
        let disk = owner_of("disk=nvme0n1");
        assert_eq!((disk.field, disk.id), ("disk", "nvme0n1".into()));
        let other = owner_of("shard7");
        assert_eq!((other.field, other.id), ("tag", "shard7".into()));
    }
}
