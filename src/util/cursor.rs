//! A bounds-checked reader over evidence bytes.
//!
//! Every read is labelled so that a failure says what was being read, at which offset, how many
//! bytes were needed and how many were there. Decoders read through this instead of slicing, so
//! a hostile length field becomes an error value, never a panic.

use thiserror::Error;

/// Reading past the end of the buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("truncated {what} at offset {offset}: need {need} bytes, have {have}")]
pub struct CursorError {
    pub what: &'static str,
    pub offset: usize,
    pub need: usize,
    pub have: usize,
}

/// A position in a byte slice with labelled, checked reads.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CursorError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        match end.and_then(|end| self.buf.get(self.pos..end).map(|s| (s, end))) {
            Some((slice, end)) => {
                self.pos = end;
                Ok(slice)
            }
            None => Err(CursorError { what, offset: self.pos, need: n, have: self.remaining() }),
        }
    }

    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), CursorError> {
        self.take(n, what).map(|_| ())
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, CursorError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, CursorError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, CursorError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, CursorError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, CursorError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CursorError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
}

/// Reads a big-endian u16 at `at`, or `None` when the slice is too short.
pub fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Reads a big-endian u32 at `at`, or `None` when the slice is too short.
pub fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian u32 at `at`, or `None` when the slice is too short.
pub fn le32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_reports_truncation_with_context() {
        let mut c = Cursor::new(&[0x01, 0x02, 0x03, 0x04, 0x05]);
        assert_eq!(c.u16_be("a").unwrap(), 0x0102);
        assert_eq!(c.u16_le("b").unwrap(), 0x0403);
        let err = c.u32_be("length field").unwrap_err();
        assert_eq!(err, CursorError { what: "length field", offset: 4, need: 4, have: 1 });
        assert_eq!(err.to_string(), "truncated length field at offset 4: need 4 bytes, have 1");
        assert_eq!(c.u8("c").unwrap(), 5);
        assert_eq!(c.remaining(), 0);
    }

    #[test]
    fn huge_take_does_not_overflow() {
        let mut c = Cursor::new(&[0; 4]);
        c.skip(2, "x").unwrap();
        assert!(c.take(usize::MAX, "huge").is_err());
        assert_eq!(c.position(), 2);
    }

    #[test]
    fn free_readers_check_bounds() {
        assert_eq!(be16(&[1, 2], 0), Some(0x0102));
        assert_eq!(be16(&[1, 2], 1), None);
        assert_eq!(be32(&[0, 0, 0, 1], 0), Some(1));
        assert_eq!(le32(&[1, 0, 0], 0), None);
        assert_eq!(be32(&[0; 8], usize::MAX), None);
    }
}
