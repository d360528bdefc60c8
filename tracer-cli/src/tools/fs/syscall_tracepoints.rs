//! The classic `syscalls:sys_enter_*`/`sys_exit_*` tracepoints the fs event
//! tools (opensnoop, statsnoop, ...) attach to: which ones this kernel has,
//! where their records keep the arguments, and the hook list.

use anyhow::{Result, ensure};

use crate::{
    bpf::hooks::TracepointHook,
    error::refuse,
    kernel::tracefs::{self, FormatField},
};

/// The syscalls among `names` that have tracepoints here (arm64 has no
/// open or newstat; openat2 came in 5.6). Refuses when none has: the kernel
/// was built without syscall tracepoints.
pub fn available<'a>(tool: &str, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<&'a str>> {
    let tracing = tracefs::ensure_mounted()?;
    let names: Vec<&str> = names.into_iter().collect();
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| tracing.join(format!("events/syscalls/sys_enter_{name}")).exists())
        .collect();
    if present.is_empty() {
        refuse!(
            "this kernel has no syscall tracepoints ({}/events/syscalls/sys_enter_{} is missing): \
             {tool} needs a kernel built with CONFIG_FTRACE_SYSCALLS=y",
            tracing.display(),
            names.first().copied().unwrap_or("openat")
        );
    }
    Ok(present)
}

/// The fields of `sys_enter_<name>`'s record after `__syscall_nr`: the
/// syscall's arguments, in order.
pub fn enter_args(name: &str) -> Result<Vec<FormatField>> {
    let fields = tracefs::tracepoint_format("syscalls", &format!("sys_enter_{name}"))?;
    Ok(fields.into_iter().skip_while(|field| field.name != "__syscall_nr").skip(1).collect())
}

/// Offset of `ret` in `sys_exit_<name>`'s record.
pub fn exit_ret(name: &str) -> Result<u32> {
    let tracepoint = format!("sys_exit_{name}");
    Ok(tracefs::field(&tracefs::tracepoint_format("syscalls", &tracepoint)?, &tracepoint, "ret")?.offset)
}

/// Checks that argument `index` of `sys_enter_<syscall>` is called one of
/// `names` and returns its offset.
pub fn arg_offset(args: &[FormatField], syscall: &str, index: usize, names: &[&str]) -> Result<u32> {
    let field = args.get(index);
    ensure!(
        field.is_some_and(|field| names.contains(&field.name.as_str())),
        "sys_enter_{syscall}: argument {index} is {:?}, expected one of {names:?}",
        field.map(|field| &field.name)
    );
    Ok(field.map(|field| field.offset).unwrap_or_default())
}

/// The entry and exit hooks of each syscall: `(syscall, entry program
/// stem, exit program stem)`.
pub fn hooks(syscalls: &[(&str, String, String)]) -> Vec<TracepointHook> {
    syscalls
        .iter()
        .flat_map(|(name, entry, exit)| {
            [
                TracepointHook { category: "syscalls", name: leak(&format!("sys_enter_{name}")), program: leak(entry) },
                TracepointHook { category: "syscalls", name: leak(&format!("sys_exit_{name}")), program: leak(exit) },
            ]
        })
        .collect()
}

/// `TracepointHook` holds static names; these few are made once per attach.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// Exit-only hooks: one program (`program` stem) on `sys_exit_<name>` of
/// each syscall (the socket tools read everything from the result).
pub fn exit_hooks(syscalls: &[&str], program: &'static str) -> Vec<TracepointHook> {
    syscalls
        .iter()
        .map(|name| TracepointHook { category: "syscalls", name: leak(&format!("sys_exit_{name}")), program })
        .collect()
}

/// Offset of `ret` shared by the `sys_exit_*` records of `syscalls`, for a
/// program attached to all of them.
pub fn shared_exit_ret(syscalls: &[&str]) -> Result<u32> {
    let mut shared = None;
    for name in syscalls {
        let offset = exit_ret(name)?;
        ensure!(shared.is_none_or(|shared| shared == offset), "sys_exit_{name} keeps ret elsewhere");
        shared = Some(offset);
    }
    shared.ok_or_else(|| anyhow::anyhow!("no syscalls given"))
}
