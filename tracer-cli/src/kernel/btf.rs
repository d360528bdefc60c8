//! A small reader of the kernel's BTF (/sys/kernel/btf/vmlinux) that answers
//! the questions tracer asks of it: where a struct field lives, how many
//! arguments a tracepoint passes, and which type ids BTF-typed programs
//! attach to (`attach_btf.rs`). It is the run's only reader of the file: aya's
//! own `Btf` does not expose struct members, and parsing it costs far more.
//!
//! Format: a header, then type records, then a string table (see the kernel's
//! Documentation/bpf/btf.rst). Type ids are record indexes starting at 1.

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    ops::Deref,
    path::Path,
};

use anyhow::{Context, Result, bail, ensure};

pub use super::attach_btf::AttachTargets;
use crate::error::user_error;

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;
const TYPE_HEADER_LEN: usize = 12;

// Kinds (btf_type.info bits 24..28) that we look at or must step over.
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_FUNC: u32 = 12;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// The running kernel's BTF: raw bytes plus an index of type records.
pub struct KernelBtf {
    data: Bytes,
    /// Byte position of each type record, indexed by type id (0 = void, unused).
    type_pos: Vec<u32>,
    /// Struct/union/typedef name -> type ids with that name.
    names: HashMap<Box<str>, Vec<u32>>,
    strings_start: usize,
    strings_end: usize,
}

/// A resolved field: its byte offset from the start of the outer struct and
/// its size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub offset: u32,
    pub size: u32,
}

/// A field located to the bit: where it starts and how wide it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitField {
    pub bit_offset: u32,
    pub bits: u32,
}

impl KernelBtf {
    /// Reads the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Self> {
        Self::from_file(Path::new(VMLINUX_BTF))
    }

    /// The BTF a run uses: `explicit` (from `--btf`) if given, which must be
    /// readable; else the kernel's own if it publishes one; else none.
    pub fn for_run(explicit: Option<&Path>) -> Result<Option<Self>> {
        if let Some(path) = explicit {
            return match Self::from_file(path) {
                Ok(btf) => Ok(Some(btf)),
                Err(err) => {
                    Err(user_error!("cannot use --btf {}: {err:#}; pass a BTF file for this kernel", path.display()))
                }
            };
        }
        if !Path::new(VMLINUX_BTF).exists() {
            log::info!("{VMLINUX_BTF} is missing: only hooks that need no kernel types can be used");
            return Ok(None);
        }
        Self::from_sys_fs().map(Some)
    }

    /// The BTF of a run whose tool cannot work without it; `needs_it_for`
    /// says why, for the error.
    pub fn required<'a>(btf: Option<&'a Self>, tool: &str, needs_it_for: &str) -> Result<&'a Self> {
        btf.ok_or_else(|| {
            user_error!(
                "{tool} {needs_it_for} and needs the kernel's BTF ({VMLINUX_BTF} is missing): use a kernel built \
                 with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE"
            )
        })
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        Self::index(Bytes::read(path).with_context(|| format!("cannot read {}", path.display()))?)
    }

    /// Indexes a BTF blob (native endianness, as the kernel writes it); the
    /// tests and the fuzz target feed blobs this way.
    #[allow(dead_code)]
    pub fn parse(data: Vec<u8>) -> Result<Self> {
        Self::index(Bytes::Owned(data))
    }

    fn index(data: Bytes) -> Result<Self> {
        ensure!(data.len() >= HEADER_LEN, "BTF too short");
        let magic = u16::from_ne_bytes([data[0], data[1]]);
        ensure!(magic == MAGIC, "not BTF (bad magic {magic:#x})");
        let u32_at = |pos: usize| u32::from_ne_bytes(data[pos..pos + 4].try_into().unwrap());
        let header_len = u32_at(4) as usize;
        let (type_off, type_len) = (u32_at(8) as usize, u32_at(12) as usize);
        let (str_off, str_len) = (u32_at(16) as usize, u32_at(20) as usize);
        let types_start = header_len + type_off;
        let types_end = types_start + type_len;
        let strings_start = header_len + str_off;
        let strings_end = strings_start + str_len;
        ensure!(types_end <= data.len() && strings_end <= data.len(), "BTF sections out of bounds");

        let mut btf = Self { data, type_pos: vec![0], names: HashMap::new(), strings_start, strings_end };
        let mut pos = types_start;
        while pos < types_end {
            ensure!(pos + TYPE_HEADER_LEN <= types_end, "truncated BTF type at byte {pos}");
            let id = btf.type_pos.len() as u32;
            btf.type_pos.push(pos as u32);
            let (name_off, info) = (btf.u32_at(pos), btf.u32_at(pos + 4));
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            if matches!(kind, KIND_STRUCT | KIND_UNION | KIND_TYPEDEF) && name_off != 0 {
                let name = btf.string(name_off)?;
                btf.names.entry(name.into()).or_default().push(id);
            }
            pos += TYPE_HEADER_LEN + extra_len(kind, vlen).with_context(|| format!("BTF type {id}"))?;
        }
        Ok(btf)
    }

    fn u32_at(&self, pos: usize) -> u32 {
        u32::from_ne_bytes(self.data[pos..pos + 4].try_into().unwrap())
    }

    fn string(&self, offset: u32) -> Result<&str> {
        let start = self.strings_start + offset as usize;
        ensure!(start < self.strings_end, "BTF string offset {offset} out of bounds");
        let bytes = &self.data[start..self.strings_end];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..end]).context("BTF string is not UTF-8")
    }

    fn kind_and_vlen(&self, id: u32) -> (u32, usize) {
        let info = self.u32_at(self.type_pos[id as usize] as usize + 4);
        ((info >> 24) & 0x1f, (info & 0xffff) as usize)
    }

    /// `size` or `type`, the union in the common type header.
    fn size_or_type(&self, id: u32) -> u32 {
        self.u32_at(self.type_pos[id as usize] as usize + 8)
    }

    fn check_id(&self, id: u32) -> Result<()> {
        ensure!(id != 0 && (id as usize) < self.type_pos.len(), "BTF type id {id} out of range");
        Ok(())
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn skip_modifiers(&self, mut id: u32) -> Result<u32> {
        for _ in 0..32 {
            self.check_id(id)?;
            match self.kind_and_vlen(id).0 {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = self.size_or_type(id);
                }
                _ => return Ok(id),
            }
        }
        bail!("BTF modifier chain too long at type {id}")
    }

    /// Size in bytes of a type, for the kinds a struct field can have.
    fn type_size(&self, id: u32) -> Result<u32> {
        let id = self.skip_modifiers(id)?;
        let (kind, _) = self.kind_and_vlen(id);
        Ok(match kind {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 => self.size_or_type(id),
            KIND_PTR => 8,
            KIND_ARRAY => {
                let pos = self.type_pos[id as usize] as usize + TYPE_HEADER_LEN;
                let (elem, count) = (self.u32_at(pos), self.u32_at(pos + 8));
                self.type_size(elem)?.saturating_mul(count)
            }
            _ => bail!("BTF type {id} has no size"),
        })
    }

    /// The id of the struct (or union) named `name`, skipping forward
    /// declarations and empty duplicates.
    pub fn struct_id(&self, name: &str) -> Option<u32> {
        self.names.get(name)?.iter().copied().find(|&id| {
            let (kind, vlen) = self.kind_and_vlen(id);
            matches!(kind, KIND_STRUCT | KIND_UNION) && vlen > 0
        })
    }

    /// Offset and size of `field` in struct `name`. Fields of anonymous
    /// members (unnamed unions and structs) are found as the kernel's C code
    /// sees them. Bitfields are refused: we never need one.
    pub fn field(&self, name: &str, field: &str) -> Result<Field> {
        let id = self.struct_id(name).with_context(|| format!("struct {name} not found in kernel BTF"))?;
        self.find_member(id, field, 0)?.with_context(|| format!("field {name}.{field} not found in kernel BTF"))
    }

    /// Resolves the first of `names` that exists (kernel renames, newest first).
    pub fn field_any(&self, name: &str, fields: &[&str]) -> Result<Field> {
        fields
            .iter()
            .find_map(|field| self.field(name, field).ok())
            .with_context(|| format!("none of {name}.{{{}}} found in kernel BTF", fields.join(", ")))
    }

    /// Bit position and width of `field` in struct `name`, bitfield or not
    /// (`sock.sk_protocol` was an 8-bit bitfield before 5.6).
    pub fn field_bits(&self, name: &str, field: &str) -> Result<BitField> {
        let id = self.struct_id(name).with_context(|| format!("struct {name} not found in kernel BTF"))?;
        self.find_member_bits(id, field, 0)?.with_context(|| format!("field {name}.{field} not found in kernel BTF"))
    }

    fn find_member_bits(&self, id: u32, field: &str, base_bits: u32) -> Result<Option<BitField>> {
        let id = self.skip_modifiers(id)?;
        let (kind, vlen) = self.kind_and_vlen(id);
        if !matches!(kind, KIND_STRUCT | KIND_UNION) {
            return Ok(None);
        }
        let bitfield_encoding = self.u32_at(self.type_pos[id as usize] as usize + 4) >> 31 == 1;
        let members = self.type_pos[id as usize] as usize + TYPE_HEADER_LEN;
        for index in 0..vlen {
            let pos = members + index * 12;
            let (name_off, member_type, raw_offset) = (self.u32_at(pos), self.u32_at(pos + 4), self.u32_at(pos + 8));
            let (bit_offset, bitfield_size) =
                if bitfield_encoding { (raw_offset & 0xff_ffff, raw_offset >> 24) } else { (raw_offset, 0) };
            let bits = base_bits + bit_offset;
            if name_off == 0 {
                if let Some(found) = self.find_member_bits(member_type, field, bits)? {
                    return Ok(Some(found));
                }
                continue;
            }
            if self.string(name_off)? == field {
                let width = if bitfield_size != 0 { bitfield_size } else { self.type_size(member_type)? * 8 };
                return Ok(Some(BitField { bit_offset: bits, bits: width }));
            }
        }
        Ok(None)
    }

    fn find_member(&self, id: u32, field: &str, base_bits: u32) -> Result<Option<Field>> {
        let id = self.skip_modifiers(id)?;
        let (kind, vlen) = self.kind_and_vlen(id);
        if !matches!(kind, KIND_STRUCT | KIND_UNION) {
            return Ok(None);
        }
        let bitfield_encoding = self.u32_at(self.type_pos[id as usize] as usize + 4) >> 31 == 1;
        let members = self.type_pos[id as usize] as usize + TYPE_HEADER_LEN;
        for index in 0..vlen {
            let pos = members + index * 12;
            let (name_off, member_type, raw_offset) = (self.u32_at(pos), self.u32_at(pos + 4), self.u32_at(pos + 8));
            let (bit_offset, bitfield_size) =
                if bitfield_encoding { (raw_offset & 0xff_ffff, raw_offset >> 24) } else { (raw_offset, 0) };
            let bits = base_bits + bit_offset;
            if name_off == 0 {
                if let Some(found) = self.find_member(member_type, field, bits)? {
                    return Ok(Some(found));
                }
                continue;
            }
            if self.string(name_off)? == field {
                ensure!(bitfield_size == 0 && bits.is_multiple_of(8), "field {field} is a bitfield");
                return Ok(Some(Field { offset: bits / 8, size: self.type_size(member_type)? }));
            }
        }
        Ok(None)
    }

    /// Number of arguments of the tracepoint `name` as BPF sees it (the
    /// `btf_trace_<name>` typedef), not counting the leading context pointer.
    pub fn tracepoint_arg_count(&self, name: &str) -> Result<usize> {
        let typedef = format!("btf_trace_{name}");
        let id = self.tracepoint_typedef(name)?;
        let pointer = self.skip_modifiers(self.size_or_type(id))?;
        ensure!(self.kind_and_vlen(pointer).0 == KIND_PTR, "{typedef} is not a function pointer");
        let proto = self.skip_modifiers(self.size_or_type(pointer))?;
        let (kind, vlen) = self.kind_and_vlen(proto);
        ensure!(kind == KIND_FUNC_PROTO, "{typedef} does not point to a function prototype");
        Ok(vlen.saturating_sub(1))
    }

    /// The value of `member` in the enum named `name` (e.g. a flag's bit
    /// number, which moves between kernels).
    pub fn enum_value(&self, name: &str, member: &str) -> Result<i64> {
        self.enum_members(name)?
            .into_iter()
            .find_map(|(found, value)| (found == member).then_some(value))
            .with_context(|| format!("enum {name} has no member {member} in kernel BTF"))
    }

    /// The value of enumerator `member` in whichever enum has it, named or
    /// not (`INET_FLAGS_FREEBIND` is in an anonymous one).
    pub fn enumerator(&self, member: &str) -> Result<i64> {
        for id in self.enum_ids() {
            if let Some((_, value)) = self.members_of_enum(id)?.into_iter().find(|(found, _)| found == member) {
                return Ok(value);
            }
        }
        bail!("no enum has a member {member} in kernel BTF")
    }

    /// Every member of the enum named `name` with its value, in the order
    /// BTF lists them (e.g. `skb_drop_reason`, whose numbering changes with
    /// each kernel). Enums are not indexed: this is one pass over the
    /// types, made only by the tools that ask.
    pub fn enum_members(&self, name: &str) -> Result<Vec<(String, i64)>> {
        for id in self.enum_ids() {
            let pos = self.type_pos[id as usize] as usize;
            if self.kind_and_vlen(id).1 != 0 && self.string(self.u32_at(pos))? == name {
                return self.members_of_enum(id);
            }
        }
        bail!("enum {name} not found in kernel BTF")
    }

    /// The ids of every enum (32- or 64-bit) in the kernel's BTF.
    fn enum_ids(&self) -> impl Iterator<Item = u32> + '_ {
        (1..self.type_pos.len() as u32).filter(|&id| matches!(self.kind_and_vlen(id).0, KIND_ENUM | KIND_ENUM64))
    }

    /// The members of enum `id` with their values.
    fn members_of_enum(&self, id: u32) -> Result<Vec<(String, i64)>> {
        let (kind, vlen) = self.kind_and_vlen(id);
        let pos = self.type_pos[id as usize] as usize;
        let record = if kind == KIND_ENUM { 8 } else { 12 };
        (0..vlen)
            .map(|index| {
                let at = pos + TYPE_HEADER_LEN + index * record;
                let low = self.u32_at(at + 4);
                let value = if kind == KIND_ENUM {
                    i64::from(low as i32)
                } else {
                    (u64::from(self.u32_at(at + 8)) << 32 | u64::from(low)) as i64
                };
                Ok((self.string(self.u32_at(at))?.to_owned(), value))
            })
            .collect()
    }

    /// The parameter names of each of `functions` (its BTF prototype, in
    /// order), for the ones the kernel has. Functions are not indexed: one
    /// pass over the types, made only when asked for.
    pub fn function_params(&self, functions: &[&str]) -> BTreeMap<String, Vec<String>> {
        let mut found = BTreeMap::new();
        for id in 1..self.type_pos.len() as u32 {
            if self.kind_and_vlen(id).0 != KIND_FUNC {
                continue;
            }
            let name_off = self.u32_at(self.type_pos[id as usize] as usize);
            let Some(name) = self.string(name_off).ok().filter(|name| functions.contains(name)) else { continue };
            let proto = self.size_or_type(id);
            if self.check_id(proto).is_err() || found.contains_key(name) {
                continue;
            }
            let (kind, vlen) = self.kind_and_vlen(proto);
            if kind != KIND_FUNC_PROTO {
                continue;
            }
            let params_at = self.type_pos[proto as usize] as usize + TYPE_HEADER_LEN;
            let params = (0..vlen)
                .map(|index| self.string(self.u32_at(params_at + index * 8)).unwrap_or("").to_owned())
                .collect();
            found.insert(name.to_owned(), params);
        }
        found
    }

    /// Size of the BTF in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The ids that loading BTF-typed programs needs (see `attach_btf.rs`):
    /// the `btf_trace_*` typedef of each tp_btf tracepoint, and each fentry
    /// function. Functions are not indexed, so they cost one pass over the
    /// types, made only when asked for.
    pub fn attach_targets(&self, tracepoints: &[&str], functions: &[&str]) -> AttachTargets {
        let mut targets = AttachTargets::default();
        for tracepoint in tracepoints {
            if let Ok(id) = self.tracepoint_typedef(tracepoint) {
                targets.add_typedef(id, &format!("btf_trace_{tracepoint}"));
            }
        }
        if !functions.is_empty() {
            for id in 1..self.type_pos.len() as u32 {
                if self.kind_and_vlen(id).0 != KIND_FUNC {
                    continue;
                }
                let name_off = self.u32_at(self.type_pos[id as usize] as usize);
                if let Some(name) = self.string(name_off).ok().filter(|name| functions.contains(name)) {
                    targets.add_function(id, name);
                }
            }
        }
        targets
    }

    fn tracepoint_typedef(&self, name: &str) -> Result<u32> {
        let typedef = format!("btf_trace_{name}");
        self.names
            .get(typedef.as_str())
            .and_then(|ids| ids.iter().copied().find(|&id| self.kind_and_vlen(id).0 == KIND_TYPEDEF))
            .with_context(|| format!("tracepoint {name} not found in kernel BTF"))
    }
}

/// The BTF's bytes: mapped where the kernel allows it (a regular file, or
/// /sys/kernel/btf/vmlinux from 6.16 on: no copy, no page allocations),
/// else read into memory.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn read(path: &Path) -> std::io::Result<Self> {
        let file = fs::File::open(path)?;
        // SAFETY: a read-only private mapping; the kernel's BTF does not
        // change while it runs, and a --btf file is not ours to guard.
        match unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
            Ok(map) if map.len() >= HEADER_LEN => Ok(Self::Mapped(map)),
            _ => fs::read(path).map(Self::Owned),
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Owned(bytes) => bytes,
        }
    }
}

/// Bytes that follow the common 12-byte header for a type of `kind` with
/// `vlen` members.
fn extra_len(kind: u32, vlen: usize) -> Result<usize> {
    Ok(match kind {
        KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
        KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
        // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
        2 | 7..=12 | 16 | KIND_TYPE_TAG => 0,
        _ => bail!("unknown BTF kind {kind}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> KernelBtf {
        KernelBtf::from_sys_fs().expect("these tests need /sys/kernel/btf/vmlinux")
    }

    #[test]
    fn resolves_task_struct_fields_of_the_running_kernel() {
        let btf = live();
        let pid = btf.field("task_struct", "pid").unwrap();
        let tgid = btf.field("task_struct", "tgid").unwrap();
        assert_eq!(pid.size, 4);
        assert_eq!(tgid.size, 4);
        // tgid follows pid in every kernel since 2.6.
        assert_eq!(tgid.offset, pid.offset + 4);
        let comm = btf.field("task_struct", "comm").unwrap();
        assert_eq!(comm.size, 16);
        let state = btf.field_any("task_struct", &["__state", "state"]).unwrap();
        assert!(state.size == 4 || state.size == 8);
    }

    #[test]
    fn finds_fields_inside_anonymous_members() {
        // kernfs_node.id sits inside an anonymous union on some kernels and
        // directly on others; either way it must resolve to 8 bytes.
        let btf = live();
        assert_eq!(btf.field("kernfs_node", "id").unwrap().size, 8);
    }

    #[test]
    fn locates_fields_to_the_bit() {
        let btf = live();
        // A plain field: its bits are its bytes.
        let pid = btf.field("task_struct", "pid").unwrap();
        assert_eq!(btf.field_bits("task_struct", "pid").unwrap(), BitField { bit_offset: pid.offset * 8, bits: 32 });
        // sk_protocol: a u16 since 5.6, 8 bits of a bitfield before.
        let protocol = btf.field_bits("sock", "sk_protocol").unwrap();
        assert!(protocol.bits == 16 || protocol.bits == 8, "{protocol:?}");
        // A one-bit flag, a bitfield on every kernel: field() refuses it.
        assert_eq!(btf.field_bits("task_struct", "sched_reset_on_fork").unwrap().bits, 1);
        assert!(btf.field("task_struct", "sched_reset_on_fork").is_err());
    }

    #[test]
    fn unknown_names_are_errors_not_guesses() {
        let btf = live();
        assert!(btf.field("task_struct", "no_such_field").is_err());
        assert!(btf.field("no_such_struct", "pid").is_err());
        assert!(btf.field_any("task_struct", &["nope", "nada"]).is_err());
    }

    #[test]
    fn counts_tracepoint_arguments() {
        let btf = live();
        // sched_switch(preempt, prev, next, prev_state) since 5.18, three before.
        let args = btf.tracepoint_arg_count("sched_switch").unwrap();
        assert!(args == 3 || args == 4, "{args}");
        assert_eq!(btf.tracepoint_arg_count("sched_wakeup").unwrap(), 1);
    }

    #[test]
    fn reads_enum_values() {
        let btf = live();
        // REQ_OP_BITS is 8 on every kernel since 4.10, and the first flag follows the operation.
        assert_eq!(btf.enum_value("req_flag_bits", "__REQ_FAILFAST_DEV").unwrap(), 8);
        let sync = btf.enum_value("req_flag_bits", "__REQ_SYNC").unwrap();
        assert!((8..32).contains(&sync), "{sync}");
        assert!(btf.enum_value("req_flag_bits", "__REQ_NO_SUCH_FLAG").is_err());
        assert!(btf.enum_value("no_such_enum", "X").is_err());
    }

    #[test]
    fn lists_enum_members_with_their_values() {
        let btf = live();
        let members = btf.enum_members("req_flag_bits").unwrap();
        assert!(members.contains(&("__REQ_FAILFAST_DEV".to_owned(), 8)), "{members:?}");
        // Drop reasons (5.17+; this host runs 6.18): the names the kernel's
        // own kfree_skb format prints, numbered as its enum says.
        let reasons = btf.enum_members("skb_drop_reason").unwrap();
        let value = |name: &str| reasons.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        let not_specified = value("SKB_DROP_REASON_NOT_SPECIFIED").unwrap();
        assert!(value("SKB_DROP_REASON_NETFILTER_DROP").unwrap() > not_specified);
        assert_eq!(value("SKB_NOT_DROPPED_YET"), Some(0));
        assert!(btf.enum_members("no_such_enum").is_err());
    }

    #[test]
    fn reads_function_parameter_names_from_their_prototypes() {
        let btf = live();
        let params = btf.function_params(&["vfs_unlink", "vfs_open", "no_such_function"]);
        // vfs_unlink(dir, dentry, delegated) on 5.10; an idmap or user
        // namespace first since 5.12.
        let unlink = &params["vfs_unlink"];
        let at = unlink.iter().position(|name| name == "dentry").unwrap();
        assert_eq!(&unlink[at - 1], "dir", "{unlink:?}");
        assert!(at == 1 || at == 2, "{unlink:?}");
        assert_eq!(params["vfs_open"], ["path", "file"]);
        assert!(!params.contains_key("no_such_function"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(KernelBtf::parse(vec![0; 10]).is_err());
        assert!(KernelBtf::parse(vec![0; 64]).is_err());
    }
}
