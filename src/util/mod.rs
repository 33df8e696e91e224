//! Vocabulary shared by every layer: a bounds-checked byte cursor, UTC timestamps and escaping
//! of attacker-controlled text. Imports nothing from the rest of the crate.

pub mod cursor;
pub mod escape;
pub mod net;
pub mod time;

pub use cursor::{Cursor, CursorError};
pub use time::Timestamp;

/// The parts joined into one vector. The largest is extended in place, so it is moved rather
/// than copied, after room for exactly the others is made; it comes first, the others follow in
/// their order.
pub fn concat<T>(parts: impl IntoIterator<Item = Vec<T>>) -> Vec<T> {
    let mut parts: Vec<Vec<T>> = parts.into_iter().collect();
    let Some(largest) = (0..parts.len()).max_by_key(|&i| (parts[i].len(), std::cmp::Reverse(i))) else {
        return Vec::new();
    };
    let mut out = parts.remove(largest);
    out.reserve_exact(parts.iter().map(Vec::len).sum());
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

#[cfg(test)]
mod tests {
    #[test]
    fn concat_keeps_every_element_largest_part_first() {
        assert_eq!(super::concat(vec![vec![1], vec![2, 3, 4], vec![5, 6]]), vec![2, 3, 4, 1, 5, 6]);
        assert_eq!(super::concat(Vec::<Vec<u8>>::new()), Vec::<u8>::new());
        assert_eq!(super::concat(vec![vec![7, 8]]), vec![7, 8]);
    }
}
