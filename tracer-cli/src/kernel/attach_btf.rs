//! What aya needs of the kernel's BTF to load BTF-typed programs, and nothing
//! more.
//!
//! aya takes a whole parsed `aya::Btf` to load a tp_btf or fentry/fexit
//! program, but reads only one thing from it: the type id of the
//! `btf_trace_<tracepoint>` typedef or of the traced function, which the
//! kernel wants as `attach_btf_id`. Parsing the kernel's 5.5 MB of BTF into
//! aya's types costs tens of milliseconds and ~15 MiB on a 6.18 kernel. So
//! our own index (`btf.rs`) finds those ids, and aya gets a stub BTF that
//! holds the same records at the same ids, with empty placeholders before
//! them. The kernel never sees the stub; it resolves the id in its own BTF.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: u32 = 24;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_FUNC: u32 = 12;
/// `BTF_FUNC_GLOBAL`, carried in a FUNC record's vlen.
const FUNC_LINKAGE_GLOBAL: u32 = 1;

/// The kernel BTF ids that loading a run's BTF-typed programs needs: one per
/// tp_btf tracepoint (its `btf_trace_*` typedef) and per fentry function.
/// Names the kernel lacks are simply absent; aya then fails that load with
/// "unknown BTF type", and the tool falls back to its next hook kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachTargets {
    typedefs: BTreeMap<u32, String>,
    functions: BTreeMap<u32, String>,
}

impl AttachTargets {
    pub(super) fn add_typedef(&mut self, id: u32, name: &str) {
        self.typedefs.insert(id, name.to_owned());
    }

    pub(super) fn add_function(&mut self, id: u32, name: &str) {
        self.functions.insert(id, name.to_owned());
    }

    /// Whether the kernel's BTF has function `name` (asked for in `attach_targets`).
    pub fn has_function(&self, name: &str) -> bool {
        self.functions.values().any(|function| function == name)
    }

    /// The BTF to hand aya's `load`: every target record at its kernel id.
    /// Placeholders cost 12 bytes of stub and one aya type each, up to the
    /// highest id (tracepoint typedefs sit low, ~10k on 6.18; functions are
    /// spread over the whole ~150k).
    pub fn stub_btf(&self) -> Result<aya::Btf> {
        let blob = self.stub_bytes();
        aya::Btf::parse(&blob, aya::Endianness::default()).context("cannot build the BTF stub for loading")
    }

    fn stub_bytes(&self) -> Vec<u8> {
        let last = self.typedefs.keys().chain(self.functions.keys()).copied().max().unwrap_or(0);
        let mut strings = vec![0u8];
        let mut types = Vec::with_capacity(last as usize * 12);
        let mut record = |name_off: u32, kind: u32, vlen: u32| {
            for word in [name_off, kind << 24 | vlen, 0] {
                types.extend_from_slice(&word.to_ne_bytes());
            }
        };
        for id in 1..=last {
            let (name, kind, vlen) = match (self.typedefs.get(&id), self.functions.get(&id)) {
                (Some(name), _) => (name, KIND_TYPEDEF, 0),
                (None, Some(name)) => (name, KIND_FUNC, FUNC_LINKAGE_GLOBAL),
                (None, None) => {
                    record(0, KIND_FWD, 0);
                    continue;
                }
            };
            record(strings.len() as u32, kind, vlen);
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
        }
        let mut blob = Vec::with_capacity(HEADER_LEN as usize + types.len() + strings.len());
        blob.extend_from_slice(&MAGIC.to_ne_bytes());
        blob.extend_from_slice(&[1, 0]); // version 1, no flags
        for word in [HEADER_LEN, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            blob.extend_from_slice(&word.to_ne_bytes());
        }
        blob.extend_from_slice(&types);
        blob.extend_from_slice(&strings);
        blob
    }
}

#[cfg(test)]
mod tests {
    use aya::Btf;
    use aya_obj::btf::BtfKind;

    use super::*;
    use crate::kernel::btf::KernelBtf;

    #[test]
    fn stub_gives_aya_the_ids_of_the_kernels_own_btf() {
        let kernel = KernelBtf::from_sys_fs().unwrap();
        let targets = kernel.attach_targets(&["sched_switch", "sched_wakeup", "block_rq_issue"], &["vfs_read"]);
        let stub = targets.stub_btf().unwrap();
        let full = Btf::from_sys_fs().unwrap();
        for typedef in ["btf_trace_sched_switch", "btf_trace_sched_wakeup", "btf_trace_block_rq_issue"] {
            assert_eq!(
                stub.id_by_type_name_kind(typedef, BtfKind::Typedef).unwrap(),
                full.id_by_type_name_kind(typedef, BtfKind::Typedef).unwrap(),
                "{typedef}"
            );
        }
        assert_eq!(
            stub.id_by_type_name_kind("vfs_read", BtfKind::Func).unwrap(),
            full.id_by_type_name_kind("vfs_read", BtfKind::Func).unwrap()
        );
    }

    #[test]
    fn names_the_kernel_lacks_are_left_out() {
        let kernel = KernelBtf::from_sys_fs().unwrap();
        let targets = kernel.attach_targets(&["no_such_tracepoint"], &["no_such_function"]);
        assert_eq!(targets, AttachTargets::default());
        let stub = targets.stub_btf().unwrap();
        assert!(stub.id_by_type_name_kind("btf_trace_no_such_tracepoint", BtfKind::Typedef).is_err());
    }
}
