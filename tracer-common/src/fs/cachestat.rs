//! `cachestat`: the page cache events counted (slots of a per-CPU counter
//! array) and settings.

/// Counter slots.
pub mod event {
    /// Page cache accesses: calls of folio_mark_accessed (or, before
    /// folios, mark_page_accessed). Only fentry and kprobes reach them.
    pub const ACCESSED: u32 = 0;
    /// Pages added to the page cache (filemap:mm_filemap_add_to_page_cache).
    pub const ADDED: u32 = 1;
    /// Pages dirtied (writeback:writeback_dirty_folio, or _page before folios).
    pub const DIRTIED: u32 = 2;
    /// Buffers dirtied (block:block_dirty_buffer, in mark_buffer_dirty).
    pub const BUFFERS_DIRTIED: u32 = 3;
    pub const COUNT: u32 = 4;
}

/// Read-only global `CACHESTAT_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Offset of `order` in the mm_filemap_add_to_page_cache record (a
    /// folio of 2^order pages; u32::MAX before 6.x records had it: one page).
    pub added_order: u32,
    pub _pad: u32,
}

impl Config {
    pub const DEFAULT: Self = Self { added_order: u32::MAX, _pad: 0 };
}

crate::impl_pod!(Config);
