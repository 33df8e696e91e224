//! Sources: evidence bytes → raw records with provenance.
//!
//! A source reads one evidence stream, validates framing, and hands each record to a callback
//! together with its position; it never interprets record contents (that is `decode`). Framing
//! problems become [`crate::diag`] entries naming file and byte offset, and reading goes on after
//! them wherever the format allows a resynchronisation. Imports `util`, `diag`, `model`.

pub mod buffer;
pub mod pcap;

pub use pcap::{read_capture, CaptureFormat, CaptureSummary, LinkType, RawPacket};
