//! Linux audit logs: a text stream → lines with their number and byte offset.
//!
//! Lines are cut at `\n` (a `\r` before it is removed) and handed over without copying when
//! they lie inside the read buffer. A line longer than [`MAX_LINE`] cannot be an audit record
//! (the kernel caps a record near 9 KiB; enriched lines stay well under 64 KiB): it is counted
//! as a diagnostic and skipped to its end, so binary junk in a log costs nothing but a count.
//! Memory is the read buffer plus at most one line, whatever the file's size.

use crate::diag::{DiagKind, Diagnostics};
use std::io::{ErrorKind, Read};

/// Longest line handed on, in bytes.
pub const MAX_LINE: usize = 1 << 20;

/// Read buffer size.
const BUFFER: usize = 1 << 20;

/// One line of the log, without its line ending.
#[derive(Debug, Clone, Copy)]
pub struct RawAuditLine<'a> {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte in the (decompressed) stream.
    pub offset: u64,
    pub text: &'a [u8],
}

/// What reading one log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineSummary {
    /// Lines handed on (blank lines included).
    pub lines: u64,
    /// Lines longer than [`MAX_LINE`], skipped.
    pub too_long: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Reads every line of `reader`, calling `f` for each.
pub fn read_lines<R: Read>(
    mut reader: R,
    label: &str,
    diags: &mut Diagnostics,
    mut f: impl FnMut(RawAuditLine<'_>),
) -> LineSummary {
    let mut summary = LineSummary::default();
    let mut buf = vec![0u8; BUFFER];
    // Bytes of `buf` holding data, and where the current line starts in it.
    let (mut filled, mut start) = (0usize, 0usize);
    // Stream offset of `buf[0]`.
    let mut base = 0u64;
    // Skipping the rest of an over-long line.
    let mut skipping = false;
    loop {
        // Hand on every complete line in the buffer.
        while let Some(nl) = memchr::memchr(b'\n', &buf[start..filled]) {
            let end = start + nl;
            if skipping {
                skipping = false;
            } else {
                summary.lines += 1;
                let text = &buf[start..end];
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                f(RawAuditLine { line: summary.lines + summary.too_long, offset: base + start as u64, text });
            }
            start = end + 1;
        }
        // Keep the partial line: move it to the front, or drop it when it is too long.
        if filled - start >= MAX_LINE.min(BUFFER) {
            if !skipping {
                summary.too_long += 1;
                diags.push(
                    label,
                    Some(base + start as u64),
                    DiagKind::CorruptRecord,
                    format!(
                        "line {} longer than {MAX_LINE} bytes skipped (not an audit record)",
                        summary.lines + summary.too_long
                    ),
                );
            }
            skipping = true;
            base += filled as u64;
            filled = 0;
            start = 0;
        } else {
            buf.copy_within(start..filled, 0);
            base += start as u64;
            filled -= start;
            start = 0;
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                summary.bytes += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                let kind = if e.get_ref().is_some_and(|inner| inner.is::<super::DecompressionError>()) {
                    DiagKind::Decompression
                } else {
                    DiagKind::Unreadable
                };
                diags.push(label, Some(base + filled as u64), kind, format!("reading stopped: {e}"));
                break;
            }
        }
    }
    // A last line without a newline is still a line.
    if filled > start && !skipping {
        summary.lines += 1;
        let text = &buf[start..filled];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        f(RawAuditLine { line: summary.lines + summary.too_long, offset: base + start as u64, text });
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> (Vec<(u64, u64, String)>, LineSummary, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut out = Vec::new();
        let summary = read_lines(input, "t", &mut diags, |l| {
            out.push((l.line, l.offset, String::from_utf8_lossy(l.text).into_owned()))
        });
        (out, summary, diags)
    }

    #[test]
    fn numbers_and_offsets() {
        let (out, summary, diags) = lines(b"a\r\nbb\n\nccc");
        assert_eq!(out, vec![(1, 0, "a".into()), (2, 3, "bb".into()), (3, 6, "".into()), (4, 7, "ccc".into())]);
        assert_eq!((summary.lines, summary.bytes), (4, 10));
        assert!(diags.is_empty());
    }

    #[test]
    fn an_overlong_line_is_counted_and_skipped() {
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE * 2 + 5));
        input.extend(b"\nlast\n");
        let (out, summary, diags) = lines(&input);
        assert_eq!(out.iter().map(|l| (l.0, l.2.as_str())).collect::<Vec<_>>(), vec![(1, "first"), (3, "last")]);
        assert_eq!(out[1].1, (6 + MAX_LINE * 2 + 5 + 1) as u64);
        assert_eq!((summary.lines, summary.too_long), (2, 1));
        assert_eq!(diags.input_problems(), 1);
    }

    #[test]
    fn lines_across_buffer_refills() {
        // A reader that returns three bytes at a time.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(3).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut diags = Diagnostics::new();
        let mut out = Vec::new();
        read_lines(Trickle(b"alpha\nbeta\ngamma"), "t", &mut diags, |l| out.push((l.offset, l.text.to_vec())));
        assert_eq!(out, vec![(0, b"alpha".to_vec()), (6, b"beta".to_vec()), (11, b"gamma".to_vec())]);
    }
}
