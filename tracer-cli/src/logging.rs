//! `--verbose` diagnostics on stderr through the `log` facade: tracer's own
//! messages at info level, libraries' (aya's) only when they warn.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr {
    verbose: bool,
}

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let ours = metadata.target().starts_with("tracer");
        metadata.level() <= Level::Warn || (self.verbose && ours && metadata.level() <= Level::Info)
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("tracer: {}", record.args());
        }
    }

    fn flush(&self) {}
}

pub fn init(verbose: bool) {
    let logger = Box::leak(Box::new(Stderr { verbose }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(if verbose { LevelFilter::Info } else { LevelFilter::Warn });
    }
}
