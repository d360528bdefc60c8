//! JSON lines: every record carries the tool, the host and a UTC timestamp,
//! then its own fields, so records from many hosts can be pooled.

use std::sync::OnceLock;

use serde::Serialize;

#[derive(Serialize)]
struct Record<'a, T: Serialize> {
    tool: &'a str,
    host: &'a str,
    timestamp: String,
    #[serde(flatten)]
    fields: &'a T,
}

/// One JSON object on one line, newline included, stamped now.
pub fn line<T: Serialize>(tool: &str, fields: &T) -> String {
    line_at(tool, jiff::Timestamp::now(), fields)
}

/// One JSON object on one line, stamped with when it happened (events).
pub fn line_at<T: Serialize>(tool: &str, when: jiff::Timestamp, fields: &T) -> String {
    let record = Record { tool, host: host(), timestamp: super::time::utc(when), fields };
    let mut text = serde_json::to_string(&record).expect("JSON records always serialize");
    text.push('\n');
    text
}

/// This machine's host name, looked up once.
pub fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        nix::unistd::gethostname().ok().and_then(|name| name.into_string().ok()).unwrap_or_else(|| "unknown".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_tool_host_and_timestamp() {
        #[derive(Serialize)]
        struct Fields {
            count: u64,
        }
        let text = line("runqlat", &Fields { count: 3 });
        assert!(text.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["tool"], "runqlat");
        assert_eq!(value["count"], 3);
        assert_eq!(value["host"], host());
        assert!(value["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
