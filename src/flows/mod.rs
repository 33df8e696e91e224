//! The stateful network layer: packets → bidirectional flows with Zeek-compatible accounting,
//! plus the application-layer records found inside them.
//!
//! Input: the packets of one capture in file order (time, index, link type, bytes). Output:
//! [`FlowOutput`] — finished [`crate::model::FlowRecord`]s and [`AppEvent`]s (DNS, HTTP, TLS,
//! SSH, Stratum, DHCP, already in the form events carry them), both sorted deterministically.
//! Memory follows the number of flows: packets stream through, per-flow buffers are bounded by
//! named limits and freed as soon as a flow's decoders are done.
//! Imports `util`, `diag`, `model`, `decode`.

pub mod app;
pub mod defrag;
pub mod fields;
pub mod key;
pub mod shard;
pub mod stream;
pub mod table;
pub mod tcp;

pub use app::AppRecord;
pub use table::{AppEvent, FlowConfig, FlowIdent, FlowOutput, FlowStats, FlowTable, PacketIn};
