//! `oast` — lookups of and requests to out-of-band interaction services: the callbacks a
//! scanner or exploit makes a vulnerable server perform to prove blind code execution, SSRF or
//! injection (interactsh, Burp Collaborator, dnslog-style services).
//!
//! Per (internal host, service domain), over the host's own DNS lookups (not its resolver's
//! forwarded copies), HTTP Host headers and TLS server names. Score:
//!
//! `service_weight + random_weight·random_label + rarity_weight·rarity + contact_weight·contacted`
//!
//! - `random_label`: how much the longest label in front of the service domain looks like a
//!   generated interaction id (interactsh: 33 characters of `[a-v0-9]`; Collaborator: 30 of
//!   `[a-z0-9]`) — length ramped from `label_min` to `label_full` times entropy ramped from
//!   `entropy_min` to `entropy_full` bits per character;
//! - `rarity`: of the service's domain among internal hosts (scanners in a SOC reach it from
//!   many hosts; an exploited server from one);
//! - `contacted`: 1 when the host also sent HTTP or TLS to it, the interaction itself.

use super::names::PerName;
use super::{check, domain, stats, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, Fields};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Out-of-band interaction services. Sources: projectdiscovery/interactsh README (default
/// servers), PortSwigger Burp Collaborator documentation, the public dnslog.cn / ceye.io /
/// requestrepo.com services, Acunetix's AcuMonitor (bxss.me), canarytokens.org.
pub const SERVICES: &[&str] = &[
    "oast.pro",
    "oast.live",
    "oast.site",
    "oast.online",
    "oast.fun",
    "oast.me",
    "interact.sh",
    "interactsh.com",
    "oastify.com",
    "burpcollaborator.net",
    "dnslog.cn",
    "ceye.io",
    "requestrepo.com",
    "bxss.me",
    "canarytokens.com",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    service_weight: f64,
    random_weight: f64,
    rarity_weight: f64,
    contact_weight: f64,
    label_min: f64,
    label_full: f64,
    entropy_min: f64,
    entropy_full: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service_weight: 0.55,
            random_weight: 0.2,
            rarity_weight: 0.15,
            contact_weight: 0.1,
            label_min: 12.0,
            label_full: 30.0,
            entropy_min: 3.0,
            entropy_full: 4.0,
        }
    }
}

pub struct Oast;

/// The service a name belongs to, if any.
pub fn service_of(name: &str) -> Option<&'static str> {
    static SET: std::sync::LazyLock<domain::DomainSet> = std::sync::LazyLock::new(|| domain::DomainSet::new(SERVICES));
    SET.find(name)
}

/// How much a label looks like a generated interaction id, in [0, 1].
fn randomness(label: &str, c: &Config) -> f64 {
    stats::ramp(label.len() as f64, c.label_min, c.label_full)
        * stats::ramp(stats::entropy(label), c.entropy_min, c.entropy_full)
}

#[derive(Default)]
struct Group<'a> {
    names: Vec<String>,
    events: Vec<&'a Event>,
    lookups: u64,
    contacted: bool,
    peer_ip: Option<IpAddr>,
    first: i64,
    last: i64,
}

impl Detector for Oast {
    fn id(&self) -> &'static str {
        "oast"
    }

    fn describe(&self) -> &'static str {
        "lookups of and requests to out-of-band interaction services (interactsh, Collaborator, dnslog)"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let mut groups: BTreeMap<(IpAddr, &'static str), Group> = BTreeMap::new();
        let events = ctx.client_dns.iter().chain(&ctx.http).chain(&ctx.tls);
        // Names come numbered: each distinct one is looked up among the services once.
        let names = ctx.names();
        let mut services = PerName::new(names);
        for &e in events {
            let Some(net) = &e.net else { continue };
            if !ctx.is_internal(net.src_ip) {
                continue;
            }
            let lookup = match &e.fields {
                Fields::Dns(_) => true,
                Fields::Http(_) | Fields::Tls(_) => false,
                _ => continue,
            };
            let Some(id) = ctx.name_id(e) else { continue };
            let name = names.name(id);
            let Some(service) = services.get(id, service_of) else { continue };
            let g = groups.entry((net.src_ip, service)).or_insert_with(|| Group {
                first: e.ts,
                last: e.ts,
                ..Group::default()
            });
            g.first = g.first.min(e.ts);
            g.last = g.last.max(e.ts);
            g.events.push(e);
            if lookup {
                g.lookups += 1;
            } else {
                g.contacted = true;
                g.peer_ip.get_or_insert(net.dst_ip);
            }
            if g.names.len() < 64 && !g.names.iter().any(|n| n == name) {
                g.names.push(name.to_string());
            }
        }
        groups
            .into_iter()
            .map(|((host, service), g)| {
                let (label, random) = g
                    .names
                    .iter()
                    .flat_map(|n| domain::subdomain(n, service).split('.'))
                    .map(|l| (l, randomness(l, &c)))
                    .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                    .unwrap_or(("", 0.0));
                let rarity = ctx.baseline.rarity(ctx.baseline.domain_prevalence(service));
                let contacted = if g.contacted { 1.0 } else { 0.0 };
                let score = c.service_weight
                    + c.random_weight * random
                    + c.rarity_weight * rarity
                    + c.contact_weight * contacted;
                let mut f = Finding::new(self.id(), Tactic::InitialAccess, "T1190", score)
                    .component("service", c.service_weight)
                    .component("random_label", random)
                    .component("rarity", rarity)
                    .component("contacted", contacted)
                    .component("lookups", g.lookups as f64)
                    .component("names", g.names.len() as f64)
                    .window(g.first, g.last)
                    .summary(format!(
                        "{host} reached the out-of-band interaction service {service}: {} lookup(s){}{}",
                        g.lookups,
                        if g.contacted { " and a request" } else { "" },
                        if label.is_empty() { String::new() } else { format!(", id label {label}") }
                    ))
                    .evidence(g.events.iter().map(|e| ctx.event_evidence(e)));
                f.host = ctx.host(host);
                f.peer.domain = Some(service.to_string());
                f.peer.ip = g.peer_ip;
                f.keys = g.names;
                let flows: Vec<_> = g.events.iter().filter_map(|e| ctx.flow_of(e)).collect();
                f.process = ctx.process_of(flows);
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, Bundle};
    use super::super::Severity;
    use super::*;

    #[test]
    fn services_match_below_their_domain() {
        assert_eq!(service_of("c58bduhe008dovpvhvugcfemp9yyyyyyn.oast.fun"), Some("oast.fun"));
        assert_eq!(service_of("x.Burpcollaborator.net."), Some("burpcollaborator.net"));
        assert_eq!(service_of("notoast.fun"), None);
        assert_eq!(service_of("oast.fun.example.com"), None);
    }

    #[test]
    fn randomness_by_hand() {
        let c = Config::default();
        // 33 characters, 16 distinct evenly: entropy 4 bits → full.
        assert!((randomness("0123456789abcdef0123456789abcdef0", &c) - 1.0).abs() < 0.05);
        assert_eq!(randomness("www", &c), 0.0);
        // 12 characters is the start of the length ramp.
        assert_eq!(randomness("abcdefghijkl", &c), 0.0);
    }

    #[test]
    fn an_interactsh_callback_from_one_server_is_high() {
        let mut b = Bundle::default();
        background(&mut b, 8);
        b.dns("10.0.0.1", "10.0.0.2", 100.0, "c58bduhe008dovpvhvugcfemp9yyyyyyn.oast.fun", "A", &["178.128.16.97"]);
        b.dns("10.0.0.1", "10.0.0.2", 101.0, "c58bduhe008dovpvhvugcfemp9yyyyyyn.oast.fun", "AAAA", &[]);
        let f = b.run(&Oast);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].host.ip, "10.0.0.1".parse().ok());
        assert_eq!(f[0].peer.domain.as_deref(), Some("oast.fun"));
        assert!(f[0].severity >= Severity::High, "{:?} {}", f[0].severity, f[0].score);
        assert_eq!(f[0].components["lookups"], 2.0);
        assert_eq!(f[0].evidence_total, 2);
    }

    #[test]
    fn ordinary_lookups_and_look_alikes_are_not_findings() {
        let mut b = Bundle::default();
        background(&mut b, 4);
        b.dns("10.0.0.1", "10.0.0.2", 100.0, "oast.fun.example.com", "A", &["1.2.3.4"]);
        b.dns("10.0.0.1", "10.0.0.2", 101.0, "www.toast.fun", "A", &["1.2.3.5"]);
        assert!(b.run(&Oast).is_empty());
    }

    #[test]
    fn forwarded_lookups_count_on_the_client_only() {
        let mut b = Bundle::default();
        background(&mut b, 4);
        b.dns("10.0.0.1", "10.0.0.2", 100.0, "abc.oast.me", "A", &[]);
        // The internal resolver asks the internet for the same name a moment later.
        b.dns("10.0.0.2", "8.8.8.8", 100.5, "abc.oast.me", "A", &[]);
        let f = b.run(&Oast);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].host.ip, "10.0.0.1".parse().ok());
    }
}
