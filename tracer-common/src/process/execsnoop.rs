//! `execsnoop`: the event and its settings.

use crate::TASK_COMM_LEN;

/// Bytes of argv captured per exec (the NUL-separated strings, as the
/// kernel laid them out). Longer command lines are cut and flagged.
pub const ARGS_BYTES: usize = 4096;
/// Most bytes of one argument read by the failed-exec path, which copies
/// argument by argument.
pub const ARG_CHUNK: usize = 1024;
/// Room in the event: an argument may start just below `ARGS_BYTES` and run
/// a whole chunk; the verifier needs that bound to be visible.
pub const ARGS_CAPACITY: usize = ARGS_BYTES + ARG_CHUNK;
/// Most arguments a user may ask for with --max-args.
pub const MAX_ARGS_LIMIT: u32 = 60;

/// One exec: a header, then the arguments. Sent with only
/// `ARGS_OFFSET + args_len` bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecEvent {
    pub header: ExecHeader,
    pub args: [u8; ARGS_CAPACITY],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecHeader {
    pub timestamp_ns: u64,
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    /// 0, or the negative errno of a failed exec.
    pub retval: i32,
    /// Bytes used in `args`: the executed file name, then argv (argv[0]
    /// included), each NUL-terminated.
    pub args_len: u32,
    /// 1 when the kernel had more argument bytes than we captured.
    pub args_truncated: u32,
    pub comm: [u8; TASK_COMM_LEN],
}

impl ExecHeader {
    pub const ZERO: Self = Self {
        timestamp_ns: 0,
        pid: 0,
        ppid: 0,
        uid: 0,
        retval: 0,
        args_len: 0,
        args_truncated: 0,
        comm: [0; TASK_COMM_LEN],
    };
}

/// Offset of `args` in `ExecEvent`: the size of an event with no arguments.
pub const ARGS_OFFSET: usize = core::mem::offset_of!(ExecEvent, args);

crate::impl_pod!(ExecEvent, ExecHeader);

/// Read-only global `EXECSNOOP_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Only this uid (`u32::MAX`: all).
    pub target_uid: u32,
    /// Only children of this process (0: all).
    pub target_ppid: u32,
    /// 1: only tasks in the cgroup `cgroup_id` at `cgroup_level`.
    pub filter_cgroup: u32,
    pub cgroup_level: u32,
    pub cgroup_id: u64,
    /// Argument strings to capture at most (failed execs read them one by one).
    pub max_args: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self {
        target_uid: u32::MAX,
        target_ppid: 0,
        filter_cgroup: 0,
        cgroup_level: 0,
        cgroup_id: 0,
        max_args: 20,
        _pad: 0,
    };
}

crate::impl_pod!(Config);

/// Where a failed exec's file name and arguments are (user pointers),
/// remembered at syscall entry.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingExec {
    pub filename: u64,
    pub argv: u64,
}

/// Tasks that may be inside execve at once (failed-exec tracking, -x).
pub const PENDING_ENTRIES: u32 = 4096;
/// Most bytes read of the executed file name.
pub const FILENAME_CHUNK: usize = 512;

/// Read-only global `EXEC_OFFSETS`: where the file name and arguments are in
/// the kernel structures (from BTF) and tracepoint records (from tracefs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecOffsets {
    /// `linux_binprm.filename` (const char *).
    pub binprm_filename: u32,
    /// `sched_process_exec.filename` (a __data_loc field) in the classic record.
    pub tp_exec_filename: u32,
    /// `sys_enter_execve`: `filename`, `argv`.
    pub execve_filename: u32,
    pub execve_argv: u32,
    /// `sys_enter_execveat`: `filename`, `argv`.
    pub execveat_filename: u32,
    pub execveat_argv: u32,
    /// `sys_exit_execve(at)`: `ret`.
    pub exit_ret: u32,
    pub _pad: u32,
}

impl ExecOffsets {
    pub const UNRESOLVED: Self = Self {
        binprm_filename: u32::MAX,
        tp_exec_filename: u32::MAX,
        execve_filename: u32::MAX,
        execve_argv: u32::MAX,
        execveat_filename: u32::MAX,
        execveat_argv: u32::MAX,
        exit_ret: u32::MAX,
        _pad: 0,
    };
}

crate::impl_pod!(ExecOffsets);
