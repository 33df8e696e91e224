//! One row of the evidence inventory.

use crate::util::Timestamp;
use serde::Serialize;

/// What seam knows about one evidence file after reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryEntry {
    pub id: u32,
    pub path: String,
    /// pcap, pcapng, evtx, auditd or unknown — from content, never the name.
    pub kind: String,
    pub gzip: bool,
    pub size: u64,
    /// Lowercase hex SHA-256 of the file as stored; `None` when hashing was skipped or failed.
    pub sha256: Option<String>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Records read (packets, event records, log lines).
    pub records: Option<u64>,
    /// Problems found while reading it (see diagnostics).
    pub problems: u64,
    /// Link types of a capture, or other format notes.
    pub notes: String,
    /// An endpoint log's clock minus the capture's (nanoseconds), as estimated or set and
    /// subtracted from its times; `None` when not estimated (captures, `seam inventory`, which
    /// decodes no flows to estimate it from).
    pub clock_offset: Option<i64>,
}
