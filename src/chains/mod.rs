//! Chains: findings grouped into incidents — the story an analyst reads first.
//!
//! Input: the finished findings of a hunt. Output: incidents, each an ordered list of stages
//! (one per finding) with the hosts involved, a score and its parts. May use `util`, `model`,
//! `timeline`, `entities` and `detect`.
//!
//! Grouping: findings of the same host (by address or name) form one group; a
//! `lateral-movement` or confirmed `suspicious-logon` finding joins its internal peer's group to
//! its host's (the attacker moved there); findings on different hosts that share an external
//! peer address or domain join too (the same C2 from two hosts). Info findings only join a
//! group that has something above info. Stages are in time order, ties broken by ATT&CK
//! tactic order.
//!
//! Score: `strongest + (1 − strongest) · (coverage_weight · coverage + agreement_weight ·
//! agreement)` — never below its strongest finding, with the weights of the thresholds file's
//! `[chains]` section — where `coverage` ramps with the distinct tactics (1 →
//! `full_coverage_tactics`) and `agreement` is 1 when network evidence (packets) and endpoint evidence
//! (records, lines, or an attributed process) both stand in the incident. Ids hash the sorted
//! finding ids.

use crate::detect::{
    ChainWeights, Finding, FindingHost, FindingProcess, Peer, Severity, SeverityCuts, Tactic, Thresholds,
};
use crate::util::net::InternalNets;
use crate::util::time::rfc3339;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// One step of an incident: a finding, as the chain tells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// The finding's id (see `seam hunt`).
    pub finding: String,
    pub detector: &'static str,
    pub severity: Severity,
    #[serde(serialize_with = "ser_tactic")]
    pub tactic: Tactic,
    pub technique: &'static str,
    #[serde(serialize_with = "ser_time")]
    pub time: i64,
    pub host: FindingHost,
    pub peer: Peer,
    pub process: Option<FindingProcess>,
    pub summary: String,
    /// The first evidence reference (`file#packet`, `file@record N`, `file:line`).
    pub evidence: Option<String>,
}

/// Findings that tell one story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    pub severity: Severity,
    #[serde(serialize_with = "ser_score")]
    pub score: f64,
    #[serde(serialize_with = "ser_components")]
    pub components: BTreeMap<&'static str, f64>,
    #[serde(serialize_with = "ser_time")]
    pub first_seen: i64,
    #[serde(serialize_with = "ser_time")]
    pub last_seen: i64,
    /// Hosts that acted or were reached by lateral movement, in order of first appearance.
    pub hosts: Vec<FindingHost>,
    /// Distinct tactics, in ATT&CK order.
    pub tactics: Vec<&'static str>,
    pub stages: Vec<Stage>,
    pub summary: String,
}

fn ser_time<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn ser_tactic<S: Serializer>(t: &Tactic, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

fn ser_score<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(crate::detect::finding::round4(*x))
}

fn ser_components<S: Serializer>(m: &BTreeMap<&'static str, f64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k, crate::detect::finding::round4(*v))))
}

/// Union–find over finding indexes.
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Groups {
        Groups { parent: (0..n).collect() }
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller index is the root: grouping does not depend on the order of joins.
        if a != b {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.parent[hi] = lo;
        }
    }
}

/// The keys a host is known by: its address and its name.
fn host_keys(h: &FindingHost) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(ip) = h.ip {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(name) = &h.name {
        keys.push(format!("name:{}", name.to_ascii_lowercase()));
    }
    keys
}

/// Whether a finding moved the attacker onto its peer (an internal address).
fn moves_to_peer(f: &Finding, internal: &InternalNets) -> bool {
    let internal_peer = f.peer.ip.is_some_and(|ip| internal.contains(ip));
    internal_peer
        && (f.detector == "lateral-movement"
            || (f.detector == "suspicious-logon" && f.components.get("network_confirmed").is_some_and(|&c| c > 0.0)))
}

/// External infrastructure a finding names (for joining hosts that reach the same).
fn infrastructure(f: &Finding, internal: &InternalNets) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(ip) = f.peer.ip.filter(|ip| !internal.contains(*ip)) {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(d) = &f.peer.domain {
        keys.push(format!("domain:{}", crate::detect::domain::registrable(d)));
    }
    keys
}

/// Groups findings into incidents, highest score first. `internal` says which addresses are
/// the network's own (the run's `--internal`, else the private ranges).
pub fn build(findings: &[Finding], thresholds: &Thresholds, internal: &InternalNets) -> Vec<Incident> {
    let cuts: SeverityCuts = thresholds.section("severity");
    let weights: ChainWeights = thresholds.section("chains");
    let n = findings.len();
    let mut groups = Groups::new(n);
    let mut by_host: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_infra: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut info = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        // Info findings join no groups of their own accord: they are attached below.
        if f.severity <= Severity::Info {
            info.push(i);
            continue;
        }
        let mut keys = host_keys(&f.host);
        if moves_to_peer(f, internal) {
            keys.extend(f.peer.ip.map(|ip| format!("ip:{ip}")));
        }
        for k in keys {
            match by_host.get(&k) {
                Some(&j) => groups.join(i, j),
                None => {
                    by_host.insert(k, i);
                }
            }
        }
        for k in infrastructure(f, internal) {
            by_infra.entry(k).or_default().insert(i);
        }
    }
    for members in by_infra.values() {
        let hosts: BTreeSet<Vec<String>> = members.iter().map(|&i| host_keys(&findings[i].host)).collect();
        if hosts.len() > 1 {
            let mut it = members.iter();
            if let Some(&first) = it.next() {
                for &m in it {
                    groups.join(first, m);
                }
            }
        }
    }
    // An info finding joins the group of its own host, when that host has something above
    // info; it never links two groups, nor makes one.
    for i in info {
        if let Some(&j) = host_keys(&findings[i].host).iter().find_map(|k| by_host.get(k)) {
            groups.join(i, j);
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let root = groups.find(i);
        members.entry(root).or_default().push(i);
    }
    let mut incidents: Vec<Incident> = members
        .into_values()
        .filter(|m| m.iter().any(|&i| findings[i].severity > Severity::Info))
        .map(|m| incident(&m.iter().map(|&i| &findings[i]).collect::<Vec<_>>(), &cuts, &weights, internal))
        .collect();
    incidents.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.total_cmp(&a.score))
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.id.cmp(&b.id))
    });
    incidents
}

/// Names the hosts an incident reached only as a peer (a lateral movement's target) from the
/// asset inventory, and marks them managed when the bundle holds their logs.
pub fn name_hosts(incidents: &mut [Incident], assets: &[crate::model::Asset]) {
    for host in incidents.iter_mut().flat_map(|i| i.hosts.iter_mut()) {
        let Some(asset) = host.ip.and_then(|ip| assets.iter().find(|a| a.ip == ip)) else { continue };
        if host.name.is_none() {
            host.name = asset.names.first().cloned();
        }
        host.managed |= asset.managed;
    }
}

fn incident(findings: &[&Finding], cuts: &SeverityCuts, weights: &ChainWeights, internal: &InternalNets) -> Incident {
    let mut stages: Vec<Stage> = findings
        .iter()
        .map(|f| Stage {
            finding: f.id.clone(),
            detector: f.detector,
            severity: f.severity,
            tactic: f.tactic,
            technique: f.technique,
            time: f.first_seen,
            host: f.host.clone(),
            peer: f.peer.clone(),
            process: f.process.clone(),
            summary: f.summary.clone(),
            evidence: f.evidence.first().map(|e| e.text()),
        })
        .collect();
    stages.sort_by(|a, b| (a.time, a.tactic, &a.finding).cmp(&(b.time, b.tactic, &b.finding)));
    let strongest = findings.iter().map(|f| f.score).fold(0.0, f64::max);
    let tactics: BTreeSet<Tactic> = findings.iter().map(|f| f.tactic).collect();
    let coverage = crate::detect::stats::ramp(tactics.len() as f64, 1.0, weights.full_coverage_tactics);
    let network = findings.iter().any(|f| f.evidence.iter().any(|e| e.packet.is_some()));
    let endpoint = findings
        .iter()
        .any(|f| f.process.is_some() || f.evidence.iter().any(|e| e.record.is_some() || e.line.is_some()));
    let agreement = if network && endpoint { 1.0 } else { 0.0 };
    let score = (strongest
        + (1.0 - strongest) * (weights.coverage_weight * coverage + weights.agreement_weight * agreement))
        .clamp(0.0, 1.0);
    let mut hosts: Vec<FindingHost> = Vec::new();
    for s in &stages {
        let mut candidates = vec![s.host.clone()];
        if s.detector == "lateral-movement" || s.detector == "suspicious-logon" {
            if let Some(ip) = s.peer.ip.filter(|ip| internal.contains(*ip)) {
                candidates.push(FindingHost { ip: Some(ip), name: None, managed: false });
            }
        }
        for h in candidates {
            let known =
                hosts.iter_mut().find(|k| (h.ip.is_some() && k.ip == h.ip) || (h.ip.is_none() && k.name == h.name));
            match known {
                Some(k) => {
                    if k.name.is_none() {
                        k.name = h.name.clone();
                    }
                    k.managed |= h.managed;
                }
                None => hosts.push(h),
            }
        }
    }
    let mut ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for id in &ids {
        h.update(id.as_bytes());
        h.update([0u8]);
    }
    let id = format!("I{}", h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
    let first_seen = findings.iter().map(|f| f.first_seen).min().unwrap_or(0);
    let last_seen = findings.iter().map(|f| f.last_seen).max().unwrap_or(0);
    let host_names: Vec<String> =
        hosts.iter().map(|h| h.name.clone().or(h.ip.map(|i| i.to_string())).unwrap_or_default()).collect();
    let tactic_names: Vec<&'static str> = tactics.iter().map(|t| t.as_str()).collect();
    let summary = format!(
        "{} stage(s) on {} host(s) ({}): {}",
        stages.len(),
        hosts.len(),
        host_names.join(", "),
        tactic_names.join(" → ")
    );
    let components = BTreeMap::from([
        ("strongest", strongest),
        ("coverage", coverage),
        ("tactics", tactics.len() as f64),
        ("agreement", agreement),
        ("hosts", hosts.len() as f64),
        ("findings", findings.len() as f64),
    ]);
    Incident {
        id,
        severity: cuts.of(score),
        score,
        components,
        first_seen,
        last_seen,
        hosts,
        tactics: tactic_names,
        stages,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{EvidenceRef, Finding};

    fn finding(
        id: &str,
        detector: &'static str,
        tactic: Tactic,
        t: i64,
        host: &str,
        peer: &str,
        score: f64,
    ) -> Finding {
        let mut f = Finding::new(detector, tactic, "T0000", score).window(t, t + 10);
        f.id = id.into();
        f.score = score;
        f.severity = SeverityCuts::default().of(score);
        f.host.ip = host.parse().ok();
        f.peer.ip = peer.parse().ok();
        f.evidence = vec![EvidenceRef { file: "a.pcap".into(), packet: Some(1), record: None, line: None, flow: None }];
        f
    }

    #[test]
    fn lateral_movement_and_shared_c2_join_hosts() {
        let thresholds = Thresholds::defaults();
        let findings = vec![
            finding("F1", "beacon", Tactic::CommandAndControl, 100, "10.0.0.1", "45.1.1.1", 0.9),
            finding("F2", "scan", Tactic::Discovery, 200, "10.0.0.1", "", 0.8),
            finding("F3", "lateral-movement", Tactic::LateralMovement, 300, "10.0.0.1", "10.0.0.50", 0.9),
            finding("F4", "cryptominer", Tactic::Impact, 400, "10.0.0.50", "94.1.1.1", 0.9),
            // Another host beaconing to the same C2 joins too.
            finding("F5", "beacon", Tactic::CommandAndControl, 150, "10.0.0.7", "45.1.1.1", 0.6),
            // An unrelated host with a low finding is its own incident; an info one is none.
            finding("F6", "long-connection", Tactic::CommandAndControl, 50, "10.0.0.9", "8.8.8.8", 0.35),
            finding("F7", "unmanaged-asset", Tactic::InitialAccess, 50, "10.0.0.10", "", 0.1),
        ];
        let incidents = build(&findings, &thresholds, &InternalNets::default());
        assert_eq!(incidents.len(), 2, "{incidents:#?}");
        let main = &incidents[0];
        let order: Vec<&str> = main.stages.iter().map(|s| s.finding.as_str()).collect();
        assert_eq!(order, ["F1", "F5", "F2", "F3", "F4"]);
        let hosts: Vec<String> = main.hosts.iter().filter_map(|h| h.ip.map(|i| i.to_string())).collect();
        assert_eq!(hosts, ["10.0.0.1", "10.0.0.7", "10.0.0.50"]);
        assert_eq!(main.tactics, ["discovery", "lateral-movement", "command-and-control", "impact"]);
        // 0.9 + 0.1 · 0.5 · (4 − 1)/(5 − 1) = 0.9375; no endpoint evidence → no agreement.
        assert!((main.score - 0.9375).abs() < 1e-9, "{}", main.score);
        assert_eq!(main.severity, Severity::Critical);
        assert_eq!(incidents[1].stages.len(), 1);
        assert_eq!(incidents[1].severity, Severity::Low);
        // Same findings in another order: same incidents, same ids.
        let mut reversed = findings.clone();
        reversed.reverse();
        let again = build(&reversed, &thresholds, &InternalNets::default());
        assert_eq!(
            again.iter().map(|i| &i.id).collect::<Vec<_>>(),
            incidents.iter().map(|i| &i.id).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_runs_internal_ranges_decide_where_the_attacker_moved() {
        let thresholds = Thresholds::defaults();
        let findings = vec![
            finding("F1", "scan", Tactic::Discovery, 100, "198.18.0.5", "", 0.8),
            finding("F2", "lateral-movement", Tactic::LateralMovement, 200, "198.18.0.5", "198.18.0.9", 0.9),
            finding("F3", "scan", Tactic::Discovery, 300, "198.18.0.9", "", 0.8),
        ];
        let internal = InternalNets(vec![crate::util::net::Cidr::parse("198.18.0.0/24").expect("cidr")]);
        let incidents = build(&findings, &thresholds, &internal);
        assert_eq!(incidents.len(), 1, "{incidents:#?}");
        let hosts: Vec<String> = incidents[0].hosts.iter().filter_map(|h| h.ip.map(|i| i.to_string())).collect();
        assert_eq!(hosts, ["198.18.0.5", "198.18.0.9"]);
        // Without them 198.18.0.9 is an outside address: no move, two incidents.
        assert_eq!(build(&findings, &thresholds, &InternalNets::default()).len(), 2);
    }

    #[test]
    fn hosts_reached_by_movement_take_their_names_from_the_assets() {
        let thresholds = Thresholds::defaults();
        let findings =
            vec![finding("F1", "lateral-movement", Tactic::LateralMovement, 100, "10.0.0.1", "10.0.0.50", 0.9)];
        let mut incidents = build(&findings, &thresholds, &InternalNets::default());
        let mut fs01 = crate::model::Asset::new("10.0.0.50".parse().unwrap(), 0);
        fs01.names = vec!["FS01.corp.example".into()];
        fs01.managed = true;
        name_hosts(&mut incidents, &[fs01]);
        let reached = incidents[0].hosts.iter().find(|h| h.ip == "10.0.0.50".parse().ok()).expect("the reached host");
        assert_eq!((reached.name.as_deref(), reached.managed), (Some("FS01.corp.example"), true));
    }

    #[test]
    fn info_findings_never_link_incidents() {
        let thresholds = Thresholds::defaults();
        let mut findings = vec![
            finding("F1", "beacon", Tactic::CommandAndControl, 100, "10.0.0.1", "45.1.1.1", 0.9),
            finding("F2", "beacon", Tactic::CommandAndControl, 100, "10.0.0.2", "46.1.1.1", 0.9),
            // Both hosts also sent a little to one popular domain: info, and no reason to join.
            finding("F3", "exfil", Tactic::Exfiltration, 150, "10.0.0.1", "52.1.1.1", 0.26),
            finding("F4", "exfil", Tactic::Exfiltration, 160, "10.0.0.2", "52.1.1.1", 0.26),
        ];
        findings[2].peer.domain = Some("cdn.example.com".into());
        findings[3].peer.domain = Some("cdn.example.com".into());
        let incidents = build(&findings, &thresholds, &InternalNets::default());
        assert_eq!(incidents.len(), 2, "{incidents:#?}");
        for incident in &incidents {
            assert_eq!(incident.stages.len(), 2, "each host's info finding stays with its host: {incident:#?}");
        }
    }

    #[test]
    fn weights_come_from_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<ChainWeights>("chains"), Ok(ChainWeights::default()));
        assert!(Thresholds::overlay("[chains]\ncoverage_weight = 0.8\n", "t").is_err(), "weights over 1");
        let t = Thresholds::overlay("[chains]\nagreement_weight = 0.0\n", "t").expect("valid");
        let mut a = finding("F1", "scan", Tactic::Discovery, 100, "10.0.0.1", "", 0.6);
        let b = a.clone();
        a.evidence[0] = EvidenceRef { file: "s.evtx".into(), packet: None, record: Some(4), line: None, flow: None };
        a.id = "F2".into();
        let without_agreement = build(&[a, b], &t, &InternalNets::default());
        assert!((without_agreement[0].score - 0.6).abs() < 1e-9, "{}", without_agreement[0].score);
    }

    #[test]
    fn network_and_endpoint_agreement_raises_the_score() {
        let thresholds = Thresholds::defaults();
        let mut a = finding("F1", "scan", Tactic::Discovery, 100, "10.0.0.1", "", 0.6);
        let b = a.clone();
        a.evidence[0] = EvidenceRef { file: "s.evtx".into(), packet: None, record: Some(4), line: None, flow: None };
        a.id = "F2".into();
        let with = build(&[a, b.clone()], &thresholds, &InternalNets::default());
        let without = build(&[b], &thresholds, &InternalNets::default());
        // 0.6 alone; with both kinds of evidence 0.6 + 0.4 · 0.5 = 0.8.
        assert!((without[0].score - 0.6).abs() < 1e-9);
        assert!((with[0].score - 0.8).abs() < 1e-9, "{}", with[0].score);
        assert_eq!(with[0].components["agreement"], 1.0);
    }
}
