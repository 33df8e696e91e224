//! Entities and the joins between evidence: how far each endpoint log's clock is from the
//! capture's, and which process made which flow.
//!
//! Input: the bundle's endpoint events and flows, and its DNS transactions, all in timeline
//! order. Output: attributions by flow id, the endpoint events that found their flow, and the
//! rate at which each host's and each log's connections were attributed. Imports `util`,
//! `diag`, `model`, `timeline`.

pub mod attribution;
pub mod hosts;
pub mod process;
pub mod skew;

pub use attribution::{attribute, AttributionRate, Attributions, JOIN_TOLERANCE};
pub use hosts::{assets, KnownHost, NetworkKnowledge};
pub use skew::{estimate, ClockOffset};
