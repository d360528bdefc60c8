//! `tracer oomkill`: one line per OOM kill, as libbpf-tools' oomkill: who
//! ran the OOM killer, whom it killed, the pages it chose within, the load
//! average, and the victim's memory cgroup.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use anyhow::Result;
use aya::EbpfLoader;
use serde::Serialize;
use tracer_common::{
    memory::oomkill::{
        KNOWN_CGROUP, KNOWN_COMM, KNOWN_CONSTRAINT, KNOWN_MEMORY, KNOWN_SCORE_ADJ, KNOWN_TGID, KNOWN_TOTALPAGES,
        KNOWN_UID, MEMCG_OOM, OomEvent, OomOffsets, VictimRecord,
    },
    offsets::{TaskOffsets, UNRESOLVED},
};

use crate::{
    bpf::{
        self,
        hooks::{self, Attached, FunctionProgram, HookKind, TracepointHook, WithEvents},
    },
    cli::Common,
    error::{refuse, user_error},
    events,
    kernel::{
        btf::{AttachTargets, KernelBtf},
        offsets::{TaskFields, task_offsets},
        privileges, tracefs,
    },
    output::{escape, json, time::local_hms_of},
    runner::Runner,
    tools::event_tool::{self, EventPrinter},
};

const TOOL: &str = "oomkill";
const FUNCTION: &str = "oom_kill_process";

/// The hooks, best first: the function libbpf-tools traces (it passes the
/// `oom_control`), then the tracepoint.
pub const KINDS: &[HookKind] =
    &[HookKind::Fentry, HookKind::Kprobe, HookKind::TpBtf, HookKind::RawTp, HookKind::Tracepoint];

/// Trace OOM kills.
///
/// Examples:
///   tracer oomkill              # one line per OOM kill
///   tracer oomkill --json       # one JSON object per OOM kill
///
/// Each line is libbpf-tools' line, plus the victim's memory cgroup:
///   HH:MM:SS Triggered by PID P ("COMM"), OOM kill of PID V ("COMM"), N pages, loadavg: ..., cgroup: PATH
/// The trigger is the task that ran the OOM killer (the one whose
/// allocation failed); the victim is the process killed. N pages is
/// libbpf-tools' `oom_control.totalpages`: the size of the memory the killer
/// chose within (a memory cgroup's limit, or RAM and swap). Only the
/// function hooks (fentry, kprobe on oom_kill_process) see it; on the
/// oom:mark_victim tracepoint N is the victim's resident pages (anon, file
/// and shmem RSS), which the JSON record keeps apart (`totalpages`,
/// `rss_pages`). loadavg is /proc/loadavg when the line is printed. The
/// cgroup is the victim's memory cgroup, relative to its hierarchy's root
/// (cgroup v1's memory controller, or cgroup v2). On the classic
/// tracepoint before 6.8 the record has only the victim's thread id: its
/// comm, memory and cgroup are known when it is the trigger, else `?`.
#[derive(clap::Args, Debug, Clone)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// One JSON object per OOM kill (schema in README)
    #[arg(long)]
    pub json: bool,
    /// Use only this hook kind instead of the best one available
    #[arg(long, value_name = "KIND", value_parser = ["fentry", "kprobe", "tp_btf", "raw_tp", "tracepoint"])]
    pub hook: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub hooks: Vec<HookKind>,
}

impl Plan {
    pub fn from_args(args: &Args) -> Self {
        Self { hooks: hooks::forced_or(args.hook.as_deref(), KINDS) }
    }

    /// The plan `tracer doctor` tries.
    pub fn probe(kind: HookKind) -> Self {
        Self { hooks: vec![kind] }
    }
}

const VICTIM_HOOK: [TracepointHook; 1] =
    [TracepointHook { category: "oom", name: "mark_victim", program: "oomkill_victim" }];

pub fn run(args: Args, common: &Common) -> Result<()> {
    let plan = Plan::from_args(&args);
    privileges::require_bpf_privileges(TOOL)?;
    let runner = Runner::new()?;
    let setup = {
        let btf = KernelBtf::for_run(common.btf.as_deref())?;
        prepare(&plan, btf.as_ref())?
    };
    let Attached { loaded, kind } = attach_prepared(&setup)?;
    match kind {
        HookKind::Fentry | HookKind::Kprobe => log::info!("{TOOL}: using {kind} on {FUNCTION}"),
        _ => log::info!("{TOOL}: using {kind} on oom:mark_victim (pages are the victim's RSS, not totalpages)"),
    }
    let mut printer = Printer { json: args.json, kind, cgroups: CgroupNames::of_memory_controller() };
    event_tool::stream(TOOL, runner, loaded, args.json, None, &mut printer)
}

pub fn attach(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Attached<WithEvents>> {
    attach_prepared(&prepare(plan, btf)?)
}

struct Setup {
    task: TaskOffsets,
    oom: OomOffsets,
    record: VictimRecord,
    kinds: Vec<HookKind>,
    /// Why each kind this kernel cannot serve was dropped.
    unusable: Vec<(HookKind, String)>,
    targets: AttachTargets,
}

fn prepare(plan: &Plan, btf: Option<&KernelBtf>) -> Result<Setup> {
    let btf = KernelBtf::required(btf, TOOL, "reads the victim task's fields from kernel structures")?;
    let cannot = |err: anyhow::Error| user_error!("this kernel cannot serve {TOOL}: {err:#}");
    let mut groups = vec![TaskFields::Identity, TaskFields::Arguments];
    let memcg = memory_cgroup_offsets(btf);
    if memcg.is_ok() {
        groups.push(TaskFields::Cgroup);
    }
    let task = task_offsets(btf, &groups).map_err(cannot)?;
    let mut oom = OomOffsets::UNRESOLVED;
    oom.page_kb = (page_size() / 1024) as u32;
    if let Ok((css_set_memory, css_cgroup)) = memcg {
        oom.css_set_memory = css_set_memory;
        oom.css_cgroup = css_cgroup;
    }
    // The victim's memory, uid and oom_score_adj; each group is optional.
    if let Ok(rss) = rss_offsets(btf) {
        (oom.mm_total_vm, oom.mm_rss_stat, oom.rss_stride, oom.rss_count) = (rss[0], rss[1], rss[2], rss[3]);
        (oom.rss_file, oom.rss_anon, oom.rss_shmem, oom.mm_pgtables_bytes) = (rss[4], rss[5], rss[6], rss[7]);
    }
    if let (Ok(cred), Ok(uid)) = (btf.field("task_struct", "cred"), btf.field("cred", "uid")) {
        (oom.task_cred, oom.cred_uid) = (cred.offset, uid.offset);
    }
    if let (Ok(signal), Ok(adj)) = (btf.field("task_struct", "signal"), btf.field("signal_struct", "oom_score_adj")) {
        (oom.task_signal, oom.signal_oom_score_adj) = (signal.offset, adj.offset);
    }
    let mut unusable = Vec::new();
    let mut kinds = plan.hooks.clone();
    match oom_control_offsets(btf) {
        Ok((chosen, totalpages, memcg)) => {
            (oom.oc_chosen, oom.oc_totalpages, oom.oc_memcg) = (chosen, totalpages, memcg)
        }
        Err(err) => {
            kinds.retain(|kind| {
                let function = matches!(kind, HookKind::Fentry | HookKind::Kprobe);
                if function {
                    unusable.push((*kind, format!("{err:#}")));
                }
                !function
            });
        }
    }
    // mark_victim passes the victim task from 6.8 (task, uid); before, its pid.
    if btf.tracepoint_arg_count("mark_victim").unwrap_or(0) < 2 {
        kinds.retain(|kind| {
            let typed = matches!(kind, HookKind::TpBtf | HookKind::RawTp);
            if typed {
                unusable.push((*kind, "oom:mark_victim passes only the victim's pid before 6.8".into()));
            }
            !typed
        });
    }
    let record = if kinds.contains(&HookKind::Tracepoint) {
        match victim_record() {
            Ok(record) => record,
            Err(err) => {
                kinds.retain(|&kind| kind != HookKind::Tracepoint);
                unusable.push((HookKind::Tracepoint, format!("{err:#}")));
                VictimRecord::UNRESOLVED
            }
        }
    } else {
        VictimRecord::UNRESOLVED
    };
    if kinds.is_empty() {
        let said: Vec<String> = unusable.iter().map(|(kind, why)| format!("{kind}: {why}")).collect();
        refuse!("tracer {TOOL} cannot run on this kernel ({})", said.join("; "));
    }
    let functions: &[&str] = if kinds.contains(&HookKind::Fentry) { &[FUNCTION] } else { &[] };
    let targets = btf.attach_targets(&hooks::tracepoint_names(&VICTIM_HOOK), functions);
    Ok(Setup { task, oom, record, kinds, unusable, targets })
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |size| size as u64)
}

/// `oom_control`'s victim, totalpages and memcg.
fn oom_control_offsets(btf: &KernelBtf) -> Result<(u32, u32, u32)> {
    Ok((
        btf.field("oom_control", "chosen")?.offset,
        btf.field("oom_control", "totalpages")?.offset,
        btf.field("oom_control", "memcg")?.offset,
    ))
}

/// `css_set.subsys[memory_cgrp_id]` and `cgroup_subsys_state.cgroup`.
fn memory_cgroup_offsets(btf: &KernelBtf) -> Result<(u32, u32)> {
    let id = btf.enum_value("cgroup_subsys_id", "memory_cgrp_id")?;
    let subsys = btf.field("css_set", "subsys")?.offset;
    Ok((subsys + 8 * id as u32, btf.field("cgroup_subsys_state", "cgroup")?.offset))
}

/// total_vm, where the RSS counters are (rss_stat, stride, count within an
/// element), the counters' indexes (file, anon, shmem), pgtables_bytes.
fn rss_offsets(btf: &KernelBtf) -> Result<[u32; 8]> {
    let total_vm = btf.field("mm_struct", "total_vm")?.offset;
    let rss_stat = btf.field("mm_struct", "rss_stat")?;
    let counters = btf.enumerator("NR_MM_COUNTERS")? as u32;
    anyhow::ensure!(counters > 0, "NR_MM_COUNTERS is 0");
    // Before 6.2: struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; };
    // after, an array of struct percpu_counter, whose `count` is the sum.
    let (stride, count) = match btf.field("mm_rss_stat", "count") {
        Ok(field) => (8, field.offset),
        Err(_) => (rss_stat.size / counters, btf.field("percpu_counter", "count")?.offset),
    };
    let index = |name: &str| btf.enumerator(name).map(|value| value as u32);
    Ok([
        total_vm,
        rss_stat.offset,
        stride,
        count,
        index("MM_FILEPAGES")?,
        index("MM_ANONPAGES")?,
        index("MM_SHMEMPAGES")?,
        btf.field("mm_struct", "pgtables_bytes")?.offset,
    ])
}

/// The classic record's fields: `pid` always, the rest from 6.8.
fn victim_record() -> Result<VictimRecord> {
    let format = tracefs::tracepoint_format("oom", "mark_victim")?;
    let at = |name: &str| format.iter().find(|field| field.name == name).map_or(UNRESOLVED, |field| field.offset);
    let mut record = VictimRecord {
        pid: tracefs::field(&format, "mark_victim", "pid")?.offset,
        comm: at("comm"),
        total_vm: at("total_vm"),
        anon_rss: at("anon_rss"),
        file_rss: at("file_rss"),
        shmem_rss: at("shmem_rss"),
        uid: at("uid"),
        pgtables: at("pgtables"),
        oom_score_adj: at("oom_score_adj"),
    };
    let memory =
        [record.anon_rss, record.file_rss, record.shmem_rss, record.uid, record.pgtables, record.oom_score_adj];
    if record.total_vm == UNRESOLVED || memory.contains(&UNRESOLVED) {
        // All or nothing: the program reads them together.
        record.total_vm = UNRESOLVED;
    }
    Ok(record)
}

fn attach_prepared(setup: &Setup) -> Result<Attached<WithEvents>> {
    for (kind, why) in &setup.unusable {
        log::info!("{TOOL}: {kind} cannot serve: {why}");
    }
    hooks::first_that_attaches(TOOL, &setup.kinds, |kind| {
        let object = match kind {
            HookKind::Fentry | HookKind::TpBtf => bpf::objects::OOMKILL,
            _ => bpf::objects::OOMKILL_COMPAT,
        };
        let mut ebpf = bpf::load_object(object, |loader: &mut EbpfLoader<'_>| {
            loader.override_global("OOM_OFFSETS", &setup.oom, true);
            loader.override_global("TASK_OFFSETS", &setup.task, true);
            loader.override_global("VICTIM_RECORD", &setup.record, true);
        })?;
        let events = hooks::open_events(&mut ebpf)?;
        match kind {
            HookKind::Fentry | HookKind::Kprobe => {
                let program = format!("oomkill_kill_{kind}");
                let hook = FunctionProgram { function: FUNCTION.into(), program };
                hooks::attach_function_programs(&mut ebpf, &[hook], Some(&setup.targets))?;
            }
            _ => hooks::attach_tracepoints(&mut ebpf, kind, &VICTIM_HOOK, Some(&setup.targets))?,
        }
        Ok((ebpf, events))
    })
}

/// Names memory cgroups by id: the directory, under the memory
/// controller's hierarchy, whose inode number is the id.
struct CgroupNames {
    /// The hierarchy's mount point and the cgroup it shows as its root.
    mount: Option<(PathBuf, PathBuf)>,
}

impl CgroupNames {
    /// cgroup v1's memory hierarchy if mounted, else cgroup v2.
    fn of_memory_controller() -> Self {
        let mounts = procfs::process::Process::myself().and_then(|me| me.mountinfo()).map(|m| m.0).unwrap_or_default();
        let v1 = mounts.iter().find(|m| m.fs_type == "cgroup" && m.super_options.contains_key("memory"));
        let v2 = mounts.iter().find(|m| m.fs_type == "cgroup2");
        Self { mount: v1.or(v2).map(|m| (m.mount_point.clone(), PathBuf::from(&m.root))) }
    }

    /// `/a/b` relative to the hierarchy's root, or None if not found.
    fn path_of(&self, id: u64) -> Option<String> {
        let (mount, root) = self.mount.as_ref()?;
        let found = find_inode(mount, id, 0)?;
        let below = found.strip_prefix(mount).ok()?;
        Some(root.join(below).to_string_lossy().into_owned())
    }
}

fn find_inode(dir: &Path, id: u64, depth: u32) -> Option<PathBuf> {
    if std::fs::metadata(dir).ok()?.ino() == id {
        return Some(dir.to_path_buf());
    }
    if depth >= 32 {
        return None;
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .find_map(|entry| find_inode(&entry.path(), id, depth + 1))
}

fn loadavg() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok().map(|text| text.trim_end().to_owned())
}

#[derive(Serialize)]
struct JsonKill {
    #[serde(rename = "type")]
    kind: &'static str,
    hook: HookKind,
    trigger_pid: u32,
    trigger_tid: u32,
    trigger_comm: String,
    /// The victim's process id; null where only its thread id is known.
    victim_pid: Option<u32>,
    victim_tid: u32,
    victim_comm: Option<String>,
    /// oom_control.totalpages (function hooks only).
    totalpages: Option<u64>,
    /// The victim's resident pages: anon + file + shmem RSS.
    rss_pages: Option<u64>,
    total_vm_kb: Option<u64>,
    anon_rss_kb: Option<u64>,
    file_rss_kb: Option<u64>,
    shmem_rss_kb: Option<u64>,
    pgtables_kb: Option<u64>,
    uid: Option<u32>,
    oom_score_adj: Option<i32>,
    /// "memcg" or "global" (function hooks only; global includes cpuset
    /// and mempolicy constraints).
    constraint: Option<&'static str>,
    cgroup_id: Option<u64>,
    cgroup: Option<String>,
    loadavg: Option<String>,
}

struct Printer {
    json: bool,
    kind: HookKind,
    cgroups: CgroupNames,
}

impl EventPrinter for Printer {
    fn header(&self) -> String {
        "Tracing OOM kills... Ctrl-C to stop.\n".into()
    }

    fn event(&mut self, bytes: &[u8]) -> Option<String> {
        if bytes.len() < std::mem::size_of::<OomEvent>() {
            return None;
        }
        let event = events::decode(bytes, OomEvent::ZERO);
        let known = |bit: u32| event.known & bit != 0;
        let page_kb = (page_size() / 1024).max(1);
        let memory = known(KNOWN_MEMORY);
        let rss_pages = memory.then(|| (event.anon_rss_kb + event.file_rss_kb + event.shmem_rss_kb) / page_kb);
        let totalpages = known(KNOWN_TOTALPAGES).then_some(event.totalpages);
        let cgroup_id = known(KNOWN_CGROUP).then_some(event.cgroup_id);
        let cgroup = cgroup_id.and_then(|id| self.cgroups.path_of(id));
        let victim_pid = if known(KNOWN_TGID) { event.victim_pid } else { event.victim_tid };
        let victim_comm = known(KNOWN_COMM).then(|| escape::until_nul(&event.victim_comm));
        let trigger_comm = escape::until_nul(&event.trigger_comm);
        let load = loadavg();
        let when = events::wall_time(event.timestamp_ns);
        if self.json {
            let kb = |value: u64| memory.then_some(value);
            let record = JsonKill {
                kind: "oom_kill",
                hook: self.kind,
                trigger_pid: event.trigger_pid,
                trigger_tid: event.trigger_tid,
                trigger_comm: escape::for_json(trigger_comm),
                victim_pid: known(KNOWN_TGID).then_some(event.victim_pid),
                victim_tid: event.victim_tid,
                victim_comm: victim_comm.map(escape::for_json),
                totalpages,
                rss_pages,
                total_vm_kb: kb(event.total_vm_kb),
                anon_rss_kb: kb(event.anon_rss_kb),
                file_rss_kb: kb(event.file_rss_kb),
                shmem_rss_kb: kb(event.shmem_rss_kb),
                pgtables_kb: kb(event.pgtables_kb),
                uid: known(KNOWN_UID).then_some(event.uid),
                oom_score_adj: known(KNOWN_SCORE_ADJ).then_some(event.oom_score_adj),
                constraint: known(KNOWN_CONSTRAINT).then(|| if known(MEMCG_OOM) { "memcg" } else { "global" }),
                cgroup_id,
                cgroup,
                loadavg: load,
            };
            return Some(json::line_at(TOOL, when, &record));
        }
        let pages = totalpages.or(rss_pages).map_or_else(|| "?".into(), |pages| pages.to_string());
        let mut line = format!(
            "{} Triggered by PID {} (\"{}\"), OOM kill of PID {} (\"{}\"), {} pages",
            local_hms_of(when),
            event.trigger_pid,
            escape::for_terminal(trigger_comm),
            victim_pid,
            victim_comm.map_or_else(|| "?".into(), escape::for_terminal),
            pages,
        );
        if let Some(load) = load {
            line.push_str(&format!(", loadavg: {load}"));
        }
        let cgroup = match (cgroup, cgroup_id) {
            (Some(path), _) => escape::for_terminal(path.as_bytes()),
            (None, Some(id)) => format!("id {id}"),
            (None, None) => "?".into(),
        };
        line.push_str(&format!(", cgroup: {cgroup}\n"));
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_resolve_on_the_running_kernel() {
        let btf = KernelBtf::from_sys_fs().unwrap();
        let (chosen, totalpages, memcg) = oom_control_offsets(&btf).unwrap();
        assert!(chosen != totalpages && totalpages != memcg);
        let rss = rss_offsets(&btf).unwrap();
        assert!(rss[2] >= 8, "an RSS counter is at least a long");
        assert_eq!(memory_cgroup_offsets(&btf).unwrap().1, 0, "css.cgroup is the first field");
        let record = victim_record().unwrap();
        assert_ne!(record.pid, UNRESOLVED);
    }

    #[test]
    fn the_root_cgroup_is_named_by_its_inode() {
        let names = CgroupNames::of_memory_controller();
        let (mount, root) = names.mount.clone().expect("a memory cgroup hierarchy");
        let id = std::fs::metadata(&mount).unwrap().ino();
        assert_eq!(names.path_of(id).unwrap(), root.to_string_lossy());
    }
}
