//! The one event type of the timeline.

use super::flow::{FlowRecord, Transport};
use crate::util::Timestamp;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

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
    /// A DHCP message: the names and addresses a host asked for or was given.
    Dhcp,
    /// A process started or ended (Sysmon 1/5, Security 4688/4689, auditd execve).
    Process,
    /// A connection made or accepted by a process, as the endpoint logged it (Sysmon 3,
    /// Security 5156/5157, auditd connect/accept/bind).
    Connection,
    /// A logon, logoff or authentication (Security 4624/4625/4634/4647/4648/4672, auditd
    /// USER_LOGIN/USER_AUTH/USER_START/CRED_ACQ).
    Logon,
    /// An account or group changed (Security 4720/4726/4732, auditd ADD_USER/DEL_USER).
    Account,
    /// A service installed, started, stopped or reconfigured (System 7045/7036/7040, Security
    /// 4697, auditd SERVICE_START/SERVICE_STOP).
    Service,
    /// A scheduled task created, deleted or changed (Security 4698/4699/4702).
    Task,
    /// A file created or deleted (Sysmon 11/23/26).
    File,
    /// A registry key or value changed (Sysmon 12–14).
    Registry,
    /// A driver or module loaded into a process or the kernel (Sysmon 6/7, auditd
    /// init_module/finit_module).
    Module,
    /// One process reaching into another (Sysmon 8/10, auditd ptrace/kill).
    ProcessAccess,
    /// A name lookup made by a process on the host (Sysmon 22).
    Lookup,
    /// A script block or pipeline run by PowerShell (4103/4104).
    Script,
    /// The logging itself changed: log cleared, audit policy or Sysmon configuration changed,
    /// audit daemon started or stopped (1102, 104, 4719, Sysmon 4/16/255, auditd CONFIG_CHANGE,
    /// DAEMON_*).
    Audit,
    /// A firewall (WFP) filter or rule changed (Security 5441/5447 and related).
    Firewall,
    /// A kernel or audit anomaly record (auditd ANOM_*).
    Anomaly,
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
        EventKind::Dhcp,
        EventKind::Process,
        EventKind::Connection,
        EventKind::Logon,
        EventKind::Account,
        EventKind::Service,
        EventKind::Task,
        EventKind::File,
        EventKind::Registry,
        EventKind::Module,
        EventKind::ProcessAccess,
        EventKind::Lookup,
        EventKind::Script,
        EventKind::Audit,
        EventKind::Firewall,
        EventKind::Anomaly,
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
            EventKind::Dhcp => "dhcp",
            EventKind::Process => "process",
            EventKind::Connection => "connection",
            EventKind::Logon => "logon",
            EventKind::Account => "account",
            EventKind::Service => "service",
            EventKind::Task => "task",
            EventKind::File => "file",
            EventKind::Registry => "registry",
            EventKind::Module => "module",
            EventKind::ProcessAccess => "process-access",
            EventKind::Lookup => "lookup",
            EventKind::Script => "script",
            EventKind::Audit => "audit",
            EventKind::Firewall => "firewall",
            EventKind::Anomaly => "anomaly",
            EventKind::Generic => "generic",
        }
    }

    /// Whether events of this kind come from endpoint logs rather than captures.
    pub fn is_endpoint(self) -> bool {
        !matches!(
            self,
            EventKind::Flow
                | EventKind::Dns
                | EventKind::Http
                | EventKind::Tls
                | EventKind::Ssh
                | EventKind::Stratum
                | EventKind::Dhcp
        )
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
    /// Shared, not copied, by the events of one flow.
    pub community_id: Arc<str>,
    /// The capture flow this event belongs to; endpoint events have none (they join flows on
    /// the Community ID). Shared by the events of one flow.
    pub flow_id: Option<Arc<str>>,
}

/// The host an event happened on, as far as the source knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HostRef {
    pub name: Option<String>,
    pub ip: Option<IpAddr>,
}

/// The process that acted, when known, and its parent as the same record names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ProcessRef {
    pub pid: Option<u64>,
    /// A globally unique process id where the source has one (Sysmon ProcessGuid).
    pub entity_id: Option<String>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
    /// Account the process runs as (`DOMAIN\user`, or a Unix uid/name).
    pub user: Option<String>,
    pub parent_pid: Option<u64>,
    pub parent_entity_id: Option<String>,
    pub parent_executable: Option<String>,
    pub parent_command_line: Option<String>,
}

impl ProcessRef {
    pub fn is_empty(&self) -> bool {
        *self == ProcessRef::default()
    }
}

/// One DNS transaction: a query and, when seen, its response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsFields {
    pub transaction_id: u16,
    pub query: String,
    pub qtype: u16,
    /// `A`, `AAAA`, …: a name from the table, shared, or `TYPE123` for others.
    pub qtype_name: Cow<'static, str>,
    pub rcode: Option<u16>,
    pub rcode_name: Option<Cow<'static, str>>,
    /// Rendered answers (addresses, names, `TXT n text`), in wire order.
    pub answers: Vec<String>,
    /// The addresses among the answers (A, AAAA, NetBIOS NB), in wire order, as read from the
    /// wire: what detection matches flows against, without reading `answers` again.
    #[serde(skip)]
    pub addresses: Vec<std::net::IpAddr>,
    pub ttls: Vec<u32>,
    /// Round-trip time in nanoseconds, when the response was seen.
    pub rtt: Option<i64>,
    pub response_seen: bool,
    /// Protocol anomaly names (pointer_loop, name_too_long, …).
    pub anomalies: Box<[String]>,
    /// NetBIOS name service (port 137): the name's type suffix (0x00 workstation, 0x20 file
    /// server, 0x1c domain controllers, …); `query` then holds the decoded name, as Zeek logs it.
    pub netbios_suffix: Option<u8>,
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
    /// A file kind's name (see `FileKind::as_str`).
    pub request_body_type: Option<Cow<'static, str>>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub response_content_type: Option<String>,
    pub response_body_len: u64,
    pub response_body_type: Option<Cow<'static, str>>,
    pub server: Option<String>,
    pub location: Option<String>,
    pub anomalies: Box<[String]>,
}

/// A TLS handshake as far as its hellos show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsFields {
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub client_version: Option<Cow<'static, str>>,
    pub version: Option<Cow<'static, str>>,
    pub cipher: Option<Cow<'static, str>>,
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

/// A DHCP message as a host's identity: who asked, for what, what it was given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DhcpFields {
    /// DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM (or BOOTP without one).
    pub message_type: String,
    pub transaction_id: u32,
    /// The client's MAC from the message (`chaddr`), ECS spelling.
    pub client_mac: Option<String>,
    /// Host name (option 12) or client FQDN (option 81).
    pub host_name: Option<String>,
    /// Address the client asked for (option 50) or already holds (`ciaddr`).
    pub requested_ip: Option<IpAddr>,
    /// Address the server gave (`yiaddr` of an OFFER or ACK).
    pub assigned_ip: Option<IpAddr>,
    pub server_id: Option<IpAddr>,
    pub lease_secs: Option<u32>,
    pub vendor_class: Option<String>,
}

/// Kind-specific payload of an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Fields {
    Flow(Box<FlowRecord>),
    Dns(Box<DnsFields>),
    Http(Box<HttpFields>),
    Tls(Box<TlsFields>),
    Ssh(Box<SshFields>),
    Stratum(Box<StratumFields>),
    Dhcp(Box<DhcpFields>),
    /// An endpoint log record (EVTX or auditd), typed or generic.
    Endpoint(Box<super::endpoint::EndpointFields>),
    /// Anything no mapper models: its flattened fields, nothing dropped. Boxed like the others,
    /// so that this enum takes 16 bytes of every event, not 32.
    Generic(Box<BTreeMap<String, String>>),
}

/// One thing that happened, on one host, at one time, from one piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub ts: Timestamp,
    pub kind: EventKind,
    pub host: Option<HostRef>,
    pub net: Option<NetTuple>,
    pub process: Option<Box<ProcessRef>>,
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

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    /// A capture's events and their fields are what `seam investigate` holds at its peak (a
    /// 2 GiB capture makes some 200 k of them): these sizes are a memory budget, not an
    /// accident. DNS fields stay within mimalloc's 192-byte size class.
    #[test]
    fn events_and_fields_keep_their_size() {
        assert!(size_of::<super::Event>() <= 184, "Event is {} bytes", size_of::<super::Event>());
        assert_eq!(size_of::<super::Fields>(), 16);
        assert!(size_of::<super::DnsFields>() <= 192, "DnsFields is {} bytes", size_of::<super::DnsFields>());
    }
}
