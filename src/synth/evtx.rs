//! EVTX writer: Windows event log files built from [`EvtxEvent`]s, for fixtures, synthetic
//! bundles and bad-input tests (no Windows machine is needed to make them).
//!
//! Input: events in the order they are to be recorded. Output: the bytes of an `.evtx` file laid
//! out as Windows lays it out (MS-EVEN6 and the layout of real files):
//!
//! - a 4096-byte file header block (`ElfFile\0`, 128 header bytes, version 3.1, CRC32 of its
//!   first 120 bytes), then 64 KiB chunks;
//! - each chunk: a 512-byte header (`ElfChnk\0`, first/last record number and id, last record
//!   offset, free space offset, CRC32 of the records and of the header, the 64-bucket common
//!   string table and the 32-bucket template table), then records up to the free space, then
//!   zeroes;
//! - each record: `**\0\0`, its size, its id, its FILETIME, BinXML, zero padding to 8 bytes, the
//!   size again.
//!
//! The BinXML of a record is what Windows writes for a manifest-based provider: a fragment
//! header and a template instance of the `Event`/`System` template, whose last substitution is
//! a nested BinXML value: a second template instance for the `EventData` (`<Data Name=…>`) or
//! `UserData` payload. A template definition is written inline the first time a chunk uses it
//! and referenced by offset afterwards; an element or attribute name is written inline (hash,
//! length, UTF-16) the first time a chunk uses it and referenced by offset afterwards. Both are
//! linked into the chunk header's hash tables, newest first, as Windows links them. `Computer`
//! is literal text in the System template, as in real files, so each computer has its own.
//!
//! Records get ids `first_record_id..` in order; a record that does not fit the current chunk
//! starts a new one. [`damage`] makes the broken files bad-input tests need (and the `*_OFFSET`
//! constants say where the fields are, for tests that edit bytes themselves).
//!
//! Imports `util` only. Nothing here reads evidence.

use crate::util::time::NANOS_PER_SEC;
use crate::util::Timestamp;
use md5::{Digest as _, Md5};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Size of the file header block; the first chunk starts here.
pub const FILE_HEADER_BLOCK_SIZE: usize = 4096;
/// Size of the file header proper (the rest of the block is zero).
pub const FILE_HEADER_SIZE: usize = 128;
/// Size of a chunk.
pub const CHUNK_SIZE: usize = 65_536;
/// Size of a chunk header; the first record of a chunk starts here.
pub const CHUNK_HEADER_SIZE: usize = 512;
/// Size of a record header (magic, size, id, time).
pub const RECORD_HEADER_SIZE: usize = 24;
/// The largest record a chunk holds.
pub const MAX_RECORD_SIZE: usize = CHUNK_SIZE - CHUNK_HEADER_SIZE;

pub const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
pub const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
pub const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\0\0";

/// Where the file header stores the CRC32 of its first 120 bytes.
pub const FILE_HEADER_CRC_OFFSET: usize = 124;
/// Where a chunk header stores the offset of its last record.
pub const CHUNK_LAST_RECORD_OFFSET: usize = 44;
/// Where a chunk header stores the free space offset (the end of its records).
pub const CHUNK_FREE_SPACE_OFFSET: usize = 48;
/// Where a chunk header stores the CRC32 of its records (512 to the free space offset).
pub const CHUNK_DATA_CRC_OFFSET: usize = 52;
/// Where a chunk header stores the CRC32 of bytes 0..120 and 128..512.
pub const CHUNK_HEADER_CRC_OFFSET: usize = 124;
/// Where the common string table (64 offsets) starts in a chunk header.
pub const CHUNK_STRING_TABLE_OFFSET: usize = 128;
/// Where the template table (32 offsets) starts in a chunk header.
pub const CHUNK_TEMPLATE_TABLE_OFFSET: usize = 384;

const STRING_BUCKETS: usize = 64;
const TEMPLATE_BUCKETS: usize = 32;
/// FILETIME (100 ns since 1601) of the Unix epoch.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;
const EVENT_NAMESPACE: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Byte offset of chunk `index` in a file.
pub const fn chunk_offset(index: usize) -> usize {
    FILE_HEADER_BLOCK_SIZE + index * CHUNK_SIZE
}

/// Sysmon's provider GUID.
pub const SYSMON_PROVIDER_GUID: Guid =
    Guid::from_fields(0x5770_385f, 0xc22a, 0x43e0, [0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9]);
/// Microsoft-Windows-Security-Auditing's provider GUID.
pub const SECURITY_AUDITING_PROVIDER_GUID: Guid =
    Guid::from_fields(0x5484_9625, 0x5478, 0x4994, [0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28, 0xc3, 0x0d]);
/// Service Control Manager's provider GUID.
pub const SERVICE_CONTROL_MANAGER_PROVIDER_GUID: Guid =
    Guid::from_fields(0x5559_08d1, 0xa6d7, 0x4695, [0x8e, 0x1e, 0x26, 0x93, 0x1d, 0x20, 0x12, 0xf4]);
/// Microsoft-Windows-Eventlog's provider GUID (log cleared: Security 1102, System 104).
pub const EVENTLOG_PROVIDER_GUID: Guid =
    Guid::from_fields(0xfc65_ddd8, 0xd6ef, 0x4962, [0x83, 0xd5, 0x6e, 0x5c, 0xfe, 0x92, 0x22, 0xaa]);

pub const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";
pub const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";
pub const SECURITY_AUDITING_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";
pub const SECURITY_CHANNEL: &str = "Security";
pub const SERVICE_CONTROL_MANAGER_PROVIDER: &str = "Service Control Manager";
pub const SYSTEM_CHANNEL: &str = "System";
/// The `Qualifiers` of events from classic (non-manifest) sources such as the Service Control
/// Manager.
pub const CLASSIC_QUALIFIERS: u16 = 16_384;

/// Why events could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvtxWriteError {
    #[error("invalid guid {text:?} (want XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, braces optional)")]
    InvalidGuid { text: String },
    #[error("invalid sid {text:?} (want S-1-<authority>-<sub-authority>…, at most 15 sub-authorities)")]
    InvalidSid { text: String },
    #[error("event {index}: record of {need} bytes does not fit a chunk ({have} bytes)")]
    EventTooLarge { index: usize, need: usize, have: usize },
    #[error("event {index}: {what} is {len} bytes, more than a substitution value holds ({max})")]
    ValueTooLong { index: usize, what: String, len: usize, max: usize },
    #[error("{count} chunks are more than a file header counts ({max})")]
    TooManyChunks { count: usize, max: usize },
}

/// A GUID, kept in its on-disk byte order (first three fields little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid([u8; 16]);

impl Guid {
    pub const fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        let a = data1.to_le_bytes();
        let b = data2.to_le_bytes();
        let c = data3.to_le_bytes();
        let d = data4;
        Guid([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    /// The 16 bytes as EVTX stores them.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl FromStr for Guid {
    type Err = EvtxWriteError;

    /// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, in either case, braces optional.
    fn from_str(text: &str) -> Result<Guid, EvtxWriteError> {
        let invalid = || EvtxWriteError::InvalidGuid { text: text.to_string() };
        let inner = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
        let groups: Vec<&str> = inner.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] || !inner.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let hex: String = groups.concat();
        let mut raw = [0u8; 16];
        for (i, byte) in raw.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(invalid)?, 16).map_err(|_| invalid())?;
        }
        let data1 = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let data2 = u16::from_be_bytes([raw[4], raw[5]]);
        let data3 = u16::from_be_bytes([raw[6], raw[7]]);
        let mut data4 = [0u8; 8];
        data4.copy_from_slice(&raw[8..]);
        Ok(Guid::from_fields(data1, data2, data3, data4))
    }
}

impl fmt::Display for Guid {
    /// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9]
        )?;
        for byte in &b[10..] {
            write!(f, "{byte:02X}")?;
        }
        f.write_str("}")
    }
}

/// A security identifier (`S-1-5-21-…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sid {
    revision: u8,
    /// 48 bits.
    authority: u64,
    sub_authorities: Vec<u32>,
}

impl Sid {
    /// The binary form: revision, sub-authority count, 48-bit big-endian authority, then the
    /// sub-authorities little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.revision, self.sub_authorities.len() as u8];
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for sub in &self.sub_authorities {
            out.extend_from_slice(&sub.to_le_bytes());
        }
        out
    }
}

impl FromStr for Sid {
    type Err = EvtxWriteError;

    fn from_str(text: &str) -> Result<Sid, EvtxWriteError> {
        let invalid = || EvtxWriteError::InvalidSid { text: text.to_string() };
        let mut parts = text.strip_prefix("S-").ok_or_else(invalid)?.split('-');
        let revision: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(invalid)?;
        let authority: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(invalid)?;
        let sub_authorities = parts.map(|p| p.parse::<u32>().map_err(|_| invalid())).collect::<Result<Vec<_>, _>>()?;
        if authority >= 1 << 48 || sub_authorities.len() > 15 {
            return Err(invalid());
        }
        Ok(Sid { revision, authority, sub_authorities })
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.authority)?;
        for sub in &self.sub_authorities {
            write!(f, "-{sub}")?;
        }
        Ok(())
    }
}

/// A typed value of an `EventData` or `UserData` field: the type is written with it, and
/// readers render it by type (numbers, `0x…` hex, `{GUID}`, `S-1-…`, ISO times).
#[derive(Debug, Clone, PartialEq)]
pub enum DataValue {
    /// UTF-16 string (type 0x01), written NUL-terminated as Windows writes them.
    Str(String),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    I32(i32),
    /// HexInt32 (0x14), rendered `0x…`.
    Hex32(u32),
    /// HexInt64 (0x15), rendered `0x…`.
    Hex64(u64),
    /// Bool (0x0d), four bytes.
    Bool(bool),
    Guid(Guid),
    Sid(Sid),
    /// FILETIME (0x11) of a UTC timestamp.
    FileTime(Timestamp),
    /// SYSTEMTIME (0x12) of a UTC timestamp, to the millisecond.
    SysTime(Timestamp),
    /// Binary (0x0e), rendered as hex.
    Binary(Vec<u8>),
    /// No value (type 0x00): the element is written empty.
    Null,
}

impl From<&str> for DataValue {
    fn from(s: &str) -> Self {
        DataValue::Str(s.to_string())
    }
}

impl From<String> for DataValue {
    fn from(s: String) -> Self {
        DataValue::Str(s)
    }
}

/// `From` for the value types that wrap one Rust value as they are.
macro_rules! data_value_from {
    ($($t:ty => $variant:ident),*) => {
        $(impl From<$t> for DataValue {
            fn from(v: $t) -> Self {
                DataValue::$variant(v)
            }
        })*
    };
}

data_value_from!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, bool => Bool, Guid => Guid, Sid => Sid);

/// What follows `System` in an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `<EventData><Data Name="name">value</Data>…</EventData>` (Sysmon, Security, System 7045).
    EventData(Vec<(String, DataValue)>),
    /// `<UserData><element xmlns="namespace"><name>value</name>…</element></UserData>`
    /// (Security 1102 `LogFileCleared`, System 104).
    UserData { element: String, namespace: Option<String>, fields: Vec<(String, DataValue)> },
}

impl Payload {
    /// An `EventData` payload from `(name, value)` pairs.
    pub fn data<K: Into<String>>(fields: impl IntoIterator<Item = (K, DataValue)>) -> Payload {
        Payload::EventData(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// One event: the `System` element's fields and a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct EvtxEvent {
    /// UTC; both the record's written time and `TimeCreated/@SystemTime`.
    pub written: Timestamp,
    pub provider: String,
    pub provider_guid: Option<Guid>,
    pub event_id: u16,
    /// `EventID/@Qualifiers`, which events of classic sources carry.
    pub qualifiers: Option<u16>,
    pub version: u8,
    pub level: u8,
    pub task: u16,
    pub opcode: u8,
    pub keywords: u64,
    /// `Correlation/@ActivityID`.
    pub activity_id: Option<Guid>,
    pub process_id: u32,
    pub thread_id: u32,
    pub channel: String,
    pub computer: String,
    /// `Security/@UserID`.
    pub user_sid: Option<Sid>,
    pub payload: Payload,
}

impl EvtxEvent {
    /// An event with level 4 (Information), version, task, opcode, keywords, process and
    /// thread ids 0, and no provider GUID, qualifiers, activity or user; set the public fields
    /// for anything else.
    pub fn new(
        written: Timestamp,
        provider: &str,
        channel: &str,
        event_id: u16,
        computer: &str,
        payload: Payload,
    ) -> EvtxEvent {
        EvtxEvent {
            written,
            provider: provider.to_string(),
            provider_guid: None,
            event_id,
            qualifiers: None,
            version: 0,
            level: 4,
            task: 0,
            opcode: 0,
            keywords: 0,
            activity_id: None,
            process_id: 0,
            thread_id: 0,
            channel: channel.to_string(),
            computer: computer.to_string(),
            user_sid: None,
            payload,
        }
    }

    /// A Sysmon event (`Microsoft-Windows-Sysmon/Operational`) as Sysmon writes it: task = event
    /// id, level 4, keywords 0x8000000000000000, user S-1-5-18; `version` stays 0 (Sysmon's
    /// own varies by event and release: 5 for a process creation by Sysmon 10+). `UtcTime` (see
    /// [`sysmon_utc_time`]) is taken from `written` and inserted after a leading `RuleName`, or
    /// first, unless `fields` has one.
    pub fn sysmon<K: Into<String>>(
        written: Timestamp,
        event_id: u16,
        computer: &str,
        fields: impl IntoIterator<Item = (K, DataValue)>,
    ) -> EvtxEvent {
        let mut fields: Vec<(String, DataValue)> = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        if !fields.iter().any(|(name, _)| name == "UtcTime") {
            let at = usize::from(fields.first().is_some_and(|(name, _)| name == "RuleName"));
            fields.insert(at, ("UtcTime".to_string(), DataValue::Str(sysmon_utc_time(written))));
        }
        EvtxEvent {
            provider_guid: Some(SYSMON_PROVIDER_GUID),
            task: event_id,
            keywords: 0x8000_0000_0000_0000,
            user_sid: Some(Sid { revision: 1, authority: 5, sub_authorities: vec![18] }),
            ..EvtxEvent::new(written, SYSMON_PROVIDER, SYSMON_CHANNEL, event_id, computer, Payload::EventData(fields))
        }
    }

    /// A Security-channel audit event (`Microsoft-Windows-Security-Auditing`): level 0,
    /// keywords 0x8020000000000000 (Audit Success), no user, as the auditing provider writes
    /// them. Set `task`, `version` and `keywords` (0x8010000000000000 for Audit Failure) to taste.
    pub fn security<K: Into<String>>(
        written: Timestamp,
        event_id: u16,
        computer: &str,
        fields: impl IntoIterator<Item = (K, DataValue)>,
    ) -> EvtxEvent {
        EvtxEvent {
            provider_guid: Some(SECURITY_AUDITING_PROVIDER_GUID),
            level: 0,
            keywords: 0x8020_0000_0000_0000,
            ..EvtxEvent::new(
                written,
                SECURITY_AUDITING_PROVIDER,
                SECURITY_CHANNEL,
                event_id,
                computer,
                Payload::data(fields),
            )
        }
    }

    /// A System-channel event of the Service Control Manager (7045 service installed, 7036
    /// state change…): `EventID/@Qualifiers` 16384, level 4, keywords 0x8080000000000000
    /// (Classic).
    pub fn system<K: Into<String>>(
        written: Timestamp,
        event_id: u16,
        computer: &str,
        fields: impl IntoIterator<Item = (K, DataValue)>,
    ) -> EvtxEvent {
        EvtxEvent {
            provider_guid: Some(SERVICE_CONTROL_MANAGER_PROVIDER_GUID),
            qualifiers: Some(CLASSIC_QUALIFIERS),
            keywords: 0x8080_0000_0000_0000,
            ..EvtxEvent::new(
                written,
                SERVICE_CONTROL_MANAGER_PROVIDER,
                SYSTEM_CHANNEL,
                event_id,
                computer,
                Payload::data(fields),
            )
        }
    }
}

/// Sysmon's `UtcTime`: `YYYY-MM-DD HH:MM:SS.mmm`.
pub fn sysmon_utc_time(ts: Timestamp) -> String {
    let dt = chrono::DateTime::from_timestamp(ts.div_euclid(NANOS_PER_SEC), ts.rem_euclid(NANOS_PER_SEC) as u32)
        .unwrap_or_default();
    dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// An EVTX file of `events`, with record ids from 1.
pub fn write_evtx(events: &[EvtxEvent]) -> Result<Vec<u8>, EvtxWriteError> {
    write_evtx_from(events, 1)
}

/// An EVTX file of `events`, with record ids from `first_record_id` (a log whose older records
/// were overwritten or cleared starts above 1). Record numbers in the chunk headers count from
/// 1 regardless, as they do in real files.
pub fn write_evtx_from(events: &[EvtxEvent], first_record_id: u64) -> Result<Vec<u8>, EvtxWriteError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut chunk = ChunkBuilder::new(1);
    for (index, event) in events.iter().enumerate() {
        let id = first_record_id + index as u64;
        if chunk.append(event, id, index)? {
            continue;
        }
        if chunk.records > 0 {
            let next_number = chunk.next_number;
            chunks.push(std::mem::replace(&mut chunk, ChunkBuilder::new(next_number)).finish());
            if chunk.append(event, id, index)? {
                continue;
            }
        }
        let need = chunk.record_size(event, id, index)?;
        return Err(EvtxWriteError::EventTooLarge { index, need, have: MAX_RECORD_SIZE });
    }
    if chunk.records > 0 {
        chunks.push(chunk.finish());
    }
    let max = usize::from(u16::MAX);
    if chunks.len() > max {
        return Err(EvtxWriteError::TooManyChunks { count: chunks.len(), max });
    }
    let mut file = file_header(chunks.len() as u16, first_record_id + events.len() as u64);
    for c in chunks {
        file.extend_from_slice(&c);
    }
    Ok(file)
}

/// The file header block for `chunk_count` chunks.
fn file_header(chunk_count: u16, next_record_id: u64) -> Vec<u8> {
    let mut h = vec![0u8; FILE_HEADER_BLOCK_SIZE];
    h[0..8].copy_from_slice(FILE_MAGIC);
    put_u64(&mut h, 8, 0); // first chunk number
    put_u64(&mut h, 16, u64::from(chunk_count.saturating_sub(1))); // last chunk number
    put_u64(&mut h, 24, next_record_id);
    put_u32(&mut h, 32, FILE_HEADER_SIZE as u32);
    put_u16(&mut h, 36, 1); // minor version
    put_u16(&mut h, 38, 3); // major version
    put_u16(&mut h, 40, FILE_HEADER_BLOCK_SIZE as u16);
    put_u16(&mut h, 42, chunk_count);
    put_u32(&mut h, 120, 0); // flags: clean, CRC32s present
    let crc = crc32fast::hash(&h[..120]);
    put_u32(&mut h, FILE_HEADER_CRC_OFFSET, crc);
    h
}

/// A way to break a file that [`write_evtx`] made, for bad-input tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Overwrite the chunk's `ElfChnk\0` magic.
    ChunkMagic { chunk: usize },
    /// Flip a bit of the chunk's stored records CRC32.
    ChunkDataCrc { chunk: usize },
    /// Flip a bit of the chunk's stored header CRC32.
    ChunkHeaderCrc { chunk: usize },
    /// Flip a bit of the file header's stored CRC32.
    FileHeaderCrc,
    /// Overwrite the magic of the chunk's first record, then store the chunk's CRC32s anew, so
    /// that only the record is bad.
    RecordMagic { chunk: usize },
    /// Cut the file to `len` bytes.
    Truncate { len: usize },
}

/// Applies `damage` to `file`; a chunk or length past the end leaves the file as it is.
pub fn damage(file: &mut Vec<u8>, damage: Damage) {
    let chunk_at = |chunk: usize| Some(chunk_offset(chunk)).filter(|at| at + CHUNK_SIZE <= file.len());
    match damage {
        Damage::ChunkMagic { chunk } => {
            if let Some(at) = chunk_at(chunk) {
                file[at..at + 8].copy_from_slice(b"ElfChnX\0");
            }
        }
        Damage::ChunkDataCrc { chunk } => {
            if let Some(at) = chunk_at(chunk) {
                file[at + CHUNK_DATA_CRC_OFFSET] ^= 1;
            }
        }
        Damage::ChunkHeaderCrc { chunk } => {
            if let Some(at) = chunk_at(chunk) {
                file[at + CHUNK_HEADER_CRC_OFFSET] ^= 1;
            }
        }
        Damage::FileHeaderCrc => {
            if file.len() >= FILE_HEADER_SIZE {
                file[FILE_HEADER_CRC_OFFSET] ^= 1;
            }
        }
        Damage::RecordMagic { chunk } => {
            if let Some(at) = chunk_at(chunk) {
                let c = &mut file[at..at + CHUNK_SIZE];
                c[CHUNK_HEADER_SIZE..CHUNK_HEADER_SIZE + 4].copy_from_slice(b"\x2a\x2b\0\0");
                seal_chunk(c);
            }
        }
        Damage::Truncate { len } => file.truncate(len),
    }
}

/// Stores a chunk's records CRC32 and then its header CRC32.
fn seal_chunk(c: &mut [u8]) {
    let free = u32::from_le_bytes([c[48], c[49], c[50], c[51]]) as usize;
    let data_crc = crc32fast::hash(&c[CHUNK_HEADER_SIZE..free.clamp(CHUNK_HEADER_SIZE, CHUNK_SIZE)]);
    put_u32(c, CHUNK_DATA_CRC_OFFSET, data_crc);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&c[..120]);
    hasher.update(&c[128..CHUNK_HEADER_SIZE]);
    put_u32(c, CHUNK_HEADER_CRC_OFFSET, hasher.finalize());
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The name hash Windows stores beside each name (and uses to pick its string table bucket):
/// `h = h * 65599 + unit` over the UTF-16 units, low 16 bits.
fn name_hash(name: &str) -> u16 {
    let h = name.encode_utf16().fold(0u32, |h, unit| h.wrapping_mul(65_599).wrapping_add(u32::from(unit)));
    h as u16
}

/// The template table bucket of a template: the same hash over its GUID's 16-bit words, modulo
/// 32 (what real files show).
fn template_bucket(guid: &[u8; 16]) -> usize {
    let h = guid
        .chunks_exact(2)
        .fold(0u32, |h, w| h.wrapping_mul(65_599).wrapping_add(u32::from(u16::from_le_bytes([w[0], w[1]]))));
    h as usize % TEMPLATE_BUCKETS
}

fn filetime(ts: Timestamp) -> u64 {
    // i64 nanoseconds reach back to 1677, after 1601: never negative.
    (ts.div_euclid(100) + FILETIME_UNIX_EPOCH) as u64
}

fn systemtime(ts: Timestamp) -> [u8; 16] {
    use chrono::{Datelike as _, Timelike as _};
    let dt = chrono::DateTime::from_timestamp(ts.div_euclid(NANOS_PER_SEC), ts.rem_euclid(NANOS_PER_SEC) as u32)
        .unwrap_or_default();
    let fields = [
        dt.year() as u16,
        dt.month() as u16,
        dt.weekday().num_days_from_sunday() as u16,
        dt.day() as u16,
        dt.hour() as u16,
        dt.minute() as u16,
        dt.second() as u16,
        (dt.nanosecond() / 1_000_000).min(999) as u16,
    ];
    let mut out = [0u8; 16];
    for (i, f) in fields.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&f.to_le_bytes());
    }
    out
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// UTF-16 for a field with a 16-bit character count: at most 65535 units (such text never
/// fits a chunk anyway).
fn counted_utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().take(usize::from(u16::MAX)).flat_map(u16::to_le_bytes).collect()
}

// ---------------------------------------------------------------------------------------------
// Templates: the element trees records instantiate.
// ---------------------------------------------------------------------------------------------

/// BinXML value types.
mod value_type {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const UINT8: u8 = 0x04;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BINXML: u8 = 0x21;
}

/// BinXML tokens.
mod token {
    pub const EOF: u8 = 0x00;
    pub const OPEN_START_ELEMENT: u8 = 0x01;
    /// Added to a start element with attributes, to an attribute followed by another.
    pub const MORE: u8 = 0x40;
    pub const CLOSE_START_ELEMENT: u8 = 0x02;
    pub const CLOSE_EMPTY_ELEMENT: u8 = 0x03;
    pub const END_ELEMENT: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const TEMPLATE_INSTANCE: u8 = 0x0c;
    pub const NORMAL_SUBSTITUTION: u8 = 0x0d;
    pub const OPTIONAL_SUBSTITUTION: u8 = 0x0e;
    pub const FRAGMENT_HEADER: u8 = 0x0f;
}

/// Text or a substitution: what an attribute or an element's content holds.
enum Content {
    Text(String),
    /// Substitution `index` of type `ty`; an optional one is left out when its value is null.
    Sub {
        index: u16,
        ty: u8,
        optional: bool,
    },
}

struct Element {
    name: String,
    attributes: Vec<(String, Content)>,
    children: Vec<Node>,
}

enum Node {
    Element(Element),
    Content(Content),
}

fn element(name: &str, attributes: Vec<(&str, Content)>, children: Vec<Node>) -> Node {
    Node::Element(Element {
        name: name.to_string(),
        attributes: attributes.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
        children,
    })
}

fn opt(index: u16, ty: u8) -> Content {
    Content::Sub { index, ty, optional: true }
}

/// Substitution indices of the System template, in Windows' order.
mod system_sub {
    pub const LEVEL: u16 = 0;
    pub const OPCODE: u16 = 1;
    pub const TASK: u16 = 2;
    pub const EVENT_ID: u16 = 3;
    pub const QUALIFIERS: u16 = 4;
    pub const KEYWORDS: u16 = 5;
    pub const TIME_CREATED: u16 = 6;
    pub const ACTIVITY_ID: u16 = 7;
    pub const PROCESS_ID: u16 = 8;
    pub const THREAD_ID: u16 = 9;
    pub const RECORD_ID: u16 = 10;
    pub const VERSION: u16 = 11;
    pub const USER_ID: u16 = 12;
    pub const RELATED_ACTIVITY_ID: u16 = 13;
    pub const PROVIDER_NAME: u16 = 14;
    pub const PROVIDER_GUID: u16 = 15;
    pub const CHANNEL: u16 = 16;
    pub const PAYLOAD: u16 = 17;
    pub const COUNT: usize = 18;
}

/// The `Event` template: `System` with every field a substitution but `Computer`, then the
/// payload as a nested BinXML substitution.
fn system_template(computer: &str) -> Vec<Node> {
    use system_sub as s;
    use value_type as t;
    let leaf = |name: &str, index: u16, ty: u8| element(name, vec![], vec![Node::Content(opt(index, ty))]);
    let system = element(
        "System",
        vec![],
        vec![
            element(
                "Provider",
                vec![("Name", opt(s::PROVIDER_NAME, t::STRING)), ("Guid", opt(s::PROVIDER_GUID, t::GUID))],
                vec![],
            ),
            element(
                "EventID",
                vec![("Qualifiers", opt(s::QUALIFIERS, t::UINT16))],
                vec![Node::Content(opt(s::EVENT_ID, t::UINT16))],
            ),
            leaf("Version", s::VERSION, t::UINT8),
            leaf("Level", s::LEVEL, t::UINT8),
            leaf("Task", s::TASK, t::UINT16),
            leaf("Opcode", s::OPCODE, t::UINT8),
            leaf("Keywords", s::KEYWORDS, t::HEX_INT64),
            element("TimeCreated", vec![("SystemTime", opt(s::TIME_CREATED, t::FILETIME))], vec![]),
            leaf("EventRecordID", s::RECORD_ID, t::UINT64),
            element(
                "Correlation",
                vec![
                    ("ActivityID", opt(s::ACTIVITY_ID, t::GUID)),
                    ("RelatedActivityID", opt(s::RELATED_ACTIVITY_ID, t::GUID)),
                ],
                vec![],
            ),
            element(
                "Execution",
                vec![("ProcessID", opt(s::PROCESS_ID, t::UINT32)), ("ThreadID", opt(s::THREAD_ID, t::UINT32))],
                vec![],
            ),
            leaf("Channel", s::CHANNEL, t::STRING),
            element("Computer", vec![], vec![Node::Content(Content::Text(computer.to_string()))]),
            element("Security", vec![("UserID", opt(s::USER_ID, t::SID))], vec![]),
        ],
    );
    vec![element(
        "Event",
        vec![("xmlns", Content::Text(EVENT_NAMESPACE.to_string()))],
        vec![system, Node::Content(opt(s::PAYLOAD, t::BINXML))],
    )]
}

/// The payload template: one normal substitution per field, in order.
fn payload_template(payload: &Payload) -> Vec<Node> {
    let sub =
        |i: usize, v: &DataValue| Node::Content(Content::Sub { index: i as u16, ty: v.type_code(), optional: false });
    match payload {
        Payload::EventData(fields) => {
            let data = fields
                .iter()
                .enumerate()
                .map(|(i, (name, v))| element("Data", vec![("Name", Content::Text(name.clone()))], vec![sub(i, v)]))
                .collect();
            vec![element("EventData", vec![], data)]
        }
        Payload::UserData { element: name, namespace, fields } => {
            let attributes = namespace.iter().map(|ns| ("xmlns", Content::Text(ns.clone()))).collect();
            let children =
                fields.iter().enumerate().map(|(i, (field, v))| element(field, vec![], vec![sub(i, v)])).collect();
            vec![element("UserData", vec![], vec![element(name, attributes, children)])]
        }
    }
}

/// A template's GUID: an MD5 of what makes it different from others (Windows derives its own
/// from the provider manifest; any stable 16 bytes do).
fn template_guid(kind: &str, parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(b"seam-evtx-template\0");
    md5.update(kind.as_bytes());
    for part in parts {
        md5.update((part.len() as u32).to_le_bytes());
        md5.update(part);
    }
    md5.finalize().into()
}

fn system_template_guid(computer: &str) -> [u8; 16] {
    template_guid("system", &[computer.as_bytes()])
}

fn payload_template_guid(payload: &Payload) -> [u8; 16] {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let fields = match payload {
        Payload::EventData(fields) => {
            parts.push(b"EventData".to_vec());
            fields
        }
        Payload::UserData { element, namespace, fields } => {
            parts.push(b"UserData".to_vec());
            parts.push(element.as_bytes().to_vec());
            parts.push(namespace.as_deref().map_or_else(|| vec![0xff], |ns| ns.as_bytes().to_vec()));
            fields
        }
    };
    for (name, value) in fields {
        parts.push(name.as_bytes().to_vec());
        parts.push(vec![value.type_code()]);
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    template_guid("payload", &refs)
}

impl DataValue {
    fn type_code(&self) -> u8 {
        use value_type as t;
        match self {
            DataValue::Str(_) => t::STRING,
            DataValue::U8(_) => t::UINT8,
            DataValue::U16(_) => t::UINT16,
            DataValue::U32(_) => t::UINT32,
            DataValue::U64(_) => t::UINT64,
            DataValue::I32(_) => t::INT32,
            DataValue::Hex32(_) => t::HEX_INT32,
            DataValue::Hex64(_) => t::HEX_INT64,
            DataValue::Bool(_) => t::BOOL,
            DataValue::Guid(_) => t::GUID,
            DataValue::Sid(_) => t::SID,
            DataValue::FileTime(_) => t::FILETIME,
            DataValue::SysTime(_) => t::SYSTIME,
            DataValue::Binary(_) => t::BINARY,
            DataValue::Null => t::NULL,
        }
    }

    /// The value's bytes in a substitution array; strings NUL-terminated, as in payloads.
    fn encode(&self) -> Vec<u8> {
        match self {
            DataValue::Str(s) => {
                let mut b = utf16(s);
                b.extend_from_slice(&[0, 0]);
                b
            }
            DataValue::U8(v) => vec![*v],
            DataValue::U16(v) => v.to_le_bytes().to_vec(),
            DataValue::U32(v) | DataValue::Hex32(v) => v.to_le_bytes().to_vec(),
            DataValue::U64(v) | DataValue::Hex64(v) => v.to_le_bytes().to_vec(),
            DataValue::I32(v) => v.to_le_bytes().to_vec(),
            DataValue::Bool(v) => u32::from(*v).to_le_bytes().to_vec(),
            DataValue::Guid(g) => g.to_bytes().to_vec(),
            DataValue::Sid(s) => s.to_bytes(),
            DataValue::FileTime(ts) => filetime(*ts).to_le_bytes().to_vec(),
            DataValue::SysTime(ts) => systemtime(*ts).to_vec(),
            DataValue::Binary(b) => b.clone(),
            DataValue::Null => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chunks and records.
// ---------------------------------------------------------------------------------------------

/// The names and templates a chunk holds, with the heads of its hash table buckets.
#[derive(Clone)]
struct ChunkTables {
    names: HashMap<String, u32>,
    string_heads: [u32; STRING_BUCKETS],
    templates: HashMap<[u8; 16], u32>,
    template_heads: [u32; TEMPLATE_BUCKETS],
}

/// BinXML under construction at a known chunk offset, so that names and templates written
/// inline can be referred to by offset. New names and templates go into `tables`, a copy of the
/// chunk's that replaces it only when the record fits.
struct RecordWriter {
    base: usize,
    buf: Vec<u8>,
    tables: ChunkTables,
    /// For errors: the event's index in the input.
    index: usize,
}

impl RecordWriter {
    fn pos(&self) -> usize {
        self.base + self.buf.len()
    }

    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Reserves a u32 to patch; returns its index in `buf`.
    fn reserve_u32(&mut self) -> usize {
        let at = self.buf.len();
        self.u32(0);
        at
    }

    /// Patches the u32 at `at` with the number of bytes written after it.
    fn patch_len(&mut self, at: usize) {
        let len = (self.buf.len() - at - 4) as u32;
        put_u32(&mut self.buf, at, len);
    }

    /// A chunk offset as stored: every offset written is below the chunk size (a record that
    /// leaves the chunk is never kept).
    fn offset(at: usize) -> u32 {
        at.min(u32::MAX as usize) as u32
    }

    /// A name reference: the offset of the name's structure, followed by the structure itself
    /// the first time the chunk uses the name.
    fn name(&mut self, name: &str) {
        if let Some(&at) = self.tables.names.get(name) {
            self.u32(at);
            return;
        }
        let at = Self::offset(self.pos() + 4);
        self.u32(at);
        let hash = name_hash(name);
        let bucket = usize::from(hash) % STRING_BUCKETS;
        let units = counted_utf16(name);
        self.u32(self.tables.string_heads[bucket]);
        self.u16(hash);
        self.u16((units.len() / 2) as u16);
        self.buf.extend_from_slice(&units);
        self.u16(0);
        self.tables.string_heads[bucket] = at;
        self.tables.names.insert(name.to_string(), at);
    }

    fn content(&mut self, content: &Content) {
        match content {
            Content::Text(text) => {
                let units = counted_utf16(text);
                self.u8(token::VALUE);
                self.u8(value_type::STRING);
                self.u16((units.len() / 2) as u16);
                self.buf.extend_from_slice(units.as_slice());
            }
            Content::Sub { index, ty, optional } => {
                self.u8(if *optional { token::OPTIONAL_SUBSTITUTION } else { token::NORMAL_SUBSTITUTION });
                self.u16(*index);
                self.u8(*ty);
            }
        }
    }

    fn node(&mut self, node: &Node) {
        let el = match node {
            Node::Content(c) => return self.content(c),
            Node::Element(el) => el,
        };
        let has_attributes = !el.attributes.is_empty();
        self.u8(token::OPEN_START_ELEMENT | if has_attributes { token::MORE } else { 0 });
        self.u16(0xffff); // dependency id: none
        let size_at = self.reserve_u32();
        self.name(&el.name);
        if has_attributes {
            let list_at = self.reserve_u32();
            for (i, (name, content)) in el.attributes.iter().enumerate() {
                let more = i + 1 < el.attributes.len();
                self.u8(token::ATTRIBUTE | if more { token::MORE } else { 0 });
                self.name(name);
                self.content(content);
            }
            self.patch_len(list_at);
        }
        if el.children.is_empty() {
            self.u8(token::CLOSE_EMPTY_ELEMENT);
        } else {
            self.u8(token::CLOSE_START_ELEMENT);
            for child in &el.children {
                self.node(child);
            }
            self.u8(token::END_ELEMENT);
        }
        self.patch_len(size_at);
    }

    /// A template instance of the template `guid` (built by `nodes` if the chunk lacks it),
    /// then its substitution values.
    fn template_instance(
        &mut self,
        guid: [u8; 16],
        nodes: impl FnOnce() -> Vec<Node>,
        values: &[Value<'_>],
    ) -> Result<(), EvtxWriteError> {
        self.u8(token::TEMPLATE_INSTANCE);
        self.u8(1);
        self.buf.extend_from_slice(&guid[..4]); // template id
        match self.tables.templates.get(&guid) {
            Some(&at) => self.u32(at),
            None => {
                let at = Self::offset(self.pos() + 4);
                self.u32(at);
                let bucket = template_bucket(&guid);
                self.u32(self.tables.template_heads[bucket]);
                self.buf.extend_from_slice(&guid);
                let size_at = self.reserve_u32();
                self.buf.extend_from_slice(&[token::FRAGMENT_HEADER, 1, 1, 0]);
                for node in nodes() {
                    self.node(&node);
                }
                self.u8(token::EOF);
                self.patch_len(size_at);
                self.tables.template_heads[bucket] = at;
                self.tables.templates.insert(guid, at);
            }
        }
        self.u32(values.len() as u32);
        let descriptors_at = self.buf.len();
        for value in values {
            self.u16(0); // size, patched below
            self.u8(value.type_code());
            self.u8(0);
        }
        for (i, value) in values.iter().enumerate() {
            let start = self.buf.len();
            match value {
                Value::Bytes(_, bytes) => self.buf.extend_from_slice(bytes),
                Value::Payload(payload) => self.payload(payload)?,
            }
            let len = self.buf.len() - start;
            let size = u16::try_from(len).map_err(|_| EvtxWriteError::ValueTooLong {
                index: self.index,
                what: value.what(i),
                len,
                max: usize::from(u16::MAX),
            })?;
            put_u16(&mut self.buf, descriptors_at + 4 * i, size);
        }
        Ok(())
    }

    /// The nested BinXML of the payload: a template instance (no fragment header, as Windows
    /// writes it) and an end of stream.
    fn payload(&mut self, payload: &Payload) -> Result<(), EvtxWriteError> {
        let fields = match payload {
            Payload::EventData(fields) | Payload::UserData { fields, .. } => fields,
        };
        let encoded: Vec<Vec<u8>> = fields.iter().map(|(_, v)| v.encode()).collect();
        let values: Vec<Value<'_>> = fields
            .iter()
            .zip(&encoded)
            .map(|((name, v), bytes)| Value::Bytes(Field::Named(name, v.type_code()), bytes))
            .collect();
        self.template_instance(payload_template_guid(payload), || payload_template(payload), &values)?;
        self.u8(token::EOF);
        Ok(())
    }
}

/// What names a substitution value in errors.
enum Field<'a> {
    System(&'static str, u8),
    Named(&'a str, u8),
}

/// A substitution value: bytes of a type, or the nested payload.
enum Value<'a> {
    Bytes(Field<'a>, &'a [u8]),
    Payload(&'a Payload),
}

impl Value<'_> {
    fn type_code(&self) -> u8 {
        match self {
            Value::Bytes(Field::System(_, ty) | Field::Named(_, ty), _) => *ty,
            Value::Payload(_) => value_type::BINXML,
        }
    }

    fn what(&self, index: usize) -> String {
        match self {
            Value::Bytes(Field::System(name, _), _) => name.to_string(),
            Value::Bytes(Field::Named(name, _), _) => format!("field {name:?}"),
            Value::Payload(_) => format!("the payload (substitution {index})"),
        }
    }
}

/// The System template's values for `event`, in substitution order.
fn system_values(event: &EvtxEvent, record_id: u64) -> Vec<(&'static str, u8, Vec<u8>)> {
    use value_type as t;
    let opt = |bytes: Option<Vec<u8>>, ty: u8| match bytes {
        Some(b) => (ty, b),
        None => (t::NULL, Vec::new()),
    };
    let name = |s: &str| utf16(s); // System strings carry no NUL
    let mut v: Vec<(&'static str, u8, Vec<u8>)> = Vec::with_capacity(system_sub::COUNT);
    v.push(("Level", t::UINT8, vec![event.level]));
    v.push(("Opcode", t::UINT8, vec![event.opcode]));
    v.push(("Task", t::UINT16, event.task.to_le_bytes().to_vec()));
    v.push(("EventID", t::UINT16, event.event_id.to_le_bytes().to_vec()));
    let (ty, b) = opt(event.qualifiers.map(|q| q.to_le_bytes().to_vec()), t::UINT16);
    v.push(("Qualifiers", ty, b));
    v.push(("Keywords", t::HEX_INT64, event.keywords.to_le_bytes().to_vec()));
    v.push(("TimeCreated", t::FILETIME, filetime(event.written).to_le_bytes().to_vec()));
    let (ty, b) = opt(event.activity_id.map(|g| g.to_bytes().to_vec()), t::GUID);
    v.push(("ActivityID", ty, b));
    v.push(("ProcessID", t::UINT32, event.process_id.to_le_bytes().to_vec()));
    v.push(("ThreadID", t::UINT32, event.thread_id.to_le_bytes().to_vec()));
    v.push(("EventRecordID", t::UINT64, record_id.to_le_bytes().to_vec()));
    v.push(("Version", t::UINT8, vec![event.version]));
    let (ty, b) = opt(event.user_sid.as_ref().map(Sid::to_bytes), t::SID);
    v.push(("UserID", ty, b));
    v.push(("RelatedActivityID", t::NULL, Vec::new()));
    v.push(("Provider/@Name", t::STRING, name(&event.provider)));
    let (ty, b) = opt(event.provider_guid.map(|g| g.to_bytes().to_vec()), t::GUID);
    v.push(("Provider/@Guid", ty, b));
    v.push(("Channel", t::STRING, name(&event.channel)));
    v
}

/// One chunk being filled.
struct ChunkBuilder {
    data: Vec<u8>,
    free: usize,
    tables: ChunkTables,
    records: u64,
    first_number: u64,
    next_number: u64,
    first_id: u64,
    last_id: u64,
    last_record: usize,
}

impl ChunkBuilder {
    fn new(first_number: u64) -> ChunkBuilder {
        ChunkBuilder {
            data: vec![0; CHUNK_SIZE],
            free: CHUNK_HEADER_SIZE,
            tables: ChunkTables {
                names: HashMap::new(),
                string_heads: [0; STRING_BUCKETS],
                templates: HashMap::new(),
                template_heads: [0; TEMPLATE_BUCKETS],
            },
            records: 0,
            first_number,
            next_number: first_number,
            first_id: 0,
            last_id: 0,
            last_record: 0,
        }
    }

    /// The record of `event` as it would be written at the free space, with the tables it
    /// would leave.
    fn build(&self, event: &EvtxEvent, id: u64, index: usize) -> Result<RecordWriter, EvtxWriteError> {
        let mut w = RecordWriter { base: self.free, buf: Vec::with_capacity(1024), tables: self.tables.clone(), index };
        w.buf.extend_from_slice(RECORD_MAGIC);
        let size_at = w.reserve_u32();
        w.buf.extend_from_slice(&id.to_le_bytes());
        w.buf.extend_from_slice(&filetime(event.written).to_le_bytes());
        w.buf.extend_from_slice(&[token::FRAGMENT_HEADER, 1, 1, 0]);
        let system = system_values(event, id);
        let mut values: Vec<Value<'_>> =
            system.iter().map(|(name, ty, bytes)| Value::Bytes(Field::System(name, *ty), bytes)).collect();
        values.push(Value::Payload(&event.payload));
        w.template_instance(system_template_guid(&event.computer), || system_template(&event.computer), &values)?;
        w.u8(token::EOF);
        while (w.buf.len() + 4) % 8 != 0 {
            w.u8(0);
        }
        let size = (w.buf.len() + 4) as u32;
        w.u32(size);
        put_u32(&mut w.buf, size_at, size);
        Ok(w)
    }

    fn record_size(&self, event: &EvtxEvent, id: u64, index: usize) -> Result<usize, EvtxWriteError> {
        self.build(event, id, index).map(|w| w.buf.len())
    }

    /// Appends the record of `event` if it fits; false if it does not.
    fn append(&mut self, event: &EvtxEvent, id: u64, index: usize) -> Result<bool, EvtxWriteError> {
        let w = self.build(event, id, index)?;
        let end = self.free + w.buf.len();
        if end > CHUNK_SIZE {
            return Ok(false);
        }
        self.data[self.free..end].copy_from_slice(&w.buf);
        self.tables = w.tables;
        if self.records == 0 {
            self.first_id = id;
        }
        self.last_id = id;
        self.last_record = self.free;
        self.free = end;
        self.records += 1;
        self.next_number += 1;
        Ok(true)
    }

    /// The chunk's bytes, header and CRC32s filled in.
    fn finish(mut self) -> Vec<u8> {
        let c = &mut self.data;
        c[0..8].copy_from_slice(CHUNK_MAGIC);
        put_u64(c, 8, self.first_number);
        put_u64(c, 16, self.next_number - 1);
        put_u64(c, 24, self.first_id);
        put_u64(c, 32, self.last_id);
        put_u32(c, 40, 128); // header size
        put_u32(c, CHUNK_LAST_RECORD_OFFSET, self.last_record as u32);
        put_u32(c, CHUNK_FREE_SPACE_OFFSET, self.free as u32);
        put_u32(c, 120, 0); // flags
        for (i, head) in self.tables.string_heads.iter().enumerate() {
            put_u32(c, CHUNK_STRING_TABLE_OFFSET + 4 * i, *head);
        }
        for (i, head) in self.tables.template_heads.iter().enumerate() {
            put_u32(c, CHUNK_TEMPLATE_TABLE_OFFSET + 4 * i, *head);
        }
        seal_chunk(c);
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value as Json};

    const T0: Timestamp = 1_700_000_000_123_456_700; // 2023-11-14T22:13:20.1234567Z

    /// Every record of `bytes` through the evtx crate with CRC32 checks on, as
    /// (record id, written time in ns, JSON); any error fails the test.
    fn parse(bytes: Vec<u8>) -> Vec<(u64, i128, Json)> {
        let settings = evtx::ParserSettings::new().validate_checksums(true).num_threads(1);
        let mut parser = evtx::EvtxParser::from_buffer(bytes).expect("file header").with_configuration(settings);
        parser
            .records_json_value()
            .map(|r| {
                let r = r.expect("record parses");
                (r.event_record_id, r.timestamp.as_nanosecond(), r.data)
            })
            .collect()
    }

    fn sid(text: &str) -> Sid {
        text.parse().expect("valid sid")
    }

    fn guid(text: &str) -> Guid {
        text.parse().expect("valid guid")
    }

    /// Chunk `index` of `file` through the evtx crate, checksums validated.
    fn chunk(file: &[u8], index: usize) -> evtx::EvtxChunkData {
        let at = chunk_offset(index);
        evtx::EvtxChunkData::new(file[at..at + CHUNK_SIZE].to_vec(), true).expect("chunk with valid CRC32s")
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).filter(|w| *w == needle).count()
    }

    fn every_type() -> Vec<(&'static str, DataValue)> {
        vec![
            ("Str", DataValue::from("C:\\Windows\\System32\\cmd.exe /c \"whoami\" <&>")),
            ("Empty", DataValue::from("")),
            ("U8", DataValue::U8(200)),
            ("U16", DataValue::U16(60_000)),
            ("U32", DataValue::U32(4_000_000_000)),
            ("U64", DataValue::U64(u64::MAX)),
            ("I32", DataValue::I32(-5)),
            ("Hex32", DataValue::Hex32(0xc000_006d)),
            ("Hex64", DataValue::Hex64(0x3e7)),
            ("BoolTrue", DataValue::Bool(true)),
            ("BoolFalse", DataValue::Bool(false)),
            ("Guid", DataValue::Guid(guid("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"))),
            ("Sid", DataValue::Sid(sid("S-1-5-21-3623811015-3361044348-30300820-1013"))),
            ("FileTime", DataValue::FileTime(T0)),
            ("SysTime", DataValue::SysTime(T0)),
            ("Binary", DataValue::Binary(vec![0xde, 0xad, 0xbe, 0xef])),
            ("Null", DataValue::Null),
        ]
    }

    #[test]
    fn system_fields_and_every_value_type_round_trip() {
        let mut event = EvtxEvent::sysmon(T0, 1, "WS1.corp.local", every_type());
        event.version = 5;
        event.level = 2;
        event.opcode = 7;
        event.activity_id = Some(guid("{B1A2C3D4-0001-0002-0003-000000000004}"));
        event.process_id = 2284;
        event.thread_id = 5252;
        let records = parse(write_evtx(&[event]).unwrap());
        assert_eq!(records.len(), 1);
        let (id, written, json) = &records[0];
        assert_eq!(*id, 1);
        assert_eq!(*written, 1_700_000_000_123_456_700);
        let system = &json["Event"]["System"];
        assert_eq!(
            system["Provider"]["#attributes"],
            json!({"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"})
        );
        assert_eq!(system["EventID"], json!(1));
        assert_eq!(system["Version"], json!(5));
        assert_eq!(system["Level"], json!(2));
        assert_eq!(system["Task"], json!(1));
        assert_eq!(system["Opcode"], json!(7));
        assert_eq!(system["Keywords"], json!("0x8000000000000000"));
        assert_eq!(system["TimeCreated"]["#attributes"]["SystemTime"], json!("2023-11-14T22:13:20.1234567Z"));
        assert_eq!(system["EventRecordID"], json!(1));
        assert_eq!(
            system["Correlation"]["#attributes"],
            json!({"ActivityID": "{b1a2c3d4-0001-0002-0003-000000000004}"})
        );
        assert_eq!(system["Execution"]["#attributes"], json!({"ProcessID": 2284, "ThreadID": 5252}));
        assert_eq!(system["Channel"], json!("Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(system["Computer"], json!("WS1.corp.local"));
        assert_eq!(system["Security"]["#attributes"]["UserID"], json!("S-1-5-18"));
        assert_eq!(
            json["Event"]["EventData"],
            json!({
                "UtcTime": "2023-11-14 22:13:20.123",
                "Str": "C:\\Windows\\System32\\cmd.exe /c \"whoami\" <&>",
                "Empty": "",
                "U8": 200,
                "U16": 60000,
                "U32": 4_000_000_000u64,
                "U64": u64::MAX,
                "I32": -5,
                "Hex32": "0xc000006d",
                "Hex64": "0x3e7",
                "BoolTrue": true,
                "BoolFalse": false,
                "Guid": "{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}",
                "Sid": "S-1-5-21-3623811015-3361044348-30300820-1013",
                "FileTime": "2023-11-14T22:13:20.1234567Z",
                "SysTime": "2023-11-14T22:13:20.1230000Z",
                "Binary": "DEADBEEF",
                "Null": "",
            })
        );
    }

    #[test]
    fn qualifiers_round_trip_and_user_data_is_kept() {
        let service = EvtxEvent::system(
            T0,
            7045,
            "DC01",
            [
                ("ServiceName", DataValue::from("PSEXESVC")),
                ("ImagePath", DataValue::from("%SystemRoot%\\PSEXESVC.exe")),
                ("ServiceType", DataValue::from("user mode service")),
                ("StartType", DataValue::from("demand start")),
                ("AccountName", DataValue::from("LocalSystem")),
            ],
        );
        let cleared = EvtxEvent {
            provider_guid: Some(EVENTLOG_PROVIDER_GUID),
            task: 104,
            keywords: 0x4020_0000_0000_0000,
            user_sid: Some(sid("S-1-5-21-1-2-3-500")),
            ..EvtxEvent::new(
                T0 + 1_000_000,
                "Microsoft-Windows-Eventlog",
                SECURITY_CHANNEL,
                1102,
                "DC01",
                Payload::UserData {
                    element: "LogFileCleared".into(),
                    namespace: Some("http://manifests.microsoft.com/win/2004/08/windows/eventlog".into()),
                    fields: vec![
                        ("SubjectUserSid".into(), DataValue::Sid(sid("S-1-5-21-1-2-3-500"))),
                        ("SubjectUserName".into(), "Administrator".into()),
                        ("SubjectDomainName".into(), "CORP".into()),
                        ("SubjectLogonId".into(), DataValue::Hex64(0x1_2345)),
                    ],
                },
            )
        };
        let records = parse(write_evtx(&[service, cleared]).unwrap());
        let service = &records[0].2["Event"];
        assert_eq!(service["System"]["EventID"], json!({"#attributes": {"Qualifiers": 16384}, "#text": 7045}));
        assert_eq!(service["System"]["Provider"]["#attributes"]["Name"], json!("Service Control Manager"));
        assert_eq!(service["System"]["Channel"], json!("System"));
        assert_eq!(service["System"]["Security"], Json::Null);
        assert_eq!(service["EventData"]["ServiceName"], json!("PSEXESVC"));
        assert_eq!(service["EventData"]["ImagePath"], json!("%SystemRoot%\\PSEXESVC.exe"));

        let (id, written, cleared) = &records[1];
        assert_eq!((*id, *written), (2, i128::from(T0 + 1_000_000)));
        assert_eq!(cleared["Event"]["System"]["EventID"], json!(1102));
        assert_eq!(cleared["Event"]["System"]["Task"], json!(104));
        assert_eq!(cleared["Event"]["System"]["Security"]["#attributes"]["UserID"], json!("S-1-5-21-1-2-3-500"));
        assert_eq!(cleared["Event"].get("EventData"), None);
        assert_eq!(
            cleared["Event"]["UserData"],
            json!({"LogFileCleared": {
                "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
                "SubjectUserSid": "S-1-5-21-1-2-3-500",
                "SubjectUserName": "Administrator",
                "SubjectDomainName": "CORP",
                "SubjectLogonId": "0x12345",
            }})
        );
    }

    #[test]
    fn security_events_carry_audit_defaults() {
        let logon = EvtxEvent {
            task: 12_544,
            version: 2,
            activity_id: Some(guid("{0D2F4B7A-1C3E-4F5A-8B9C-0D1E2F3A4B5C}")),
            process_id: 668,
            thread_id: 4120,
            ..EvtxEvent::security(
                T0,
                4624,
                "DC01.corp.local",
                [
                    ("TargetUserSid", DataValue::Sid(sid("S-1-5-21-1-2-3-1104"))),
                    ("TargetUserName", "alice".into()),
                    ("LogonType", DataValue::U32(3)),
                    ("IpAddress", "10.0.0.50".into()),
                    ("IpPort", "49722".into()),
                ],
            )
        };
        let records = parse(write_evtx(&[logon]).unwrap());
        let event = &records[0].2["Event"];
        assert_eq!(
            event["System"]["Provider"]["#attributes"],
            json!({"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}"})
        );
        assert_eq!(event["System"]["Keywords"], json!("0x8020000000000000"));
        assert_eq!(event["System"]["Level"], json!(0));
        assert_eq!(event["System"]["Task"], json!(12544));
        assert_eq!(event["System"]["Version"], json!(2));
        assert_eq!(event["System"]["Channel"], json!("Security"));
        assert_eq!(event["System"]["Execution"]["#attributes"], json!({"ProcessID": 668, "ThreadID": 4120}));
        assert_eq!(event["EventData"]["TargetUserSid"], json!("S-1-5-21-1-2-3-1104"));
        assert_eq!(event["EventData"]["LogonType"], json!(3));
        assert_eq!(event["EventData"]["IpAddress"], json!("10.0.0.50"));
    }

    #[test]
    fn sysmon_utc_time_goes_after_rule_name_unless_given() {
        assert_eq!(sysmon_utc_time(T0), "2023-11-14 22:13:20.123");
        assert_eq!(sysmon_utc_time(0), "1970-01-01 00:00:00.000");
        let names = |e: &EvtxEvent| match &e.payload {
            Payload::EventData(fields) => fields.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            Payload::UserData { .. } => Vec::new(),
        };
        let ruled = EvtxEvent::sysmon(T0, 3, "WS1", [("RuleName", DataValue::from("-")), ("Image", "x".into())]);
        assert_eq!(names(&ruled), ["RuleName", "UtcTime", "Image"]);
        let plain = EvtxEvent::sysmon(T0, 3, "WS1", [("Image", DataValue::from("x"))]);
        assert_eq!(names(&plain), ["UtcTime", "Image"]);
        let given = EvtxEvent::sysmon(T0, 3, "WS1", [("UtcTime", DataValue::from("2001-01-01 00:00:00.000"))]);
        assert_eq!(given.payload, Payload::data([("UtcTime", DataValue::from("2001-01-01 00:00:00.000"))]));
    }

    /// A Sysmon process creation numbered `i`, of a size that varies with `i`.
    fn process_create(i: u64) -> EvtxEvent {
        EvtxEvent::sysmon(
            T0 + i as i64 * 1_000_000_000,
            1,
            "WS1.corp.local",
            [
                ("RuleName", DataValue::from("-")),
                ("ProcessGuid", DataValue::Guid(Guid::from_fields(i as u32, 1, 2, [3; 8]))),
                ("ProcessId", DataValue::U32(1000 + i as u32)),
                ("Image", DataValue::from(format!("C:\\Tools\\tool{i}.exe"))),
                ("CommandLine", DataValue::from(format!("tool{i}.exe {}", "-v ".repeat((i % 40) as usize)))),
                ("LogonId", DataValue::Hex64(0x3e7)),
            ],
        )
    }

    #[test]
    fn thousands_of_events_fill_many_chunks() {
        let events: Vec<EvtxEvent> = (0..3000).map(process_create).collect();
        let file = write_evtx_from(&events, 500).unwrap();
        let chunks = (file.len() - FILE_HEADER_BLOCK_SIZE) / CHUNK_SIZE;
        assert_eq!(file.len(), chunk_offset(chunks));
        assert!(chunks >= 5, "{chunks} chunks");

        let parser = evtx::EvtxParser::from_buffer(file.clone()).unwrap();
        let header = parser.header();
        assert!(header.validate_checksum());
        assert_eq!((header.first_chunk_number, header.last_chunk_number), (0, chunks as u64 - 1));
        assert_eq!((header.chunk_count, header.next_record_id), (chunks as u16, 3500));
        assert_eq!((header.header_size, header.minor_version, header.major_version), (128, 1, 3));
        assert_eq!((header.header_block_size, header.flags.bits()), (4096, 0));

        // Chunk headers: ids and numbers continue from chunk to chunk, records end at the free
        // space, and each chunk defines its own templates and names.
        let (mut next_id, mut next_number) = (500, 1);
        for i in 0..chunks {
            let c = chunk(&file, i);
            let h = &c.header;
            assert_eq!((h.first_event_record_id, h.first_event_record_number), (next_id, next_number));
            assert_eq!(
                h.last_event_record_id - h.first_event_record_id,
                h.last_event_record_number - h.first_event_record_number
            );
            assert!(
                h.free_space_offset as usize <= CHUNK_SIZE && h.last_event_record_data_offset < h.free_space_offset
            );
            assert_eq!(&c.data[h.last_event_record_data_offset as usize..][..4], RECORD_MAGIC);
            assert_eq!(count(&c.data, &utf16("EventData")), 1, "chunk {i} defines the EventData name once");
            if i + 1 < chunks {
                // A new chunk starts only when the next record (under 2 KiB here) does not fit.
                assert!(h.free_space_offset as usize > CHUNK_SIZE - 2048, "chunk {i} ends at {}", h.free_space_offset);
            }
            next_id = h.last_event_record_id + 1;
            next_number = h.last_event_record_number + 1;
        }
        assert_eq!(next_id, 3500);

        let records = parse(file);
        assert_eq!(records.len(), 3000);
        for (i, (id, written, json)) in records.iter().enumerate() {
            assert_eq!(*id, 500 + i as u64);
            assert_eq!(*written, i128::from(T0) + i as i128 * 1_000_000_000);
            assert_eq!(json["Event"]["System"]["EventRecordID"], json!(500 + i as u64));
            assert_eq!(json["Event"]["EventData"]["ProcessId"], json!(1000 + i as u64));
            assert_eq!(json["Event"]["EventData"]["Image"], json!(format!("C:\\Tools\\tool{i}.exe")));
        }
    }

    #[test]
    fn templates_and_names_are_written_once_per_chunk_then_referenced() {
        let events: Vec<EvtxEvent> = (0..10).map(process_create).collect();
        let file = write_evtx(&events).unwrap();
        let c = chunk(&file, 0);
        let system_guid = system_template_guid("WS1.corp.local");
        let payload_guid = payload_template_guid(&events[0].payload);
        // Each definition is written once, by the first record, and listed in the template table
        // bucket its GUID hashes to; every record instantiates both.
        assert_eq!(count(&c.data, &system_guid), 1);
        assert_eq!(count(&c.data, &payload_guid), 1);
        assert_eq!(count(&c.data[CHUNK_HEADER_SIZE..], &system_guid[..4]), 10 + 1);
        for g in [system_guid, payload_guid] {
            let head = le32(&c.data, CHUNK_TEMPLATE_TABLE_OFFSET + 4 * template_bucket(&g));
            assert_eq!(&c.data[head as usize + 4..][..16], &g, "the bucket's newest template");
            assert_eq!(c.data[head as usize - 10], token::TEMPLATE_INSTANCE);
            assert_eq!(le32(&c.data, head as usize - 4), head, "defined inline where first used");
        }
        // Names: one structure each, in its hash's bucket chain; later records are smaller.
        for name in ["Event", "System", "Provider", "Data", "Name", "EventData", "Computer", "UserID"] {
            assert_eq!(count(&c.data, &name_structure(name)), 1, "{name}");
            let mut at = le32(&c.data, CHUNK_STRING_TABLE_OFFSET + 4 * (usize::from(name_hash(name)) % 64));
            let mut found = false;
            while at != 0 && !found {
                let len = usize::from(u16::from_le_bytes([c.data[at as usize + 6], c.data[at as usize + 7]]));
                found = c.data[at as usize + 8..][..2 * len] == utf16(name)[..];
                at = le32(&c.data, at as usize);
            }
            assert!(found, "{name} is in the common string table");
        }
        let sizes: Vec<u32> = records_of(&c.data).map(|(_, size)| size).collect();
        assert_eq!(sizes.len(), 10);
        assert!(sizes[1] + 1000 < sizes[0], "{sizes:?}");

        // A second payload shape in the same chunk is a new template reusing the names.
        let mut mixed = events.clone();
        mixed.push(EvtxEvent::sysmon(
            T0,
            3,
            "WS1.corp.local",
            [("Image", DataValue::from("x")), ("DestinationPort", DataValue::U16(443))],
        ));
        let file = write_evtx(&mixed).unwrap();
        let c = chunk(&file, 0);
        assert_eq!(count(&c.data, &payload_template_guid(&mixed[10].payload)), 1);
        assert_eq!(count(&c.data, &utf16("EventData")), 1);
        assert_eq!(count(&c.data, &name_structure("Data")), 1);
        assert_eq!(count(&c.data, &utf16("DestinationPort")), 1);
        assert_eq!(parse(file)[10].2["Event"]["EventData"]["DestinationPort"], json!(443));
    }

    /// A name structure after its link: hash, length, UTF-16, NUL.
    fn name_structure(name: &str) -> Vec<u8> {
        let mut out = name_hash(name).to_le_bytes().to_vec();
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend(utf16(name));
        out.extend_from_slice(&[0, 0]);
        out
    }

    fn le32(data: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
    }

    /// (offset, size) of each record of a chunk, walking from the header to the free space.
    fn records_of(c: &[u8]) -> impl Iterator<Item = (usize, u32)> + '_ {
        let free = le32(c, CHUNK_FREE_SPACE_OFFSET) as usize;
        let mut at = CHUNK_HEADER_SIZE;
        std::iter::from_fn(move || {
            if at >= free {
                return None;
            }
            let size = le32(c, at + 4);
            assert_eq!(&c[at..at + 4], RECORD_MAGIC);
            assert_eq!(le32(c, at + size as usize - 4), size, "size copy");
            assert_eq!(size % 8, 0);
            let record = (at, size);
            at += size as usize;
            Some(record)
        })
    }

    #[test]
    fn computers_get_templates_of_their_own() {
        let a = EvtxEvent::sysmon(T0, 1, "A", [("Image", DataValue::from("x"))]);
        let b = EvtxEvent::sysmon(T0, 1, "B", [("Image", DataValue::from("x"))]);
        let records = parse(write_evtx(&[a.clone(), b, a]).unwrap());
        let computers: Vec<&Json> = records.iter().map(|r| &r.2["Event"]["System"]["Computer"]).collect();
        assert_eq!(computers, [&json!("A"), &json!("B"), &json!("A")]);
    }

    #[test]
    fn empty_payloads_are_empty_elements() {
        let data = EvtxEvent::new(T0, "P", "Application", 1, "H", Payload::EventData(Vec::new()));
        let user = EvtxEvent::new(
            T0,
            "P",
            "Application",
            2,
            "H",
            Payload::UserData { element: "Custom".into(), namespace: None, fields: Vec::new() },
        );
        let records = parse(write_evtx(&[data, user]).unwrap());
        assert_eq!(records[0].2["Event"].get("EventData"), Some(&Json::Null));
        assert_eq!(records[1].2["Event"]["UserData"], json!({"Custom": null}));
    }

    #[test]
    fn output_is_deterministic_and_empty_input_is_a_header() {
        let events: Vec<EvtxEvent> = (0..50).map(process_create).collect();
        assert_eq!(write_evtx(&events).unwrap(), write_evtx(&events).unwrap());
        let empty = write_evtx(&[]).unwrap();
        assert_eq!(empty.len(), FILE_HEADER_BLOCK_SIZE);
        assert!(parse(empty).is_empty());
    }

    #[test]
    fn oversized_input_is_an_error() {
        let huge = EvtxEvent::sysmon(T0, 1, "WS1", [("CommandLine", DataValue::from("x".repeat(40_000)))]);
        assert!(matches!(
            write_evtx(&[huge]),
            Err(EvtxWriteError::ValueTooLong { index: 0, ref what, len: 80_002, .. }) if what == "field \"CommandLine\""
        ));
        // Within what a substitution holds, beyond what a chunk holds.
        let fields: Vec<(String, DataValue)> =
            (0..3).map(|i| (format!("F{i}"), DataValue::from("y".repeat(10_600)))).collect();
        let big = EvtxEvent::sysmon(T0, 1, "WS1", fields);
        let err = write_evtx(&[process_create(0), big]).unwrap_err();
        assert!(
            matches!(err, EvtxWriteError::EventTooLarge { index: 1, need, have } if need > have && have == MAX_RECORD_SIZE),
            "{err}"
        );
    }

    #[test]
    fn guids_and_sids_parse_and_print() {
        let g: Guid = "5770385F-C22A-43E0-BF4C-06F5698FFBD9".parse().unwrap();
        assert_eq!(g, SYSMON_PROVIDER_GUID);
        assert_eq!(g.to_string(), "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
        assert_eq!(g.to_bytes()[..4], [0x5f, 0x38, 0x70, 0x57]);
        for bad in [
            "",
            "{5770385F-C22A-43E0-BF4C-06F5698FFBD}",
            "5770385F-C22A-43E0-BF4C-06F5698FFBDX",
            "{5770385FC22A43E0BF4C06F5698FFBD9}",
        ] {
            assert_eq!(bad.parse::<Guid>(), Err(EvtxWriteError::InvalidGuid { text: bad.to_string() }));
        }
        let s = sid("S-1-5-21-3623811015-3361044348-30300820-1013");
        assert_eq!(s.to_string(), "S-1-5-21-3623811015-3361044348-30300820-1013");
        assert_eq!(sid("S-1-5-18").to_bytes(), [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        for bad in ["", "S-1", "S-1-x", "1-5-18", "S-1-5-4294967296", "S-1-281474976710656"] {
            assert!(bad.parse::<Sid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn damage_breaks_what_it_names() {
        let events: Vec<EvtxEvent> = (0..400).map(process_create).collect();
        let file = write_evtx(&events).unwrap();
        let chunks = (file.len() - FILE_HEADER_BLOCK_SIZE) / CHUNK_SIZE;
        assert!(chunks >= 2);
        let in_chunk0 = chunk(&file, 0).header.last_event_record_id as usize;
        let outcome = |d: Damage| {
            let mut f = file.clone();
            damage(&mut f, d);
            let settings = evtx::ParserSettings::new().validate_checksums(true).num_threads(1);
            let mut parser = evtx::EvtxParser::from_buffer(f).unwrap().with_configuration(settings);
            let (ok, err): (Vec<_>, Vec<_>) = parser.records_json_value().partition(Result::is_ok);
            (ok.len(), err.len())
        };
        assert_eq!(outcome(Damage::ChunkMagic { chunk: 0 }).0, 400 - in_chunk0);
        assert_eq!(outcome(Damage::ChunkDataCrc { chunk: 0 }).0, 400 - in_chunk0);
        assert_eq!(outcome(Damage::ChunkHeaderCrc { chunk: 0 }).0, 400 - in_chunk0);
        assert_eq!(outcome(Damage::FileHeaderCrc), (400, 0));
        let (ok, err) = outcome(Damage::RecordMagic { chunk: 0 });
        assert_eq!((ok, err), (399, 1), "only the first record is lost");
        assert_eq!(outcome(Damage::Truncate { len: chunk_offset(1) }), (in_chunk0, 0));
        assert_eq!(outcome(Damage::ChunkMagic { chunk: 99 }), (400, 0), "past the end: untouched");
        // The damaged chunk itself is what the evtx crate rejects.
        let mut f = file.clone();
        damage(&mut f, Damage::ChunkDataCrc { chunk: 1 });
        assert!(evtx::EvtxChunkData::new(f[chunk_offset(1)..chunk_offset(2)].to_vec(), true).is_err());
    }
}
