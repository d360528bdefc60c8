//! Which commit is being built, for `tracer --version`. Included by build.rs
//! and by a unit test of tracer-cli (build scripts have no tests of their own).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// What to print when the source is not a git checkout (a source archive)
/// and `TRACER_COMMIT` does not say.
pub const UNKNOWN: &str = "unknown commit";

/// The abbreviated hash of HEAD in the checkout holding `dir`, and the files
/// whose change means HEAD moved (HEAD itself, the branch's ref, packed
/// refs; only those that exist). `None` outside a checkout or without git.
pub fn head(dir: &Path) -> Option<(String, Vec<PathBuf>)> {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git").args(args).current_dir(dir).output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    };
    let hash = git(&["rev-parse", "--short=7", "HEAD"])?;
    let git_path = |name: &str| git(&["rev-parse", "--path-format=absolute", "--git-path", name]);
    let branch = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|branch| git_path(&branch));
    let watch = [git_path("HEAD"), branch, git_path("packed-refs")]
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .filter(|path| path.exists())
        .collect();
    Some((hash, watch))
}
