//! tracefs `format` files (kernel-provided text) through tracer's parser:
//! any bytes must give fields or an error, never a panic.
#![no_main]

// tracer-cli is a binary crate: its parser module is compiled in directly.
#[allow(dead_code)]
#[path = "../../tracer-cli/src/kernel/tracefs.rs"]
mod tracefs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(fields) = tracefs::parse_format(text)
    {
        for field in &fields {
            let _ = tracefs::field(&fields, "fuzz", &field.name);
        }
    }
});
