//! seam: offline forensic investigation of packet captures and endpoint logs.
//!
//! Data flows one way, left to right, and each module imports only from its left:
//! `util`/`diag`/`model` → `evidence` → `sources` → `decode` → `flows` → `normalize` →
//! `timeline` → `entities` → `report` → `cli`/`app`. See ARCHITECTURE.md in the project's
//! shared docs.
// The one exception is `sources::buffer`, which maps capture files and gives back their pages.
#![deny(unsafe_code)]

pub mod app;
pub mod chains;
pub mod check;
pub mod cli;
pub mod decode;
pub mod detect;
pub mod diag;
pub mod entities;
pub mod evidence;
pub mod flows;
pub mod model;
pub mod normalize;
pub mod report;
pub mod sources;
pub mod synth;
pub mod timeline;
pub mod util;
