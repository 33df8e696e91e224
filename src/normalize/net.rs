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
        process: flow.process.as_ref().map(|a| a.process.clone()),
        provenance: Provenance { file: flow.file, locator: Locator::Packet(flow.first_packet) },
        fields: Fields::Flow(Box::new(flow.clone())),
    }
}

fn tuple(f: &FlowIdent) -> NetTuple {
    NetTuple {
        src_ip: f.orig_ip,
        src_port: f.orig_port,
        dst_ip: f.resp_ip,
        dst_port: f.resp_port,
        transport: f.transport,
        community_id: f.community_id.clone(),
        flow_id: Some(f.id.clone()),
    }
}

/// An application record as a timeline event.
pub fn app_event(file: u32, app: &AppEvent) -> Event {
    let (kind, at, fields): (EventKind, At, Fields) = match &app.record {
        AppRecord::Dns(d) => (
            EventKind::Dns,
            d.at,
            Fields::Dns(DnsFields {
                transaction_id: d.id,
                query: d.query.clone(),
                qtype: d.qtype,
                qtype_name: dns::qtype_name(d.qtype).into_owned(),
                rcode: d.rcode,
                rcode_name: d.rcode.map(|r| dns::rcode_name(r).into_owned()),
                answers: d.answers.clone(),
                ttls: d.ttls.clone(),
                rtt: d.response_at.filter(|_| !d.anomalies.contains(&"response_only")).map(|r| r.ts - d.at.ts),
                response_seen: d.response_at.is_some(),
                anomalies: d.anomalies.iter().map(|s| s.to_string()).collect(),
            }),
        ),
        AppRecord::Http(h) => {
            let req = h.request.as_ref();
            let resp = h.response.as_ref();
            let mut anomalies: Vec<String> =
                req.map(|r| r.anomalies.iter().map(|s| s.to_string()).collect()).unwrap_or_default();
            anomalies.extend(
                resp.map(|r| r.anomalies.iter().map(|s| format!("response:{s}")).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            (
                EventKind::Http,
                h.at,
                Fields::Http(Box::new(HttpFields {
                    method: req.map(|r| r.method.clone()).unwrap_or_default(),
                    host: req.and_then(|r| r.host.clone()),
                    uri: req.map(|r| r.uri.clone()).unwrap_or_default(),
                    version: req
                        .map(|r| r.version.clone())
                        .or_else(|| resp.map(|r| r.version.clone()))
                        .unwrap_or_default(),
                    user_agent: req.and_then(|r| r.user_agent.clone()),
                    referrer: req.and_then(|r| r.referrer.clone()),
                    request_content_type: req.and_then(|r| r.content_type.clone()),
                    request_body_len: req.map_or(0, |r| r.body_len),
                    request_body_type: req.and_then(|r| r.body_kind).map(|k| k.as_str().to_string()),
                    status: resp.map(|r| r.status),
                    reason: resp.map(|r| r.reason.clone()),
                    response_content_type: resp.and_then(|r| r.content_type.clone()),
                    response_body_len: resp.map_or(0, |r| r.body_len),
                    response_body_type: resp.and_then(|r| r.body_kind).map(|k| k.as_str().to_string()),
                    server: resp.and_then(|r| r.server.clone()),
                    location: resp.and_then(|r| r.location.clone()),
                    anomalies,
                })),
            )
        }
        AppRecord::Tls(t) => {
            let c = t.client.as_ref();
            let s = t.server.as_ref();
            (
                EventKind::Tls,
                t.at,
                Fields::Tls(Box::new(TlsFields {
                    server_name: c.and_then(|c| c.server_name.clone()),
                    alpn: c.map(|c| c.alpn.clone()).unwrap_or_default(),
                    client_version: c.map(|c| tls::version_name(c.legacy_version).into_owned()),
                    version: s.map(|s| tls::version_name(s.version).into_owned()),
                    cipher: s.map(|s| tls::cipher_name(s.cipher_suite).into_owned()),
                    ja3: c.map(|c| c.ja3_hash.clone()),
                    ja4: c.map(|c| c.ja4.clone()),
                    ja3s: s.map(|s| s.ja3s_hash.clone()),
                    ja4s: s.map(|s| s.ja4s.clone()),
                    server_alpn: s.and_then(|s| s.alpn.clone()),
                })),
            )
        }
        AppRecord::Ssh(s) => {
            (EventKind::Ssh, s.at, Fields::Ssh(SshFields { client: s.client.clone(), server: s.server.clone() }))
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
                Fields::Stratum(StratumFields {
                    methods,
                    login: s.messages.iter().find_map(|m| m.login.clone()),
                    agent: s.messages.iter().find_map(|m| m.agent.clone()),
                }),
            )
        }
        AppRecord::Dhcp(d) => {
            let m = &d.message;
            let some_ip = |a: std::net::Ipv4Addr| (!a.is_unspecified()).then_some(std::net::IpAddr::V4(a));
            (
                EventKind::Dhcp,
                d.at,
                Fields::Dhcp(Box::new(DhcpFields {
                    message_type: m.type_name().to_string(),
                    transaction_id: m.xid,
                    client_mac: m.chaddr.map(crate::util::net::mac_text),
                    host_name: m.host_name.clone().or_else(|| m.fqdn.clone()),
                    requested_ip: m.requested_ip.and_then(some_ip).or_else(|| some_ip(m.ciaddr)),
                    assigned_ip: if m.op == 2 { some_ip(m.yiaddr) } else { None },
                    server_id: m.server_id.and_then(some_ip),
                    lease_secs: m.lease_secs,
                    vendor_class: m.vendor_class.clone(),
                })),
            )
        }
    };
    Event {
        ts: at.ts,
        kind,
        host: None,
        net: Some(tuple(&app.flow)),
        process: None,
        provenance: Provenance { file, locator: Locator::Packet(at.packet) },
        fields,
    }
}
