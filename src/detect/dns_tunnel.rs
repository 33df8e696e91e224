//! `dns-tunnel` — data carried in DNS names.
//!
//! Input: the lookups internal hosts made themselves (`ctx.client_dns`, without an internal
//! resolver's forwarded copies), grouped per (querying host, registrable domain), and the flows
//! (was any answer ever connected to?). Output: one finding per group whose score reaches
//! `min_score`.
//!
//! A tunnel encodes its payload in the labels in front of a domain its operator controls, so a
//! tunnelling host asks for many distinct, long, random-looking names under one registrable
//! domain, often for record types that carry text back (TXT, NULL, CNAME), at a volume and rate
//! no person browses at, and never connects to what the answers name. Content delivery networks
//! and large SaaS services also use random-looking subdomains; they are asked by many hosts, and
//! prevalence pulls them down.
//!
//! Score (every part in `components`, all in [0, 1]):
//!
//! - `label_length` = ramp(mean longest subdomain label, `label_length_low`, `label_length_high`)
//! - `entropy` = ramp(mean Shannon entropy of the subdomain's characters, `entropy_low`, `entropy_high`)
//! - `odd_type` = ramp(share of TXT/NULL/CNAME/ANY/private-type lookups, 0, `odd_type_share_high`)
//! - `subdomain_count` = log-ramp(distinct subdomains, `subdomains_low`, `subdomains_high`)
//! - `volume` = log-ramp(lookups, `queries_low`, `queries_high`)
//! - `rate` = ramp(lookups per minute of the group's span, `rate_low`, `rate_high`)
//! - `name_shape` = the mean of label_length, entropy and odd_type weighted by
//!   `label_length_weight`, `entropy_weight` and `odd_type_weight`
//! - `volume_shape` = the mean of subdomain_count, volume and rate weighted by
//!   `subdomain_count_weight`, `volume_weight` and `rate_weight`
//! - `tunnel_shape` = √(name_shape · volume_shape): both random names and many of them
//! - `never_contacted` = 1 when the host opened no flow to any address answered for the domain
//!   nor to any name under it, else 0
//! - `rarity` = the baseline's rarity of the registrable domain
//!
//! ```text
//! score = tunnel_shape · (1 − never_contacted_weight + never_contacted_weight·never_contacted)
//!         · (prevalence_floor + (1 − prevalence_floor)·rarity)
//! ```
//!
//! The weights and the floor are in the `[dns-tunnel]` section of the thresholds, each in
//! [0, 1]; each shape's three weights sum to 1 (a weighted mean).
//!
//! Inputs shown beside them: `queries`, `unique_subdomains`, `mean_label_length`,
//! `mean_entropy_bits`, `odd_type_share`, `queries_per_minute`, `name_bytes` (subdomain
//! characters sent, the upstream capacity used), `prevalence`, `hosts_querying`.
//!
//! ATT&CK: the same lookups carry commands down and data up, and the names alone do not tell
//! which dominates, so a tunnel is reported as command and control over DNS (TA0011, T1071.004);
//! `name_bytes` lets an analyst judge how much could have left (T1048).
//!
//! Limits: per group at most [`MAX_SUBDOMAINS`] distinct subdomains and [`MAX_ANSWERS`] answered
//! addresses are remembered (subdomains as 64-bit hashes); past the cap every further lookup
//! counts as a new subdomain, so the count is a ceiling. Groups are at most one per lookup, which
//! the event table already holds.

use super::names::PerName;
use super::stats::log_ramp;
use super::{check, domain, stats, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, Fields, Service};
use crate::util::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::net::IpAddr;

/// Distinct subdomains remembered per (host, domain).
pub const MAX_SUBDOMAINS: usize = 10_000;
/// Answered addresses remembered per (host, domain).
pub const MAX_ANSWERS: usize = 1_024;

const NANOS_PER_MINUTE: f64 = 60e9;

/// Record types that carry data back in their answers, as tunnels choose them: CNAME, NULL,
/// TXT, ANY and iodine's private type.
const ODD_TYPES: &[u16] = &[5, 10, 16, 255, 65_399];

/// The `[dns-tunnel]` section of the thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    min_queries: u64,
    subdomains_low: f64,
    subdomains_high: f64,
    label_length_low: f64,
    label_length_high: f64,
    entropy_low: f64,
    entropy_high: f64,
    odd_type_share_high: f64,
    queries_low: f64,
    queries_high: f64,
    rate_low: f64,
    rate_high: f64,
    label_length_weight: f64,
    entropy_weight: f64,
    odd_type_weight: f64,
    subdomain_count_weight: f64,
    volume_weight: f64,
    rate_weight: f64,
    never_contacted_weight: f64,
    prevalence_floor: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_queries: 10,
            subdomains_low: 10.0,
            subdomains_high: 100.0,
            label_length_low: 12.0,
            label_length_high: 40.0,
            entropy_low: 2.5,
            entropy_high: 4.0,
            odd_type_share_high: 0.5,
            queries_low: 20.0,
            queries_high: 300.0,
            rate_low: 2.0,
            rate_high: 20.0,
            label_length_weight: 0.4,
            entropy_weight: 0.4,
            odd_type_weight: 0.2,
            subdomain_count_weight: 0.5,
            volume_weight: 0.3,
            rate_weight: 0.2,
            never_contacted_weight: 0.25,
            prevalence_floor: 0.4,
            min_score: 0.25,
        }
    }
}

impl Config {
    /// Each shape is a weighted mean (every weight, the floor and the cut lie in [0, 1]: the
    /// thresholds file's checks), so the score lies in [0, 1] too.
    fn check(&self) -> Result<(), String> {
        super::check_weighted_mean(&[
            ("label_length_weight", self.label_length_weight),
            ("entropy_weight", self.entropy_weight),
            ("odd_type_weight", self.odd_type_weight),
        ])?;
        super::check_weighted_mean(&[
            ("subdomain_count_weight", self.subdomain_count_weight),
            ("volume_weight", self.volume_weight),
            ("rate_weight", self.rate_weight),
        ])
    }
}

pub struct DnsTunnel;

impl Detector for DnsTunnel {
    fn id(&self) -> &'static str {
        "dns-tunnel"
    }

    fn describe(&self) -> &'static str {
        "many long random subdomains of one domain, odd record types, answers never used"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())?;
        t.try_section::<Config>(self.id())?.check()
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let groups = group_lookups(ctx, config.min_queries);
        let contacts = Contacts::of(ctx, &groups);
        groups.iter().filter_map(|((host, zone), g)| judge(ctx, &config, &contacts, *host, zone, g)).collect()
    }
}

/// The lookups of one host under one registrable domain.
#[derive(Default)]
struct Group<'a> {
    queries: u64,
    /// Lookups with a subdomain in front of the registrable domain.
    named: u64,
    subdomains: FxHashSet<u64>,
    /// Lookups past the cap whose subdomain was not among those remembered.
    untracked: u64,
    longest_label_sum: f64,
    entropy_sum: f64,
    odd_types: u64,
    name_bytes: u64,
    first: Timestamp,
    last: Timestamp,
    /// (resolver address, port) → lookups sent to it.
    resolvers: BTreeMap<(IpAddr, u16), u64>,
    answers: FxHashSet<IpAddr>,
    events: Vec<&'a Event>,
}

impl Group<'_> {
    fn unique(&self) -> u64 {
        self.subdomains.len() as u64 + self.untracked
    }
}

/// Names no tunnel detection should judge: reverse lookups, multicast-DNS names, single labels.
fn skipped(name: &str) -> bool {
    name.is_empty() || !name.contains('.') || name.ends_with(".arpa") || name.ends_with(".local")
}

/// The groups of at least `min_queries` lookups, ordered by host and zone.
fn group_lookups<'a>(ctx: &DetectCtx<'a>, min_queries: u64) -> Vec<((IpAddr, String), Group<'a>)> {
    // Names come numbered, each with its zone's number (see `NameTable`): a lookup's group is
    // found without hashing its name. Names not to judge are marked once per name.
    let names = ctx.names();
    let mut judged_name = PerName::new(names);
    // First each lookup's group and the size of every group; then the measures, for the
    // groups large enough to judge only (most are a handful of lookups).
    let mut sizes: FxHashMap<(IpAddr, u32), u64> = FxHashMap::default();
    let mut keys: Vec<Option<(IpAddr, u32, u32)>> = Vec::with_capacity(ctx.client_dns.len());
    for &e in &ctx.client_dns {
        let key = match (&e.fields, &e.net, ctx.name_id(e)) {
            (Fields::Dns(_), Some(net), Some(id)) if ctx.is_internal(net.src_ip) => {
                judged_name.get(id, |name| !skipped(name)).then(|| (net.src_ip, names.zone_of(id), id))
            }
            _ => None,
        };
        if let Some((host, zone, _)) = key {
            *sizes.entry((host, zone)).or_default() += 1;
        }
        keys.push(key);
    }
    let mut groups: FxHashMap<(IpAddr, u32), Group<'a>> = FxHashMap::default();
    for (&e, key) in ctx.client_dns.iter().zip(&keys) {
        let Some((host, zone_id, id)) = *key else { continue };
        let key = (host, zone_id);
        if sizes.get(&key).is_none_or(|&n| n < min_queries) {
            continue;
        }
        let (Fields::Dns(d), Some(net)) = (&e.fields, &e.net) else { continue };
        let sub = domain::subdomain(names.name(id), names.zone(zone_id));
        let g = groups.entry(key).or_default();
        if g.queries == 0 {
            g.first = e.ts;
        }
        g.queries += 1;
        g.first = g.first.min(e.ts);
        g.last = g.last.max(e.ts);
        *g.resolvers.entry((net.dst_ip, net.dst_port)).or_default() += 1;
        if ODD_TYPES.contains(&d.qtype) {
            g.odd_types += 1;
        }
        if !sub.is_empty() {
            g.named += 1;
            g.name_bytes += sub.len() as u64;
            g.longest_label_sum += sub.split('.').map(str::len).max().unwrap_or(0) as f64;
            g.entropy_sum += stats::entropy_bytes(sub.bytes().filter(|&b| b != b'.'));
            let mut h = FxHasher::default();
            h.write(sub.as_bytes());
            let key = h.finish();
            if g.subdomains.len() < MAX_SUBDOMAINS {
                g.subdomains.insert(key);
            } else if !g.subdomains.contains(&key) {
                g.untracked += 1;
            }
        }
        for &ip in &d.addresses {
            if g.answers.len() >= MAX_ANSWERS {
                break;
            }
            g.answers.insert(ip);
        }
        g.events.push(e);
    }
    let mut judged: Vec<((IpAddr, String), Group<'a>)> =
        groups.into_iter().map(|((host, zone), g)| ((host, names.zone(zone).to_string()), g)).collect();
    judged.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    judged
}

/// What the hosts with lookups to judge connected to, outside DNS.
struct Contacts {
    /// (originator, responder) of every non-DNS flow.
    pairs: FxHashSet<(IpAddr, IpAddr)>,
    /// (originator, registrable domain of the name the responder was reached by).
    zones: FxHashSet<(IpAddr, String)>,
}

impl Contacts {
    fn of(ctx: &DetectCtx<'_>, groups: &[((IpAddr, String), Group<'_>)]) -> Contacts {
        let hosts: FxHashSet<IpAddr> = groups.iter().map(|((h, _), _)| *h).collect();
        let mut pairs = FxHashSet::default();
        let mut zones: FxHashSet<(IpAddr, u32)> = FxHashSet::default();
        for (i, f) in ctx.flows.iter().enumerate() {
            if !hosts.contains(&f.orig_ip) || f.resp_port == 53 || f.services.contains(&Service::Dns) {
                continue;
            }
            pairs.insert((f.orig_ip, f.resp_ip));
            if let Some(id) = ctx.name_id_of(i) {
                zones.insert((f.orig_ip, ctx.names().zone_of(id)));
            }
        }
        let zones = zones.into_iter().map(|(h, zone)| (h, ctx.names().zone(zone).to_string())).collect();
        Contacts { pairs, zones }
    }

    fn contacted(&self, host: IpAddr, zone: &str, g: &Group<'_>) -> bool {
        self.zones.contains(&(host, zone.to_string())) || g.answers.iter().any(|a| self.pairs.contains(&(host, *a)))
    }
}

/// The parts of a group's score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Parts {
    label_length: f64,
    entropy: f64,
    odd_type: f64,
    subdomain_count: f64,
    volume: f64,
    rate: f64,
    never_contacted: f64,
    rarity: f64,
}

impl Parts {
    fn name_shape(&self, c: &Config) -> f64 {
        c.label_length_weight * self.label_length + c.entropy_weight * self.entropy + c.odd_type_weight * self.odd_type
    }

    fn volume_shape(&self, c: &Config) -> f64 {
        c.subdomain_count_weight * self.subdomain_count + c.volume_weight * self.volume + c.rate_weight * self.rate
    }

    fn tunnel_shape(&self, c: &Config) -> f64 {
        (self.name_shape(c) * self.volume_shape(c)).max(0.0).sqrt()
    }

    fn score(&self, c: &Config) -> f64 {
        let contact = 1.0 - c.never_contacted_weight + c.never_contacted_weight * self.never_contacted;
        self.tunnel_shape(c) * contact * (c.prevalence_floor + (1.0 - c.prevalence_floor) * self.rarity)
    }
}

/// The measurements of a group, before scoring.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measures {
    queries: f64,
    unique: f64,
    mean_label_length: f64,
    mean_entropy: f64,
    odd_share: f64,
    per_minute: f64,
}

impl Measures {
    fn of(g: &Group<'_>) -> Measures {
        let named = g.named.max(1) as f64;
        let minutes = ((g.last - g.first) as f64 / NANOS_PER_MINUTE).max(1.0);
        Measures {
            queries: g.queries as f64,
            unique: g.unique() as f64,
            mean_label_length: g.longest_label_sum / named,
            mean_entropy: g.entropy_sum / named,
            odd_share: g.odd_types as f64 / g.queries.max(1) as f64,
            per_minute: g.queries as f64 / minutes,
        }
    }

    fn parts(&self, c: &Config, never_contacted: bool, rarity: f64) -> Parts {
        Parts {
            label_length: stats::ramp(self.mean_label_length, c.label_length_low, c.label_length_high),
            entropy: stats::ramp(self.mean_entropy, c.entropy_low, c.entropy_high),
            odd_type: stats::ramp(self.odd_share, 0.0, c.odd_type_share_high),
            subdomain_count: log_ramp(self.unique, c.subdomains_low, c.subdomains_high),
            volume: log_ramp(self.queries, c.queries_low, c.queries_high),
            rate: stats::ramp(self.per_minute, c.rate_low, c.rate_high),
            never_contacted: if never_contacted { 1.0 } else { 0.0 },
            rarity,
        }
    }
}

fn judge(
    ctx: &DetectCtx<'_>,
    config: &Config,
    contacts: &Contacts,
    host: IpAddr,
    zone: &str,
    g: &Group<'_>,
) -> Option<Finding> {
    let m = Measures::of(g);
    let never = !contacts.contacted(host, zone, g);
    let prevalence = ctx.baseline.domain_prevalence(zone);
    let p = m.parts(config, never, ctx.baseline.rarity(prevalence));
    let score = p.score(config);
    if score < config.min_score {
        return None;
    }
    let hosts_querying = ctx.baseline.domains.get(zone).map_or(0, |s| s.hosts);
    // The resolver asked most; ties go to the lowest address.
    let resolver = g.resolvers.iter().fold(None, |best: Option<(&(IpAddr, u16), u64)>, (k, &n)| match best {
        Some((_, b)) if b >= n => best,
        _ => Some((k, n)),
    });
    let flows: Vec<_> = g.events.iter().filter_map(|e| ctx.flow_of(e)).collect();
    let mut f = Finding::new("dns-tunnel", Tactic::CommandAndControl, "T1071.004", score)
        .component("label_length", p.label_length)
        .component("entropy", p.entropy)
        .component("odd_type", p.odd_type)
        .component("subdomain_count", p.subdomain_count)
        .component("volume", p.volume)
        .component("rate", p.rate)
        .component("name_shape", p.name_shape(config))
        .component("volume_shape", p.volume_shape(config))
        .component("tunnel_shape", p.tunnel_shape(config))
        .component("never_contacted", p.never_contacted)
        .component("rarity", p.rarity)
        .component("queries", m.queries)
        .component("unique_subdomains", m.unique)
        .component("mean_label_length", m.mean_label_length)
        .component("mean_entropy_bits", m.mean_entropy)
        .component("odd_type_share", m.odd_share)
        .component("queries_per_minute", m.per_minute)
        .component("name_bytes", g.name_bytes as f64)
        .component("prevalence", prevalence)
        .component("hosts_querying", f64::from(hosts_querying))
        .window(g.first, g.last)
        .summary(summary(host, zone, g, &m, never, resolver.map(|(k, _)| *k)))
        .evidence(g.events.iter().map(|e| ctx.event_evidence(e)));
    f.host = ctx.host(host);
    // The peer is the zone: the resolver only relays the lookups (it is named in the summary),
    // so allowlisting or correlating by its address must not touch the tunnel.
    f.peer.domain = Some(zone.to_string());
    f.process = ctx.process_of(flows);
    Some(f)
}

fn summary(
    host: IpAddr,
    zone: &str,
    g: &Group<'_>,
    m: &Measures,
    never: bool,
    resolver: Option<(IpAddr, u16)>,
) -> String {
    let capped = if g.untracked > 0 { "at least " } else { "" };
    let answers = if never { "; no answer was ever connected to" } else { "" };
    let via = resolver.map(|(ip, port)| format!(" via {}", std::net::SocketAddr::new(ip, port))).unwrap_or_default();
    format!(
        "{host} looked up {capped}{} distinct names under {zone}{via}: {} queries in {}, {:.0} % TXT/NULL/CNAME, \
         labels ~{:.0} chars at {:.1} bits/char{answers}",
        g.unique(),
        g.queries,
        duration_text(g.last - g.first),
        m.odd_share * 100.0,
        m.mean_label_length,
        m.mean_entropy,
    )
}

/// `45 s`, `12 min`, `3.5 h`.
fn duration_text(nanos: i64) -> String {
    let s = nanos as f64 / 1e9;
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::{background, Bundle};
    use crate::detect::Severity;

    const CLIENT: &str = "10.0.0.1";
    const RESOLVER: &str = "10.0.0.2";

    /// A label of `n` characters drawn from a fixed sequence, so tests are reproducible.
    fn random_label(seed: u64, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                CHARS[((x >> 33) % CHARS.len() as u64) as usize] as char
            })
            .collect()
    }

    #[test]
    fn config_default_matches_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("dns-tunnel"), Ok(Config::default()));
    }

    #[test]
    fn txt_tunnel_with_long_random_labels_is_high() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // 200 TXT lookups, 50-character random labels, one every 2 s, answers are text.
        for i in 0..200u64 {
            let name = format!("{}.t.cdn-sync-api.net", random_label(i, 50));
            b.dns(CLIENT, RESOLVER, 1000.0 + 2.0 * i as f64, &name, "TXT", &["TXT 1 aGVsbG8"]);
        }
        let found = b.run(&DnsTunnel);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert!(f.severity >= Severity::High, "{f:#?}");
        assert_eq!(f.peer.domain.as_deref(), Some("cdn-sync-api.net"));
        assert_eq!((f.peer.ip, f.peer.port), (None, None), "the resolver only relays: {:?}", f.peer);
        assert!(f.summary.contains(&format!("cdn-sync-api.net via {RESOLVER}:53")), "{}", f.summary);
        let allow = crate::detect::allow::Allowlist::parse(RESOLVER, "allow.txt").expect("allowlist");
        assert!(!allow.covers(f), "allowlisting the resolver does not hide the tunnel");
        assert_eq!(f.host.ip, Some(crate::detect::testkit::ip(CLIENT)));
        assert_eq!(f.components["unique_subdomains"], 200.0);
        assert_eq!(f.components["never_contacted"], 1.0);
        assert_eq!(f.components["odd_type"], 1.0);
        assert_eq!(f.evidence_total, 200);
        assert_eq!(f.technique, "T1071.004");
    }

    #[test]
    fn ordinary_browsing_of_a_site_with_many_names_stays_quiet() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // Near miss: 60 A lookups of 30 short, word-like names under one domain, answered and
        // then connected to: volume, but no random names and no tunnel shape.
        let words = ["www", "cdn", "api", "img", "static", "login", "mail", "news", "shop", "help"];
        for i in 0..60u64 {
            let w = words[(i % 10) as usize];
            let name = format!("{w}{}.example-shop.com", i % 3);
            b.dns(CLIENT, RESOLVER, 1000.0 + 5.0 * i as f64, &name, "A", &["93.184.216.34"]);
            b.tcp(CLIENT, "93.184.216.34", 443, 1000.1 + 5.0 * i as f64, 1.0, 500, 9000);
        }
        assert!(b.run(&DnsTunnel).is_empty());
    }

    /// `askers` of ten workstations each ask 30 random-looking 32-character names under one
    /// domain (the hash lookups of an endpoint agent, say), 3 s apart, answered with a
    /// loopback address.
    fn hash_lookups(askers: u64) -> Vec<Finding> {
        hash_lookups_with(askers, &Thresholds::defaults())
    }

    fn hash_lookups_with(askers: u64, t: &Thresholds) -> Vec<Finding> {
        let mut b = Bundle::default();
        background(&mut b, 10);
        for h in 0..askers {
            let client = format!("10.0.0.{}", 100 + h);
            for i in 0..30u64 {
                let name = format!("{}.avqs.example-av.net", random_label(h * 1000 + i, 32));
                b.dns(&client, RESOLVER, 2000.0 + 3.0 * i as f64 + h as f64, &name, "A", &["127.0.0.2"]);
            }
        }
        b.run_with(&DnsTunnel, t)
    }

    #[test]
    fn random_subdomains_every_host_asks_stay_low() {
        // Near miss: the shape of a small tunnel, but every host asks: prevalent.
        let found = hash_lookups(10);
        assert!(found.iter().all(|f| f.severity <= Severity::Low), "{found:#?}");
        // The same lookups from one host alone are worth a look.
        let found = hash_lookups(1);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].severity >= Severity::Medium, "{found:#?}");
    }

    #[test]
    fn few_lookups_are_not_judged() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        for i in 0..9u64 {
            let name = format!("{}.t.cdn-sync-api.net", random_label(i, 50));
            b.dns(CLIENT, RESOLVER, 1000.0 + 2.0 * i as f64, &name, "TXT", &[]);
        }
        assert!(b.run(&DnsTunnel).is_empty());
    }

    fn parts(label_length: f64, entropy: f64, odd_type: f64, count: f64, volume: f64, rate: f64) -> Parts {
        Parts {
            label_length,
            entropy,
            odd_type,
            subdomain_count: count,
            volume,
            rate,
            never_contacted: 1.0,
            rarity: 1.0,
        }
    }

    #[test]
    fn score_components_by_hand() {
        let c = Config::default();
        // 50 queries, 40 unique, labels 26 chars, 3.25 bits, 25 % TXT, 11 per minute.
        let m = Measures {
            queries: 50.0,
            unique: 40.0,
            mean_label_length: 26.0,
            mean_entropy: 3.25,
            odd_share: 0.25,
            per_minute: 11.0,
        };
        let p = m.parts(&c, true, 0.9);
        assert!((p.label_length - 0.5).abs() < 1e-12); // (26−12)/(40−12)
        assert!((p.entropy - 0.5).abs() < 1e-12); // (3.25−2.5)/(4−2.5)
        assert!((p.odd_type - 0.5).abs() < 1e-12); // 0.25/0.5
        assert!((p.subdomain_count - (4.0f64.ln() / 10.0f64.ln())).abs() < 1e-12); // ln(40/10)/ln(100/10)
        assert!((p.volume - (2.5f64.ln() / 15.0f64.ln())).abs() < 1e-12); // ln(50/20)/ln(300/20)
        assert!((p.rate - 0.5).abs() < 1e-12); // (11−2)/(20−2)
        assert_eq!(p.never_contacted, 1.0);
        assert_eq!(m.parts(&c, false, 0.9).never_contacted, 0.0);
    }

    #[test]
    fn score_combination_by_hand() {
        let c = Config::default();
        let p = parts(1.0, 1.0, 1.0, 1.0, 1.0, 1.0);
        assert!((p.score(&c) - 1.0).abs() < 1e-12);
        // name_shape 0.4·0.5+0.4·0.5+0.2·0 = 0.4; volume_shape 0.5·1+0.3·0.5+0.2·0 = 0.65.
        let p = parts(0.5, 0.5, 0.0, 1.0, 0.5, 0.0);
        assert!((p.name_shape(&c) - 0.4).abs() < 1e-12);
        assert!((p.volume_shape(&c) - 0.65).abs() < 1e-12);
        assert!((p.tunnel_shape(&c) - (0.4f64 * 0.65).sqrt()).abs() < 1e-12);
        // No random names at all: nothing, however many.
        assert_eq!(parts(0.0, 0.0, 0.0, 1.0, 1.0, 1.0).score(&c), 0.0);
        // Contacted answers and a prevalent domain: 1 · 0.75 · (0.4 + 0.6·0.1) = 0.345.
        let p = Parts { never_contacted: 0.0, rarity: 0.1, ..parts(1.0, 1.0, 1.0, 1.0, 1.0, 1.0) };
        assert!((p.score(&c) - 0.345).abs() < 1e-12);
    }

    #[test]
    fn weights_and_floor_come_from_the_thresholds_file() {
        // Ten hosts ask an agent's random-looking names (every finding kept, to compare).
        let keep_all = "[dns-tunnel]\nmin_score = 0.0\n";
        let before = hash_lookups_with(10, &Thresholds::overlay(keep_all, "t.toml").expect("valid thresholds"));
        let f = before.first().expect("a finding");
        // By default: prevalent (rarity near 0) and never connected to.
        let expected = f.components["tunnel_shape"] * (0.4 + 0.6 * f.components["rarity"]);
        assert!((f.score - expected).abs() < 1e-4, "{f:#?}");
        // Connected to or not counts the same, prevalence discounts nothing, and the name shape
        // is the entropy alone.
        let text = format!(
            "{keep_all}never_contacted_weight = 0.0\nprevalence_floor = 1.0\n\
             label_length_weight = 0.0\nentropy_weight = 1.0\nodd_type_weight = 0.0\n"
        );
        let after = hash_lookups_with(10, &Thresholds::overlay(&text, "t.toml").expect("valid thresholds"));
        let g = after.iter().find(|g| g.host.ip == f.host.ip).expect("the same host's finding");
        assert_eq!(g.components["name_shape"], g.components["entropy"]);
        let expected = (g.components["entropy"] * g.components["volume_shape"]).sqrt();
        assert!((g.score - expected).abs() < 1e-4, "{g:#?}");
        assert!(g.score > f.score + 0.1, "{} vs {}", g.score, f.score);
    }

    #[test]
    fn weights_that_are_no_mean_are_refused() {
        let e = Thresholds::overlay("[dns-tunnel]\nentropy_weight = 0.5\n", "t.toml").expect_err("sum 1.1");
        assert!(e.to_string().contains("must sum to 1"), "{e}");
        let e = Thresholds::overlay("[dns-tunnel]\nrate_weight = 0.3\nvolume_weight = 0.2\n", "t.toml");
        assert!(e.is_ok(), "{e:?}");
        let e = Thresholds::overlay("[dns-tunnel]\nnever_contacted_weight = 1.5\n", "t.toml").expect_err("past 1");
        assert!(e.to_string().contains("must lie in [0, 1]"), "{e}");
    }

    #[test]
    fn the_subdomain_cap_holds_at_its_boundary() {
        let mut b = Bundle::default();
        // MAX_SUBDOMAINS distinct names fill the table; then 3 names already remembered and 2
        // new ones: the repeats are recognised, the new ones counted past the cap.
        let name = |i: usize| format!("n{i}.cap-test.net");
        for i in 0..MAX_SUBDOMAINS {
            b.dns(CLIENT, RESOLVER, i as f64 * 0.01, &name(i), "TXT", &[]);
        }
        for i in [0, 1, 2, MAX_SUBDOMAINS, MAX_SUBDOMAINS + 1] {
            b.dns(CLIENT, RESOLVER, 200.0, &name(i), "TXT", &[]);
        }
        b.flows.sort_by_key(|f| (f.start, f.first_packet));
        b.events.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
        let internal = crate::util::net::InternalNets::default();
        let files = vec!["test.pcap".to_string()];
        let input = crate::detect::DetectInput {
            flows: &b.flows,
            events: &b.events,
            assets: &b.assets,
            internal: &internal,
            files: &files,
        };
        let t = Thresholds::defaults();
        let baseline = crate::detect::Baseline::learn(&input, t.section("baseline"));
        let ctx = DetectCtx::new(&input, &baseline, &t);
        let groups = group_lookups(&ctx, 1);
        let (_, g) = groups.first().expect("one group");
        assert_eq!(g.queries, MAX_SUBDOMAINS as u64 + 5);
        assert_eq!(g.subdomains.len(), MAX_SUBDOMAINS);
        assert_eq!(g.untracked, 2);
        assert_eq!(g.unique(), MAX_SUBDOMAINS as u64 + 2);
    }

    #[test]
    fn subdomains_past_the_cap_count_as_new() {
        let mut g = Group::default();
        g.subdomains.extend(0..MAX_SUBDOMAINS as u64);
        g.untracked = 5;
        assert_eq!(g.unique(), MAX_SUBDOMAINS as u64 + 5);
    }

    #[test]
    fn reverse_and_local_names_are_skipped() {
        assert!(skipped("4.3.2.1.in-addr.arpa"));
        assert!(skipped("printer.local"));
        assert!(skipped("wpad"));
        assert!(!skipped("a.example.com"));
    }
}
