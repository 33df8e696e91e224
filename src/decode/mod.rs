//! Decoders: pure functions over bytes. Each takes `&[u8]` (or `&str`) and returns typed values or
//! an error value; none does I/O, keeps global state or panics on any input, so each can be
//! unit-tested and fuzzed alone. Stateful pairing of transactions lives in `flows`.
//! Imports `util` only.

pub mod auditd;
pub mod dhcp;
pub mod dns;
pub mod dtls;
pub mod filetype;
pub mod http;
pub mod ntp;
pub mod packet;
pub mod smb;
pub mod ssh;
pub mod stratum;
pub mod tls;
pub mod winevt;
