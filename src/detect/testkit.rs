#![allow(clippy::too_many_arguments)]
//! Building blocks for detector unit tests: flows and events made in code, with the timing
//! and sizes visible in the test, and a runner that learns the baseline and finishes findings
//! the way `seam hunt` does.

use super::{finish, Baseline, DetectCtx, DetectInput, Detector, Finding, Thresholds};
use crate::model::{
    ConnState, DirStats, DnsFields, Event, EventKind, Fields, FlowRecord, HttpFields, Locator, NetTuple, Provenance,
    Service, StratumFields, TlsFields, Transport,
};
use crate::util::net::InternalNets;
use std::net::IpAddr;

pub const SEC: i64 = 1_000_000_000;
/// 2024-03-01T00:00:00Z, the start of every test bundle.
pub const T0: i64 = 1_709_251_200 * SEC;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// A bundle under construction.
#[derive(Default)]
pub struct Bundle {
    pub flows: Vec<FlowRecord>,
    pub events: Vec<Event>,
    pub assets: Vec<crate::model::Asset>,
}

impl Bundle {
    /// A TCP flow `orig → resp:port` starting `at` seconds after [`T0`], lasting `secs`, with
    /// `out`/`back` payload bytes; state SF. Returns its index for further changes.
    pub fn tcp(&mut self, orig: &str, resp: &str, port: u16, at: f64, secs: f64, out: u64, back: u64) -> usize {
        self.flow(orig, resp, port, Transport::Tcp, at, secs, out, back)
    }

    pub fn udp(&mut self, orig: &str, resp: &str, port: u16, at: f64, secs: f64, out: u64, back: u64) -> usize {
        self.flow(orig, resp, port, Transport::Udp, at, secs, out, back)
    }

    pub fn flow(
        &mut self,
        orig: &str,
        resp: &str,
        port: u16,
        transport: Transport,
        at: f64,
        secs: f64,
        out: u64,
        back: u64,
    ) -> usize {
        let n = self.flows.len() as u64;
        let start = T0 + (at * SEC as f64) as i64;
        self.flows.push(FlowRecord {
            id: format!("C{n}").into(),
            start,
            end: start + (secs * SEC as f64) as i64,
            orig_ip: ip(orig),
            orig_port: 40_000 + (n % 20_000) as u16,
            resp_ip: ip(resp),
            resp_port: port,
            transport,
            services: Vec::new(),
            orig: DirStats { bytes: out, packets: 1 + out / 1000, ip_bytes: out + 40 },
            resp: DirStats { bytes: back, packets: 1 + back / 1000, ip_bytes: back + 40 },
            conn_state: ConnState::SF,
            history: "ShADadFf".into(),
            missed_bytes: 0,
            community_id: format!("1:test{n}").into(),
            vlan: None,
            orig_mac: None,
            resp_mac: None,
            file: 0,
            first_packet: 10 * n + 1,
            last_packet: 10 * n + 9,
            process: None,
        });
        self.flows.len() - 1
    }

    pub fn service(&mut self, flow: usize, s: Service) {
        self.flows[flow].services.push(s);
    }

    fn app(&mut self, flow: usize, kind: EventKind, fields: Fields) -> &mut Event {
        let f = &self.flows[flow];
        self.events.push(Event {
            ts: f.start,
            kind,
            host: None,
            net: Some(NetTuple {
                src_ip: f.orig_ip,
                src_port: f.orig_port,
                dst_ip: f.resp_ip,
                dst_port: f.resp_port,
                transport: f.transport,
                community_id: f.community_id.clone(),
                flow_id: Some(f.id.clone()),
            }),
            process: None,
            provenance: Provenance { file: 0, locator: Locator::Packet(f.first_packet + 1) },
            fields,
        });
        self.events.last_mut().expect("just pushed")
    }

    /// A DNS query for `name` (type `qtype`: "A", "TXT", …) from `client` to `server` at `at`
    /// seconds, answered with `answers`; creates its UDP flow.
    pub fn dns(&mut self, client: &str, server: &str, at: f64, name: &str, qtype: &str, answers: &[&str]) -> usize {
        let f = self.udp(client, server, 53, at, 0.02, 30 + name.len() as u64, 60 + 20 * answers.len() as u64);
        self.service(f, Service::Dns);
        let code = match qtype {
            "A" => 1,
            "NS" => 2,
            "CNAME" => 5,
            "NULL" => 10,
            "PTR" => 12,
            "MX" => 15,
            "TXT" => 16,
            "AAAA" => 28,
            _ => 255,
        };
        self.app(
            f,
            EventKind::Dns,
            Fields::Dns(Box::new(DnsFields {
                transaction_id: f as u16,
                query: name.into(),
                qtype: code,
                qtype_name: qtype.to_string().into(),
                rcode: Some(0),
                rcode_name: Some("NOERROR".into()),
                answers: answers.iter().map(|s| s.to_string()).collect(),
                addresses: answers.iter().filter_map(|s| s.parse().ok()).collect(),
                ttls: answers.iter().map(|_| 60).collect(),
                rtt: Some(20_000_000),
                response_seen: true,
                anomalies: Box::default(),
                netbios_suffix: None,
            })),
        );
        f
    }

    /// An HTTP exchange on flow `flow`; the returned fields can be adjusted.
    pub fn http(&mut self, flow: usize, method: &str, host: &str, uri: &str) -> &mut HttpFields {
        self.service(flow, Service::Http);
        let e = self.app(
            flow,
            EventKind::Http,
            Fields::Http(Box::new(HttpFields {
                method: method.into(),
                host: Some(host.into()),
                uri: uri.into(),
                version: "1.1".into(),
                user_agent: Some("Mozilla/5.0".into()),
                referrer: None,
                request_content_type: None,
                request_body_len: 0,
                request_body_type: None,
                status: Some(200),
                reason: Some("OK".into()),
                response_content_type: None,
                response_body_len: 0,
                response_body_type: None,
                server: None,
                location: None,
                anomalies: Box::default(),
            })),
        );
        match &mut e.fields {
            Fields::Http(h) => h,
            _ => unreachable!("made as HTTP"),
        }
    }

    /// A TLS handshake with server name `sni` on flow `flow`.
    pub fn tls(&mut self, flow: usize, sni: &str) -> &mut TlsFields {
        self.service(flow, Service::Tls);
        let e = self.app(
            flow,
            EventKind::Tls,
            Fields::Tls(Box::new(TlsFields {
                server_name: Some(sni.into()),
                alpn: Vec::new(),
                client_version: None,
                version: Some("TLSv13".into()),
                cipher: None,
                ja3: None,
                ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
                ja3s: None,
                ja4s: None,
                server_alpn: None,
            })),
        );
        match &mut e.fields {
            Fields::Tls(t) => t,
            _ => unreachable!("made as TLS"),
        }
    }

    /// Stratum methods seen on flow `flow`.
    pub fn stratum(&mut self, flow: usize, methods: &[&str], login: Option<&str>) {
        self.service(flow, Service::Stratum);
        self.app(
            flow,
            EventKind::Stratum,
            Fields::Stratum(Box::new(StratumFields {
                methods: methods.iter().map(|s| s.to_string()).collect(),
                login: login.map(String::from),
                agent: None,
            })),
        );
    }

    /// An endpoint event on host `host` at `at` seconds: kind, log source, action (as the
    /// mappers in `src/normalize` spell it) and code (`4624`, `SYSCALL:connect`), with the
    /// given record fields; the returned event (and its `EndpointFields`, see
    /// [`endpoint_fields`]) can be adjusted.
    pub fn endpoint(
        &mut self,
        host: &str,
        at: f64,
        kind: EventKind,
        source: crate::model::LogSource,
        action: &'static str,
        code: &str,
        data: &[(&str, &str)],
    ) -> &mut Event {
        let mut pairs = crate::model::Pairs::new();
        for (k, v) in data {
            pairs.push(k, v);
        }
        let record = self.events.len() as u64 + 1;
        self.events.push(Event {
            ts: T0 + (at * SEC as f64) as i64,
            kind,
            host: Some(crate::model::HostRef { name: Some(host.into()), ip: None }),
            net: None,
            process: None,
            provenance: Provenance { file: 1, locator: Locator::Record(record) },
            fields: Fields::Endpoint(Box::new(crate::model::EndpointFields {
                data: pairs,
                ..crate::model::EndpointFields::new(source, action, code.into())
            })),
        });
        self.events.last_mut().expect("just pushed")
    }

    /// An internal host as `seam assets` would list it (name, managed, roles, telemetry).
    pub fn asset(&mut self, ip_text: &str, name: Option<&str>, managed: bool) -> &mut crate::model::Asset {
        self.assets.push(crate::model::Asset {
            names: name.map(|n| vec![n.to_string()]).unwrap_or_default(),
            managed,
            ..crate::model::Asset::new(ip(ip_text), T0)
        });
        self.assets.last_mut().expect("just pushed")
    }

    /// Runs one detector as `seam hunt` would (baseline learned from this bundle, default
    /// thresholds unless given) and returns its finished findings.
    pub fn run(&mut self, d: &dyn Detector) -> Vec<Finding> {
        self.run_with(d, &Thresholds::defaults())
    }

    pub fn run_with(&mut self, d: &dyn Detector, t: &Thresholds) -> Vec<Finding> {
        self.flows.sort_by_key(|f| (f.start, f.first_packet));
        self.events.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let internal = InternalNets::default();
        let files = vec!["test.pcap".to_string(), "test.evtx".to_string()];
        let input = DetectInput {
            flows: &self.flows,
            events: &self.events,
            assets: &self.assets,
            internal: &internal,
            files: &files,
        };
        let baseline = Baseline::learn(&input, t.section("baseline"));
        let ctx = DetectCtx::new(&input, &baseline, t);
        finish(d.run(&ctx), &Default::default(), &t.section("severity")).findings
    }
}

/// The endpoint payload of an event made by [`Bundle::endpoint`].
pub fn endpoint_fields(e: &mut Event) -> &mut crate::model::EndpointFields {
    match &mut e.fields {
        Fields::Endpoint(x) => x,
        _ => unreachable!("made as an endpoint event"),
    }
}

/// `n` background workstations `10.0.0.100…` each reaching the same popular destinations a few
/// times, so that prevalence has a population to judge against.
pub fn background(b: &mut Bundle, n: u8) {
    for h in 0..n {
        let host = format!("10.0.0.{}", 100 + u16::from(h));
        for (i, dst) in ["23.45.100.10", "142.250.74.3", "52.97.150.2"].iter().enumerate() {
            for k in 0..3 {
                let at = 60.0 * f64::from(h) + 600.0 * k as f64 + i as f64;
                let f = b.tcp(&host, dst, 443, at, 5.0, 800, 5000);
                b.tls(f, ["www.microsoft.com", "update.googleapis.com", "outlook.office365.com"][i]);
            }
        }
    }
}
