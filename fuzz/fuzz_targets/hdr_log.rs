//! HdrHistogram interval logs, as `tracer merge` reads files from many
//! hosts: every line through the log iterator and the V2 deserializer.
#![no_main]

use hdrhistogram::serialization::{
    Deserializer,
    interval_log::{IntervalLogIterator, LogEntry},
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(data) {
        let Ok(LogEntry::Interval(interval)) = entry else { continue };
        let Ok(bytes) = base64_decode(interval.encoded_histogram()) else { continue };
        let _: Result<hdrhistogram::Histogram<u64>, _> = deserializer.deserialize(&mut bytes.as_slice());
    }
});

/// Standard base64, as tracer decodes the log's histograms.
fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}
