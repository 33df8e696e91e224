//! `cryptominer` — an internal host mining for someone: Stratum JSON-RPC in clear, names of
//! mining pools in its DNS lookups, TLS server names or HTTP Host headers, and long-lived,
//! low-volume sessions to pool ports.
//!
//! One finding per (internal host, pool): a pool is named by its known domain when one was
//! seen (so its several addresses make one finding), else by its address. Score, every part a
//! component:
//!
//! ```text
//! score = 1 − (1 − stratum_weight·stratum)·(1 − domain_weight·pool_domain)
//!           ·(1 − session_weight·pool_session·rarity)
//! ```
//!
//! - `stratum`: 1 when the host logged in or submitted work (`login`, `mining.authorize`,
//!   `mining.submit`, …), `stratum_other` for other Stratum calls, 0 without any;
//! - `pool_domain`: 1 when the peer's name is on the list of mining pools below;
//! - `pool_session`: the longest session that stayed under `max_rate` bytes a second both ways,
//!   on a pool port or with a known pool, ramped from `min_session_s` to `full_session_s`;
//! - `rarity`: of the peer's domain or address among internal hosts — applied to the session
//!   alone, which without a protocol or a name is only a shape.
//!
//! Findings below `min_score` are not reported. Groups are keyed by flow and event fields and
//! hold at most one entry per flow or event.

use super::names::PerName;
use super::stats::ramp;
use super::{check, domain, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, Fields, FlowRecord};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

const SEC: f64 = 1e9;

/// Mining pools, by registrable domain. Sources: the pools' own connection pages
/// (MoneroOcean, SupportXMR, Nanopool, 2Miners, F2Pool, HashVault, C3Pool, HeroMiners,
/// unMineable, NiceHash, MineXMR, XMRPool.eu, Ethermine, Flexpool, Hiveon, ViaBTC, AntPool,
/// Braiins/Slush Pool, Poolin, MinerGate, Kryptex, zpool, Zergpool, WoolyPooly,
/// Mining-Dutch, ProHashing), XMRig's pool documentation, and the ZeroDot1 CoinBlockerLists
/// project's pool list.
pub const POOLS: &[&str] = &[
    "moneroocean.stream",
    "supportxmr.com",
    "nanopool.org",
    "2miners.com",
    "f2pool.com",
    "hashvault.pro",
    "c3pool.com",
    "herominers.com",
    "unmineable.com",
    "nicehash.com",
    "minexmr.com",
    "xmrpool.eu",
    "ethermine.org",
    "flexpool.io",
    "hiveon.net",
    "viabtc.com",
    "antpool.com",
    "slushpool.com",
    "braiins.com",
    "poolin.com",
    "minergate.com",
    "kryptex.network",
    "zpool.ca",
    "zergpool.com",
    "woolypooly.com",
    "mining-dutch.nl",
    "prohashing.com",
    "monerohash.com",
    "xmrfast.com",
    "p2pool.io",
];

/// Stratum calls that log a worker in or hand in work.
const WORKING: &[&str] = &[
    "login",
    "submit",
    "getjob",
    "mining.subscribe",
    "mining.authorize",
    "mining.submit",
    "eth_submitLogin",
    "eth_submitWork",
    "eth_getWork",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    pool_ports: Vec<u16>,
    min_session_s: f64,
    full_session_s: f64,
    max_rate: f64,
    stratum_other: f64,
    stratum_weight: f64,
    domain_weight: f64,
    session_weight: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pool_ports: vec![
                3333, 3334, 3335, 3336, 3357, 4444, 5555, 6666, 7777, 8888, 9999, 10128, 10300, 14433, 14444, 20535,
                45560, 45700,
            ],
            min_session_s: 300.0,
            full_session_s: 3600.0,
            max_rate: 500.0,
            stratum_other: 0.8,
            stratum_weight: 0.9,
            domain_weight: 0.6,
            session_weight: 0.6,
            min_score: 0.2,
        }
    }
}

pub struct Cryptominer;

impl Detector for Cryptominer {
    fn id(&self) -> &'static str {
        "cryptominer"
    }

    fn describe(&self) -> &'static str {
        "Stratum mining in clear, mining-pool names, long low-volume sessions to pool ports"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let groups = gather(ctx, &config);
        groups.iter().filter_map(|((host, peer), g)| finding(ctx, &config, *host, peer, g)).collect()
    }
}

/// The pool a name belongs to, if any: the name itself or one of its parent domains is one of
/// [`POOLS`] (compared without case).
pub fn pool_of(name: &str) -> Option<&'static str> {
    static SET: std::sync::LazyLock<domain::DomainSet> = std::sync::LazyLock::new(|| domain::DomainSet::new(POOLS));
    SET.find(name)
}

/// Pools already looked up, by the number of the name looked up.
type Pools<'t> = PerName<'t, Option<&'static str>>;

/// Who the host mined with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PeerKey {
    Pool(&'static str),
    Addr(IpAddr),
}

/// Everything seen of one (host, pool).
#[derive(Default)]
struct Group<'a> {
    flows: BTreeSet<usize>,
    events: Vec<&'a Event>,
    methods: BTreeSet<String>,
    logins: BTreeSet<String>,
    agents: BTreeSet<String>,
    /// Names the host used for the pool.
    names: BTreeSet<String>,
}

fn gather<'a>(ctx: &DetectCtx<'a>, config: &Config) -> BTreeMap<(IpAddr, PeerKey), Group<'a>> {
    let mut groups: BTreeMap<(IpAddr, PeerKey), Group<'a>> = BTreeMap::new();
    // Names repeat: each distinct one is looked up among the pools once.
    let names = ctx.names();
    let mut pools: Pools = PerName::new(names);
    // The key of a flow: its pool by name, else its responder.
    let key_of =
        |pools: &mut Pools, i: usize, f: &FlowRecord| match ctx.name_id_of(i).and_then(|n| pools.get(n, pool_of)) {
            Some(p) => PeerKey::Pool(p),
            None => PeerKey::Addr(f.resp_ip),
        };
    for &e in &ctx.stratum {
        let Fields::Stratum(s) = &e.fields else { continue };
        let Some(net) = &e.net else { continue };
        if !ctx.is_internal(net.src_ip) {
            continue;
        }
        let flow = net.flow_id.as_deref().and_then(|id| ctx.flow_index(id));
        let key = match flow.and_then(|i| ctx.flows.get(i).map(|f| key_of(&mut pools, i, f))) {
            Some(k) => k,
            None => PeerKey::Addr(net.dst_ip),
        };
        let g = groups.entry((net.src_ip, key)).or_default();
        g.events.push(e);
        g.flows.extend(flow);
        g.methods.extend(s.methods.iter().cloned());
        g.logins.extend(s.login.iter().cloned());
        g.agents.extend(s.agent.iter().cloned());
    }
    let named = ctx.client_dns.iter().chain(&ctx.tls).chain(&ctx.http).filter_map(|&e| Some((e, ctx.name_id(e)?)));
    for (e, id) in named {
        let (Some(found), Some(net)) = (pools.get(id, pool_of), &e.net) else { continue };
        if !ctx.is_internal(net.src_ip) {
            continue;
        }
        let g = groups.entry((net.src_ip, PeerKey::Pool(found))).or_default();
        g.events.push(e);
        insert_name(&mut g.names, names.name(id));
    }
    for (i, f) in ctx.flows.iter().enumerate() {
        if !ctx.is_internal(f.orig_ip) || ctx.is_internal(f.resp_ip) {
            continue;
        }
        let key = key_of(&mut pools, i, f);
        let pooled = matches!(key, PeerKey::Pool(_));
        if pooled || groups.contains_key(&(f.orig_ip, key.clone())) || is_session(f, config, true) {
            let g = groups.entry((f.orig_ip, key)).or_default();
            g.flows.insert(i);
            if let Some(id) = ctx.name_id_of(i).filter(|_| pooled) {
                insert_name(&mut g.names, names.name(id));
            }
        }
    }
    groups
}

/// Adds a name to a group's, copying it only when new.
fn insert_name(names: &mut BTreeSet<String>, name: &str) {
    if !names.contains(name) {
        names.insert(name.to_string());
    }
}

/// A session long enough and quiet enough to be a miner's: payload both ways, under
/// `max_rate` bytes a second, at least `min_session_s` long; with `pool_port_only`, on a pool
/// port (a known pool may be reached on any).
fn is_session(f: &FlowRecord, config: &Config, pool_port_only: bool) -> bool {
    let secs = f.duration() as f64 / SEC;
    let bytes = f.orig.bytes.saturating_add(f.resp.bytes) as f64;
    (!pool_port_only || config.pool_ports.contains(&f.resp_port))
        && f.orig.bytes > 0
        && f.resp.bytes > 0
        && secs >= config.min_session_s
        && bytes / secs <= config.max_rate
}

/// The parts of a finding's score.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    stratum: f64,
    pool_domain: f64,
    pool_session: f64,
    rarity: f64,
    score: f64,
}

/// `methods`: the Stratum calls seen; `known_pool`: the peer is a listed pool; `longest_s`: the
/// longest miner-like session; `rarity` of the peer.
fn parts(methods: &BTreeSet<String>, known_pool: bool, longest_s: f64, rarity: f64, c: &Config) -> Parts {
    let stratum = if methods.iter().any(|m| WORKING.contains(&m.as_str())) {
        1.0
    } else if methods.is_empty() {
        0.0
    } else {
        c.stratum_other
    };
    let pool_domain = if known_pool { 1.0 } else { 0.0 };
    let pool_session = ramp(longest_s, c.min_session_s, c.full_session_s);
    let score = 1.0
        - (1.0 - c.stratum_weight * stratum)
            * (1.0 - c.domain_weight * pool_domain)
            * (1.0 - c.session_weight * pool_session * rarity);
    Parts { stratum, pool_domain, pool_session, rarity, score: score.clamp(0.0, 1.0) }
}

fn finding(ctx: &DetectCtx<'_>, config: &Config, host: IpAddr, peer: &PeerKey, g: &Group<'_>) -> Option<Finding> {
    let flows: Vec<&FlowRecord> = g.flows.iter().filter_map(|&i| ctx.flows.get(i)).collect();
    let known_pool = matches!(peer, PeerKey::Pool(_));
    let sessions: Vec<&FlowRecord> = flows.iter().copied().filter(|f| is_session(f, config, !known_pool)).collect();
    let longest = sessions.iter().map(|f| f.duration()).max().unwrap_or(0) as f64 / SEC;
    let b = ctx.baseline;
    let first_flow = flows.first().copied();
    let rarity = match peer {
        PeerKey::Pool(p) => b.rarity(b.domain_prevalence(p)),
        PeerKey::Addr(ip) => b.rarity(b.ip_prevalence(*ip)),
    };
    let p = parts(&g.methods, known_pool, longest, rarity, config);
    if p.score < config.min_score {
        return None;
    }
    let times = flows.iter().flat_map(|f| [f.start, f.end.max(f.start)]).chain(g.events.iter().map(|e| e.ts));
    let (first, last) = times.fold((Timestamp::MAX, Timestamp::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if first > last {
        return None;
    }
    let mut finding = Finding::new("cryptominer", Tactic::Impact, "T1496", p.score)
        .component("stratum", p.stratum)
        .component("pool_domain", p.pool_domain)
        .component("pool_session", p.pool_session)
        .component("rarity", p.rarity)
        .component("longest_session_s", longest)
        .component("sessions", sessions.len() as f64)
        .component("stratum_events", g.events.iter().filter(|e| matches!(e.fields, Fields::Stratum(_))).count() as f64)
        .window(first, last);
    finding.host = ctx.host(host);
    let name = g.names.first().cloned();
    finding.peer.ip = match peer {
        PeerKey::Addr(ip) => Some(*ip),
        PeerKey::Pool(_) => first_flow.map(|f| f.resp_ip),
    };
    finding.peer.port = first_flow.map(|f| f.resp_port);
    finding.peer.domain = name.clone().or_else(|| match peer {
        PeerKey::Pool(p) => Some((*p).to_string()),
        PeerKey::Addr(_) => None,
    });
    finding.keys = g.names.iter().cloned().collect();
    finding.summary = summary(host, &finding.peer, g, &sessions, longest);
    finding.process = ctx.process_of(flows.iter().copied());
    let evidence = flows.iter().map(|f| ctx.flow_evidence(f)).chain(g.events.iter().map(|e| ctx.event_evidence(e)));
    Some(finding.evidence(evidence))
}

fn summary(host: IpAddr, peer: &super::Peer, g: &Group<'_>, sessions: &[&FlowRecord], longest_s: f64) -> String {
    let target = match (&peer.domain, peer.ip, peer.port) {
        (Some(d), Some(ip), Some(port)) => format!("{d} ({ip}:{port})"),
        (Some(d), _, _) => d.clone(),
        (None, Some(ip), Some(port)) => format!("{ip}:{port}"),
        (None, Some(ip), None) => ip.to_string(),
        (None, None, _) => "a pool".into(),
    };
    let mut parts = Vec::new();
    if !g.methods.is_empty() {
        parts.push(format!("Stratum {}", g.methods.iter().cloned().collect::<Vec<_>>().join(", ")));
    }
    if let Some(login) = g.logins.first() {
        parts.push(format!("login {}", shorten(login, 20)));
    }
    if let Some(agent) = g.agents.first() {
        parts.push(format!("agent {}", shorten(agent, 40)));
    }
    if g.methods.is_empty() && !g.names.is_empty() {
        parts.push("pool name looked up or used".into());
    }
    if !sessions.is_empty() {
        parts.push(format!("{} long quiet session(s), longest {:.0} min", sessions.len(), longest_s / 60.0));
    }
    format!("{host} mining with {target}: {}", parts.join("; "))
}

/// The first `n` characters, then an ellipsis.
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, ip, Bundle};
    use super::super::Severity;
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stratum_login_and_submits_are_critical() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        // A 90-minute session to 94.130.5.6:3333, 40 kB up, 60 kB down.
        let f = b.tcp("10.0.0.60", "94.130.5.6", 3333, 600.0, 5400.0, 40_000, 60_000);
        b.stratum(f, &["login", "submit"], Some("4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx"));
        let found = b.run(&Cryptominer);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.host.ip, Some(ip("10.0.0.60")));
        assert_eq!(f.peer.ip, Some(ip("94.130.5.6")));
        assert_eq!(f.peer.port, Some(3333));
        assert_eq!(f.components["stratum"], 1.0);
        assert_eq!(f.components["pool_session"], 1.0);
        assert_eq!(f.technique, "T1496");
        assert!(f.summary.contains("login 4AdUndXHHZ6cfufTMvpp…"), "{}", f.summary);
    }

    #[test]
    fn pool_lookup_and_tls_to_the_pool_make_one_finding() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        // Lookup of a pool name, then a 1-hour TLS session to its address on 443 with 20 kB.
        b.dns("10.0.0.61", "10.0.0.2", 100.0, "gulf.moneroocean.stream", "A", &["5.9.10.11"]);
        let f = b.tcp("10.0.0.61", "5.9.10.11", 443, 101.0, 3600.0, 10_000, 10_000);
        b.tls(f, "gulf.moneroocean.stream");
        let found = b.run(&Cryptominer);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.peer.domain.as_deref(), Some("gulf.moneroocean.stream"));
        assert_eq!(f.peer.ip, Some(ip("5.9.10.11")));
        assert_eq!(f.components["pool_domain"], 1.0);
        assert_eq!(f.components["stratum"], 0.0);
        assert!(f.severity >= Severity::High, "{f:#?}");
    }

    #[test]
    fn quiet_session_on_a_pool_port_alone_is_medium() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        // 2 h to an unnamed address on 14444, 30 kB each way: 8 bytes a second.
        b.tcp("10.0.0.62", "198.51.100.40", 14444, 60.0, 7200.0, 30_000, 30_000);
        let found = b.run(&Cryptominer);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Medium, "{:#?}", found[0]);
    }

    #[test]
    fn near_misses_are_not_mining() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        // A pool port but only 4 minutes long (min_session_s = 300).
        b.tcp("10.0.0.62", "198.51.100.40", 3333, 60.0, 240.0, 3000, 3000);
        // Long, but busy: 10 MB in an hour is 2.8 kB a second (max_rate = 500).
        b.tcp("10.0.0.63", "198.51.100.41", 4444, 60.0, 3600.0, 5_000_000, 5_000_000);
        // Long and quiet on an ordinary port.
        b.tcp("10.0.0.64", "198.51.100.42", 443, 60.0, 3600.0, 3000, 3000);
        // A name that only ends like a pool's.
        b.dns("10.0.0.65", "10.0.0.2", 100.0, "notnanopool.org", "A", &["198.51.100.43"]);
        let found = b.run(&Cryptominer);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("cryptominer"), Ok(Config::default()));
    }

    #[test]
    fn parts_by_hand() {
        let c = Config::default();
        let p = parts(&set(&["login", "submit"]), false, 5400.0, 1.0, &c);
        assert_eq!((p.stratum, p.pool_domain, p.pool_session), (1.0, 0.0, 1.0));
        // 1 − 0.1·(1 − 0.6·1·1) = 0.96
        assert!((p.score - 0.96).abs() < 1e-12, "{p:?}");
        // Other Stratum calls only, nothing else: 0.9·0.8 = 0.72.
        let p = parts(&set(&["mining.notify"]), false, 0.0, 1.0, &c);
        assert!((p.score - 0.72).abs() < 1e-12, "{p:?}");
        // A pool name and a session halfway up the ramp ((1950 − 300)/(3600 − 300) = 0.5) to a
        // peer of rarity 0.8: 1 − 0.4·(1 − 0.6·0.5·0.8) = 0.696.
        let p = parts(&BTreeSet::new(), true, 1950.0, 0.8, &c);
        assert!((p.pool_session - 0.5).abs() < 1e-12);
        assert!((p.score - 0.696).abs() < 1e-12, "{p:?}");
        assert_eq!(parts(&BTreeSet::new(), false, 0.0, 1.0, &c).score, 0.0);
    }

    #[test]
    fn pool_names() {
        assert_eq!(pool_of("gulf.moneroocean.stream"), Some("moneroocean.stream"));
        assert_eq!(pool_of("XMR.2Miners.com."), Some("2miners.com"));
        assert_eq!(pool_of("nanopool.org"), Some("nanopool.org"));
        assert_eq!(pool_of("notnanopool.org"), None);
        assert_eq!(pool_of("example.com"), None);
    }
}
