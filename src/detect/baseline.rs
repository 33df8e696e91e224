//! What is normal in this environment, learned from the evidence itself and optionally from a
//! clean bundle saved with `seam learn` (`--baseline FILE`).
//!
//! - **Prevalence**: for each destination address, name (FQDN), registrable domain, JA4 and
//!   HTTP user agent, how many distinct internal hosts used it, divided by the internal hosts
//!   seen (those that opened at least one flow). A destination one host in fifty talks to is
//!   rare.
//! - **First seen**: when the bundle first shows each of them.
//! - **Per host**: robust statistics (median, MAD) of the payload bytes it sends to each
//!   external peer and of its flows and bytes per active hour; the ports and services it
//!   usually opens.
//! - **Internal pairs**: which internal host reached which internal host on which port, and
//!   when first.
//!
//! A saved baseline is JSON (`seam.baseline/1`) with the same content keyed by text and sorted,
//! so the same evidence always saves the same bytes. When one is given, a destination counts as
//! prevalent if it was prevalent in either, and as known (not new) if the saved one saw it.

use super::ctx::DetectInput;
use super::domain;
use super::names::NameTable;
use super::stats::Robust;
use crate::model::{Fields, Service};
use crate::util::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use thiserror::Error;

pub const SCHEMA: &str = "seam.baseline/1";

const HOUR: i64 = 3_600_000_000_000;

/// The `[baseline]` section of the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineThresholds {
    /// A destination used by at most this share of internal hosts is rare.
    pub rare_prevalence: f64,
    /// Below this many internal hosts, prevalence says little: rarity is damped towards 0.5.
    pub min_hosts: u64,
}

impl Default for BaselineThresholds {
    fn default() -> Self {
        BaselineThresholds { rare_prevalence: 0.1, min_hosts: 5 }
    }
}

/// How often something was used, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Distinct internal hosts.
    pub hosts: u32,
    pub flows: u64,
    pub first_seen: Timestamp,
}

/// One internal host's habits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostProfile {
    /// Payload bytes sent to each external peer (one sample per peer).
    pub bytes_per_peer: Robust,
    /// Payload bytes sent per hour it was active.
    pub bytes_per_hour: Robust,
    /// Flows opened per hour it was active.
    pub flows_per_hour: Robust,
    /// Responder ports it opened flows to, with counts.
    pub ports: BTreeMap<u16, u64>,
    /// Services recognised on its outgoing flows, with counts.
    pub services: BTreeMap<String, u64>,
}

/// The baseline of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    pub internal_hosts: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub ips: FxHashMap<IpAddr, Seen>,
    pub fqdns: FxHashMap<String, Seen>,
    pub domains: FxHashMap<String, Seen>,
    pub ja4s: FxHashMap<String, Seen>,
    pub user_agents: FxHashMap<String, Seen>,
    pub hosts: FxHashMap<IpAddr, HostProfile>,
    /// (internal source, internal destination, port) → first flow start.
    pub internal_pairs: FxHashMap<(IpAddr, IpAddr, u16), Timestamp>,
    pub thresholds: BaselineThresholds,
    /// A baseline saved from a clean bundle, consulted too.
    pub prior: Option<Box<Baseline>>,
}

/// The distinct hosts seen with one key. Most keys (a one-off name, a rare address) are seen
/// from one host only: that host is kept inline, and a set is made for the second. Hosts are
/// known by the numbers the baseline gives them as they appear.
enum Hosts {
    One(u32),
    Many(FxHashSet<u32>),
}

impl Hosts {
    fn insert(&mut self, host: u32) {
        match self {
            Hosts::One(first) if *first != host => *self = Hosts::Many([*first, host].into_iter().collect()),
            Hosts::One(_) => {}
            Hosts::Many(set) => {
                set.insert(host);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Hosts::One(_) => 1,
            Hosts::Many(set) => set.len(),
        }
    }
}

/// What one internal host's flows show, while they pass.
struct HostHabits {
    ip: IpAddr,
    ports: FxHashMap<u16, u64>,
    services: FxHashMap<Service, u64>,
    /// (hour, flows, payload bytes sent) for each hour it opened flows in.
    hours: Vec<(i64, u64, u64)>,
    /// External peer → payload bytes sent to it.
    peers: FxHashMap<IpAddr, u64>,
}

impl HostHabits {
    fn new(ip: IpAddr) -> Self {
        HostHabits {
            ip,
            ports: FxHashMap::default(),
            services: FxHashMap::default(),
            hours: Vec::new(),
            peers: FxHashMap::default(),
        }
    }

    /// Counts a flow opened in `hour`. Flows come in start order, so the hour is nearly
    /// always the last one seen; it is looked for further back only when they do not.
    fn hour(&mut self, hour: i64, bytes: u64) {
        let slot = match self.hours.last_mut() {
            Some(last) if last.0 == hour => Some(last),
            _ => self.hours.iter_mut().rev().find(|h| h.0 == hour),
        };
        match slot {
            Some(h) => {
                h.1 += 1;
                h.2 += bytes;
            }
            None => self.hours.push((hour, 1, bytes)),
        }
    }

    fn profile(self) -> (IpAddr, HostProfile) {
        let per_peer: Vec<f64> = self.peers.values().map(|&b| b as f64).collect();
        let flows: Vec<f64> = self.hours.iter().map(|h| h.1 as f64).collect();
        let bytes: Vec<f64> = self.hours.iter().map(|h| h.2 as f64).collect();
        let profile = HostProfile {
            bytes_per_peer: Robust::of(&per_peer),
            bytes_per_hour: Robust::of(&bytes),
            flows_per_hour: Robust::of(&flows),
            ports: self.ports.into_iter().collect(),
            services: self.services.into_iter().map(|(s, n)| (s.as_str().to_string(), n)).collect(),
        };
        (self.ip, profile)
    }
}

/// How one key (an address, a name, a JA4…) was used while the evidence passes: by which
/// hosts (by their numbers), how often, since when.
struct Usage {
    hosts: Hosts,
    flows: u64,
    first_seen: Timestamp,
}

impl Usage {
    fn new(host: u32, ts: Timestamp) -> Usage {
        Usage { hosts: Hosts::One(host), flows: 1, first_seen: ts }
    }

    fn add(&mut self, host: u32, ts: Timestamp) {
        self.hosts.insert(host);
        self.flows += 1;
        self.first_seen = self.first_seen.min(ts);
    }

    fn seen(&self) -> Seen {
        Seen { hosts: self.hosts.len() as u32, flows: self.flows, first_seen: self.first_seen }
    }
}

/// Usage by text (JA4s, user agents).
struct Tally {
    by_text: FxHashMap<String, Usage>,
}

impl Tally {
    fn new() -> Self {
        Tally { by_text: FxHashMap::default() }
    }

    /// Counts a use, copying the text only when it is new.
    fn add(&mut self, key: &str, host: u32, ts: Timestamp) {
        match self.by_text.get_mut(key) {
            Some(u) => u.add(host, ts),
            None => {
                self.by_text.insert(key.to_string(), Usage::new(host, ts));
            }
        }
    }

    fn finish(self) -> FxHashMap<String, Seen> {
        self.by_text.into_iter().map(|(k, u)| (k, u.seen())).collect()
    }
}

/// Usage by a name's or a domain's number (see [`NameTable`]).
struct IdTally {
    by_id: Vec<Option<Usage>>,
}

impl IdTally {
    fn new(ids: usize) -> Self {
        IdTally { by_id: (0..ids).map(|_| None).collect() }
    }

    fn add(&mut self, id: u32, host: u32, ts: Timestamp) {
        let Some(slot) = self.by_id.get_mut(id as usize) else { return };
        match slot {
            Some(u) => u.add(host, ts),
            None => *slot = Some(Usage::new(host, ts)),
        }
    }

    fn finish<'t>(self, text: impl Fn(u32) -> &'t str) -> FxHashMap<String, Seen> {
        (0..).zip(self.by_id).filter_map(|(id, u)| Some((text(id).to_string(), u?.seen()))).collect()
    }
}

/// Prevalence of the names internal hosts used: FQDNs, registrable domains, JA4s, user agents.
pub struct Names {
    fqdns: FxHashMap<String, Seen>,
    domains: FxHashMap<String, Seen>,
    ja4s: FxHashMap<String, Seen>,
    uas: FxHashMap<String, Seen>,
}

impl Names {
    fn learn(input: &DetectInput<'_>, table: &NameTable<'_>) -> Names {
        let (mut fqdns, mut domains) = (IdTally::new(table.len()), IdTally::new(table.zones()));
        let (mut ja4s, mut uas) = (Tally::new(), Tally::new());
        // Hosts are numbered: the sets of hosts per name hold small numbers.
        let mut numbers: FxHashMap<IpAddr, u32> = FxHashMap::default();
        for (i, e) in input.events.iter().enumerate() {
            let Some(net) = &e.net else { continue };
            if !matches!(e.fields, Fields::Dns(_) | Fields::Tls(_) | Fields::Http(_))
                || !input.internal.contains(net.src_ip)
            {
                continue;
            }
            let next = numbers.len() as u32;
            let host = *numbers.entry(net.src_ip).or_insert(next);
            match &e.fields {
                Fields::Tls(t) => {
                    if let Some(ja4) = &t.ja4 {
                        ja4s.add(ja4, host, e.ts);
                    }
                }
                Fields::Http(h) => {
                    if let Some(ua) = &h.user_agent {
                        uas.add(ua, host, e.ts);
                    }
                }
                _ => {}
            }
            if let Some(id) = table.at(i) {
                fqdns.add(id, host, e.ts);
                domains.add(table.zone_of(id), host, e.ts);
            }
        }
        Names {
            fqdns: fqdns.finish(|id| table.name(id)),
            domains: domains.finish(|zone| table.zone(zone)),
            ja4s: ja4s.finish(),
            uas: uas.finish(),
        }
    }
}

impl Baseline {
    /// Learns from the run's own evidence.
    pub fn learn(input: &DetectInput<'_>, thresholds: BaselineThresholds) -> Baseline {
        // Flows and named events are tallied side by side.
        let (from_flows, names) = rayon::join(
            || Self::learn_flows(input, thresholds),
            || Self::learn_names(input, &NameTable::build(input.events)),
        );
        from_flows.with_names(names)
    }

    /// What the named events teach: the prevalence of names, domains, JA4s and user agents.
    pub fn learn_names(input: &DetectInput<'_>, names: &NameTable<'_>) -> Names {
        Names::learn(input, names)
    }

    /// A baseline learnt from the flows ([`Baseline::learn_flows`]) with what the named
    /// events taught.
    pub fn with_names(self, names: Names) -> Baseline {
        Baseline { fqdns: names.fqdns, domains: names.domains, ja4s: names.ja4s, user_agents: names.uas, ..self }
    }

    /// What the flows teach: prevalence of addresses, host profiles, internal pairs.
    pub fn learn_flows(input: &DetectInput<'_>, thresholds: BaselineThresholds) -> Baseline {
        let internal = input.internal;
        let flows = input.flows;
        // The internal hosts that opened flows are numbered as they appear, so that what is
        // kept per host is found by one lookup per flow and the destinations' host sets hold
        // small numbers.
        let mut numbers: FxHashMap<IpAddr, u32> = FxHashMap::default();
        let mut hosts: Vec<HostHabits> = Vec::new();
        // Destination address → how the internal hosts used it.
        let mut ips: FxHashMap<IpAddr, Usage> = FxHashMap::default();
        let mut internal_pairs: FxHashMap<(IpAddr, IpAddr, u16), Timestamp> = FxHashMap::default();
        let (mut start, mut end) = (i64::MAX, i64::MIN);
        for f in flows {
            start = start.min(f.start);
            end = end.max(f.end);
            if !internal.contains(f.orig_ip) || super::ctx::is_announcement(f) {
                continue;
            }
            let n = *numbers.entry(f.orig_ip).or_insert_with(|| {
                hosts.push(HostHabits::new(f.orig_ip));
                (hosts.len() - 1) as u32
            });
            let Some(h) = hosts.get_mut(n as usize) else { continue };
            match ips.entry(f.resp_ip) {
                std::collections::hash_map::Entry::Occupied(mut u) => u.get_mut().add(n, f.start),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Usage::new(n, f.start));
                }
            }
            *h.ports.entry(f.resp_port).or_default() += 1;
            for &s in &f.services {
                *h.services.entry(s).or_default() += 1;
            }
            h.hour(f.start.div_euclid(HOUR), f.orig.bytes);
            if internal.contains(f.resp_ip) {
                let first = internal_pairs.entry((f.orig_ip, f.resp_ip, f.resp_port)).or_insert(f.start);
                *first = (*first).min(f.start);
            } else {
                *h.peers.entry(f.resp_ip).or_default() += f.orig.bytes;
            }
        }
        let internal_hosts = hosts.len() as u64;
        let ips = ips.into_iter().map(|(ip, u)| (ip, u.seen())).collect();
        let hosts = hosts.into_iter().map(HostHabits::profile).collect();
        Baseline {
            internal_hosts,
            start: if flows.is_empty() { 0 } else { start },
            end: if flows.is_empty() { 0 } else { end },
            ips,
            fqdns: FxHashMap::default(),
            domains: FxHashMap::default(),
            ja4s: FxHashMap::default(),
            user_agents: FxHashMap::default(),
            hosts,
            internal_pairs,
            thresholds,
            prior: None,
        }
    }

    fn share(&self, seen: Option<&Seen>) -> f64 {
        match seen {
            Some(s) if self.internal_hosts > 0 => f64::from(s.hosts) / self.internal_hosts as f64,
            _ => 0.0,
        }
    }

    /// Share of internal hosts that used `key` here or in the saved baseline, whichever is larger.
    fn prevalence_by(&self, pick: impl Fn(&Baseline) -> Option<&Seen>) -> f64 {
        let here = self.share(pick(self));
        let prior = self.prior.as_deref().map_or(0.0, |p| p.share(pick(p)));
        here.max(prior)
    }

    pub fn ip_prevalence(&self, ip: IpAddr) -> f64 {
        self.prevalence_by(|b| b.ips.get(&ip))
    }

    pub fn fqdn_prevalence(&self, name: &str) -> f64 {
        let n = domain::normalize(name);
        self.prevalence_by(|b| b.fqdns.get(&n))
    }

    pub fn domain_prevalence(&self, name: &str) -> f64 {
        let d = domain::registrable(name);
        self.prevalence_by(|b| b.domains.get(&d))
    }

    pub fn ja4_prevalence(&self, ja4: &str) -> f64 {
        self.prevalence_by(|b| b.ja4s.get(ja4))
    }

    pub fn user_agent_prevalence(&self, ua: &str) -> f64 {
        self.prevalence_by(|b| b.user_agents.get(ua))
    }

    /// Rarity in [0, 1] from a prevalence: 1 − prevalence, pulled towards 0.5 when there are
    /// too few internal hosts for prevalence to mean much.
    pub fn rarity(&self, prevalence: f64) -> f64 {
        let raw = (1.0 - prevalence).clamp(0.0, 1.0);
        let hosts = self.internal_hosts.max(self.prior.as_deref().map_or(0, |p| p.internal_hosts));
        let min = self.thresholds.min_hosts.max(1);
        if hosts >= min {
            raw
        } else {
            let w = hosts as f64 / min as f64;
            0.5 + (raw - 0.5) * w
        }
    }

    /// Whether a key is rare here and, with a saved baseline, there too (prevalent in either
    /// means not rare), each judged against its own number of internal hosts.
    fn rare_by(&self, pick: impl Fn(&Baseline) -> Option<&Seen>) -> bool {
        let rare_in = |b: &Baseline| {
            let hosts = pick(b).map_or(0, |s| s.hosts);
            hosts <= 1 || b.share(pick(b)) <= self.thresholds.rare_prevalence
        };
        rare_in(self) && self.prior.as_deref().is_none_or(rare_in)
    }

    pub fn ip_is_rare(&self, ip: IpAddr) -> bool {
        self.rare_by(|b| b.ips.get(&ip))
    }

    pub fn fqdn_is_rare(&self, name: &str) -> bool {
        let n = domain::normalize(name);
        self.rare_by(|b| b.fqdns.get(&n))
    }

    pub fn domain_is_rare(&self, name: &str) -> bool {
        let d = domain::registrable(name);
        self.rare_by(|b| b.domains.get(&d))
    }

    /// Whether the saved baseline already knew this address (then nothing about it is new).
    pub fn known_ip(&self, ip: IpAddr) -> bool {
        self.prior.as_deref().is_some_and(|p| p.ips.contains_key(&ip))
    }

    pub fn known_domain(&self, name: &str) -> bool {
        let d = domain::registrable(name);
        self.prior.as_deref().is_some_and(|p| p.domains.contains_key(&d))
    }

    /// When this internal pair on this port was first seen, and whether the saved baseline
    /// knew it.
    pub fn internal_pair(&self, src: IpAddr, dst: IpAddr, port: u16) -> (Option<Timestamp>, bool) {
        let known = self.prior.as_deref().is_some_and(|p| p.internal_pairs.contains_key(&(src, dst, port)));
        (self.internal_pairs.get(&(src, dst, port)).copied(), known)
    }

    pub fn host(&self, ip: IpAddr) -> Option<&HostProfile> {
        self.hosts.get(&ip).or_else(|| self.prior.as_deref().and_then(|p| p.hosts.get(&ip)))
    }

    /// The saved form: sorted, keyed by text.
    pub fn to_saved(&self) -> SavedBaseline {
        fn sorted<K: ToString>(m: &FxHashMap<K, Seen>) -> BTreeMap<String, Seen> {
            m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        }
        SavedBaseline {
            schema: SCHEMA.into(),
            internal_hosts: self.internal_hosts,
            start: self.start,
            end: self.end,
            ips: sorted(&self.ips),
            fqdns: sorted(&self.fqdns),
            domains: sorted(&self.domains),
            ja4s: sorted(&self.ja4s),
            user_agents: sorted(&self.user_agents),
            hosts: self.hosts.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            internal_pairs: self
                .internal_pairs
                .iter()
                .map(|(&(s, d, p), &t)| (s.to_string(), d.to_string(), p, t))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        }
    }

    /// This bundle's baseline with a saved one to consult too.
    pub fn with_prior(mut self, saved: &SavedBaseline) -> Result<Baseline, BaselineError> {
        self.prior = Some(Box::new(saved.to_baseline(self.thresholds)?));
        Ok(self)
    }
}

#[derive(Debug, Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a seam baseline: {message}")]
    Parse { path: String, message: String },
    #[error("baseline schema {found} is not {SCHEMA}")]
    Schema { found: String },
    #[error("baseline holds an invalid address `{0}`")]
    Address(String),
}

/// A baseline as `seam learn` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedBaseline {
    pub schema: String,
    pub internal_hosts: u64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub ips: BTreeMap<String, Seen>,
    pub fqdns: BTreeMap<String, Seen>,
    pub domains: BTreeMap<String, Seen>,
    pub ja4s: BTreeMap<String, Seen>,
    pub user_agents: BTreeMap<String, Seen>,
    pub hosts: BTreeMap<String, HostProfile>,
    /// (source, destination, port, first seen).
    pub internal_pairs: Vec<(String, String, u16, Timestamp)>,
}

impl SavedBaseline {
    pub fn load(path: &std::path::Path) -> Result<SavedBaseline, BaselineError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| BaselineError::Read { path: shown.clone(), source })?;
        let saved: SavedBaseline =
            serde_json::from_str(&text).map_err(|e| BaselineError::Parse { path: shown, message: e.to_string() })?;
        if saved.schema != SCHEMA {
            return Err(BaselineError::Schema { found: saved.schema });
        }
        Ok(saved)
    }

    fn to_baseline(&self, thresholds: BaselineThresholds) -> Result<Baseline, BaselineError> {
        let ip = |s: &str| s.parse::<IpAddr>().map_err(|_| BaselineError::Address(s.to_string()));
        let copy = |m: &BTreeMap<String, Seen>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        Ok(Baseline {
            internal_hosts: self.internal_hosts,
            start: self.start,
            end: self.end,
            ips: self.ips.iter().map(|(k, v)| Ok((ip(k)?, *v))).collect::<Result<_, BaselineError>>()?,
            fqdns: copy(&self.fqdns),
            domains: copy(&self.domains),
            ja4s: copy(&self.ja4s),
            user_agents: copy(&self.user_agents),
            hosts: self.hosts.iter().map(|(k, v)| Ok((ip(k)?, v.clone()))).collect::<Result<_, BaselineError>>()?,
            internal_pairs: self
                .internal_pairs
                .iter()
                .map(|(s, d, p, t)| Ok(((ip(s)?, ip(d)?, *p), *t)))
                .collect::<Result<_, BaselineError>>()?,
            thresholds,
            prior: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population(hosts: u64, using: &[(&str, u32)]) -> Baseline {
        Baseline {
            internal_hosts: hosts,
            start: 0,
            end: 0,
            ips: using
                .iter()
                .map(|&(ip, n)| (ip.parse().expect("ip"), Seen { hosts: n, flows: 1, first_seen: 0 }))
                .collect(),
            fqdns: FxHashMap::default(),
            domains: FxHashMap::default(),
            ja4s: FxHashMap::default(),
            user_agents: FxHashMap::default(),
            hosts: FxHashMap::default(),
            internal_pairs: FxHashMap::default(),
            thresholds: BaselineThresholds::default(),
            prior: None,
        }
    }

    #[test]
    fn rarity_is_judged_against_each_populations_own_host_count() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // Three hosts here, one of them uses both addresses; a hundred in the saved baseline,
        // thirty of which used the first and none the second.
        let mut here = population(3, &[("192.0.2.1", 1), ("192.0.2.2", 1)]);
        assert!(here.ip_is_rare(ip("192.0.2.1")), "one host of three, nothing saved");
        here.prior = Some(Box::new(population(100, &[("192.0.2.1", 30)])));
        assert!(!here.ip_is_rare(ip("192.0.2.1")), "prevalent in the saved baseline");
        assert!(here.ip_is_rare(ip("192.0.2.2")), "one host here, none there");
        assert!(!population(20, &[("192.0.2.3", 5)]).ip_is_rare(ip("192.0.2.3")), "a quarter of the hosts");
        assert!(population(20, &[("192.0.2.3", 2)]).ip_is_rare(ip("192.0.2.3")), "a tenth of the hosts");
    }
}
