//! Vocabulary shared by every layer: a bounds-checked byte cursor, UTC timestamps and escaping
//! of attacker-controlled text. Imports nothing from the rest of the crate.

pub mod alloc;
pub mod cursor;
pub mod escape;
pub mod net;
pub mod time;

pub use cursor::{Cursor, CursorError};
pub use time::Timestamp;

/// The parts joined into one vector: the largest first, the others after it in their order.
/// When the largest has room for the others, they are moved into it and it is not copied.
/// Otherwise the parts move, one by one, into a vector of exactly their total size, each
/// freed as soon as it is moved: growing the largest instead would copy it all the same, and
/// hold both its old and its new buffer beside the others (for flows of a 2 GiB capture
/// read on two threads, 50 MB more at the peak).
pub fn concat<T>(parts: impl IntoIterator<Item = Vec<T>>) -> Vec<T> {
    let mut parts: Vec<Vec<T>> = parts.into_iter().collect();
    let Some(largest) = (0..parts.len()).max_by_key(|&i| (parts[i].len(), std::cmp::Reverse(i))) else {
        return Vec::new();
    };
    let first = parts.remove(largest);
    let rest: usize = parts.iter().map(Vec::len).sum();
    let mut out = if first.capacity() - first.len() >= rest {
        first
    } else {
        let mut out = Vec::with_capacity(first.len() + rest);
        out.extend(first);
        out
    };
    for part in parts {
        out.extend(part);
    }
    out
}

/// Writes `text` to stderr, ignoring failure: a closed stderr (`seam … 2>&1 | head`) must not
/// stop the work, as `eprint!` would by panicking.
pub fn to_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes a line to stderr as [`to_stderr`] does.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::util::to_stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Asks the CPU to start loading the cache line holding the first byte of `bytes`, so that a
/// read of it a little later does not wait on memory. A hint only: it reads nothing, cannot
/// fault, and does nothing on targets without the instruction.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is an SSE instruction, which every x86-64 CPU has; it is a hint
    // that never dereferences the pointer as far as the program is concerned, and cannot
    // fault even on an address outside any mapping (this one is the start of `bytes`; for an
    // empty slice, whatever its pointer holds).
    #[allow(unsafe_code)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(bytes.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    #[test]
    fn concat_keeps_every_element_largest_part_first() {
        assert_eq!(super::concat(vec![vec![1], vec![2, 3, 4], vec![5, 6]]), vec![2, 3, 4, 1, 5, 6]);
        assert_eq!(super::concat(Vec::<Vec<u8>>::new()), Vec::<u8>::new());
        assert_eq!(super::concat(vec![vec![7, 8]]), vec![7, 8]);
        // The largest part has room for the others: they are moved into its buffer.
        let mut roomy = Vec::with_capacity(16);
        roomy.extend([1, 2, 3]);
        let buffer = roomy.as_ptr();
        let joined = super::concat(vec![vec![9], roomy, vec![4, 5]]);
        assert_eq!(joined, vec![1, 2, 3, 9, 4, 5]);
        assert_eq!(joined.as_ptr(), buffer);
    }
}
