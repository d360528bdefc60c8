//! The syscall tables of the fs event tools (statsnoop, syncsnoop, ...):
//! `(tracepoint name, how to read its arguments)`, indexed by the event's
//! `syscall` field.

/// The index of `name` in `table`, at compile time (each entry program is
/// built for one syscall).
pub const fn index_of<S>(table: &[(&str, S)], name: &str) -> usize {
    let mut index = 0;
    while index < table.len() {
        if bytes_equal(table[index].0.as_bytes(), name.as_bytes()) {
            return index;
        }
        index += 1;
    }
    panic!("not in the syscall table");
}

pub(crate) const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
