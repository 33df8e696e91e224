//! Windows event mapper: a decoded EVTX record → one [`Event`].
//!
//! One table, [`RULES`], says for each (log, event id) which event kind and action the record
//! is and which of its fields fill the typed parts of the model. A record no rule names becomes
//! a `generic` event that still carries its channel, provider, event id, record id and every
//! payload field. Field names are those Windows writes (Sysmon schema 4.x, Security auditing,
//! Service Control Manager); the rules read them through [`WinRecord::get`], so a missing field
//! only leaves its model slot empty.

use crate::decode::winevt::{parse_utc_time, WinRecord};
use crate::flows::key::community_id;
use crate::model::{
    EndpointFields, Event, EventKind, Fields, HostRef, Locator, LogSource, NetTuple, ProcessRef, Provenance, Transport,
};
use crate::util::Timestamp;
use std::net::IpAddr;

/// What the mapper needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta {
    /// Evidence file index.
    pub file: u32,
    /// Record id from the record header (the locator of the event).
    pub record_id: u64,
    /// Write time from the record header.
    pub written: Timestamp,
    /// Carved from unallocated space rather than read from the chunk's record list.
    pub carved: bool,
}

/// How one (log, event id) maps.
struct Rule {
    source: LogSource,
    id: u32,
    kind: EventKind,
    action: &'static str,
    fill: fn(&WinRecord, &mut Draft),
}

/// The event under construction.
struct Draft {
    process: ProcessRef,
    net: Option<NetTuple>,
    fields: EndpointFields,
}

const fn rule(
    source: LogSource,
    id: u32,
    kind: EventKind,
    action: &'static str,
    fill: fn(&WinRecord, &mut Draft),
) -> Rule {
    Rule { source, id, kind, action, fill }
}

use EventKind as K;
use LogSource::{Powershell as Ps, Security as Sec, Sysmon as Sm, System as Sys};

/// Every modelled (log, event id).
const RULES: &[Rule] = &[
    rule(Sm, 1, K::Process, "process-start", sysmon_process_create),
    rule(Sm, 3, K::Connection, "network-connect", sysmon_network),
    rule(Sm, 4, K::Audit, "sysmon-state-changed", |r, d| d.fields.details = text(r, "State")),
    rule(Sm, 5, K::Process, "process-end", sysmon_process),
    rule(Sm, 6, K::Module, "driver-load", sysmon_module),
    rule(Sm, 7, K::Module, "image-load", sysmon_module),
    rule(Sm, 8, K::ProcessAccess, "remote-thread-created", sysmon_access),
    rule(Sm, 10, K::ProcessAccess, "process-accessed", sysmon_access),
    rule(Sm, 11, K::File, "file-created", sysmon_file),
    rule(Sm, 12, K::Registry, "registry-key-changed", sysmon_registry),
    rule(Sm, 13, K::Registry, "registry-value-set", sysmon_registry),
    rule(Sm, 14, K::Registry, "registry-key-renamed", sysmon_registry),
    rule(Sm, 16, K::Audit, "sysmon-config-changed", |r, d| {
        d.fields.target = text(r, "Configuration");
        d.fields.details = text(r, "ConfigurationFileHash");
    }),
    rule(Sm, 22, K::Lookup, "dns-query", sysmon_dns),
    rule(Sm, 23, K::File, "file-deleted", sysmon_file),
    rule(Sm, 26, K::File, "file-delete-detected", sysmon_file),
    rule(Sm, 255, K::Audit, "sysmon-error", |r, d| {
        d.fields.target = text(r, "ID");
        d.fields.details = text(r, "Description");
    }),
    rule(Sec, 1102, K::Audit, "log-cleared", |r, d| {
        d.process.user = account(r, "LogFileCleared.SubjectDomainName", "LogFileCleared.SubjectUserName");
        d.fields.target = Some("Security".into());
    }),
    rule(Sec, 4624, K::Logon, "logon", security_logon),
    rule(Sec, 4625, K::Logon, "logon-failed", |r, d| {
        security_logon(r, d);
        d.fields.outcome = Some("failure");
        d.fields.details = join(&[text(r, "FailureReason"), text(r, "Status"), text(r, "SubStatus")]);
    }),
    rule(Sec, 4634, K::Logon, "logoff", security_logon),
    rule(Sec, 4647, K::Logon, "logoff-requested", security_logon),
    rule(Sec, 4648, K::Logon, "explicit-credentials", |r, d| {
        security_logon(r, d);
        d.fields.target = text(r, "TargetServerName");
        d.fields.details = text(r, "TargetInfo");
    }),
    rule(Sec, 4672, K::Logon, "special-privileges", |r, d| {
        subject(r, d);
        d.fields.user = d.process.user.clone();
        d.fields.user_id = text(r, "SubjectUserSid");
        d.fields.logon_id = text(r, "SubjectLogonId");
        d.fields.details = text(r, "PrivilegeList");
    }),
    rule(Sec, 4688, K::Process, "process-start", |r, d| {
        // The new process runs as the target account where the record names one (Windows 10
        // and later: a process started under other credentials, DCOM, runas); the subject is
        // the account that created it, kept in the event data.
        d.process.user = account(r, "TargetDomainName", "TargetUserName")
            .or_else(|| account(r, "SubjectDomainName", "SubjectUserName"));
        d.process.pid = pid(r, "NewProcessId");
        d.process.executable = text(r, "NewProcessName");
        d.process.command_line = text(r, "CommandLine");
        d.process.parent_pid = pid(r, "ProcessId");
        d.process.parent_executable = text(r, "ParentProcessName");
        d.fields.logon_id = text(r, "SubjectLogonId");
        d.fields.details = text(r, "TokenElevationType");
    }),
    rule(Sec, 4689, K::Process, "process-end", |r, d| {
        subject(r, d);
        d.process.pid = pid(r, "ProcessId");
        d.process.executable = text(r, "ProcessName");
        d.fields.details = text(r, "Status");
    }),
    rule(Sec, 4697, K::Service, "service-installed", |r, d| {
        subject(r, d);
        d.fields.target = text(r, "ServiceName");
        d.fields.details = join(&[text(r, "ServiceFileName"), text(r, "ServiceStartType").map(|t| start_type(&t))]);
    }),
    rule(Sec, 4698, K::Task, "task-created", security_task),
    rule(Sec, 4699, K::Task, "task-deleted", security_task),
    rule(Sec, 4700, K::Task, "task-enabled", security_task),
    rule(Sec, 4701, K::Task, "task-disabled", security_task),
    rule(Sec, 4702, K::Task, "task-updated", security_task),
    rule(Sec, 4719, K::Audit, "audit-policy-changed", |r, d| {
        subject(r, d);
        d.fields.target = join(&[text(r, "CategoryId"), text(r, "SubcategoryId"), text(r, "SubcategoryGuid")]);
        d.fields.details = text(r, "AuditPolicyChanges");
    }),
    rule(Sec, 4720, K::Account, "account-created", security_account),
    rule(Sec, 4722, K::Account, "account-enabled", security_account),
    rule(Sec, 4724, K::Account, "password-reset", security_account),
    rule(Sec, 4725, K::Account, "account-disabled", security_account),
    rule(Sec, 4726, K::Account, "account-deleted", security_account),
    rule(Sec, 4728, K::Account, "group-member-added", security_group),
    rule(Sec, 4732, K::Account, "group-member-added", security_group),
    rule(Sec, 4756, K::Account, "group-member-added", security_group),
    rule(Sec, 4733, K::Account, "group-member-removed", security_group),
    rule(Sec, 5156, K::Connection, "connection-allowed", wfp_connection),
    rule(Sec, 5157, K::Connection, "connection-blocked", |r, d| {
        wfp_connection(r, d);
        d.fields.outcome = Some("failure");
    }),
    rule(Sec, 5158, K::Connection, "bind-allowed", wfp_connection),
    rule(Sec, 5159, K::Connection, "bind-blocked", |r, d| {
        wfp_connection(r, d);
        d.fields.outcome = Some("failure");
    }),
    rule(Sec, 5440, K::Firewall, "wfp-callout-present", wfp_change),
    rule(Sec, 5441, K::Firewall, "wfp-filter-present", wfp_change),
    rule(Sec, 5442, K::Firewall, "wfp-provider-present", wfp_change),
    rule(Sec, 5443, K::Firewall, "wfp-provider-context-present", wfp_change),
    rule(Sec, 5444, K::Firewall, "wfp-sublayer-present", wfp_change),
    rule(Sec, 5446, K::Firewall, "wfp-callout-changed", wfp_change),
    rule(Sec, 5447, K::Firewall, "wfp-filter-changed", wfp_change),
    rule(Sec, 5448, K::Firewall, "wfp-provider-changed", wfp_change),
    rule(Sec, 5449, K::Firewall, "wfp-provider-context-changed", wfp_change),
    rule(Sec, 5450, K::Firewall, "wfp-sublayer-changed", wfp_change),
    rule(Sys, 104, K::Audit, "log-cleared", |r, d| {
        d.process.user = account(r, "LogFileCleared.SubjectDomainName", "LogFileCleared.SubjectUserName");
        d.fields.target = text(r, "LogFileCleared.Channel").or_else(|| text(r, "LogFileCleared.BackupPath"));
    }),
    rule(Sys, 7034, K::Service, "service-crashed", |r, d| d.fields.target = text(r, "param1")),
    rule(Sys, 7036, K::Service, "service-state-changed", |r, d| {
        d.fields.target = text(r, "param1");
        d.fields.details = text(r, "param2");
    }),
    rule(Sys, 7040, K::Service, "service-start-type-changed", |r, d| {
        d.fields.target = text(r, "param1");
        d.fields.details = join(&[text(r, "param2"), text(r, "param3")]).map(|s| s.replacen(", ", " → ", 1));
    }),
    rule(Sys, 7045, K::Service, "service-installed", |r, d| {
        d.fields.target = text(r, "ServiceName");
        d.fields.details = join(&[text(r, "ImagePath"), text(r, "StartType"), text(r, "AccountName")]);
    }),
    rule(Ps, 4103, K::Script, "pipeline-executed", |r, d| {
        d.fields.target = text(r, "ContextInfo").and_then(|c| context_value(&c, "Command Name"));
        d.fields.details = text(r, "Payload");
        // "Host Application" is the host's whole command line (`powershell.exe -Command …`).
        let host = text(r, "ContextInfo").and_then(|c| context_value(&c, "Host Application"));
        d.process.executable = host.as_deref().and_then(first_token);
        d.process.command_line = host;
    }),
    rule(Ps, 4104, K::Script, "script-block", |r, d| {
        d.fields.target = text(r, "Path");
        d.fields.details = text(r, "ScriptBlockText");
    }),
];

/// Which log a record belongs to, from its channel (or provider when the channel is missing).
pub fn log_source(r: &WinRecord) -> LogSource {
    let ch = r.channel.as_str();
    if ch.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") || r.provider == "Microsoft-Windows-Sysmon" {
        LogSource::Sysmon
    } else if ch.eq_ignore_ascii_case("Security") {
        LogSource::Security
    } else if ch.eq_ignore_ascii_case("System") {
        LogSource::System
    } else if ch.eq_ignore_ascii_case("Microsoft-Windows-PowerShell/Operational")
        || ch.eq_ignore_ascii_case("Windows PowerShell")
    {
        LogSource::Powershell
    } else {
        LogSource::Evtx
    }
}

/// Maps one record.
pub fn map_record(r: WinRecord, meta: RecordMeta) -> Event {
    let source = log_source(&r);
    let rule = RULES.iter().find(|x| x.source == source && x.id == r.event_id);
    let (kind, action) = rule.map_or((EventKind::Generic, "event"), |x| (x.kind, x.action));
    let mut draft =
        Draft { process: ProcessRef::default(), net: None, fields: EndpointFields::new(source, action, String::new()) };
    draft.fields.code = r.event_id.to_string();
    match rule {
        Some(x) => (x.fill)(&r, &mut draft),
        // Unmodelled Sysmon events still name their process.
        None if source == LogSource::Sysmon => sysmon_process(&r, &mut draft),
        None => {}
    }
    let event_time = match source {
        LogSource::Sysmon => r.get("UtcTime").and_then(parse_utc_time),
        _ => None,
    };
    let record_time = r.time_created.unwrap_or(meta.written);
    let ts = event_time.unwrap_or(record_time);
    let Draft { process, net, mut fields } = draft;
    fields.written = (meta.written != ts).then_some(meta.written);
    fields.provider = (!r.provider.is_empty()).then(|| r.provider.clone());
    fields.channel = (!r.channel.is_empty()).then(|| r.channel.clone());
    let host = (!r.computer.is_empty()).then(|| HostRef { name: Some(r.computer.clone()), ip: None });
    fields.data = r.data;
    fields.carved = meta.carved;
    Event {
        ts,
        kind,
        host,
        net,
        process: (!process.is_empty()).then(|| Box::new(process)),
        provenance: Provenance { file: meta.file, locator: Locator::Record(meta.record_id) },
        fields: Fields::Endpoint(Box::new(fields)),
    }
}

/// A payload field as owned text, placeholders as absent.
fn text(r: &WinRecord, key: &str) -> Option<String> {
    r.get(key).map(str::to_string)
}

/// The present values joined with `, `.
fn join(parts: &[Option<String>]) -> Option<String> {
    let present: Vec<&str> = parts.iter().flatten().map(String::as_str).collect();
    (!present.is_empty()).then(|| present.join(", "))
}

/// A process id written in decimal or as `0x…` (Security events).
fn pid(r: &WinRecord, key: &str) -> Option<u64> {
    let v = r.get(key)?.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// `DOMAIN\user`, or the user alone.
fn account(r: &WinRecord, domain: &str, user: &str) -> Option<String> {
    let user = r.get(user)?;
    Some(match r.get(domain) {
        Some(d) => format!("{d}\\{user}"),
        None => user.to_string(),
    })
}

fn ip(r: &WinRecord, key: &str) -> Option<IpAddr> {
    let v = r.get(key)?.trim();
    // IPv4-mapped addresses are written `::ffff:10.0.0.5`; scoped ones `fe80::1%12`.
    let v = v.split('%').next().unwrap_or(v);
    let parsed: IpAddr = v.parse().ok()?;
    Some(match parsed {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(parsed, IpAddr::V4),
        v4 => v4,
    })
}

fn port(r: &WinRecord, key: &str) -> Option<u16> {
    r.get(key)?.trim().parse().ok()
}

/// The acting account and process of a Security event.
/// The program of a command line: its first word, or the quoted path it starts with.
fn first_token(command_line: &str) -> Option<String> {
    let line = command_line.trim_start();
    let token = match line.strip_prefix('"') {
        Some(rest) => rest.split('"').next()?,
        None => line.split_whitespace().next()?,
    };
    (!token.is_empty()).then(|| token.to_string())
}

fn subject(r: &WinRecord, d: &mut Draft) {
    d.process.user = account(r, "SubjectDomainName", "SubjectUserName");
}

fn sysmon_process(r: &WinRecord, d: &mut Draft) {
    d.process.pid = pid(r, "ProcessId");
    d.process.entity_id = text(r, "ProcessGuid");
    d.process.executable = text(r, "Image");
    d.process.user = text(r, "User");
}

fn sysmon_process_create(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    d.process.command_line = text(r, "CommandLine");
    d.process.parent_pid = pid(r, "ParentProcessId");
    d.process.parent_entity_id = text(r, "ParentProcessGuid");
    d.process.parent_executable = text(r, "ParentImage");
    d.process.parent_command_line = text(r, "ParentCommandLine");
    d.fields.logon_id = text(r, "LogonId");
    d.fields.details = text(r, "Hashes");
}

fn sysmon_network(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    let transport = match r.get("Protocol").map(str::to_ascii_lowercase).as_deref() {
        Some("tcp") => Transport::Tcp,
        Some("udp") => Transport::Udp,
        _ => Transport::Other(0),
    };
    d.net =
        tuple(ip(r, "SourceIp"), port(r, "SourcePort"), ip(r, "DestinationIp"), port(r, "DestinationPort"), transport);
    d.fields.target = text(r, "DestinationHostname");
    d.fields.source_host = text(r, "SourceHostname");
    if r.get("Initiated").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        d.fields.action = "network-accept";
    }
}

fn sysmon_module(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    d.fields.target = text(r, "ImageLoaded");
    d.fields.details = join(&[text(r, "Signature"), text(r, "SignatureStatus"), text(r, "Hashes")]);
    if r.get("Signed").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        d.fields.outcome = Some("failure");
    }
}

fn sysmon_access(r: &WinRecord, d: &mut Draft) {
    d.process.pid = pid(r, "SourceProcessId");
    d.process.entity_id = text(r, "SourceProcessGuid").or_else(|| text(r, "SourceProcessGUID"));
    d.process.executable = text(r, "SourceImage");
    d.process.user = text(r, "SourceUser");
    d.fields.target = text(r, "TargetImage");
    d.fields.details = join(&[
        text(r, "TargetProcessId").map(|p| format!("pid {p}")),
        text(r, "GrantedAccess").map(|a| format!("access {a}")),
        text(r, "StartFunction"),
    ]);
}

fn sysmon_file(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    d.fields.target = text(r, "TargetFilename");
    d.fields.details = text(r, "Hashes");
}

fn sysmon_registry(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    d.fields.target = text(r, "TargetObject");
    d.fields.details = text(r, "Details").or_else(|| text(r, "NewName")).or_else(|| text(r, "EventType"));
}

fn sysmon_dns(r: &WinRecord, d: &mut Draft) {
    sysmon_process(r, d);
    d.fields.target = text(r, "QueryName");
    d.fields.details = text(r, "QueryResults");
    if r.get("QueryStatus").is_some_and(|s| s != "0") {
        d.fields.outcome = Some("failure");
    }
}

fn security_logon(r: &WinRecord, d: &mut Draft) {
    subject(r, d);
    d.process.pid = pid(r, "ProcessId");
    d.process.executable = text(r, "ProcessName");
    d.fields.user = account(r, "TargetDomainName", "TargetUserName");
    d.fields.user_id = text(r, "TargetUserSid");
    d.fields.logon_type = r.get("LogonType").and_then(|t| t.trim().parse().ok());
    d.fields.logon_id = text(r, "TargetLogonId");
    d.fields.source_ip = ip(r, "IpAddress");
    d.fields.source_port = port(r, "IpPort").filter(|p| *p != 0);
    d.fields.source_host = text(r, "WorkstationName");
    d.fields.outcome = Some("success");
}

fn security_task(r: &WinRecord, d: &mut Draft) {
    subject(r, d);
    d.fields.target = text(r, "TaskName");
    d.fields.details = text(r, "TaskContentNew").or_else(|| text(r, "TaskContent"));
}

fn security_account(r: &WinRecord, d: &mut Draft) {
    subject(r, d);
    d.fields.user = account(r, "TargetDomainName", "TargetUserName");
    d.fields.user_id = text(r, "TargetSid");
}

fn security_group(r: &WinRecord, d: &mut Draft) {
    subject(r, d);
    d.fields.user = text(r, "MemberName");
    d.fields.user_id = text(r, "MemberSid");
    d.fields.target = account(r, "TargetDomainName", "TargetUserName");
}

/// Security 5156–5159: a Windows Filtering Platform decision with the process and 5-tuple.
/// `Direction` is `%%14592` (inbound) or `%%14593` (outbound); the addresses are local →
/// remote for outbound, remote → local for inbound as the analyst reads the flow.
fn wfp_connection(r: &WinRecord, d: &mut Draft) {
    d.process.pid = pid(r, "ProcessID").or_else(|| pid(r, "ProcessId"));
    d.process.executable = text(r, "Application");
    let transport = Transport::from_ip_proto(r.get("Protocol").and_then(|p| p.trim().parse().ok()).unwrap_or(0));
    let local = (ip(r, "SourceAddress"), port(r, "SourcePort"));
    let remote = (ip(r, "DestAddress"), port(r, "DestPort"));
    let inbound = r.get("Direction").is_some_and(|v| v.contains("14592") || v.eq_ignore_ascii_case("inbound"));
    let ((a, ap), (b, bp)) = if inbound { (remote, local) } else { (local, remote) };
    d.net = tuple(a, ap, b, bp, transport);
    d.fields.target = text(r, "FilterRTID").map(|f| format!("filter {f}"));
    d.fields.details = text(r, "LayerName");
}

fn wfp_change(r: &WinRecord, d: &mut Draft) {
    subject(r, d);
    d.process.pid = pid(r, "ProcessId");
    d.fields.target = text(r, "FilterName")
        .or_else(|| text(r, "CalloutName"))
        .or_else(|| text(r, "ProviderName"))
        .or_else(|| text(r, "SubLayerName"));
    d.fields.details = join(&[text(r, "ChangeType"), text(r, "LayerName"), text(r, "Action")]);
}

fn tuple(
    src: Option<IpAddr>,
    sport: Option<u16>,
    dst: Option<IpAddr>,
    dport: Option<u16>,
    transport: Transport,
) -> Option<NetTuple> {
    let (src_ip, dst_ip) = (src?, dst?);
    let (src_port, dst_port) = (sport.unwrap_or(0), dport.unwrap_or(0));
    Some(NetTuple {
        src_ip,
        src_port,
        dst_ip,
        dst_port,
        transport,
        community_id: community_id(src_ip, src_port, dst_ip, dst_port, transport.ip_proto(), 0).into(),
        flow_id: None,
    })
}

/// Service start types as Security 4697 writes them (`0x2`) → System 7045's words.
fn start_type(code: &str) -> String {
    match code.trim() {
        "0" | "0x0" => "boot start".into(),
        "1" | "0x1" => "system start".into(),
        "2" | "0x2" => "auto start".into(),
        "3" | "0x3" => "demand start".into(),
        "4" | "0x4" => "disabled".into(),
        other => other.to_string(),
    }
}

/// A value from PowerShell's `ContextInfo` block (`        Host Application = powershell.exe`).
fn context_value(context: &str, name: &str) -> Option<String> {
    context.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == name).then(|| v.trim().to_string()).filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(channel: &str, id: u32, data: &[(&str, &str)]) -> WinRecord {
        WinRecord {
            provider: "P".into(),
            event_id: id,
            channel: channel.into(),
            computer: "WS1".into(),
            time_created: Some(1_000),
            data: data.iter().copied().collect(),
            ..WinRecord::default()
        }
    }

    fn endpoint(e: &Event) -> &EndpointFields {
        match &e.fields {
            Fields::Endpoint(f) => f,
            other => panic!("not an endpoint event: {other:?}"),
        }
    }

    const META: RecordMeta = RecordMeta { file: 2, record_id: 77, written: 1_000, carved: false };

    #[test]
    fn sysmon_process_create_uses_utc_time_and_keeps_write_time() {
        let r = record(
            "Microsoft-Windows-Sysmon/Operational",
            1,
            &[
                ("UtcTime", "1970-01-01 00:00:00.000"),
                ("ProcessGuid", "{G}"),
                ("ProcessId", "42"),
                ("Image", "C:\\x.exe"),
                ("ParentProcessId", "7"),
            ],
        );
        let e = map_record(r, META);
        assert_eq!((e.kind, e.ts), (EventKind::Process, 0));
        let f = endpoint(&e);
        assert_eq!((f.action, f.code.as_str(), f.written), ("process-start", "1", Some(1_000)));
        let p = e.process.as_ref().unwrap();
        assert_eq!((p.pid, p.parent_pid, p.entity_id.as_deref()), (Some(42), Some(7), Some("{G}")));
        assert_eq!(e.host.as_ref().unwrap().name.as_deref(), Some("WS1"));
        assert_eq!(e.provenance.locator, Locator::Record(77));
        assert_eq!(f.data.len(), 5, "every field is kept");
    }

    #[test]
    fn sysmon_network_has_a_community_id() {
        let r = record(
            "Microsoft-Windows-Sysmon/Operational",
            3,
            &[
                ("Protocol", "tcp"),
                ("SourceIp", "128.232.110.120"),
                ("SourcePort", "34855"),
                ("DestinationIp", "66.35.250.204"),
                ("DestinationPort", "80"),
                ("Initiated", "true"),
            ],
        );
        let e = map_record(r, META);
        let n = e.net.unwrap();
        // The Community ID specification's TCP vector.
        assert_eq!(&*n.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        assert_eq!(n.flow_id, None);
    }

    #[test]
    fn security_logon_fields_and_hex_pids() {
        let r = record(
            "Security",
            4624,
            &[
                ("TargetUserName", "alice"),
                ("TargetDomainName", "CORP"),
                ("LogonType", "10"),
                ("IpAddress", "::ffff:10.0.0.9"),
                ("IpPort", "0"),
                ("ProcessId", "0x1a4"),
                ("WorkstationName", "-"),
            ],
        );
        let e = map_record(r, META);
        let f = endpoint(&e);
        assert_eq!((e.kind, f.action, f.outcome), (EventKind::Logon, "logon", Some("success")));
        assert_eq!(f.user.as_deref(), Some("CORP\\alice"));
        assert_eq!(f.logon_type, Some(10));
        assert_eq!(f.source_ip, Some("10.0.0.9".parse().unwrap()));
        assert_eq!((f.source_port, f.source_host.as_deref()), (None, None));
        assert_eq!(e.process.as_ref().unwrap().pid, Some(0x1a4));
        assert_eq!(f.written, None, "record time and event time agree");
    }

    #[test]
    fn wfp_inbound_is_oriented_remote_to_local() {
        let r = record(
            "Security",
            5156,
            &[
                ("Direction", "%%14592"),
                ("SourceAddress", "10.0.0.5"),
                ("SourcePort", "445"),
                ("DestAddress", "10.0.0.9"),
                ("DestPort", "50000"),
                ("Protocol", "6"),
                ("ProcessID", "4"),
            ],
        );
        let n = map_record(r, META).net.unwrap();
        assert_eq!((n.src_ip.to_string(), n.dst_port), ("10.0.0.9".to_string(), 445));
    }

    #[test]
    fn unknown_records_are_generic_with_everything_kept() {
        let e = map_record(record("Application", 1000, &[("Data[0]", "x")]), META);
        assert_eq!(e.kind, EventKind::Generic);
        let f = endpoint(&e);
        assert_eq!((f.source, f.code.as_str(), f.data.len()), (LogSource::Evtx, "1000", 1));
        assert_eq!(f.channel.as_deref(), Some("Application"));
        let e = map_record(
            record("System", 7040, &[("param1", "WinDefend"), ("param2", "auto"), ("param3", "disabled")]),
            META,
        );
        assert_eq!(endpoint(&e).details.as_deref(), Some("auto → disabled"));
    }

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in RULES.iter().enumerate() {
            assert!(!RULES[i + 1..].iter().any(|b| a.source == b.source && a.id == b.id), "{:?} {}", a.source, a.id);
        }
    }

    #[test]
    fn a_4688_process_runs_as_its_target_account() {
        let data = [
            ("SubjectDomainName", "OFFSEC"),
            ("SubjectUserName", "SRV01$"),
            ("TargetDomainName", "OFFSEC"),
            ("TargetUserName", "admmig"),
            ("NewProcessId", "0x1f4"),
            ("NewProcessName", "C:\\Windows\\System32\\mmc.exe"),
        ];
        let e = map_record(record("Security", 4688, &data), META);
        assert_eq!(e.process.as_ref().and_then(|p| p.user.as_deref()), Some("OFFSEC\\admmig"));
        // Without a target account (older Windows, or `-`), the subject's.
        let data = [("SubjectDomainName", "OFFSEC"), ("SubjectUserName", "SRV01$"), ("TargetUserName", "-")];
        let e = map_record(record("Security", 4688, &data), META);
        assert_eq!(e.process.as_ref().and_then(|p| p.user.as_deref()), Some("OFFSEC\\SRV01$"));
    }

    #[test]
    fn a_4103_host_application_is_a_command_line() {
        let context = "        Severity = Informational\r\n        Host Application = \"C:\\Program Files\\PowerShell\\pwsh.exe\" -ExecutionPolicy Restricted -Command Write-Host 1\r\n        Command Name = Write-Host\r\n";
        let e = map_record(record("Microsoft-Windows-PowerShell/Operational", 4103, &[("ContextInfo", context)]), META);
        let p = e.process.as_ref().expect("the host process");
        assert_eq!(p.executable.as_deref(), Some("C:\\Program Files\\PowerShell\\pwsh.exe"));
        assert!(p.command_line.as_deref().is_some_and(|c| c.ends_with("-Command Write-Host 1")), "{p:?}");
        assert_eq!(first_token("powershell.exe -Command x").as_deref(), Some("powershell.exe"));
        assert_eq!(first_token("  "), None);
    }
}
