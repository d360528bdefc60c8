//! The tools, grouped by the resource they observe (one folder a family,
//! mirrored in tracer-ebpf and tracer-common), and the plumbing that tools of
//! one shape share: `event_tool` (ring buffer events), `hist_tool`
//! (histograms), `stack_tool` (stacks). Each tool module is shaped the same
//! way: clap `Args`, a validated `Plan`, `attach` (load + hook fallback,
//! reused by `doctor`), and `run`.

pub mod block;
pub mod event_tool;
pub mod fs;
pub mod hist_tool;
pub mod host;
pub mod memory;
pub mod net;
pub mod process;
pub mod sched;
pub mod stack_tool;
pub mod stacks;
pub mod top;

use anyhow::Result;

use self::block::{biopattern, biosnoop, biotop, bitesize};
use self::fs::filelife;
use self::fs::mountsnoop;
use self::fs::statsnoop;
use self::fs::syncsnoop;
use self::fs::{cachestat, filetop, fsdist, vfsstat};
use self::memory::oomkill;
use self::net::bindsnoop;
use self::net::gethostlatency;
use self::net::solisten;
use self::net::tcpaccept;
use self::net::tcpdrop;
use self::net::tcpsynbl;
use self::net::{tcpconnect, tcpconnlat};
use self::net::{tcpretrans, tcpstates};
use self::net::{tcprtt, tcptop};
use self::sched::runqslower;
use self::{
    block::biolatency,
    fs::{fsslower, opensnoop},
    host::{doctor, merge, use_method},
    net::tcplife,
    process::{execsnoop, exitsnoop, syscount},
    sched::{cpudist, hardirqs, runqlat, runqlen, softirqs},
    stacks::{offcputime, profile},
};
use crate::cli::{Cli, Tool};

pub fn run(cli: Cli) -> Result<()> {
    match cli.tool {
        Tool::Runqlat(args) => runqlat::run(args, &cli.common),
        Tool::Execsnoop(args) => execsnoop::run(args, &cli.common),
        Tool::Exitsnoop(args) => exitsnoop::run(args, &cli.common),
        Tool::Tcplife(args) => tcplife::run(args, &cli.common),
        Tool::Gethostlatency(args) => gethostlatency::run(args, &cli.common),
        Tool::Tcprtt(args) => tcprtt::run(args, &cli.common),
        Tool::Tcptop(args) => tcptop::run(args, &cli.common),
        Tool::Tcpconnect(args) => tcpconnect::run(args, &cli.common),
        Tool::Tcpconnlat(args) => tcpconnlat::run(args, &cli.common),
        Tool::Tcpstates(args) => tcpstates::run(args, &cli.common),
        Tool::Tcpretrans(args) => tcpretrans::run(args, &cli.common),
        Tool::Fsslower(args) => fsslower::run(args, &cli.common),
        Tool::Ext4slower(args) => fsslower::run_ext4(args, &cli.common),
        Tool::Fsdist(args) => fsdist::run(args, &cli.common),
        Tool::Ext4dist(args) => fsdist::run_ext4(args, &cli.common),
        Tool::Xfsdist(args) => fsdist::run_xfs(args, &cli.common),
        Tool::Btrfsdist(args) => fsdist::run_btrfs(args, &cli.common),
        Tool::Filetop(args) => filetop::run(args, &cli.common),
        Tool::Vfsstat(args) => vfsstat::run(args, &cli.common),
        Tool::Cachestat(args) => cachestat::run(args, &cli.common),
        Tool::Biolatency(args) => biolatency::run(args, &cli.common),
        Tool::Biosnoop(args) => biosnoop::run(args, &cli.common),
        Tool::Biotop(args) => biotop::run(args, &cli.common),
        Tool::Bitesize(args) => bitesize::run(args, &cli.common),
        Tool::Biopattern(args) => biopattern::run(args, &cli.common),
        Tool::Profile(args) => profile::run(args, &cli.common),
        Tool::Offcputime(args) => offcputime::run(args, &cli.common),
        Tool::Use(args) => use_method::run(args, &cli.common),
        Tool::Syscount(args) => syscount::run(args, &cli.common),
        Tool::Opensnoop(args) => opensnoop::run(args, &cli.common),
        Tool::Statsnoop(args) => statsnoop::run(args, &cli.common),
        Tool::Syncsnoop(args) => syncsnoop::run(args, &cli.common),
        Tool::Mountsnoop(args) => mountsnoop::run(args, &cli.common),
        Tool::Filelife(args) => filelife::run(args, &cli.common),
        Tool::Cpudist(args) => cpudist::run(args, &cli.common),
        Tool::Runqlen(args) => runqlen::run(args, &cli.common),
        Tool::Hardirqs(args) => hardirqs::run(args, &cli.common),
        Tool::Softirqs(args) => softirqs::run(args, &cli.common),
        Tool::Tcpdrop(args) => tcpdrop::run(args, &cli.common),
        Tool::Tcpsynbl(args) => tcpsynbl::run(args, &cli.common),
        Tool::Tcpaccept(args) => tcpaccept::run(args, &cli.common),
        Tool::Bindsnoop(args) => bindsnoop::run(args, &cli.common),
        Tool::Solisten(args) => solisten::run(args, &cli.common),
        Tool::Runqslower(args) => runqslower::run(args, &cli.common),
        Tool::Sigsnoop(args) => process::sigsnoop::run(args, &cli.common),
        Tool::Killsnoop(args) => process::sigsnoop::run_kill(args, &cli.common),
        Tool::Oomkill(args) => oomkill::run(args, &cli.common),
        Tool::Doctor(args) => doctor::run(args, &cli.common),
        Tool::Merge(args) => merge::run(args, &cli.common),
        Tool::Completions(args) => crate::docs::completions(&args),
        Tool::Manpage(args) => crate::docs::manpage(&args),
    }
}
