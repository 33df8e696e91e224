//! A refillable window over a byte stream, so that records are parsed in place from large reads
//! while memory stays bounded (a whole-file map would count the whole file against RSS).

use std::io::{self, Read};

/// Bytes requested from the reader per refill.
pub const READ_CHUNK: usize = 4 << 20;

pub struct StreamBuf<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<R: Read> StreamBuf<R> {
    pub fn new(reader: R) -> Self {
        StreamBuf { reader, buf: vec![0; READ_CHUNK], start: 0, end: 0, base: 0, eof: false }
    }

    /// The unconsumed bytes currently buffered.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Stream offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Makes at least `want` bytes available unless the stream ends first. Returns how many are
    /// available. `want` is bounded by the caller's record limits.
    pub fn fill(&mut self, want: usize) -> io::Result<usize> {
        while self.end - self.start < want && !self.eof {
            if self.start > 0 && (self.buf.len() - self.end < READ_CHUNK / 2 || self.buf.len() - self.start < want) {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.start < want {
                self.buf.resize(want + READ_CHUNK, 0);
            }
            if self.buf.len() == self.end {
                self.buf.resize(self.buf.len() + READ_CHUNK, 0);
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most 3 bytes per call, to exercise refills at odd boundaries.
    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(3).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fills_across_small_reads_and_tracks_offsets() {
        let data: Vec<u8> = (0..=255u8).collect();
        let mut b = StreamBuf::new(Dribble(&data));
        assert_eq!(b.fill(10).unwrap(), 12);
        b.consume(5);
        assert_eq!(b.offset(), 5);
        assert_eq!(b.data()[0], 5);
        assert!(b.fill(300).unwrap() <= 251);
        assert!(b.at_eof());
        assert_eq!(b.data().len(), 251);
    }
}
