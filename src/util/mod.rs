//! Vocabulary shared by every layer: a bounds-checked byte cursor, UTC timestamps and escaping
//! of attacker-controlled text. Imports nothing from the rest of the crate.

pub mod cursor;
pub mod escape;
pub mod net;
pub mod time;

pub use cursor::{Cursor, CursorError};
pub use time::Timestamp;
