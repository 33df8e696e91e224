//! Column registries: every output table seam writes, one entry per column with its name,
//! type and meaning. JSON output nests dotted names (`source.ip` → `{"source":{"ip":…}}`),
//! CSV and Parquet keep them flat. Names follow the Elastic Common Schema where ECS has the
//! field; seam's own fields live under `flow.*`, `seam.*` and protocol names ECS lacks.
//!
//! Timestamps are UTC nanoseconds: RFC 3339 text in JSON/CSV/table, `Datetime(ns, UTC)` in
//! Parquet. Null values are left out of JSON and empty in CSV.
//!
//! Example event (JSON Lines, one object per line, keys sorted):
//! ```json
//! {"@timestamp":"2024-05-01T10:00:00.25Z","destination":{"ip":"10.0.0.53","port":53},
//!  "dns":{"answers":["93.184.216.34"],"id":4660,"question":{"name":"example.com","type":"A"},
//!  "response_code":"NOERROR","rtt":0.012},"event":{"kind":"dns"},"flow":{"id":"C4c…"},
//!  "message":"dns A example.com → 93.184.216.34","network":{"community_id":"1:…",
//!  "transport":"udp"},"seam":{"file":"bundle/net.pcap","locator":"packet","position":12},
//!  "source":{"ip":"10.0.0.5","port":51000}}
//! ```
//!
//! Example endpoint events (abridged: `winlog.event_data` and `auditd.data` hold every field of
//! the record):
//! ```json
//! {"@timestamp":"2017-12-26T13:10:29.134Z","event":{"action":"process-start","code":"1",
//!  "created":"2017-12-26T13:10:29.1368792Z","kind":"process","module":"sysmon",
//!  "provider":"Microsoft-Windows-Sysmon"},"host":{"name":"DESKTOP-2KGM189"},
//!  "message":"process-start ping -n 6 127.0.0.1 pid 9112 ← C:\\Windows\\SysWOW64\\cmd.exe",
//!  "process":{"command_line":"ping -n 6 127.0.0.1","entity_id":"{94f748d5-…}",
//!  "executable":"C:\\Windows\\SysWOW64\\PING.EXE","parent":{"pid":8392,…},"pid":9112,
//!  "user":{"name":"NT AUTHORITY\\SYSTEM"}},"seam":{"file":"sysmon.evtx","locator":"record",
//!  "position":1742},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational",
//!  "event_data":{"UtcTime":"2017-12-26 13:10:29.134","ProcessGuid":"{94f748d5-…}",…}}}
//! {"@timestamp":"2024-05-01T10:00:00.101Z","auditd":{"data":{"SYSCALL.syscall":"42",
//!  "SYSCALL.exit":"-115","SOCKADDR.saddr":"0A001538…",…}},"destination":{"ip":"2001:db8::20",
//!  "port":5432},"event":{"action":"network-connect","code":"SYSCALL:connect","kind":"connection",
//!  "module":"auditd"},"host":{"name":"db1"},"process":{"command_line":"postgres: walsender",
//!  "executable":"/usr/lib/postgresql/bin/postgres","pid":700,…},"seam":{"details":"in progress
//!  (non-blocking)","file":"audit.log","locator":"line","position":2,"target":"[2001:db8::20]:5432"}}
//! ```
//!
//! Example flow (`seam flows --format jsonl`):
//! ```json
//! {"@timestamp":"2024-05-02T07:43:42Z","destination":{"bytes":126,"ip":"142.250.74.3",
//!  "packets":4,"port":80},"event":{"end":"2024-05-02T07:43:42.30604Z"},"flow":{"conn_state":"SF",
//!  "duration":0.30604,"history":"ShADadFf","id":"CpgZwlP03ySsCAOEtK","missed_bytes":0,
//!  "orig_ip_bytes":361,"resp_ip_bytes":286},"network":{"community_id":"1:7NpQwjx23p1lWCFR0813/i8s6uQ=",
//!  "protocol":"http","transport":"tcp"},"seam":{"file":"testdata/demo/network.pcap",
//!  "first_packet":1,"last_packet":10},"source":{"bytes":121,"ip":"10.113.0.104","packets":6,
//!  "port":54213}}
//! ```

use super::RowCtx;
use crate::model::{Event, EventKind, Fields, FlowRecord};
use crate::util::net::endpoint_text;
use crate::util::time::{epoch_secs, rfc3339};
use serde_json::Value as Json;
use std::borrow::Cow;

/// Column types as they appear in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// `Datetime(ns, UTC)`.
    Time,
    Int,
    UInt,
    Float,
    Bool,
    Str,
    StrList,
}

/// One cell, borrowing from its row where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Time(i64),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// An address, written as text without an intermediate string.
    Ip(std::net::IpAddr),
    List(Vec<String>),
    /// Name → text pairs: a JSON object in JSON, its JSON text in CSV, Parquet and tables.
    Map(&'a crate::model::Pairs),
}

impl Value<'_> {
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Time(t) | Value::Int(t) => Some(t),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// Text form used by CSV and the table renderer.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Time(t) => Some(rfc3339(*t)),
            Value::Int(n) => Some(n.to_string()),
            Value::UInt(n) => Some(n.to_string()),
            Value::Float(f) => Some(format!("{f:.6}")),
            Value::Bool(b) => Some(b.to_string()),
            Value::Str(s) => Some(s.to_string()),
            Value::Ip(ip) => Some(ip.to_string()),
            Value::List(items) if items.is_empty() => None,
            Value::List(items) => Some(items.join(";")),
            Value::Map(pairs) if pairs.is_empty() => None,
            Value::Map(_) => {
                let mut out = Vec::new();
                self.write_json(&mut out);
                Some(String::from_utf8_lossy(&out).into_owned())
            }
        }
    }
    /// Compact text for terminal tables: times to the millisecond without the zone (always
    /// UTC), durations and other floats to three decimals.
    pub fn as_table_text(&self) -> Option<String> {
        match self {
            Value::Time(t) => {
                let s = rfc3339(*t);
                let (date_time, _) = s.split_once('Z').unwrap_or((&s, ""));
                let (whole, frac) = date_time.split_once('.').unwrap_or((date_time, ""));
                let ms: String = frac.chars().chain("000".chars()).take(3).collect();
                Some(format!("{}.{ms}", whole.replacen('T', " ", 1)))
            }
            Value::Float(f) => Some(format!("{f:.3}")),
            other => other.as_text(),
        }
    }

    /// Whether the value appears in JSON output (nulls and empty lists do not).
    pub fn to_json_ref(&self) -> Option<&Self> {
        match self {
            Value::Null => None,
            Value::List(items) if items.is_empty() => None,
            Value::Map(pairs) if pairs.is_empty() => None,
            Value::Float(f) if !f.is_finite() => None,
            other => Some(other),
        }
    }

    /// Appends the value as JSON text (callers skip values [`Value::to_json_ref`] rejects).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = match self {
            Value::Null => write!(out, "null"),
            Value::Time(t) => {
                // Digits, '-', ':', '.', 'T' and 'Z' need no escaping.
                out.push(b'"');
                crate::util::time::write_rfc3339(*t, out);
                out.push(b'"');
                Ok(())
            }
            Value::Int(n) => {
                out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
                Ok(())
            }
            Value::UInt(n) => {
                out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
                Ok(())
            }
            Value::Float(f) => serde_json::to_writer(&mut *out, f).map_err(std::io::Error::other),
            Value::Bool(b) => write!(out, "{b}"),
            Value::Str(s) => {
                crate::util::escape::write_json_str(s, out);
                Ok(())
            }
            Value::Ip(std::net::IpAddr::V4(v4)) => {
                out.push(b'"');
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    out.extend_from_slice(itoa::Buffer::new().format(octet).as_bytes());
                }
                out.push(b'"');
                Ok(())
            }
            Value::Ip(ip) => write!(out, "\"{ip}\""),
            Value::List(items) => serde_json::to_writer(&mut *out, items).map_err(std::io::Error::other),
            Value::Map(pairs) => {
                out.push(b'{');
                pairs.write_json_members(out);
                out.push(b'}');
                Ok(())
            }
        };
    }

    pub fn to_json(&self) -> Option<Json> {
        match self {
            Value::Null => None,
            Value::Time(t) => Some(Json::String(rfc3339(*t))),
            Value::Int(n) => Some(Json::from(*n)),
            Value::UInt(n) => Some(Json::from(*n)),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number),
            Value::Bool(b) => Some(Json::Bool(*b)),
            Value::Str(s) => Some(Json::String(s.to_string())),
            Value::Ip(ip) => Some(Json::String(ip.to_string())),
            Value::List(items) if items.is_empty() => None,
            Value::List(items) => Some(Json::Array(items.iter().cloned().map(Json::String).collect())),
            Value::Map(pairs) if pairs.is_empty() => None,
            Value::Map(pairs) => {
                // Repeated names (rare: unnamed data lists flattened twice) keep the first value.
                let mut map = serde_json::Map::new();
                for (k, v) in pairs.iter() {
                    map.entry(k.to_string()).or_insert_with(|| Json::String(v.to_string()));
                }
                Some(Json::Object(map))
            }
        }
    }
}

/// One column of a table.
pub struct Column<T> {
    pub name: &'static str,
    pub ty: ColType,
    pub doc: &'static str,
    pub get: for<'a> fn(&'a T, &'a RowCtx) -> Value<'a>,
}

fn s(v: Option<&str>) -> Value<'_> {
    v.map_or(Value::Null, |x| Value::Str(Cow::Borrowed(x)))
}

/// ECS spelling: `00-1A-2B-3C-4D-5E`.
fn mac(m: Option<[u8; 6]>) -> Value<'static> {
    m.map_or(Value::Null, |m| Value::Str(Cow::Owned(crate::util::net::mac_text(m))))
}

fn opt_u(v: Option<u64>) -> Value<'static> {
    v.map_or(Value::Null, Value::UInt)
}

macro_rules! col {
    ($name:literal, $ty:ident, $doc:literal, $get:expr) => {
        Column { name: $name, ty: ColType::$ty, doc: $doc, get: $get }
    };
}

fn dns(e: &Event) -> Option<&crate::model::DnsFields> {
    match &e.fields {
        Fields::Dns(d) => Some(d),
        _ => None,
    }
}
fn http(e: &Event) -> Option<&crate::model::HttpFields> {
    match &e.fields {
        Fields::Http(h) => Some(h),
        _ => None,
    }
}
fn tls(e: &Event) -> Option<&crate::model::TlsFields> {
    match &e.fields {
        Fields::Tls(t) => Some(t),
        _ => None,
    }
}
fn flow(e: &Event) -> Option<&FlowRecord> {
    match &e.fields {
        Fields::Flow(f) => Some(f),
        _ => None,
    }
}
fn endpoint(e: &Event) -> Option<&crate::model::EndpointFields> {
    match &e.fields {
        Fields::Endpoint(x) => Some(x),
        _ => None,
    }
}
fn process(e: &Event) -> Option<&crate::model::ProcessRef> {
    e.process.as_deref()
}
/// The endpoint event's target when the event is of `kind`.
fn target_of<'a>(e: &'a Event, kinds: &[EventKind]) -> Value<'a> {
    if !kinds.contains(&e.kind) {
        return Value::Null;
    }
    s(endpoint(e).and_then(|x| x.target.as_deref()))
}
fn ssh(e: &Event) -> Option<&crate::model::SshFields> {
    match &e.fields {
        Fields::Ssh(x) => Some(&**x),
        _ => None,
    }
}
fn dhcp(e: &Event) -> Option<&crate::model::DhcpFields> {
    match &e.fields {
        Fields::Dhcp(x) => Some(x),
        _ => None,
    }
}
fn stratum(e: &Event) -> Option<&crate::model::StratumFields> {
    match &e.fields {
        Fields::Stratum(x) => Some(&**x),
        _ => None,
    }
}

/// Columns of `seam timeline` output.
pub const EVENT_COLUMNS: &[Column<Event>] = &[
    col!("@timestamp", Time, "When the event happened (UTC); for flows, the first packet", |e, _| Value::Time(e.ts)),
    col!("event.kind", Str, "seam event kind: flow, dns, http, tls, ssh, stratum, dhcp; process, connection, logon, account, service, task, file, registry, module, process-access, lookup, script, audit, firewall, anomaly; generic", |e, _| Value::Str(
        e.kind.as_str().into()
    )),
    col!("message", Str, "One-line human summary of the event", |e, _| Value::Str(message(e).into())),
    col!("host.name", Str, "Host the event happened on, when the source names it", |e, _| s(e
        .host
        .as_ref()
        .and_then(|h| h.name.as_deref()))),
    col!("source.ip", Str, "Originator address; for logons, the remote address", |e, _| e
        .net
        .as_ref()
        .map(|n| n.src_ip)
        .or(endpoint(e).and_then(|x| x.source_ip))
        .map_or(Value::Null, Value::Ip)),
    col!("source.port", UInt, "Originator port (ICMP: type); for logons, the remote port", |e, _| opt_u(
        e.net.as_ref().map(|n| u64::from(n.src_port)).or(endpoint(e).and_then(|x| x.source_port.map(u64::from)))
    )),
    col!("source.domain", Str, "Name the remote side gave (logon workstation, Sysmon SourceHostname)", |e, _| s(
        endpoint(e).and_then(|x| x.source_host.as_deref())
    )),
    col!("destination.ip", Str, "Responder address; for auditd connects, the remote address", |e, _| e
        .net
        .as_ref()
        .map(|n| n.dst_ip)
        .or(endpoint(e).and_then(|x| x.destination_ip))
        .map_or(Value::Null, Value::Ip)),
    col!("destination.port", UInt, "Responder port (ICMP: code); for auditd connects, the remote port", |e, _| opt_u(
        e.net
            .as_ref()
            .map(|n| u64::from(n.dst_port))
            .or(endpoint(e).and_then(|x| x.destination_port.map(u64::from)))
    )),
    col!("network.transport", Str, "tcp, udp, icmp, ipv6-icmp or ip-N", |e, _| e
        .net
        .as_ref()
        .map_or(Value::Null, |n| Value::Str(n.transport.name().into()))),
    col!("network.community_id", Str, "Community ID v1 of the flow", |e, _| s(e
        .net
        .as_ref()
        .map(|n| &*n.community_id))),
    col!("flow.id", Str, "seam flow id (joins app events to `seam flows` rows)", |e, _| s(e
        .net
        .as_ref()
        .and_then(|n| n.flow_id.as_deref()))),
    col!("network.protocol", Str, "Application protocols recognised from content (flows)", |e, _| flow(e)
        .map_or(Value::Null, |f| if f.services.is_empty() { Value::Null } else { Value::Str(f.service_string().into()) })),
    col!("event.duration", Int, "Flow duration in nanoseconds", |e, _| flow(e)
        .map_or(Value::Null, |f| Value::Int(f.duration()))),
    col!("source.bytes", UInt, "Flow payload bytes sent by the originator", |e, _| opt_u(
        flow(e).map(|f| f.orig.bytes)
    )),
    col!("destination.bytes", UInt, "Flow payload bytes sent by the responder", |e, _| opt_u(
        flow(e).map(|f| f.resp.bytes)
    )),
    col!("source.packets", UInt, "Flow packets sent by the originator", |e, _| opt_u(flow(e).map(|f| f.orig.packets))),
    col!("destination.packets", UInt, "Flow packets sent by the responder", |e, _| opt_u(
        flow(e).map(|f| f.resp.packets)
    )),
    col!("flow.conn_state", Str, "Zeek connection state (S0, SF, REJ, …)", |e, _| s(
        flow(e).map(|f| f.conn_state.as_str())
    )),
    col!("flow.history", Str, "Zeek connection history letters", |e, _| s(flow(e).map(|f| f.history.as_str()))),
    col!("dns.id", UInt, "DNS transaction id", |e, _| opt_u(dns(e).map(|d| u64::from(d.transaction_id)))),
    col!("dns.question.name", Str, "Queried name (captures, and Sysmon 22 lookups)", |e, _| match dns(e) {
        Some(d) => Value::Str(Cow::Borrowed(&d.query)),
        None => target_of(e, &[EventKind::Lookup]),
    }),
    col!("dns.question.type", Str, "Query type (A, AAAA, TXT, …)", |e, _| s(dns(e).map(|d| &*d.qtype_name))),
    col!("dns.response_code", Str, "Response code name, when a response was seen", |e, _| s(
        dns(e).and_then(|d| d.rcode_name.as_deref())
    )),
    col!("dns.answers", StrList, "Rendered answers in wire order", |e, _| dns(e)
        .map_or(Value::Null, |d| Value::List(d.answers.clone()))),
    col!("dns.ttls", StrList, "TTLs of the answers, in seconds", |e, _| dns(e)
        .map_or(Value::Null, |d| Value::List(d.ttls.iter().map(u32::to_string).collect()))),
    col!("dns.rtt", Float, "Seconds between query and response", |e, _| dns(e)
        .and_then(|d| d.rtt)
        .map_or(Value::Null, |r| Value::Float(r as f64 / 1e9))),
    col!("dns.anomalies", StrList, "Protocol anomalies (pointer_loop, name_too_long, …)", |e, _| dns(e)
        .map_or(Value::Null, |d| Value::List(d.anomalies.to_vec()))),
    col!("http.request.method", Str, "HTTP method", |e, _| http(e).map_or(Value::Null, |h| if h.method.is_empty() {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(&h.method))
    })),
    col!("url.domain", Str, "HTTP Host header", |e, _| s(http(e).and_then(|h| h.host.as_deref()))),
    col!("url.original", Str, "Request URI as sent", |e, _| http(e).map_or(Value::Null, |h| if h.uri.is_empty() {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(&h.uri))
    })),
    col!("http.version", Str, "HTTP version", |e, _| http(e).map_or(Value::Null, |h| if h.version.is_empty() {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(&h.version))
    })),
    col!("user_agent.original", Str, "User-Agent header", |e, _| s(http(e).and_then(|h| h.user_agent.as_deref()))),
    col!("http.request.referrer", Str, "Referer header", |e, _| s(http(e).and_then(|h| h.referrer.as_deref()))),
    col!("http.request.mime_type", Str, "Request Content-Type", |e, _| s(
        http(e).and_then(|h| h.request_content_type.as_deref())
    )),
    col!("http.request.body.bytes", UInt, "Request body length (de-chunked)", |e, _| opt_u(
        http(e).map(|h| h.request_body_len)
    )),
    col!(
        "http.request.body.type",
        Str,
        "Request body type from its first bytes (elf, pe, zip, script, …)",
        |e, _| s(http(e).and_then(|h| h.request_body_type.as_deref()))
    ),
    col!("http.response.status_code", UInt, "Response status", |e, _| opt_u(
        http(e).and_then(|h| h.status.map(u64::from))
    )),
    col!("http.response.mime_type", Str, "Response Content-Type", |e, _| s(
        http(e).and_then(|h| h.response_content_type.as_deref())
    )),
    col!("http.response.body.bytes", UInt, "Response body length (de-chunked)", |e, _| opt_u(
        http(e).map(|h| h.response_body_len)
    )),
    col!("http.response.body.type", Str, "Response body type from its first bytes", |e, _| s(
        http(e).and_then(|h| h.response_body_type.as_deref())
    )),
    col!("http.anomalies", StrList, "HTTP parsing anomalies", |e, _| http(e)
        .map_or(Value::Null, |h| Value::List(h.anomalies.to_vec()))),
    col!("tls.client.server_name", Str, "SNI of the ClientHello", |e, _| s(
        tls(e).and_then(|t| t.server_name.as_deref())
    )),
    col!("tls.client.alpn", StrList, "ALPN protocols offered", |e, _| tls(e)
        .map_or(Value::Null, |t| Value::List(t.alpn.clone()))),
    col!("tls.client.ja3", Str, "JA3 hash of the ClientHello", |e, _| s(tls(e).and_then(|t| t.ja3.as_deref()))),
    col!("tls.client.ja4", Str, "JA4 of the ClientHello", |e, _| s(tls(e).and_then(|t| t.ja4.as_deref()))),
    col!("tls.server.ja3s", Str, "JA3S hash of the ServerHello", |e, _| s(tls(e).and_then(|t| t.ja3s.as_deref()))),
    col!("tls.server.ja4s", Str, "JA4S of the ServerHello", |e, _| s(tls(e).and_then(|t| t.ja4s.as_deref()))),
    col!("tls.version", Str, "Negotiated version (Zeek spelling, e.g. TLSv13)", |e, _| s(
        tls(e).and_then(|t| t.version.as_deref())
    )),
    col!("tls.cipher", Str, "Negotiated cipher suite", |e, _| s(tls(e).and_then(|t| t.cipher.as_deref()))),
    col!("tls.next_protocol", Str, "ALPN protocol chosen by the server", |e, _| s(
        tls(e).and_then(|t| t.server_alpn.as_deref())
    )),
    col!("ssh.client", Str, "SSH client identification string", |e, _| s(ssh(e).and_then(|x| x.client.as_deref()))),
    col!("ssh.server", Str, "SSH server identification string", |e, _| s(ssh(e).and_then(|x| x.server.as_deref()))),
    col!("stratum.methods", StrList, "Stratum methods the client called", |e, _| stratum(e)
        .map_or(Value::Null, |x| Value::List(x.methods.clone()))),
    col!("stratum.login", Str, "Wallet / worker login", |e, _| s(stratum(e).and_then(|x| x.login.as_deref()))),
    col!("stratum.agent", Str, "Miner software", |e, _| s(stratum(e).and_then(|x| x.agent.as_deref()))),
    col!("dhcp.message_type", Str, "DISCOVER, OFFER, REQUEST, ACK, NAK, RELEASE, INFORM, …", |e, _| s(
        dhcp(e).map(|x| x.message_type.as_str())
    )),
    col!("dhcp.client_mac", Str, "Client hardware address in the message", |e, _| s(
        dhcp(e).and_then(|x| x.client_mac.as_deref())
    )),
    col!("dhcp.hostname", Str, "Host name (option 12) or client FQDN (option 81)", |e, _| s(
        dhcp(e).and_then(|x| x.host_name.as_deref())
    )),
    col!("dhcp.requested_ip", Str, "Address the client asked for or holds", |e, _| dhcp(e)
        .and_then(|x| x.requested_ip)
        .map_or(Value::Null, Value::Ip)),
    col!("dhcp.assigned_ip", Str, "Address the server gave", |e, _| dhcp(e)
        .and_then(|x| x.assigned_ip)
        .map_or(Value::Null, Value::Ip)),
    col!("dhcp.server", Str, "Server identifier (option 54)", |e, _| dhcp(e)
        .and_then(|x| x.server_id)
        .map_or(Value::Null, Value::Ip)),
    col!("dhcp.lease", UInt, "Lease time in seconds", |e, _| opt_u(dhcp(e).and_then(|x| x.lease_secs).map(u64::from))),
    col!("dhcp.vendor_class", Str, "Vendor class (option 60)", |e, _| s(dhcp(e).and_then(|x| x.vendor_class.as_deref()))),
    col!("event.module", Str, "Endpoint log: sysmon, security, system, powershell, evtx (other channels), auditd", |e, _| s(
        endpoint(e).map(|x| x.source.as_str())
    )),
    col!("event.action", Str, "What an endpoint event records (process-start, logon-failed, …)", |e, _| s(
        endpoint(e).map(|x| x.action)
    )),
    col!("event.code", Str, "EVTX event id, or audit record type (SYSCALL:connect)", |e, _| s(
        endpoint(e).map(|x| x.code.as_str())
    )),
    col!("event.outcome", Str, "success or failure, when the record says", |e, _| s(endpoint(e).and_then(|x| x.outcome))),
    col!("event.provider", Str, "EVTX provider", |e, _| s(endpoint(e).and_then(|x| x.provider.as_deref()))),
    col!("winlog.channel", Str, "EVTX channel", |e, _| s(endpoint(e).and_then(|x| x.channel.as_deref()))),
    col!("event.created", Time, "When the record was written, where that differs from @timestamp", |e, _| endpoint(e)
        .and_then(|x| x.written)
        .map_or(Value::Null, Value::Time)),
    col!("process.pid", UInt, "Process id", |e, _| opt_u(process(e).and_then(|p| p.pid))),
    col!("process.entity_id", Str, "Unique process id (Sysmon ProcessGuid)", |e, _| s(
        process(e).and_then(|p| p.entity_id.as_deref())
    )),
    col!("process.executable", Str, "Process image path", |e, _| s(process(e).and_then(|p| p.executable.as_deref()))),
    col!("process.command_line", Str, "Process command line", |e, _| s(
        process(e).and_then(|p| p.command_line.as_deref())
    )),
    col!("process.user.name", Str, "Account the process runs as", |e, _| s(process(e).and_then(|p| p.user.as_deref()))),
    col!("process.parent.pid", UInt, "Parent process id", |e, _| opt_u(process(e).and_then(|p| p.parent_pid))),
    col!("process.parent.entity_id", Str, "Parent's unique process id", |e, _| s(
        process(e).and_then(|p| p.parent_entity_id.as_deref())
    )),
    col!("process.parent.executable", Str, "Parent image path", |e, _| s(
        process(e).and_then(|p| p.parent_executable.as_deref())
    )),
    col!("process.parent.command_line", Str, "Parent command line", |e, _| s(
        process(e).and_then(|p| p.parent_command_line.as_deref())
    )),
    col!("user.name", Str, "Account the event is about (logon target, created account, group member)", |e, _| s(
        endpoint(e).and_then(|x| x.user.as_deref())
    )),
    col!("user.id", Str, "SID or uid of user.name", |e, _| s(endpoint(e).and_then(|x| x.user_id.as_deref()))),
    col!("winlog.logon.type", UInt, "Windows logon type (2, 3, 10, …)", |e, _| opt_u(
        endpoint(e).and_then(|x| x.logon_type.map(u64::from))
    )),
    col!("winlog.logon.id", Str, "Logon session id, or audit session", |e, _| s(
        endpoint(e).and_then(|x| x.logon_id.as_deref())
    )),
    col!("file.path", Str, "File created or deleted, or module loaded", |e, _| target_of(
        e,
        &[EventKind::File, EventKind::Module]
    )),
    col!("registry.path", Str, "Registry key or value changed", |e, _| target_of(e, &[EventKind::Registry])),
    col!("service.name", Str, "Service installed or changed", |e, _| target_of(e, &[EventKind::Service])),
    col!("seam.target", Str, "What an endpoint event acted upon (path, key, service, task, name, group, filter)", |e, _| s(
        endpoint(e).and_then(|x| x.target.as_deref())
    )),
    col!("seam.details", Str, "A second detail of it (value, binary and start type, results, script)", |e, _| s(
        endpoint(e).and_then(|x| x.details.as_deref())
    )),
    col!("seam.clock_offset", Float, "Seconds subtracted from the log's time to put it on the capture's clock", |e, _| {
        endpoint(e).and_then(|x| x.clock_offset).map_or(Value::Null, |o| Value::Float(o as f64 / 1e9))
    }),
    col!("seam.carved", Bool, "EVTX record carved from unallocated log space (a cleared or overwritten chunk)", |e, _| {
        endpoint(e).filter(|x| x.carved).map_or(Value::Null, |_| Value::Bool(true))
    }),
    col!("winlog.event_data", Str, "Every EventData/UserData field of an EVTX record, flattened (JSON object)", |e, _| {
        endpoint(e).filter(|x| x.source.is_evtx()).map_or(Value::Null, |x| Value::Map(&x.data))
    }),
    col!("auditd.data", Str, "Every field of an audit event's records as RECORD.key (JSON object)", |e, _| {
        endpoint(e).filter(|x| !x.source.is_evtx()).map_or(Value::Null, |x| Value::Map(&x.data))
    }),
    col!("seam.attribution", Str, "For flows: how the process was joined, and the record that says so", |e, c| flow(e)
        .and_then(|f| f.process.as_ref())
        .map_or(Value::Null, |a| Value::Str(attribution_text(a, c).into()))),
    col!("seam.file", Str, "Evidence file the event came from", |e, c| s(c.file(e.provenance.file))),
    col!("seam.locator", Str, "What seam.position counts: packet, record or line", |e, _| Value::Str(
        e.provenance.locator.kind().into()
    )),
    col!("seam.position", UInt, "1-based packet index, record id or line number in seam.file", |e, _| Value::UInt(
        e.provenance.locator.value()
    )),
];

/// Columns of `seam flows` output (Zeek conn.log fields under ECS names).
pub const FLOW_COLUMNS: &[Column<FlowRecord>] = &[
    col!("@timestamp", Time, "First packet of the flow (UTC)", |f, _| Value::Time(f.start)),
    col!("flow.id", Str, "Deterministic flow id", |f, _| Value::Str(Cow::Borrowed(&f.id))),
    col!("source.ip", Str, "Originator address (Zeek id.orig_h)", |f, _| Value::Ip(f.orig_ip)),
    col!("source.port", UInt, "Originator port (ICMP: type)", |f, _| Value::UInt(u64::from(f.orig_port))),
    col!("destination.ip", Str, "Responder address (Zeek id.resp_h)", |f, _| Value::Ip(f.resp_ip)),
    col!("destination.port", UInt, "Responder port (ICMP: code)", |f, _| Value::UInt(u64::from(f.resp_port))),
    col!("network.transport", Str, "tcp, udp, icmp, ipv6-icmp or ip-N", |f, _| Value::Str(f.transport.name().into())),
    col!("network.protocol", Str, "Services recognised from content, comma-separated (Zeek service)", |f, _| if f
        .services
        .is_empty()
    {
        Value::Null
    } else {
        Value::Str(f.service_string().into())
    }),
    col!("flow.duration", Float, "Seconds from first to last packet", |f, _| Value::Float(f.duration() as f64 / 1e9)),
    col!("source.bytes", UInt, "Originator payload bytes (TCP: from sequence numbers)", |f, _| Value::UInt(
        f.orig.bytes
    )),
    col!("destination.bytes", UInt, "Responder payload bytes", |f, _| Value::UInt(f.resp.bytes)),
    col!("flow.conn_state", Str, "Zeek connection state", |f, _| Value::Str(f.conn_state.as_str().into())),
    col!("flow.history", Str, "Zeek history letters", |f, _| if f.history.is_empty() {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(&f.history))
    }),
    col!("flow.missed_bytes", UInt, "Bytes lost to capture gaps in reassembled streams", |f, _| Value::UInt(
        f.missed_bytes
    )),
    col!("source.packets", UInt, "Originator packets", |f, _| Value::UInt(f.orig.packets)),
    col!("flow.orig_ip_bytes", UInt, "Originator IP bytes", |f, _| Value::UInt(f.orig.ip_bytes)),
    col!("destination.packets", UInt, "Responder packets", |f, _| Value::UInt(f.resp.packets)),
    col!("flow.resp_ip_bytes", UInt, "Responder IP bytes", |f, _| Value::UInt(f.resp.ip_bytes)),
    col!("network.community_id", Str, "Community ID v1", |f, _| Value::Str(Cow::Borrowed(&f.community_id))),
    col!("network.vlan.id", UInt, "Outer VLAN id", |f, _| opt_u(f.vlan.map(u64::from))),
    col!("source.mac", Str, "Source MAC of the originator's first frame", |f, _| mac(f.orig_mac)),
    col!("destination.mac", Str, "Source MAC of the responder's first frame", |f, _| mac(f.resp_mac)),
    col!("event.end", Time, "Last packet of the flow (UTC)", |f, _| Value::Time(f.end)),
    col!("host.name", Str, "Host whose process made the flow, as its endpoint log names it", |f, _| s(f
        .process
        .as_ref()
        .and_then(|a| a.host.as_deref()))),
    col!("process.pid", UInt, "Process that made the flow (from an endpoint log)", |f, _| opt_u(
        f.process.as_ref().and_then(|a| a.process.pid)
    )),
    col!("process.entity_id", Str, "Its unique process id (Sysmon ProcessGuid)", |f, _| s(f
        .process
        .as_ref()
        .and_then(|a| a.process.entity_id.as_deref()))),
    col!("process.executable", Str, "Its image path", |f, _| s(f
        .process
        .as_ref()
        .and_then(|a| a.process.executable.as_deref()))),
    col!("process.command_line", Str, "Its command line, when the attributing record has it", |f, _| s(f
        .process
        .as_ref()
        .and_then(|a| a.process.command_line.as_deref()))),
    col!("process.user.name", Str, "Account it ran as", |f, _| s(f
        .process
        .as_ref()
        .and_then(|a| a.process.user.as_deref()))),
    col!("seam.attribution", Str, "How the process was joined to the flow, and the record that says so", |f, c| f
        .process
        .as_ref()
        .map_or(Value::Null, |a| Value::Str(attribution_text(a, c).into()))),
    col!("seam.file", Str, "Capture file", |f, c| s(c.file(f.file))),
    col!("seam.first_packet", UInt, "1-based index of the flow's first packet in seam.file", |f, _| Value::UInt(
        f.first_packet
    )),
    col!("seam.last_packet", UInt, "1-based index of the flow's last packet", |f, _| Value::UInt(f.last_packet)),
];

/// `community-id: sysmon record 1743 of logs/ws1.evtx`.
fn attribution_text(a: &crate::model::Attribution, c: &RowCtx) -> String {
    format!(
        "{}: {} {} {} of {}",
        a.method,
        a.source.as_str(),
        a.evidence.locator.kind(),
        a.evidence.locator.value(),
        c.file(a.evidence.file).unwrap_or("?")
    )
}

/// A row as a nested JSON object (dotted names become nested objects; nulls are left out).
pub fn row_json<T>(row: &T, cols: &[Column<T>], ctx: &RowCtx) -> Json {
    let mut root = serde_json::Map::new();
    for col in cols {
        let Some(v) = (col.get)(row, ctx).to_json() else { continue };
        insert_dotted(&mut root, col.name, v);
    }
    Json::Object(root)
}

fn insert_dotted(root: &mut serde_json::Map<String, Json>, name: &str, v: Json) {
    if name.starts_with('@') {
        root.insert(name.to_string(), v);
        return;
    }
    let mut parts = name.split('.').peekable();
    let mut map = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            map.insert(part.to_string(), v);
            return;
        }
        let entry = map.entry(part.to_string()).or_insert_with(|| Json::Object(serde_json::Map::new()));
        if !entry.is_object() {
            // A leaf and a group share a name: keep the leaf under `value`.
            let leaf = std::mem::replace(entry, Json::Object(serde_json::Map::new()));
            if let Json::Object(m) = entry {
                m.insert("value".into(), leaf);
            }
        }
        let Json::Object(next) = entry else { return };
        map = next;
    }
}

/// A row as a flat JSON object with dotted keys (Timesketch).
pub fn row_flat_json<T>(row: &T, cols: &[Column<T>], ctx: &RowCtx) -> serde_json::Map<String, Json> {
    cols.iter().filter_map(|c| (c.get)(row, ctx).to_json().map(|v| (c.name.to_string(), v))).collect()
}

fn human_bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n}B"),
        10_000..=9_999_999 => format!("{:.1}kB", n as f64 / 1e3),
        10_000_000..=9_999_999_999 => format!("{:.1}MB", n as f64 / 1e6),
        _ => format!("{:.1}GB", n as f64 / 1e9),
    }
}

/// One-line summary of an event.
pub fn message(e: &Event) -> String {
    let ends = e.net.as_ref().map(|n| {
        let a = endpoint_text(n.src_ip, n.src_port);
        let b = endpoint_text(n.dst_ip, n.dst_port);
        format!("{a} → {b}")
    });
    let ends = ends.unwrap_or_default();
    match &e.fields {
        Fields::Flow(f) => format!(
            "{} {} {} {}s {}/{}{}",
            f.transport.name(),
            ends,
            f.conn_state.as_str(),
            format_args!("{:.1}", f.duration() as f64 / 1e9),
            human_bytes(f.orig.bytes),
            human_bytes(f.resp.bytes),
            if f.services.is_empty() { String::new() } else { format!(" {}", f.service_string()) }
        ),
        Fields::Dns(d) => {
            let answer = match (&d.rcode_name, d.answers.is_empty()) {
                (None, _) => " (no response)".to_string(),
                (Some(r), true) => format!(" → {r}"),
                (Some(_), false) => format!(" → {}", d.answers.join(", ")),
            };
            format!("dns {} {}{}", d.qtype_name, d.query, answer)
        }
        Fields::Http(h) => {
            let status = h.status.map_or("no response".to_string(), |s| s.to_string());
            let body = h.response_body_type.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default();
            format!(
                "http {} {}{} → {} {}{}",
                h.method,
                h.host.as_deref().unwrap_or(""),
                h.uri,
                status,
                human_bytes(h.response_body_len),
                body
            )
        }
        Fields::Tls(t) => format!(
            "tls {} {} {}",
            ends,
            t.server_name.as_deref().unwrap_or("(no sni)"),
            t.version.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string(),
        Fields::Ssh(x) => {
            format!("ssh {} {} / {}", ends, x.client.as_deref().unwrap_or("-"), x.server.as_deref().unwrap_or("-"))
        }
        Fields::Stratum(x) => format!("stratum {} {} {}", ends, x.methods.join(","), x.agent.as_deref().unwrap_or(""))
            .trim_end()
            .to_string(),
        Fields::Dhcp(x) => {
            let mut m = format!("dhcp {} {}", ends, x.message_type);
            if let Some(ip) = x.assigned_ip.or(x.requested_ip) {
                m.push_str(&format!(" {ip}"));
            }
            if let Some(name) = &x.host_name {
                m.push_str(&format!(" host {name}"));
            }
            if let Some(mac) = &x.client_mac {
                m.push_str(&format!(" mac {mac}"));
            }
            m
        }
        Fields::Endpoint(x) => endpoint_message(e, x, &ends),
        Fields::Generic(m) => format!(
            "{} {}",
            e.kind.as_str(),
            m.iter().take(4).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// Appends `text` on one line (controls as spaces), cut to its first `n` characters and an
/// ellipsis when it has more.
fn clip_into(text: &str, n: usize, line: &mut String) {
    // A text of at most n bytes has at most n characters; a longer one is cut before its
    // character n, if it has one.
    let cut = if text.len() <= n { None } else { text.char_indices().nth(n).map(|(at, _)| at) };
    let head = text.get(..cut.unwrap_or(text.len())).unwrap_or(text);
    line.reserve(head.len() + if cut.is_some() { '…'.len_utf8() } else { 0 });
    if head.chars().any(char::is_control) {
        line.extend(head.chars().map(|c| if c.is_control() { ' ' } else { c }));
    } else {
        line.push_str(head);
    }
    if cut.is_some() {
        line.push('…');
    }
}

fn endpoint_message(e: &Event, x: &crate::model::EndpointFields, ends: &str) -> String {
    let mut m = Words::default();
    m.push(x.action);
    let p = e.process.as_ref();
    let exe = p.and_then(|p| p.executable.as_deref());
    match e.kind {
        EventKind::Process => {
            if let Some(cmd) = p.and_then(|p| p.command_line.as_deref()).or(exe) {
                m.push_clipped("", cmd, 160);
            }
            if let Some(pid) = p.and_then(|p| p.pid) {
                m.push_fmt(format_args!("pid {pid}"));
            }
            if let Some(parent) = p.and_then(|p| p.parent_executable.as_deref()) {
                m.push_clipped("← ", parent, 80);
            }
        }
        EventKind::Connection => {
            m.push(ends);
            if let Some(t) = x.target.as_deref() {
                m.push_fmt(format_args!("({t})"));
            }
            if let Some(t) = exe {
                m.push_clipped("", t, 80);
            }
        }
        EventKind::Logon => {
            if let Some(u) = x.user.as_deref().or_else(|| p.and_then(|p| p.user.as_deref())) {
                m.push(u);
            }
            if let Some(t) = x.logon_type {
                m.push_fmt(format_args!("type {t}"));
            }
            if let Some(t) = x.target.as_deref() {
                m.push_fmt(format_args!("to {t}"));
            }
            match (x.source_ip, x.source_host.as_deref()) {
                (Some(ip), _) => m.push_fmt(format_args!("from {ip}")),
                (None, Some(host)) => m.push_fmt(format_args!("from {host}")),
                (None, None) => {}
            }
        }
        EventKind::Generic => {
            m = Words::default();
            m.push_fmt(format_args!("{} {}", x.channel.as_deref().unwrap_or(x.source.as_str()), x.code));
            for (k, v) in x.data.iter().take(4) {
                m.push_clipped(&format!("{k}="), v, 40);
            }
        }
        _ => {
            if let Some(u) = x.user.as_deref() {
                m.push(u);
            }
            if let Some(t) = x.target.as_deref() {
                m.push_clipped("", t, 120);
            }
            if let Some(d) = x.details.as_deref() {
                m.push_clipped("", d, 80);
            }
            m.push(ends);
            let by = if e.kind != EventKind::ProcessAccess || x.target.is_none() { "by " } else { "from " };
            if let Some(t) = exe {
                m.push_clipped(by, t, 80);
            }
        }
    }
    m.0
}

/// A message built a word group at a time: each non-empty one is appended after a space, as
/// joining the non-empty parts with spaces would, without a string per part.
#[derive(Default)]
struct Words(String);

impl Words {
    fn push(&mut self, part: &str) {
        if part.is_empty() {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(part);
    }

    fn push_fmt(&mut self, part: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        let before = self.0.len();
        if before > 0 {
            self.0.push(' ');
        }
        let start = self.0.len();
        let _ = self.0.write_fmt(part);
        if self.0.len() == start {
            self.0.truncate(before);
        }
    }

    /// `prefix` and `text` clipped to `n` characters (see [`clip_into`]), as one part.
    fn push_clipped(&mut self, prefix: &str, text: &str, n: usize) {
        if prefix.is_empty() && text.is_empty() {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(prefix);
        clip_into(text, n, &mut self.0);
    }
}

/// What `timestamp_desc` says for an event kind in Timesketch output.
pub fn timestamp_desc(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Flow => "Flow Start",
        EventKind::Dns => "DNS Query",
        EventKind::Http => "HTTP Request",
        EventKind::Tls => "TLS Handshake",
        EventKind::Ssh => "SSH Handshake",
        EventKind::Stratum => "Stratum Session",
        EventKind::Dhcp => "DHCP Message",
        EventKind::Process => "Process Event",
        EventKind::Logon => "Logon Event",
        _ => "Event Time",
    }
}

/// Seconds since the epoch with microseconds, as Zeek writes ts.
pub fn zeek_ts(ts: i64) -> f64 {
    epoch_secs(ts)
}

/// Columns of `seam inventory` output.
pub const INVENTORY_COLUMNS: &[Column<crate::model::InventoryEntry>] = &[
    col!("file.path", Str, "Path of the evidence file", |r, _| Value::Str(Cow::Borrowed(&r.path))),
    col!("seam.kind", Str, "Kind identified from content: pcap, pcapng, evtx, auditd, unknown", |r, _| Value::Str(
        Cow::Borrowed(&r.kind)
    )),
    col!("seam.gzip", Bool, "Whether the file is gzip-compressed", |r, _| Value::Bool(r.gzip)),
    col!("file.size", UInt, "Size on disk in bytes", |r, _| Value::UInt(r.size)),
    col!("file.hash.sha256", Str, "SHA-256 of the file as stored", |r, _| s(r.sha256.as_deref())),
    col!("seam.first", Time, "Earliest record time", |r, _| r.first_ts.map_or(Value::Null, Value::Time)),
    col!("seam.last", Time, "Latest record time", |r, _| r.last_ts.map_or(Value::Null, Value::Time)),
    col!("seam.records", UInt, "Records read (packets, event records, lines)", |r, _| opt_u(r.records)),
    col!("seam.problems", UInt, "Input problems found (see diagnostics)", |r, _| Value::UInt(r.problems)),
    col!("seam.notes", Str, "Format details (link types, …)", |r, _| if r.notes.is_empty() {
        Value::Null
    } else {
        Value::Str(Cow::Borrowed(&r.notes))
    }),
    col!(
        "seam.clock_offset",
        Float,
        "An endpoint log's clock minus the capture's, in seconds (subtracted from its times)",
        |r, _| r.clock_offset.map_or(Value::Null, |o| Value::Float(o as f64 / 1e9))
    ),
];

/// Columns of `seam assets` output.
pub const ASSET_COLUMNS: &[Column<crate::model::Asset>] = &[
    col!("host.ip", Str, "Internal address", |a, _| Value::Ip(a.ip)),
    col!("host.name", StrList, "Names endpoint logs give the host at this address", |a, _| Value::List(
        a.names.clone()
    )),
    col!("host.mac", StrList, "Its own MAC addresses (router MACs left out)", |a, _| Value::List(a.macs.clone())),
    col!("seam.other_addresses", StrList, "The same host's other addresses (sharing a MAC)", |a, _| Value::List(
        a.other_addresses.iter().map(|i| i.to_string()).collect()
    )),
    col!("seam.managed", Bool, "Whether the bundle holds endpoint telemetry for the host", |a, _| Value::Bool(
        a.managed
    )),
    col!("seam.roles", StrList, "What its traffic suggests: dns-server, file-server, internet-facing, …", |a, _| {
        Value::List(a.roles.clone())
    }),
    col!("seam.first_seen", Time, "First flow involving it", |a, _| Value::Time(a.first_seen)),
    col!("seam.last_seen", Time, "Last packet of its last flow", |a, _| Value::Time(a.last_seen)),
    col!("seam.flows_out", UInt, "Flows it opened", |a, _| Value::UInt(a.flows_out)),
    col!("seam.flows_in", UInt, "Flows opened to it", |a, _| Value::UInt(a.flows_in)),
    col!("source.bytes", UInt, "Payload bytes it sent", |a, _| Value::UInt(a.bytes_out)),
    col!("destination.bytes", UInt, "Payload bytes it received", |a, _| Value::UInt(a.bytes_in)),
    col!("seam.peers", UInt, "Distinct addresses it talked with", |a, _| Value::UInt(a.peers)),
    col!("seam.telemetry_first", Time, "First endpoint event of the host (capture clock)", |a, _| a
        .telemetry_first
        .map_or(Value::Null, Value::Time)),
    col!("seam.telemetry_last", Time, "Last endpoint event of the host (capture clock)", |a, _| a
        .telemetry_last
        .map_or(Value::Null, Value::Time)),
    col!("seam.clock_offset", Float, "Its endpoint logs' clock minus the capture's, in seconds", |a, _| a
        .clock_offset
        .map_or(Value::Null, |o| Value::Float(o as f64 / 1e9))),
    col!("seam.telemetry", StrList, "Intervals its endpoint logs cover (start/end, capture clock)", |a, _| intervals(
        &a.telemetry
    )),
    col!("seam.active", StrList, "Intervals the capture shows it active (start/end)", |a, _| intervals(&a.active)),
    col!(
        "seam.silent_while_active",
        Float,
        "Managed hosts: seconds active on the network while their telemetry was silent",
        |a, _| a.silent_while_active.map_or(Value::Null, |s| Value::Float(s as f64 / 1e9))
    ),
];

fn intervals(spans: &[(i64, i64)]) -> Value<'static> {
    Value::List(spans.iter().map(|&(a, b)| format!("{}/{}", rfc3339(a), rfc3339(b))).collect())
}

#[cfg(test)]
mod tests {
    use super::{clip_into, Words};

    fn clip(text: &str, n: usize) -> String {
        let mut line = String::new();
        clip_into(text, n, &mut line);
        line
    }

    /// The plain definition: controls become spaces, and a text of more than `n` characters
    /// keeps its first `n` and an ellipsis.
    fn clip_by_chars(text: &str, n: usize) -> String {
        let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if line.chars().count() > n {
            format!("{}…", line.chars().take(n).collect::<String>())
        } else {
            line
        }
    }

    #[test]
    fn clipping_counts_characters_and_blanks_controls() {
        let texts = ["", "abc", "abcd", "abcde", "é€😀x", "ab\tc\nd", "a\u{85}bc\u{9f}", "\u{1b}[31mred", "ééééé", "é"];
        for text in texts {
            for n in 0..8 {
                assert_eq!(clip(text, n), clip_by_chars(text, n), "{text:?} {n}");
            }
        }
        assert_eq!(clip("C:\\Windows\\System32\\cmd.exe", 10), "C:\\Windows…");
    }

    /// Parts are joined by single spaces, and empty ones (formatted or not) leave no trace.
    #[test]
    fn message_words_skip_empty_parts() {
        let mut m = Words::default();
        m.push("");
        m.push_fmt(format_args!("{}", ""));
        m.push_clipped("", "", 10);
        assert_eq!(m.0, "");
        m.push_fmt(format_args!("pid {}", 7));
        m.push("");
        m.push_clipped("← ", "C:\\Windows\\explorer.exe", 10);
        m.push_fmt(format_args!("{}", ""));
        m.push_clipped("by ", "", 10);
        assert_eq!(m.0, "pid 7 ← C:\\Windows… by ");
    }
}
