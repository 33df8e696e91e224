//! Sources: evidence bytes → raw records with provenance.
//!
//! A source reads one evidence stream, validates framing, and hands each record to a callback
//! together with its position; it never interprets record contents (that is `decode`). Framing
//! problems become [`crate::diag`] entries naming file and byte offset, and reading goes on after
//! them wherever the format allows a resynchronisation. Imports `util`, `diag`, `model`.

pub mod auditd;
pub mod buffer;
pub mod evtx;
pub mod pcap;

pub use pcap::{read_capture, read_capture_from, CaptureFormat, CaptureSummary, LinkType, RawPacket};

/// Marks a read error as coming from a decompression layer (gzip) under the source, so that it
/// is reported as a decompression problem rather than an unreadable file.
#[derive(Debug)]
pub struct DecompressionError(pub String);

impl std::fmt::Display for DecompressionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "gzip stream: {}", self.0)
    }
}

impl std::error::Error for DecompressionError {}
