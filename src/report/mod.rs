//! Rendering only: tables for a terminal, JSON, JSON Lines, CSV and Parquet for tools, a
//! self-contained HTML report for people ([`html`]), written atomically to files or streamed
//! to stdout. Nothing here computes findings; it lays out what
//! earlier stages produced, from the column registries in [`crate::timeline::schema`].
//! Imports `util`, `diag`, `model`, `timeline`, `entities` and `detect`.

pub mod output;
pub mod render;

pub use output::{Destination, ReportError};
pub use render::{render, render_stream, Format, Rendered};
pub mod check;
pub mod findings;
pub mod html;
pub mod investigate;
