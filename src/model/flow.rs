//! A finished bidirectional network flow, the unit of the flow table (Zeek's conn.log record).

use crate::util::Timestamp;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    Icmp6,
    /// Any other IP protocol, by number.
    Other(u8),
}

impl Transport {
    pub fn from_ip_proto(proto: u8) -> Self {
        match proto {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 => Transport::Icmp,
            58 => Transport::Icmp6,
            n => Transport::Other(n),
        }
    }

    pub fn ip_proto(self) -> u8 {
        match self {
            Transport::Tcp => 6,
            Transport::Udp => 17,
            Transport::Icmp => 1,
            Transport::Icmp6 => 58,
            Transport::Other(n) => n,
        }
    }

    /// ECS `network.transport` spelling.
    pub fn name(self) -> String {
        match self {
            Transport::Tcp => "tcp".into(),
            Transport::Udp => "udp".into(),
            Transport::Icmp => "icmp".into(),
            Transport::Icmp6 => "ipv6-icmp".into(),
            Transport::Other(n) => format!("ip-{n}"),
        }
    }
}

/// Application protocols recognised from content, not ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Dns,
    Http,
    Tls,
    Ssh,
    Smb,
    Stratum,
    Dhcp,
    /// NTP time-keeping (client, server, symmetric or broadcast messages) on the NTP port.
    Ntp,
}

impl Service {
    pub const ALL: [Service; 8] = [
        Service::Dns,
        Service::Http,
        Service::Tls,
        Service::Ssh,
        Service::Smb,
        Service::Stratum,
        Service::Dhcp,
        Service::Ntp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Dns => "dns",
            Service::Http => "http",
            Service::Tls => "ssl",
            Service::Ssh => "ssh",
            Service::Smb => "smb",
            Service::Stratum => "stratum",
            Service::Dhcp => "dhcp",
            Service::Ntp => "ntp",
        }
    }
}

/// Zeek's connection states, derived from both endpoints' TCP states (or UDP activity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ConnState {
    S0,
    S1,
    SF,
    REJ,
    S2,
    S3,
    RSTO,
    RSTR,
    RSTOS0,
    RSTRH,
    SH,
    SHR,
    OTH,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    /// An attempt that never became a conversation (what scan detection counts).
    pub fn is_failed_attempt(self) -> bool {
        matches!(
            self,
            ConnState::S0 | ConnState::REJ | ConnState::RSTOS0 | ConnState::RSTRH | ConnState::SH | ConnState::SHR
        )
    }
}

/// Per-direction counters of a flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DirStats {
    /// Application payload bytes (for TCP: from sequence numbers, as Zeek counts them).
    pub bytes: u64,
    pub packets: u64,
    /// Bytes of the IP packets as their headers state them.
    pub ip_bytes: u64,
}

/// A finished flow. Originator = the side that opened it (SYN sender, or by Zeek's port
/// heuristics when the opening was not captured).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowRecord {
    /// Deterministic id: `C` + base62 of a hash of the capture's tag (see `EvidenceFile::tag`),
    /// the flow's start time and its community id. The flow's application events share it (see
    /// `NetTuple::flow_id`).
    pub id: Arc<str>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub orig_ip: IpAddr,
    pub orig_port: u16,
    pub resp_ip: IpAddr,
    pub resp_port: u16,
    pub transport: Transport,
    pub services: Vec<Service>,
    pub orig: DirStats,
    pub resp: DirStats,
    pub conn_state: ConnState,
    pub history: String,
    pub missed_bytes: u64,
    /// Shared with the flow's application events (see `NetTuple::community_id`).
    pub community_id: Arc<str>,
    /// Outermost VLAN id, when the packets carried one.
    pub vlan: Option<u16>,
    /// Source MAC address of the originator's and the responder's first frames (Ethernet
    /// links only). Behind a router these are the router's.
    pub orig_mac: Option<[u8; 6]>,
    pub resp_mac: Option<[u8; 6]>,
    /// Evidence file (index into the run's inventory) and the 1-based packet index of the first
    /// and last packets.
    pub file: u32,
    pub first_packet: u64,
    pub last_packet: u64,
    /// The process that made the flow, when an endpoint log says so (set by `entities`).
    pub process: Option<Box<super::Attribution>>,
}

impl FlowRecord {
    pub fn duration(&self) -> i64 {
        self.end.saturating_sub(self.start)
    }

    pub fn service_string(&self) -> String {
        self.services.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}
