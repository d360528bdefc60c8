//! Documentation generated from the command line itself, so it cannot drift
//! from it: shell completions (clap_complete) and man pages (clap_mangen).

use std::{io, path::PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::{cli::Cli, error::user_error, output};

/// Print a completion script for a shell.
///
/// bash: `tracer completions bash > /etc/bash_completion.d/tracer`;
/// zsh: into a directory on `$fpath` as `_tracer`;
/// fish: `tracer completions fish > ~/.config/fish/completions/tracer.fish`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Print the man page, or write one per command into a directory.
///
/// `tracer manpage | man -l -` reads it without installing anything.
#[derive(clap::Args, Debug)]
pub struct ManpageArgs {
    /// Write tracer.1 and tracer-TOOL.1 for every tool into DIR (created if missing)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "tracer", &mut script);
    output::emit(&String::from_utf8(script).context("completion script is not UTF-8")?)
}

pub fn manpage(args: &ManpageArgs) -> Result<()> {
    let command = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            output::emit(&String::from_utf8_lossy(&page))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|err| cannot_write(dir, &err))?;
            clap_mangen::generate_to(command, dir).map_err(|err| cannot_write(dir, &err))
        }
    }
}

fn cannot_write(dir: &std::path::Path, err: &io::Error) -> anyhow::Error {
    user_error!("cannot write man pages into {}: {err}: pass a writable directory", dir.display())
}

#[cfg(test)]
mod tests {
    use std::{path::Path, process::Command};

    use crate::{build_commit, cli::VERSION};

    fn git_head(dir: &Path) -> Option<String> {
        let output = Command::new("git").args(["rev-parse", "--short=7", "HEAD"]).current_dir(dir).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    #[test]
    fn the_commit_is_heads_hash_in_a_checkout_and_none_outside() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = build_commit::head(here);
        assert_eq!(found.as_ref().map(|(hash, _)| hash.clone()), git_head(here));
        if let Some((hash, watch)) = found {
            assert!(hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
            assert!(watch.iter().any(|path| path.ends_with("HEAD")), "{watch:?}");
            assert!(watch.iter().all(|path| path.exists()), "{watch:?}");
        }
        // A directory outside any checkout (the root of a fresh temp tree).
        let outside = std::env::temp_dir().join(format!("tracer-no-git-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        let result = Command::new("git").args(["rev-parse", "--git-dir"]).current_dir(&outside).output().unwrap();
        if !result.status.success() {
            assert_eq!(build_commit::head(&outside), None);
        }
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn the_version_is_the_package_version_and_the_commit() {
        let (version, commit) = VERSION.split_once(' ').unwrap();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        let commit = commit.strip_prefix('(').and_then(|c| c.strip_suffix(')')).unwrap();
        assert_eq!(commit, env!("TRACER_COMMIT"));
        // Unless the build was told the commit, build.rs found it as we do.
        if std::env::var_os("TRACER_COMMIT").is_none() {
            let here = Path::new(env!("CARGO_MANIFEST_DIR"));
            let found = build_commit::head(here).map(|(hash, _)| hash);
            assert_eq!(commit, found.as_deref().unwrap_or(build_commit::UNKNOWN));
        }
        assert!(!commit.is_empty() && !commit.contains(['(', ')', '\n']), "{VERSION}");
    }
}
