//! A window over a byte stream, so that records are parsed in place while memory stays bounded.
//!
//! Two sources: a reader refilled in large reads (pipes, gzip streams), or a regular file's
//! memory map, parsed where it lies. A whole-file map would count the whole file against RSS as
//! it is touched, so a map's pages are given back (`MADV_DONTNEED`; the file stays in the page
//! cache) once the reader is [`RELEASE_LAG`] bytes past them, a step of [`RELEASE_STEP`] at a
//! time. The lag leaves room for decoding threads that read packets from the map behind the
//! reader; a page given back too early is only read in again from the page cache.

use memmap2::Mmap;
use std::io::{self, Read};
use std::sync::Arc;

/// Bytes requested from the reader per refill.
#[cfg(not(fuzzing))]
pub const READ_CHUNK: usize = 4 << 20;
/// Under the fuzzer, small enough that its inputs need several reads.
#[cfg(fuzzing)]
pub const READ_CHUNK: usize = 1 << 10;
/// Bytes of a mapped file released at a time.
pub const RELEASE_STEP: usize = 8 << 20;
/// How far behind the reader a mapped file's pages are kept.
pub const RELEASE_LAG: usize = 32 << 20;

pub struct StreamBuf<R> {
    reader: R,
    buf: Bytes,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
}

enum Bytes {
    Owned(Vec<u8>),
    Mapped(Mapped),
}

struct Mapped {
    map: Arc<Mmap>,
    /// Bytes before this offset have been passed to `on_release` and their pages given back.
    released: usize,
    /// Told of every byte of the file once, in order, as its pages are given back.
    on_release: OnRelease,
}

/// Called with each range of a mapped file as its pages are given back.
pub type OnRelease = Box<dyn FnMut(&[u8]) + Send>;

impl Mapped {
    /// Releases the whole pages below `upto` (everything, with `upto` ≥ the map's length).
    fn release(&mut self, upto: usize) {
        let upto = if upto >= self.map.len() { self.map.len() } else { upto & !(PAGE - 1) };
        let Some(bytes) = self.map.get(self.released..upto).filter(|b| !b.is_empty()) else {
            return;
        };
        (self.on_release)(bytes);
        give_back(&self.map, self.released, bytes.len());
        self.released = upto;
    }
}

/// Releases are made in whole 4 KiB pages, the smallest page size of the platforms seam runs
/// on. Where pages are larger the kernel widens the range to whole pages, which the lag behind
/// the reader leaves room for.
const PAGE: usize = 4096;

/// Gives back the pages of `len` bytes at `offset` of a map (`MADV_DONTNEED`); the file stays in
/// the page cache. A no-op where the advice does not exist.
fn give_back(map: &Mmap, offset: usize, len: usize) {
    // SAFETY: the map is a shared, read-only view of a file nothing writes to (see `map_file`).
    // Dropping its pages changes no byte a reader can see: the next access maps the same page
    // of the page cache again.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
    #[cfg(not(unix))]
    let _ = (map, offset, len);
}

/// A read-only map of a regular, non-empty file; `None` (so the file is streamed) for anything
/// else or when mapping fails. Evidence is not expected to change while seam reads it: a file
/// truncated under its map would fault on access, which is why only regular files are mapped.
pub fn map_file(f: &std::fs::File) -> Option<Mmap> {
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: read-only, and evidence files are not modified while seam reads them (above).
    #[allow(unsafe_code)]
    let map = unsafe { Mmap::map(f) };
    let map = map.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Passes a mapped file to `f` in order, [`RELEASE_STEP`] bytes at a time, giving back each
/// step's pages once `f` has seen them: for hashing a file without holding it in memory.
pub fn each_step(map: &Mmap, mut f: impl FnMut(&[u8])) {
    let mut at = 0usize;
    while let Some(step) = map.get(at..map.len().min(at.saturating_add(RELEASE_STEP))).filter(|s| !s.is_empty()) {
        f(step);
        give_back(map, at, step.len());
        at += step.len();
    }
}

impl StreamBuf<io::Empty> {
    /// A window over a whole mapped file. `on_release` sees every byte once, in order, as its
    /// pages are given back (the rest when [`StreamBuf::finish`] is called).
    pub fn mapped(map: Arc<Mmap>, on_release: OnRelease) -> Self {
        let end = map.len();
        let mapped = Mapped { map, released: 0, on_release };
        StreamBuf { reader: io::empty(), buf: Bytes::Mapped(mapped), start: 0, end, base: 0, eof: true }
    }
}

impl<R> StreamBuf<R> {
    /// Gives back the rest of a mapped file (and tells its callback); nothing for a reader.
    pub fn finish(mut self) {
        if let Bytes::Mapped(m) = &mut self.buf {
            m.release(usize::MAX);
        }
    }

    /// The whole mapped file, for readers of packets behind this buffer; `None` for a stream.
    pub fn map(&self) -> Option<Arc<Mmap>> {
        match &self.buf {
            Bytes::Mapped(m) => Some(m.map.clone()),
            Bytes::Owned(_) => None,
        }
    }
}

impl<R: Read> StreamBuf<R> {
    pub fn new(reader: R) -> Self {
        StreamBuf { reader, buf: Bytes::Owned(vec![0; READ_CHUNK]), start: 0, end: 0, base: 0, eof: false }
    }

    /// The unconsumed bytes currently buffered.
    pub fn data(&self) -> &[u8] {
        let all = match &self.buf {
            Bytes::Owned(b) => b.as_slice(),
            Bytes::Mapped(m) => &m.map[..],
        };
        all.get(self.start..self.end).unwrap_or_default()
    }

    /// Stream offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if let Bytes::Mapped(m) = &mut self.buf {
            if self.start.saturating_sub(m.released) >= RELEASE_LAG + RELEASE_STEP {
                m.release(self.start - RELEASE_LAG);
            }
        }
    }

    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Makes at least `want` bytes available unless the stream ends first. Returns how many are
    /// available. `want` is bounded by the caller's record limits.
    pub fn fill(&mut self, want: usize) -> io::Result<usize> {
        let Bytes::Owned(buf) = &mut self.buf else {
            return Ok(self.end - self.start);
        };
        while self.end - self.start < want && !self.eof {
            if self.start > 0 && (buf.len() - self.end < READ_CHUNK / 2 || buf.len() - self.start < want) {
                buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if buf.len() - self.start < want {
                buf.resize(want + READ_CHUNK, 0);
            }
            if buf.len() == self.end {
                buf.resize(buf.len() + READ_CHUNK, 0);
            }
            match self.reader.read(&mut buf[self.end..]) {
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

    #[test]
    fn a_mapped_file_is_read_whole_and_released_in_order() {
        use std::io::Write;
        use std::sync::Mutex;
        let len = RELEASE_LAG + 3 * RELEASE_STEP + 12_345;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().expect("tempfile");
        file.write_all(&bytes).expect("write");
        let map = map_file(&file).expect("maps");
        let released = Arc::new(Mutex::new(Vec::new()));
        let sink = released.clone();
        let mut b =
            StreamBuf::mapped(Arc::new(map), Box::new(move |r: &[u8]| sink.lock().expect("lock").extend_from_slice(r)));
        assert!(b.map().is_some());
        let mut read = Vec::new();
        while !b.data().is_empty() {
            let n = b.data().len().min(1_000_003);
            assert_eq!(b.fill(n).expect("fill"), b.data().len());
            read.extend_from_slice(&b.data()[..n]);
            b.consume(n);
        }
        assert!(released.lock().expect("lock").len() >= len - RELEASE_LAG - RELEASE_STEP, "released while reading");
        b.finish();
        assert!(read == bytes);
        assert!(*released.lock().expect("lock") == bytes);
        // Empty files and directories are not mapped.
        assert!(map_file(&tempfile::tempfile().expect("tempfile")).is_none());
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(std::fs::File::open(dir.path()).ok().and_then(|d| map_file(&d)).is_none());
    }
}
