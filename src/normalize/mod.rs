//! Normalisation: decoded structures → [`crate::model::Event`], one table-driven mapper per
//! source. Each mapper is a pure function; nothing read is dropped (what a mapper does not model
//! becomes a generic event). Imports `util`, `model`, `decode`, `flows`.

pub mod audit;
pub mod net;
pub mod winevt;
