//! The event model: what every source is normalised into and every later stage reads.
//!
//! Detectors see only these types, never decoder structs, so one detector works on events from a
//! capture, from EVTX or from any future source. Imports only `util`.
//!
//! Invariants: timestamps are UTC nanoseconds; every event carries a [`Provenance`] naming the
//! evidence file and the packet index, record id or line it came from; text fields are valid
//! UTF-8 with undecodable bytes `\xNN`-escaped, never dropped.

pub mod asset;
pub mod endpoint;
pub mod event;
pub mod flow;
pub mod names;
pub mod spill;

pub use asset::Asset;
pub use endpoint::*;
pub use event::*;
pub use flow::*;
pub mod inventory;

pub use inventory::InventoryEntry;
