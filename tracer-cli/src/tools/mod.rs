//! One module per tool, each shaped the same way: clap `Args`, a validated
//! `Plan`, `attach` (load + hook fallback, reused by `doctor`), and `run`.

pub mod doctor;
pub mod runqlat;

use anyhow::Result;

use crate::cli::{Cli, Tool};

pub fn run(cli: Cli) -> Result<()> {
    match cli.tool {
        Tool::Runqlat(args) => runqlat::run(args, &cli.common),
        Tool::Doctor(args) => doctor::run(args, &cli.common),
    }
}
