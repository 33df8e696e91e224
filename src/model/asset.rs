//! One internal host as the bundle shows it.

use crate::util::Timestamp;
use serde::Serialize;
use std::net::IpAddr;

/// An internal host: its address, what endpoint logs call it, what it did on the network and
/// when its own telemetry covers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    pub ip: IpAddr,
    /// Names of the host at this address: from its endpoint logs (EVTX `Computer`, auditd
    /// `node`), the network's answers to reverse lookups, the analyst's host map.
    pub names: Vec<String>,
    /// Its own MAC addresses (ECS form `00-1A-2B-3C-4D-5E`): the source MACs of the frames it
    /// sent, without those of routers (a MAC that also carried external or many internal
    /// addresses).
    pub macs: Vec<String>,
    /// The same host's other addresses over time (a DHCP renumbering, a second interface):
    /// addresses that share one of its MACs.
    pub other_addresses: Vec<IpAddr>,
    /// Whether the bundle holds endpoint telemetry for it.
    pub managed: bool,
    /// What its traffic suggests it is: dns-server, dhcp-server, file-server, web-server,
    /// ssh-server, mail-server, internet-facing, gateway (the one internal address using the
    /// MAC that carries external traffic).
    pub roles: Vec<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub flows_out: u64,
    pub flows_in: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// Distinct peers it talked to or heard from.
    pub peers: u64,
    /// Span of its endpoint events (on the capture's clock), when managed.
    pub telemetry_first: Option<Timestamp>,
    pub telemetry_last: Option<Timestamp>,
    /// Its endpoint logs' clock offset from the capture (nanoseconds), when one was found.
    pub clock_offset: Option<i64>,
    /// When its endpoint logs recorded something: events closer than the coverage gap joined
    /// into intervals (capture clock, nanoseconds).
    pub telemetry: Vec<(Timestamp, Timestamp)>,
    /// When the capture shows it active: its flows, joined the same way.
    pub active: Vec<(Timestamp, Timestamp)>,
    /// For a managed host, how long it was active on the network while its telemetry was
    /// silent (nanoseconds) — the basis for "the agent went quiet while the host kept talking".
    pub silent_while_active: Option<i64>,
}

impl Asset {
    /// An unmanaged host first and last seen at `ts`, with nothing counted yet.
    pub fn new(ip: IpAddr, ts: Timestamp) -> Asset {
        Asset {
            ip,
            names: Vec::new(),
            macs: Vec::new(),
            other_addresses: Vec::new(),
            managed: false,
            roles: Vec::new(),
            first_seen: ts,
            last_seen: ts,
            flows_out: 0,
            flows_in: 0,
            bytes_out: 0,
            bytes_in: 0,
            peers: 0,
            telemetry_first: None,
            telemetry_last: None,
            clock_offset: None,
            telemetry: Vec::new(),
            active: Vec::new(),
            silent_while_active: None,
        }
    }
}
