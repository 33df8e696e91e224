//! Synthetic evidence: captures built packet by packet from a seeded generator, for the demo
//! bundle, tests with known truth and benchmarks. Nothing here reads evidence; it only writes it.
//!
//! [`net::Traffic`] builds frames for TCP sessions (handshake, segmented data both ways, FIN or
//! RST close), UDP datagrams and ICMP; [`proto`] renders the application payloads (DNS, HTTP,
//! TLS hellos, SSH banners, Stratum); [`pcap`] writes them. [`scenario`] combines them into
//! bundles whose parameters vary with the seed. [`evtx`] writes Windows event logs (Sysmon,
//! Security, System) laid out as Windows writes them, for EVTX fixtures; [`auditd`] writes Linux
//! audit logs as auditd writes them, and streams large background logs for benchmarks. Imports
//! `util` only.

pub mod auditd;
pub mod evtx;
pub mod net;
pub mod pcap;
pub mod proto;
pub mod rng;
pub mod scenario;
pub mod scenario_logs;
