//! The one event type of the timeline.

use super::flow::{FlowRecord, Transport};
use crate::util::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What an event is. Stable lowercase names appear in `--kind` and in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Flow,
    Dns,
    Http,
    Tls,
    Ssh,
    Stratum,
    Generic,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::Flow,
        EventKind::Dns,
        EventKind::Http,
        EventKind::Tls,
        EventKind::Ssh,
        EventKind::Stratum,
        EventKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Flow => "flow",
            EventKind::Dns => "dns",
            EventKind::Http => "http",
            EventKind::Tls => "tls",
            EventKind::Ssh => "ssh",
            EventKind::Stratum => "stratum",
            EventKind::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// Where an event came from: evidence file index (into the run's inventory) and the position
/// inside it. Ordering of provenance is the tie-break of the timeline sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Provenance {
    pub file: u32,
    pub locator: Locator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Locator {
    /// 1-based packet index in a capture (Wireshark's frame number).
    Packet(u64),
    /// Record id of an event log.
    Record(u64),
    /// 1-based line number of a text log.
    Line(u64),
}

impl Locator {
    pub fn kind(self) -> &'static str {
        match self {
            Locator::Packet(_) => "packet",
            Locator::Record(_) => "record",
            Locator::Line(_) => "line",
        }
    }

    pub fn value(self) -> u64 {
        match self {
            Locator::Packet(n) | Locator::Record(n) | Locator::Line(n) => n,
        }
    }
}

/// The network 5-tuple of an event, oriented originator → responder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NetTuple {
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub transport: Transport,
    pub community_id: String,
    pub flow_id: String,
}

/// The host an event happened on, as far as the source knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HostRef {
    pub name: Option<String>,
    pub ip: Option<IpAddr>,
}

/// The process that acted, when known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProcessRef {
    pub pid: Option<u64>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
}

/// One DNS transaction: a query and, when seen, its response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsFields {
    pub transaction_id: u16,
    pub query: String,
    pub qtype: u16,
    pub qtype_name: String,
    pub rcode: Option<u16>,
    pub rcode_name: Option<String>,
    /// Rendered answers (addresses, names, `TXT n text`), in wire order.
    pub answers: Vec<String>,
    pub ttls: Vec<u32>,
    /// Round-trip time in nanoseconds, when the response was seen.
    pub rtt: Option<i64>,
    pub response_seen: bool,
    /// Protocol anomaly names (pointer_loop, name_too_long, …).
    pub anomalies: Vec<String>,
}

/// One HTTP request and, when seen, its response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpFields {
    pub method: String,
    pub host: Option<String>,
    pub uri: String,
    pub version: String,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub request_content_type: Option<String>,
    pub request_body_len: u64,
    pub request_body_type: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub response_content_type: Option<String>,
    pub response_body_len: u64,
    pub response_body_type: Option<String>,
    pub server: Option<String>,
    pub location: Option<String>,
    pub anomalies: Vec<String>,
}

/// A TLS handshake as far as its hellos show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsFields {
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub client_version: Option<String>,
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub ja3: Option<String>,
    pub ja4: Option<String>,
    pub ja3s: Option<String>,
    pub ja4s: Option<String>,
    pub server_alpn: Option<String>,
}

/// SSH identification strings of both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SshFields {
    pub client: Option<String>,
    pub server: Option<String>,
}

/// Stratum mining JSON-RPC as seen in clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratumFields {
    /// Methods called by the client, in order, de-duplicated (`mining.subscribe`, `login`, …).
    pub methods: Vec<String>,
    /// Worker / wallet login when the client sent one.
    pub login: Option<String>,
    /// User agent / miner software when the client sent one.
    pub agent: Option<String>,
}

/// Kind-specific payload of an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Fields {
    Flow(Box<FlowRecord>),
    Dns(DnsFields),
    Http(Box<HttpFields>),
    Tls(Box<TlsFields>),
    Ssh(SshFields),
    Stratum(StratumFields),
    /// Anything no mapper models: its flattened fields, nothing dropped.
    Generic(BTreeMap<String, String>),
}

/// One thing that happened, on one host, at one time, from one piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub ts: Timestamp,
    pub kind: EventKind,
    pub host: Option<HostRef>,
    pub net: Option<NetTuple>,
    pub process: Option<ProcessRef>,
    pub provenance: Provenance,
    pub fields: Fields,
}

impl Event {
    /// The sort key of the timeline: time, then host, then provenance (file, locator), then
    /// kind — total and independent of how the events were produced.
    pub fn sort_key(&self) -> (Timestamp, Option<&str>, Provenance, EventKind) {
        (self.ts, self.host.as_ref().and_then(|h| h.name.as_deref()), self.provenance, self.kind)
    }
}
