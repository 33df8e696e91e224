//! What endpoint logs say: one payload type for every EVTX and auditd record.
//!
//! The typed part is deliberately small — what correlation and detection join on (action,
//! outcome, user, logon type, the object acted upon) — while `data` keeps every field the
//! record carried, flattened, so nothing read is dropped and an analyst can always see the
//! original values.

use crate::util::Timestamp;
use serde::Serialize;
use std::net::IpAddr;

/// Which log an endpoint event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// Microsoft-Windows-Sysmon/Operational.
    Sysmon,
    /// The Security channel (Microsoft-Windows-Security-Auditing and Eventlog 1102).
    Security,
    /// The System channel.
    System,
    /// Microsoft-Windows-PowerShell/Operational and Windows PowerShell.
    Powershell,
    /// Any other EVTX channel.
    Evtx,
    /// Linux audit log.
    Auditd,
}

impl LogSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Sysmon => "sysmon",
            LogSource::Security => "security",
            LogSource::System => "system",
            LogSource::Powershell => "powershell",
            LogSource::Evtx => "evtx",
            LogSource::Auditd => "auditd",
        }
    }

    pub fn is_evtx(self) -> bool {
        self != LogSource::Auditd
    }
}

/// The payload of an endpoint event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointFields {
    pub source: LogSource,
    /// What happened, as a stable kebab-case verb phrase (`process-start`, `logon-failed`,
    /// `service-installed`, …); ECS `event.action`.
    pub action: &'static str,
    /// The source's own code: the EVTX event id (`4624`), or the audit record type with the
    /// syscall for SYSCALL records (`SYSCALL:connect`).
    pub code: String,
    /// EVTX provider name.
    pub provider: Option<String>,
    /// EVTX channel name.
    pub channel: Option<String>,
    /// `success` or `failure` when the record says.
    pub outcome: Option<&'static str>,
    /// When the record was written, where that differs from the event's own time (Sysmon
    /// `UtcTime` is the event time; the record header holds the write time).
    pub written: Option<Timestamp>,
    /// The account the event is about (logon target, created account, …); the acting account
    /// is `process.user`.
    pub user: Option<String>,
    /// Security identifier or numeric uid of `user`.
    pub user_id: Option<String>,
    /// Windows logon type (2 interactive, 3 network, 10 remote interactive, …).
    pub logon_type: Option<u32>,
    /// Logon session id (`0x3e7`) or audit session id.
    pub logon_id: Option<String>,
    /// Remote address of a logon, or the address a connect/accept names when no full
    /// 5-tuple exists.
    pub source_ip: Option<IpAddr>,
    pub source_port: Option<u16>,
    /// Remote address a process connected or sent to, when the log names only that end
    /// (auditd connect/sendto); full 5-tuples are in the event's `net`.
    pub destination_ip: Option<IpAddr>,
    pub destination_port: Option<u16>,
    /// Workstation or host name the remote side gave.
    pub source_host: Option<String>,
    /// The object acted upon: file path, registry key, service or task name, module path,
    /// target process image, looked-up name, group, filter or log name.
    pub target: Option<String>,
    /// A second detail of the object: registry value, service binary and start type, lookup
    /// results, script text, new state.
    pub details: Option<String>,
    /// Every field of the record, flattened (`EventData` names, `UserData` paths, audit
    /// `RECORD.key`), in record order.
    pub data: Vec<(String, String)>,
}

impl EndpointFields {
    /// An event with only its source, action and code set.
    pub fn new(source: LogSource, action: &'static str, code: String) -> EndpointFields {
        EndpointFields {
            source,
            action,
            code,
            provider: None,
            channel: None,
            outcome: None,
            written: None,
            user: None,
            user_id: None,
            logon_type: None,
            logon_id: None,
            source_ip: None,
            source_port: None,
            destination_ip: None,
            destination_port: None,
            source_host: None,
            target: None,
            details: None,
            data: Vec::new(),
        }
    }

    /// The first value of a flattened field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
