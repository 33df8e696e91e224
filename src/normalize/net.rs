//! Network mapper: flows and application records → events.

use crate::decode::{dns, tls};
use crate::flows::app::{AppRecord, At};
use crate::flows::{AppEvent, FlowIdent};
use crate::model::{
    DhcpFields, DnsFields, Event, EventKind, Fields, FlowRecord, HostRef, HttpFields, Locator, NetTuple, Provenance,
    SshFields, StratumFields, TlsFields,
};

/// A finished flow as a timeline event at its start.
pub fn flow_event(flow: &FlowRecord) -> Event {
    Event {
        ts: flow.start,
        kind: EventKind::Flow,
        host: flow.process.as_ref().and_then(|a| a.host.clone()).map(|name| HostRef { name: Some(name), ip: None }),
        net: Some(NetTuple {
            src_ip: flow.orig_ip,
            src_port: flow.orig_port,
            dst_ip: flow.resp_ip,
            dst_port: flow.resp_port,
            transport: flow.transport,
            community_id: flow.community_id.clone(),
            flow_id: Some(flow.id.clone()),
        }),
        process: flow.process.as_ref().map(|a| Box::new(a.process.clone())),
        provenance: Provenance { file: flow.file, locator: Locator::Packet(flow.first_packet) },
        fields: Fields::Flow(Box::new(flow.clone())),
    }
}

/// The flow's identity as an event's tuple: moved out when this record held the last
/// reference to it, shared (two reference counts raised) otherwise.
fn tuple(f: std::sync::Arc<FlowIdent>) -> NetTuple {
    let f = std::sync::Arc::unwrap_or_clone(f);
    NetTuple {
        src_ip: f.orig_ip,
        src_port: f.orig_port,
        dst_ip: f.resp_ip,
        dst_port: f.resp_port,
        transport: f.transport,
        community_id: f.community_id,
        flow_id: Some(f.id),
    }
}

/// An application record as a timeline event.
pub fn app_event(file: u32, app: &AppEvent) -> Event {
    app_event_owned(file, app.clone())
}

/// An application record as a timeline event, its strings moved rather than copied.
pub fn app_event_owned(file: u32, app: AppEvent) -> Event {
    let (kind, at, fields): (EventKind, At, Fields) = match app.record {
        AppRecord::Dns(d) => {
            let rtt = d.response_at.filter(|_| !d.anomalies.contains(&"response_only")).map(|r| r.ts - d.at.ts);
            // NetBIOS name service speaks DNS's format with encoded names: decoded, as Zeek does.
            let netbios =
                (app.flow.orig_port == 137 || app.flow.resp_port == 137).then(|| dns::netbios_name(&d.query)).flatten();
            let (query, netbios_suffix) = match netbios {
                Some((name, suffix)) => (name, Some(suffix)),
                None => (d.query, None),
            };
            (
                EventKind::Dns,
                d.at,
                Fields::Dns(Box::new(DnsFields {
                    transaction_id: d.id,
                    qtype_name: dns::qtype_name(d.qtype),
                    rcode_name: d.rcode.map(dns::rcode_name),
                    query,
                    netbios_suffix,
                    qtype: d.qtype,
                    rcode: d.rcode,
                    answers: d.answers,
                    addresses: d.addresses,
                    ttls: d.ttls,
                    rtt,
                    response_seen: d.response_at.is_some(),
                    anomalies: d.anomalies.iter().map(|s| s.to_string()).collect(),
                })),
            )
        }
        AppRecord::Http(h) => {
            let h = *h;
            let mut anomalies: Vec<String> =
                h.request.as_ref().map(|r| r.anomalies.iter().map(|s| s.to_string()).collect()).unwrap_or_default();
            anomalies.extend(
                h.response
                    .as_ref()
                    .map(|r| r.anomalies.iter().map(|s| format!("response:{s}")).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            let at = h.at;
            let (req, resp) = (h.request, h.response);
            let version = req
                .as_ref()
                .map(|r| r.version.clone())
                .or_else(|| resp.as_ref().map(|r| r.version.clone()))
                .unwrap_or_default();
            let (method, host, uri, user_agent, referrer, request_content_type, request_body_len, request_body_type) =
                match req {
                    Some(r) => (
                        r.method,
                        r.host,
                        r.uri,
                        r.user_agent,
                        r.referrer,
                        r.content_type,
                        r.body_len,
                        r.body_kind.map(|k| k.as_str().into()),
                    ),
                    None => Default::default(),
                };
            let (status, reason, response_content_type, response_body_len, response_body_type, server, location) =
                match resp {
                    Some(r) => (
                        Some(r.status),
                        Some(r.reason),
                        r.content_type,
                        r.body_len,
                        r.body_kind.map(|k| k.as_str().into()),
                        r.server,
                        r.location,
                    ),
                    None => Default::default(),
                };
            (
                EventKind::Http,
                at,
                Fields::Http(Box::new(HttpFields {
                    method,
                    host,
                    uri,
                    version,
                    user_agent,
                    referrer,
                    request_content_type,
                    request_body_len,
                    request_body_type,
                    status,
                    reason,
                    response_content_type,
                    response_body_len,
                    response_body_type,
                    server,
                    location,
                    anomalies,
                })),
            )
        }
        AppRecord::Tls(t) => {
            let t = *t;
            let client_version = t.client.as_ref().map(|c| tls::version_name(c.legacy_version));
            let (version, cipher) = match &t.server {
                Some(s) => (Some(tls::version_name(s.version)), Some(tls::cipher_name(s.cipher_suite))),
                None => (None, None),
            };
            let (server_name, alpn, ja3, ja4) = match t.client {
                Some(c) => (c.server_name, c.alpn, Some(c.ja3_hash), Some(c.ja4)),
                None => (None, Vec::new(), None, None),
            };
            let (ja3s, ja4s, server_alpn) = match t.server {
                Some(s) => (Some(s.ja3s_hash), Some(s.ja4s), s.alpn),
                None => (None, None, None),
            };
            (
                EventKind::Tls,
                t.at,
                Fields::Tls(Box::new(TlsFields {
                    server_name,
                    alpn,
                    client_version,
                    version,
                    cipher,
                    ja3,
                    ja4,
                    ja3s,
                    ja4s,
                    server_alpn,
                })),
            )
        }
        AppRecord::Ssh(s) => {
            (EventKind::Ssh, s.at, Fields::Ssh(Box::new(SshFields { client: s.client, server: s.server })))
        }
        AppRecord::Stratum(s) => {
            let mut methods: Vec<String> = Vec::new();
            for m in &s.messages {
                if !methods.contains(&m.method) {
                    methods.push(m.method.clone());
                }
            }
            (
                EventKind::Stratum,
                s.at,
                Fields::Stratum(Box::new(StratumFields {
                    methods,
                    login: s.messages.iter().find_map(|m| m.login.clone()),
                    agent: s.messages.iter().find_map(|m| m.agent.clone()),
                })),
            )
        }
        AppRecord::Dhcp(d) => {
            let m = d.message;
            let some_ip = |a: std::net::Ipv4Addr| (!a.is_unspecified()).then_some(std::net::IpAddr::V4(a));
            (
                EventKind::Dhcp,
                d.at,
                Fields::Dhcp(Box::new(DhcpFields {
                    message_type: m.type_name().to_string(),
                    transaction_id: m.xid,
                    client_mac: m.chaddr.map(crate::util::net::mac_text),
                    requested_ip: m.requested_ip.and_then(some_ip).or_else(|| some_ip(m.ciaddr)),
                    assigned_ip: if m.op == 2 { some_ip(m.yiaddr) } else { None },
                    server_id: m.server_id.and_then(some_ip),
                    lease_secs: m.lease_secs,
                    host_name: m.host_name.or(m.fqdn),
                    vendor_class: m.vendor_class,
                })),
            )
        }
    };
    Event {
        ts: at.ts,
        kind,
        host: None,
        net: Some(tuple(app.flow)),
        process: None,
        provenance: Provenance { file, locator: Locator::Packet(at.packet) },
        fields,
    }
}
