//! `--save FILE`: each interval's histograms in the HdrHistogram interval
//! log format (V2, deflate-compressed, as the Java and Rust HdrHistogram
//! log readers expect), one line per histogram, tagged with its owner
//! (`pid=42`, `disk=vda`; untagged: the whole system). Values are
//! nanoseconds. `tracer merge` reads these files back.
//!
//! A header comment names the tool, host and tracer version:
//! `#tracer runqlat host=web1 version=0.1.0 (abc1234) unit=nanoseconds`.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result};
use hdrhistogram::{
    Histogram as Hdr,
    serialization::{
        Deserializer, V2DeflateSerializer,
        interval_log::{IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag},
    },
};

use super::{Counts, hdr};
use crate::error::user_error;

/// The comment that starts every log we write.
const HEADER: &str = "tracer ";

/// An open log, written one interval at a time and flushed after each, so
/// an interrupted run keeps every interval it reported.
pub struct SaveLog {
    path: PathBuf,
    file: BufWriter<File>,
    serializer: V2DeflateSerializer,
    base: SystemTime,
}

impl SaveLog {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(path: &Path, tool: &str) -> Result<Self> {
        let file = File::create(path).map_err(|err| {
            user_error!("cannot create {}: {err}: pass a writable file path to --save", path.display())
        })?;
        let mut log = Self {
            path: path.to_owned(),
            file: BufWriter::new(file),
            serializer: V2DeflateSerializer::new(),
            base: SystemTime::now(),
        };
        let comment = format!(
            "{HEADER}{tool} host={} version={} unit=nanoseconds",
            crate::output::json::host(),
            crate::cli::VERSION
        );
        IntervalLogWriterBuilder::new()
            .add_comment(&comment)
            .with_start_time(log.base)
            .with_base_time(log.base)
            .begin_log_with(&mut log.file, &mut log.serializer)
            .with_context(|| format!("cannot write {}", path.display()))?;
        log.file.flush().with_context(|| format!("cannot write {}", path.display()))?;
        Ok(log)
    }

    /// Appends one interval: `(tag, counts)` per histogram, the interval
    /// having started `start` after the log's base time and lasted `length`.
    pub fn write(&mut self, histograms: &[(Option<String>, &Counts)], start: Duration, length: Duration) -> Result<()> {
        let path = self.path.display().to_string();
        let mut writer = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.file, &mut self.serializer)
            .with_context(|| format!("cannot write {path}"))?;
        for (tag, counts) in histograms {
            let tag = tag.as_deref().map(|tag| Tag::new(tag).expect("tags are made by owner_tag"));
            writer
                .write_histogram(&hdr::from_counts(counts), start, length, tag)
                .map_err(|err| anyhow::anyhow!("cannot write {path}: {err}"))?;
        }
        self.file.flush().with_context(|| format!("cannot write {path}"))
    }

    /// When the log's time base is.
    pub fn base(&self) -> SystemTime {
        self.base
    }
}

/// The tag of an owner's histograms: `field=id`, with the characters the
/// format forbids in tags (comma, space, CR, LF) replaced by `_`.
pub fn owner_tag(field: &str, id: &serde_json::Value) -> String {
    let id = match id {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    format!("{field}={id}").replace([',', ' ', '\r', '\n'], "_")
}

/// What one saved log holds.
pub struct SavedLog {
    /// The tool that wrote it (from the header comment).
    pub tool: String,
    /// Every interval's histogram, with its tag.
    pub histograms: Vec<(Option<String>, Hdr<u64>)>,
}

/// Reads a log written by `SaveLog` (or any V2 HdrHistogram interval log;
/// without our header its tool is "unknown").
pub fn read(path: &Path) -> Result<SavedLog> {
    let bytes = std::fs::read(path)
        .map_err(|err| user_error!("cannot read {}: {err}: pass files written by --save", path.display()))?;
    let not_a_log = || {
        user_error!(
            "{} is not an HdrHistogram interval log: pass files written by a histogram tool's --save",
            path.display()
        )
    };
    let tool = String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|line| line.strip_prefix('#')?.strip_prefix(HEADER)?.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_string());
    let mut deserializer = Deserializer::new();
    let mut histograms = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let LogEntry::Interval(interval) = entry.map_err(|_| not_a_log())? else { continue };
        let encoded = base64_decode(interval.encoded_histogram()).ok_or_else(not_a_log)?;
        let histogram: Hdr<u64> = deserializer.deserialize(&mut encoded.as_slice()).map_err(|_| not_a_log())?;
        histograms.push((interval.tag().map(|tag| tag.as_str().to_owned()), histogram));
    }
    if histograms.is_empty() && !String::from_utf8_lossy(&bytes).lines().any(|line| line.starts_with('#')) {
        return Err(not_a_log());
    }
    Ok(SavedLog { tool, histograms })
}

/// Standard base64 (the log format's encoding of serialized histograms).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use tracer_common::hist::bucket_of;

    use super::*;

    #[test]
    fn a_saved_log_reads_back_with_tags_and_counts() {
        let path = std::env::temp_dir().join(format!("tracer-hdr-log-{}.hlog", std::process::id()));
        let mut log = SaveLog::create(&path, "runqlat").unwrap();
        let mut a = Counts::default();
        a.buckets[bucket_of(3_000)] = 4;
        let mut b = Counts::default();
        b.buckets[bucket_of(70_000)] = 2;
        log.write(
            &[(None, &a), (Some(owner_tag("disk", &"vd a,b".into())), &b)],
            Duration::ZERO,
            Duration::from_secs(1),
        )
        .unwrap();
        log.write(&[(None, &b)], Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#tracer runqlat host="), "{text}");
        assert!(text.contains("Tag=disk=vd_a_b,"), "{text}");
        let saved = read(&path).unwrap();
        assert_eq!(saved.tool, "runqlat");
        let tags: Vec<Option<&str>> = saved.histograms.iter().map(|(tag, _)| tag.as_deref()).collect();
        assert_eq!(tags, [None, Some("disk=vd_a_b"), None]);
        let counts: Vec<u64> = saved.histograms.iter().map(|(_, h)| h.len()).collect();
        assert_eq!(counts, [4, 2, 2]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn other_files_are_refused_in_one_line() {
        let path = std::env::temp_dir().join(format!("tracer-not-a-log-{}", std::process::id()));
        std::fs::write(&path, "hello\nworld\n").unwrap();
        let err = read(&path).err().unwrap();
        assert!(err.downcast_ref::<crate::error::UserError>().is_some(), "{err}");
        assert!(err.to_string().contains("is not an HdrHistogram interval log"), "{err}");
        std::fs::remove_file(&path).unwrap();
        assert!(read(Path::new("/nonexistent/x.hlog")).err().unwrap().to_string().contains("cannot read"));
    }
}
