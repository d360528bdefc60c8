//! One module per tool, each shaped the same way: clap `Args`, a validated
//! `Plan`, `attach` (load + hook fallback, reused by `doctor`), and `run`.

pub mod biolatency;
pub mod cpudist;
pub mod doctor;
pub mod event_tool;
pub mod execsnoop;
pub mod exitsnoop;
pub mod fsslower;
pub mod hist_tool;
pub mod merge;
pub mod offcputime;
pub mod opensnoop;
pub mod profile;
pub mod runqlat;
pub mod runqlen;
pub mod stack_tool;
pub mod syscount;
pub mod tcplife;
pub mod use_method;

use anyhow::Result;

use crate::cli::{Cli, Tool};

pub fn run(cli: Cli) -> Result<()> {
    match cli.tool {
        Tool::Runqlat(args) => runqlat::run(args, &cli.common),
        Tool::Execsnoop(args) => execsnoop::run(args, &cli.common),
        Tool::Exitsnoop(args) => exitsnoop::run(args, &cli.common),
        Tool::Tcplife(args) => tcplife::run(args, &cli.common),
        Tool::Fsslower(args) => fsslower::run(args, &cli.common),
        Tool::Ext4slower(args) => fsslower::run_ext4(args, &cli.common),
        Tool::Biolatency(args) => biolatency::run(args, &cli.common),
        Tool::Profile(args) => profile::run(args, &cli.common),
        Tool::Offcputime(args) => offcputime::run(args, &cli.common),
        Tool::Use(args) => use_method::run(args, &cli.common),
        Tool::Syscount(args) => syscount::run(args, &cli.common),
        Tool::Opensnoop(args) => opensnoop::run(args, &cli.common),
        Tool::Cpudist(args) => cpudist::run(args, &cli.common),
        Tool::Runqlen(args) => runqlen::run(args, &cli.common),
        Tool::Doctor(args) => doctor::run(args, &cli.common),
        Tool::Merge(args) => merge::run(args, &cli.common),
        Tool::Completions(args) => crate::docs::completions(&args),
        Tool::Manpage(args) => crate::docs::manpage(&args),
    }
}
