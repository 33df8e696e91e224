//! Application records in the form timeline events carry them.
//!
//! The flow table converts each record as it is made, so that a capture's records wait for its
//! end holding only what events keep: not the decoders' raw lists, message offsets or body
//! prefixes. NetBIOS name-service queries get their names decoded here, as Zeek logs them.

use super::app::{AppRecord, At};
use super::table::FlowIdent;
use crate::decode::{dns, tls};
use crate::model::{DhcpFields, DnsFields, EventKind, Fields, HttpFields, SshFields, StratumFields, TlsFields};

/// A record of `flow` as an event's kind, position and fields, its strings moved.
pub fn record_fields(record: AppRecord, flow: &FlowIdent) -> (EventKind, At, Fields) {
    match record {
        AppRecord::Dns(d) => {
            let rtt = d.response_at.filter(|_| !d.anomalies.contains(&"response_only")).map(|r| r.ts - d.at.ts);
            // NetBIOS name service speaks DNS's format with encoded names: decoded, as Zeek does.
            let netbios =
                (flow.orig_port == 137 || flow.resp_port == 137).then(|| dns::netbios_name(&d.query)).flatten();
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
                    anomalies: anomalies.into(),
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
    }
}
