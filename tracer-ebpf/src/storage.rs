//! Task-local storage (BPF_MAP_TYPE_TASK_STORAGE, 5.11+): a value hung off
//! each task_struct, found without hashing and freed when the task exits.
//! aya-ebpf (0.3) has no wrapper for it, so the BTF map definition is spelt out
//! here in the layout the loader expects (types encoded as array lengths).

use core::{ffi::c_void, ptr};

use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_LOCAL_STORAGE_GET_F_CREATE, bpf_map_type::BPF_MAP_TYPE_TASK_STORAGE},
    helpers::generated::bpf_task_storage_get,
};

/// Declare with `#[btf_map]`; usable only from hooks whose task pointers are
/// BTF-typed (tp_btf, fentry), as the helper demands.
#[repr(C)]
pub struct TaskStorage<V> {
    r#type: *const [i32; BPF_MAP_TYPE_TASK_STORAGE as usize],
    key: *const i32,
    value: *const V,
    max_entries: *const [i32; 0],
    map_flags: *const [i32; BPF_F_NO_PREALLOC as usize],
}

// SAFETY: the fields are placeholders the loader replaces; never dereferenced.
unsafe impl<V> Sync for TaskStorage<V> {}

impl<V> TaskStorage<V> {
    pub const fn new() -> Self {
        Self {
            r#type: ptr::null(),
            key: ptr::null(),
            value: ptr::null(),
            max_entries: ptr::null(),
            map_flags: ptr::null(),
        }
    }

    /// The task's value, created zeroed if `create` and missing.
    ///
    /// # Safety
    /// `task` must be a BTF-typed `struct task_struct *` from the hook.
    #[inline(always)]
    pub unsafe fn get(&self, task: *const u8, create: bool) -> Option<*mut V> {
        let flags = if create { BPF_LOCAL_STORAGE_GET_F_CREATE as u64 } else { 0 };
        let map = ptr::from_ref(self).cast_mut().cast::<c_void>();
        // SAFETY: the caller guarantees the task pointer.
        let value = unsafe { bpf_task_storage_get(map, task.cast_mut().cast(), ptr::null_mut(), flags) };
        (!value.is_null()).then_some(value.cast::<V>())
    }
}

impl<V> Default for TaskStorage<V> {
    fn default() -> Self {
        Self::new()
    }
}
