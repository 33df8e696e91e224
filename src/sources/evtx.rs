//! Windows event logs: EVTX files → rendered records with their record id and write time.
//!
//! The evtx crate reads the file chunk by chunk (64 KiB each) and parses chunks on the rayon
//! pool; each record is rendered to compact JSON on the worker that parsed its chunk and handed
//! to `map` there, so the caller's field extraction runs in parallel too. Results come back in
//! file order. Chunks and records the crate cannot read are diagnostics naming the chunk and
//! its byte offset; everything else in the file is still read, and a file cut inside a chunk
//! still gives that chunk's whole records. Only the chunk being parsed is
//! in memory, not the file (a gzip-compressed log is decompressed into memory first). Records
//! the crate carves from unallocated space (what a cleared log leaves behind) are read too and
//! marked as carved.

use crate::diag::{DiagKind, Diagnostics};
use crate::util::Timestamp;
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use std::io::{Read, Seek, SeekFrom};

/// Bytes before the first chunk.
pub const EVTX_HEADER_SIZE: u64 = 4096;
/// Size of every chunk.
pub const EVTX_CHUNK_SIZE: u64 = 65536;

/// Byte offset of chunk `n` in its file.
pub fn chunk_offset(n: u64) -> u64 {
    EVTX_HEADER_SIZE.saturating_add(n.saturating_mul(EVTX_CHUNK_SIZE))
}

/// One record as the crate rendered it.
pub struct RawEvtxRecord<'a> {
    pub record_id: u64,
    /// Write time from the record header.
    pub written: Timestamp,
    /// The record rendered as compact JSON (see `decode::winevt`).
    pub json: &'a [u8],
    /// Whether the crate carved it from slack space rather than the chunk's record list.
    pub recovered: bool,
}

/// What reading one event log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvtxSummary {
    /// Records rendered from the chunks' record lists.
    pub records: u64,
    /// Records carved from unallocated space (cleared chunks, chunk slack) and rendered.
    pub carved: u64,
    /// Records or chunks that could not be read (each a diagnostic).
    pub failed: u64,
    /// Chunks the file header declares.
    pub chunks: u64,
    /// Whether the header says the log was not closed cleanly.
    pub dirty: bool,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// SHA-256 of the bytes read, when asked for.
    pub sha256: Option<[u8; 32]>,
}

/// An input the crate can read: a file, or a decompressed buffer.
pub trait EvtxInput: Read + Seek + Send {}
impl<T: Read + Seek + Send> EvtxInput for T {}

/// Reads every record of an EVTX stream on `threads` workers (0 = the current pool's size);
/// with `hash`, also the SHA-256 of the stream's bytes.
/// `map` runs on the workers; `sink` receives its results in file order.
pub fn read_evtx<U, M, S>(
    input: Box<dyn EvtxInput>,
    label: &str,
    threads: usize,
    hash: bool,
    diags: &mut Diagnostics,
    map: M,
    mut sink: S,
) -> EvtxSummary
where
    U: Send + 'static,
    M: Fn(RawEvtxRecord<'_>) -> U + Send + Sync + Clone + 'static,
    S: FnMut(U),
{
    let mut summary = EvtxSummary::default();
    let mut input = input;
    let integrity = check_integrity(&mut *input, label, diags, hash);
    summary.sha256 = integrity.sha256;
    let parser = match EvtxParser::from_read_seek(input) {
        Ok(p) => p,
        Err(e) => {
            diags.push(label, Some(0), DiagKind::BadHeader, format!("not a readable EVTX file: {}", chain(&e)));
            return summary;
        }
    };
    summary.chunks = u64::from(parser.header().chunk_count);
    summary.dirty = parser.header().flags.contains(evtx::HeaderFlags::DIRTY);
    let threads = if threads == 0 { rayon::current_num_threads() } else { threads };
    // Records carved from unallocated space are what is left of a cleared log: kept, marked.
    let settings = || ParserSettings::new().num_threads(threads.max(1)).recover_records(true);
    let mut parser = parser.with_configuration(settings());
    let cut_map = map.clone();
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let (id, written, recovered) = (record.event_record_id, nanos(&record.timestamp), record.recovered);
        let rendered = record.into_json_bytes()?;
        Ok((recovered, written, map(RawEvtxRecord { record_id: id, written, json: &rendered.data, recovered })))
    });
    for item in records {
        match item {
            Ok((true, _, out)) => {
                summary.carved += 1;
                sink(out);
            }
            Ok((false, written, out)) => {
                summary.records += 1;
                summary.first_ts = Some(summary.first_ts.map_or(written, |t: Timestamp| t.min(written)));
                summary.last_ts = Some(summary.last_ts.map_or(written, |t: Timestamp| t.max(written)));
                sink(out);
            }
            Err(e) => {
                summary.failed += 1;
                let (offset, what) = locate(&e, &integrity.records);
                let why = chain(&e);
                // The parser names where in its chunk the record's BinXML failed.
                let offset = match (&e, offset, binxml_offset(&why)) {
                    (EvtxError::FailedToParseRecord { .. }, Some(chunk), Some(within)) => Some(chunk + within),
                    _ => offset,
                };
                diags.push(label, offset, DiagKind::CorruptRecord, format!("{what}: {why}"));
            }
        }
    }
    if let Some(cut) = integrity.cut {
        let n = cut.number;
        let tail = cut.bytes.len();
        let what = match read_cut_chunk(cut, settings(), &cut_map, &mut summary, &mut sink) {
            Ok(read) => {
                format!("file ends {tail} bytes into chunk {n}: {read} whole records read from it, the rest lost")
            }
            Err(why) => format!("file ends {tail} bytes into chunk {n}: its records are lost ({why})"),
        };
        diags.push(label, Some(chunk_offset(n)), DiagKind::Truncated, what);
    }
    summary
}

/// Checks what the parser does not: the file header's CRC32, every chunk's header and records
/// CRC32 (the parser reads chunks whatever their checksums say, as Windows' own tools do), and
/// bytes after the last whole chunk (a cut file, whose partial chunk the parser never reads).
/// One sequential pass; with `hash`, it also returns the SHA-256 of every byte read, so the
/// file is not read a third time to hash it.
fn check_integrity(input: &mut dyn EvtxInput, label: &str, diags: &mut Diagnostics, hash: bool) -> Integrity {
    check_integrity_of(input, label, diags, hash).unwrap_or_default()
}

/// What the integrity pass learned beyond its diagnostics.
#[derive(Default)]
struct Integrity {
    sha256: Option<[u8; 32]>,
    /// The chunk the file ends in, when it ends inside one.
    cut: Option<CutChunk>,
    /// The record ids each whole chunk's header says it holds (first, last), by chunk number:
    /// where a record the parser could not read lies.
    records: Vec<(u64, u64)>,
}

/// The bytes of a chunk the file ends inside of.
struct CutChunk {
    number: u64,
    bytes: Vec<u8>,
}

fn check_integrity_of(
    input: &mut dyn EvtxInput,
    label: &str,
    diags: &mut Diagnostics,
    hash: bool,
) -> Option<Integrity> {
    use sha2::{Digest, Sha256};
    let mut hasher = hash.then(Sha256::new);
    input.seek(SeekFrom::Start(0)).ok()?;
    let mut block = vec![0u8; EVTX_HEADER_SIZE as usize];
    let got = read_full(input, &mut block).ok()?;
    if let Some(h) = hasher.as_mut() {
        h.update(&block[..got]);
    }
    let is_evtx = got >= 128 && &block[..8] == b"ElfFile\0";
    if is_evtx {
        let stored = u32::from_le_bytes([block[124], block[125], block[126], block[127]]);
        if crc32fast::hash(&block[..120]) != stored {
            diags.push(label, Some(124), DiagKind::Checksum, "file header CRC32 does not match its bytes");
        }
    }
    let mut chunk = vec![0u8; EVTX_CHUNK_SIZE as usize];
    let mut cut = None;
    let mut records = Vec::new();
    for n in 0.. {
        let got = read_full(input, &mut chunk).ok()?;
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk[..got]);
        }
        if got < chunk.len() {
            // The parser never reads a partial chunk; its whole records are read from it below.
            if is_evtx && got > 0 {
                cut = Some(CutChunk { number: n, bytes: chunk[..got].to_vec() });
            }
            break;
        }
        // Empty chunks and chunks without the magic are the parser's to report.
        if is_evtx && &chunk[..8] == b"ElfChnk\0" {
            check_chunk(&chunk, n, label, diags);
            let le64 = |at: usize| chunk.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
            records.push((le64(8), le64(16)));
        } else {
            records.push((0, 0));
        }
    }
    let _ = input.seek(SeekFrom::Start(0));
    Some(Integrity { sha256: hasher.map(|h| h.finalize().into()), cut, records })
}

/// Reads the whole records of a chunk the file ends inside of: the chunk is completed with
/// zeros and parsed on its own; a record reaching past the cut is not read. Returns how many
/// records were read, or why the chunk could not be.
fn read_cut_chunk<U, M: Fn(RawEvtxRecord<'_>) -> U>(
    cut: CutChunk,
    settings: ParserSettings,
    map: &M,
    summary: &mut EvtxSummary,
    sink: &mut dyn FnMut(U),
) -> Result<u64, String> {
    let whole = cut.bytes.len() as u64;
    let mut bytes = cut.bytes;
    bytes.resize(EVTX_CHUNK_SIZE as usize, 0);
    let mut data = evtx::EvtxChunkData::new(bytes, false).map_err(|e| chain(&e))?;
    let mut chunk = data.parse(std::sync::Arc::new(settings)).map_err(|e| chain(&e))?;
    let mut read = 0;
    for record in chunk.iter() {
        let Ok(record) = record else { break };
        if record.binxml_offset.saturating_add(u64::from(record.binxml_size)) > whole || record.recovered {
            continue;
        }
        let (id, written) = (record.event_record_id, nanos(&record.timestamp));
        let Ok(rendered) = record.into_json_bytes() else { continue };
        read += 1;
        summary.records += 1;
        summary.first_ts = Some(summary.first_ts.map_or(written, |t: Timestamp| t.min(written)));
        summary.last_ts = Some(summary.last_ts.map_or(written, |t: Timestamp| t.max(written)));
        sink(map(RawEvtxRecord { record_id: id, written, json: &rendered.data, recovered: false }));
    }
    Ok(read)
}

/// A chunk's header and records CRC32s against what its header stores.
fn check_chunk(chunk: &[u8], n: u64, label: &str, diags: &mut Diagnostics) {
    let le32 = |at: usize| u32::from_le_bytes([chunk[at], chunk[at + 1], chunk[at + 2], chunk[at + 3]]);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&chunk[..120]);
    hasher.update(&chunk[128..512]);
    if hasher.finalize() != le32(124) {
        diags.push(
            label,
            Some(chunk_offset(n) + 124),
            DiagKind::Checksum,
            format!("chunk {n}: header CRC32 does not match"),
        );
    }
    let free = le32(48) as usize;
    if (512..=chunk.len()).contains(&free) && crc32fast::hash(&chunk[512..free]) != le32(52) {
        diags.push(
            label,
            Some(chunk_offset(n) + 52),
            DiagKind::Checksum,
            format!("chunk {n}: records CRC32 does not match"),
        );
    }
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(input: &mut dyn EvtxInput, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The file offset and a short description of where an error happened.
/// Where an error lies, and what it lost. A record the parser could not render is placed at
/// the start of the chunk whose header lists its id (`records`, by chunk number).
fn locate(e: &EvtxError, records: &[(u64, u64)]) -> (Option<u64>, String) {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            (Some(chunk_offset(*chunk_id)), format!("chunk {chunk_id} skipped (its records are lost)"))
        }
        EvtxError::FailedToReadRecordAt { chunk: Some(chunk), offset, .. } => {
            (Some(chunk_offset(*chunk).saturating_add(*offset)), format!("record in chunk {chunk} unreadable"))
        }
        EvtxError::FailedToReadRecordAt { chunk: None, .. } => (None, "record unreadable".into()),
        EvtxError::FailedToParseRecord { record_id, .. } => {
            let chunk = records.iter().position(|&(first, last)| (first..=last).contains(record_id) && last > 0);
            match chunk {
                Some(n) => (Some(chunk_offset(n as u64)), format!("record {record_id} in chunk {n} unreadable")),
                None => (None, format!("record {record_id} unreadable")),
            }
        }
        _ => (None, "event log unreadable".into()),
    }
}

/// The chunk-relative offset a BinXML error names (`… Offset 0x00000219: …`).
fn binxml_offset(why: &str) -> Option<u64> {
    let hex = why.split("Offset 0x").nth(1)?;
    let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).ok().filter(|&n| n < EVTX_CHUNK_SIZE)
}

/// An error with its causes, as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn nanos(t: &evtx::Timestamp) -> Timestamp {
    i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_nanosecond() < 0 { i64::MIN } else { i64::MAX })
}
