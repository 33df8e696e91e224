//! The findings contract: what every detector returns and what `seam hunt` prints.
//!
//! JSON (`--format json`): `{"schema":"seam.findings/1","findings":[…],"diagnostics":{…}}`, one
//! finding per line inside the array; JSON Lines: one finding per line. A finding:
//!
//! ```json
//! {"id":"F3c1d…","detector":"beacon","severity":"high","score":0.82,
//!  "components":{"interval_skew":0.97,"interval_dispersion":0.91,"histogram":0.88,"coverage":1.0,"rarity":0.89},
//!  "tactic":"command-and-control","technique":"T1071.001",
//!  "first_seen":"2024-03-01T10:00:00.000000000Z","last_seen":"2024-03-01T12:00:00.000000000Z",
//!  "host":{"ip":"10.0.0.1","name":"vpn01","managed":false},
//!  "peer":{"ip":"45.77.8.39","domain":null,"port":443,"cidr":null},
//!  "process":null,
//!  "summary":"10.0.0.1 → 45.77.8.39:443 every 212 s (±11 %) for 2 h, 34 connections",
//!  "evidence":[{"file":"network.pcap","packet":1043,"flow":"C2x…"}],"evidence_total":34}
//! ```
//!
//! `id` is a hash of detector, host, peer and first time: the same evidence gives the same id
//! on every run. `components` holds every part of the score under a stable name, so an analyst
//! can recompute it; `evidence` lists at most [`MAX_EVIDENCE`] references and `evidence_total`
//! says how many there were.

use crate::util::time::rfc3339;
use crate::util::Timestamp;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Evidence references kept per finding.
pub const MAX_EVIDENCE: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// ATT&CK tactics, in kill-chain order (the order incidents tell their stages in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tactic {
    Reconnaissance,
    InitialAccess,
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    Collection,
    CommandAndControl,
    Exfiltration,
    Impact,
}

impl Tactic {
    /// The ATT&CK tactic id (`TA0011`).
    pub fn id(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "TA0043",
            Tactic::InitialAccess => "TA0001",
            Tactic::Execution => "TA0002",
            Tactic::Persistence => "TA0003",
            Tactic::PrivilegeEscalation => "TA0004",
            Tactic::DefenseEvasion => "TA0005",
            Tactic::CredentialAccess => "TA0006",
            Tactic::Discovery => "TA0007",
            Tactic::LateralMovement => "TA0008",
            Tactic::Collection => "TA0009",
            Tactic::CommandAndControl => "TA0011",
            Tactic::Exfiltration => "TA0010",
            Tactic::Impact => "TA0040",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tactic::Reconnaissance => "reconnaissance",
            Tactic::InitialAccess => "initial-access",
            Tactic::Execution => "execution",
            Tactic::Persistence => "persistence",
            Tactic::PrivilegeEscalation => "privilege-escalation",
            Tactic::DefenseEvasion => "defense-evasion",
            Tactic::CredentialAccess => "credential-access",
            Tactic::Discovery => "discovery",
            Tactic::LateralMovement => "lateral-movement",
            Tactic::Collection => "collection",
            Tactic::CommandAndControl => "command-and-control",
            Tactic::Exfiltration => "exfiltration",
            Tactic::Impact => "impact",
        }
    }
}

/// The internal host that acted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingHost {
    pub ip: Option<IpAddr>,
    pub name: Option<String>,
    pub managed: bool,
}

/// The other side: an address, a domain, a port, or the range a scan swept. Members are null
/// when unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Peer {
    pub ip: Option<IpAddr>,
    pub domain: Option<String>,
    pub port: Option<u16>,
    pub cidr: Option<String>,
}

/// The process an endpoint log ties to the behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingProcess {
    pub pid: Option<u64>,
    pub executable: Option<String>,
    pub command_line: Option<String>,
    /// How it was known: the log and the join (`sysmon/community-id`, `security/community-id`,
    /// `auditd/remote-endpoint`, `sysmon/dns-name`), or the log alone for endpoint findings.
    pub source: String,
}

/// One piece of evidence: a file and a place in it, and the flow when there is one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EvidenceRef {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
}

impl EvidenceRef {
    /// `network.pcap#1043`, `fs01-sysmon.evtx@record 17`, `audit.log:120`.
    pub fn text(&self) -> String {
        match (self.packet, self.record, self.line) {
            (Some(p), _, _) => format!("{}#{p}", self.file),
            (_, Some(r), _) => format!("{}@record {r}", self.file),
            (_, _, Some(l)) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }
}

fn ser_time<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn ser_score<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round4(*x))
}

fn ser_components<S: Serializer>(m: &BTreeMap<&'static str, f64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(k, v)| (k, round4(*v))))
}

/// Scores and components are printed to four decimals: enough to recompute a score, and the
/// same bytes whatever order the floating-point sums ran in.
pub fn round4(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10_000.0).round() / 10_000.0
    } else {
        0.0
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub detector: &'static str,
    pub severity: Severity,
    #[serde(serialize_with = "ser_score")]
    pub score: f64,
    #[serde(serialize_with = "ser_components")]
    pub components: BTreeMap<&'static str, f64>,
    #[serde(serialize_with = "ser_tactic")]
    pub tactic: Tactic,
    pub technique: &'static str,
    #[serde(serialize_with = "ser_time")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "ser_time")]
    pub last_seen: Timestamp,
    pub host: FindingHost,
    pub peer: Peer,
    pub process: Option<FindingProcess>,
    pub summary: String,
    pub evidence: Vec<EvidenceRef>,
    pub evidence_total: u64,
    /// Further names the allowlist is checked against (other domains, JA4s, user agents).
    #[serde(skip)]
    pub keys: Vec<String>,
}

fn ser_tactic<S: Serializer>(t: &Tactic, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

impl Finding {
    /// A finding with its score's parts; severity and id are set when the run's findings are
    /// collected (see [`super::finish`]).
    pub fn new(detector: &'static str, tactic: Tactic, technique: &'static str, score: f64) -> Finding {
        Finding {
            id: String::new(),
            detector,
            severity: Severity::Info,
            score: score.clamp(0.0, 1.0),
            components: BTreeMap::new(),
            tactic,
            technique,
            first_seen: 0,
            last_seen: 0,
            host: FindingHost::default(),
            peer: Peer::default(),
            process: None,
            summary: String::new(),
            evidence: Vec::new(),
            evidence_total: 0,
            keys: Vec::new(),
        }
    }

    pub fn component(mut self, name: &'static str, value: f64) -> Finding {
        self.components.insert(name, value);
        self
    }

    pub fn window(mut self, first: Timestamp, last: Timestamp) -> Finding {
        self.first_seen = first.min(last);
        self.last_seen = last.max(first);
        self
    }

    pub fn summary(mut self, s: impl Into<String>) -> Finding {
        self.summary = s.into();
        self
    }

    /// Sets the evidence from any number of references: sorted, de-duplicated, the first
    /// [`MAX_EVIDENCE`] kept and the total counted.
    pub fn evidence(mut self, refs: impl IntoIterator<Item = EvidenceRef>) -> Finding {
        let mut all: Vec<EvidenceRef> = refs.into_iter().collect();
        all.sort();
        all.dedup();
        self.evidence_total = all.len() as u64;
        all.truncate(MAX_EVIDENCE);
        self.evidence = all;
        self
    }

    /// The stable id: detector, host, peer and first time, hashed.
    pub fn stable_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.detector.as_bytes());
        for part in [
            self.host.ip.map(|i| i.to_string()),
            self.host.name.clone(),
            self.peer.ip.map(|i| i.to_string()),
            self.peer.domain.clone(),
            self.peer.port.map(|p| p.to_string()),
            self.peer.cidr.clone(),
            Some(self.first_seen.to_string()),
        ] {
            h.update([0u8]);
            h.update(part.unwrap_or_default().as_bytes());
        }
        let d = h.finalize();
        let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("F{hex}")
    }

    /// The deterministic order of a finding list: severity (highest first), first time,
    /// detector, host, peer, id.
    pub fn order_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.first_seen,
            self.detector,
            self.host.ip,
            self.peer.ip,
            self.peer.domain.as_deref(),
            self.peer.port,
            &self.id,
        )
    }
}

/// Severity from score, with the cut points of the thresholds file.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityCuts {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
    pub low: f64,
}

impl SeverityCuts {
    /// Scores are in [0, 1]: the cuts must lie there, rising from low to critical.
    pub fn check(&self) -> Result<(), String> {
        let cuts = [("low", self.low), ("medium", self.medium), ("high", self.high), ("critical", self.critical)];
        if let Some((name, v)) = cuts.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("`{name}` = {v} is outside [0, 1], where scores lie"));
        }
        match cuts.windows(2).find(|w| w[0].1 > w[1].1) {
            Some(w) => Err(format!("`{}` = {} is above `{}` = {}: the cuts must rise", w[0].0, w[0].1, w[1].0, w[1].1)),
            None => Ok(()),
        }
    }

    pub fn of(&self, score: f64) -> Severity {
        if score >= self.critical {
            Severity::Critical
        } else if score >= self.high {
            Severity::High
        } else if score >= self.medium {
            Severity::Medium
        } else if score >= self.low {
            Severity::Low
        } else {
            Severity::Info
        }
    }
}

/// The incident score's weights: the `[chains]` section of the thresholds file.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainWeights {
    pub coverage_weight: f64,
    pub agreement_weight: f64,
    /// Distinct tactics at which coverage is full.
    pub full_coverage_tactics: f64,
}

impl Default for ChainWeights {
    fn default() -> Self {
        ChainWeights { coverage_weight: 0.5, agreement_weight: 0.5, full_coverage_tactics: 5.0 }
    }
}

impl ChainWeights {
    /// The weights must keep an incident's score within [0, 1].
    pub fn check(&self) -> Result<(), String> {
        let w = [self.coverage_weight, self.agreement_weight];
        if w.iter().any(|v| !(0.0..=1.0).contains(v)) || w.iter().sum::<f64>() > 1.0 {
            return Err("coverage_weight and agreement_weight must lie in [0, 1] and sum to at most 1".into());
        }
        if self.full_coverage_tactics < 1.0 {
            return Err("full_coverage_tactics must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let mut a = Finding::new("beacon", Tactic::CommandAndControl, "T1071", 0.5).window(10, 20);
        a.host.ip = "10.0.0.1".parse().ok();
        let b = a.clone();
        assert_eq!(a.stable_id(), b.stable_id());
        let mut c = a.clone();
        c.peer.port = Some(443);
        assert_ne!(a.stable_id(), c.stable_id());
        assert!(a.stable_id().starts_with('F') && a.stable_id().len() == 17);
    }

    #[test]
    fn evidence_is_capped_and_counted() {
        let refs = (0..50).rev().map(|i| EvidenceRef {
            file: "a.pcap".into(),
            packet: Some(i),
            record: None,
            line: None,
            flow: None,
        });
        let f = Finding::new("scan", Tactic::Discovery, "T1046", 2.0).evidence(refs);
        assert_eq!(f.score, 1.0);
        assert_eq!(f.evidence_total, 50);
        assert_eq!(f.evidence.len(), MAX_EVIDENCE);
        assert_eq!(f.evidence[0].packet, Some(0));
        assert_eq!(f.evidence[0].text(), "a.pcap#0");
    }

    #[test]
    fn severity_cuts() {
        let cuts = SeverityCuts { critical: 0.9, high: 0.75, medium: 0.5, low: 0.3 };
        assert_eq!(cuts.of(0.95), Severity::Critical);
        assert_eq!(cuts.of(0.75), Severity::High);
        assert_eq!(cuts.of(0.5), Severity::Medium);
        assert_eq!(cuts.of(0.3), Severity::Low);
        assert_eq!(cuts.of(0.1), Severity::Info);
    }
}
