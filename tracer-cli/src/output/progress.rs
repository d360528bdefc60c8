//! A progress line on stderr for long runs: drawn only on a terminal, so
//! pipes and logs stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `⠋ PREFIX: message`, or None when stderr is not a terminal.
pub fn spinner(prefix: &'static str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix}: {msg}").expect("valid template"));
        bar.set_prefix(prefix);
        bar
    })
}
