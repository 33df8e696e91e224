//! Expectations for `seam check`: what a bundle's hunt must find, and what it must not.
//!
//! Input: an EXPECT.toml file, and the findings and incidents of a run. Output: a
//! [`CheckResult`] — one verdict per expectation, with the finding or incident that met it or
//! the nearest miss, and the findings and incidents that nothing explains. May use `util`,
//! `detect` and `chains`; rendering is in `report::check`.
//!
//! ```toml
//! # findings and incidents above this severity must be expected (optional)
//! unexpected_above = "low"
//!
//! [[finding]]
//! detector = "beacon"
//! host = "10.113.0.1"         # address or name (FS01 matches FS01.corp.example); optional
//! peer = "45.77.8.39"         # address, domain (or a name below it) or CIDR; optional
//! process = "xmrig"           # executable path or file name; optional
//! min_severity = "medium"     # optional
//!
//! [[incident]]
//! hosts = ["10.113.0.1", "db01"]                                # all in the one incident
//! order = ["oast", "scan", "lateral-movement", "cryptominer"]  # stages in this relative order
//! min_severity = "high"
//! ```
//!
//! A `[[finding]]` is met by a finding of its detector whose host, peer and process match
//! (each when given) at `min_severity` or above. An `[[incident]]` is met by an incident that
//! holds every host, has stages whose detectors contain `order` as a subsequence (in stage
//! order, which is time order), and reaches `min_severity`. A finding is *explained* when a
//! `[[finding]]` matches it whatever its severity, or when it is a stage of an incident that
//! meets an `[[incident]]`; an incident is explained when it meets an `[[incident]]` or every
//! one of its stages is explained. Unexplained findings and incidents above
//! `unexpected_above` fail the check.

use crate::chains::Incident;
use crate::detect::{Finding, FindingHost, FindingProcess, Peer, Severity, DETECTORS};
use crate::util::net::Cidr;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use thiserror::Error;

/// Findings of the expected detector shown when none matched.
const OTHERS_SHOWN: usize = 3;

#[derive(Debug, Error)]
pub enum ExpectError {
    #[error("cannot read expectations {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("invalid expectations {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid expectations {path}: {key}: {message}")]
    Invalid { path: String, key: String, message: String },
}

/// An EXPECT.toml file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Findings and incidents above this severity must be explained; unset, none are checked.
    #[serde(default)]
    pub unexpected_above: Option<Severity>,
    #[serde(default, rename = "finding")]
    pub findings: Vec<FindingExpectation>,
    #[serde(default, rename = "incident")]
    pub incidents: Vec<IncidentExpectation>,
}

/// A `[[finding]]`: a finding that must be there.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingExpectation {
    pub detector: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub peer: Option<String>,
    #[serde(default)]
    pub process: Option<String>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// An `[[incident]]`: an incident that must be there.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentExpectation {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub order: Vec<String>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

impl Expectations {
    pub fn load(path: &Path) -> Result<Expectations, ExpectError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ExpectError::Read { path: shown.clone(), error })?;
        Expectations::parse(&text, &shown)
    }

    /// Parses and checks the text of an expectations file named `shown`.
    pub fn parse(text: &str, shown: &str) -> Result<Expectations, ExpectError> {
        let e: Expectations = toml::from_str(text)
            .map_err(|err| ExpectError::Parse { path: shown.into(), message: err.to_string().trim_end().into() })?;
        let invalid = |key: String, message: String| ExpectError::Invalid { path: shown.into(), key, message };
        let known = |id: &str| DETECTORS.iter().any(|d| d.id() == id);
        let known_list = || DETECTORS.iter().map(|d| d.id()).collect::<Vec<_>>().join(", ");
        for (n, f) in e.findings.iter().enumerate() {
            let key = |k: &str| format!("[[finding]] {} {k}", n + 1);
            if !known(&f.detector) {
                return Err(invalid(
                    key("detector"),
                    format!("unknown detector `{}` (known: {})", f.detector, known_list()),
                ));
            }
            for (k, v) in [("host", &f.host), ("peer", &f.peer), ("process", &f.process)] {
                if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(invalid(key(k), "empty value (leave the key out to match any)".into()));
                }
            }
            if let Some(p) = &f.peer {
                if p.contains('/') && Cidr::parse(p).is_none() {
                    return Err(invalid(key("peer"), format!("`{p}` is not an address block such as 10.0.0.0/8")));
                }
            }
        }
        for (n, i) in e.incidents.iter().enumerate() {
            let key = |k: &str| format!("[[incident]] {} {k}", n + 1);
            if let Some(d) = i.order.iter().find(|d| !known(d)) {
                return Err(invalid(key("order"), format!("unknown detector `{d}` (known: {})", known_list())));
            }
            if i.hosts.iter().any(|h| h.trim().is_empty()) {
                return Err(invalid(key("hosts"), "empty host".into()));
            }
        }
        Ok(e)
    }
}

/// Whether a finding's host is `want`: its address, or its name (case-insensitively, or its
/// first label: `FS01` is `FS01.corp.example`).
pub fn host_matches(h: &FindingHost, want: &str) -> bool {
    let want = want.trim();
    if let Ok(ip) = want.parse::<IpAddr>() {
        return h.ip == Some(ip);
    }
    h.name.as_deref().is_some_and(|n| {
        n.eq_ignore_ascii_case(want) || n.split('.').next().is_some_and(|first| first.eq_ignore_ascii_case(want))
    })
}

/// Whether a finding's peer is `want`: an address, a block holding its address (or the block
/// it swept), or a domain equal to, above or below its domain.
pub fn peer_matches(p: &Peer, want: &str) -> bool {
    let want = want.trim();
    if let Ok(ip) = want.parse::<IpAddr>() {
        return p.ip == Some(ip);
    }
    if want.contains('/') {
        let Some(block) = Cidr::parse(want) else { return false };
        let swept = p.cidr.as_deref().and_then(Cidr::parse);
        return p.ip.is_some_and(|ip| block.contains(ip)) || swept.is_some_and(|s| s == block);
    }
    p.domain
        .as_deref()
        .is_some_and(|d| crate::detect::domain::matches(d, want) || crate::detect::domain::matches(want, d))
}

/// Whether a finding's process is `want`: its executable, or the executable's file name.
pub fn process_matches(p: Option<&FindingProcess>, want: &str) -> bool {
    let Some(exe) = p.and_then(|p| p.executable.as_deref()) else { return false };
    let name = exe.rsplit(['/', '\\']).next().unwrap_or(exe);
    exe.eq_ignore_ascii_case(want) || name.eq_ignore_ascii_case(want)
}

impl FindingExpectation {
    /// Detector, host, peer and process match (severity aside).
    pub fn matches(&self, f: &Finding) -> bool {
        f.detector == self.detector
            && self.host.as_deref().is_none_or(|h| host_matches(&f.host, h))
            && self.peer.as_deref().is_none_or(|p| peer_matches(&f.peer, p))
            && self.process.as_deref().is_none_or(|p| process_matches(f.process.as_ref(), p))
    }

    fn severity_ok(&self, s: Severity) -> bool {
        self.min_severity.is_none_or(|m| s >= m)
    }
}

/// How far an incident is from an `[[incident]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFit {
    /// Expected hosts the incident lacks.
    pub missing_hosts: Vec<String>,
    /// How many detectors of `order` the stages hold in order (all = met).
    pub order_matched: usize,
    pub severity_ok: bool,
}

impl IncidentFit {
    pub fn met(&self, e: &IncidentExpectation) -> bool {
        self.missing_hosts.is_empty() && self.order_matched == e.order.len() && self.severity_ok
    }

    /// Larger is nearer.
    fn closeness(&self, e: &IncidentExpectation) -> usize {
        (e.hosts.len() - self.missing_hosts.len()) + self.order_matched + usize::from(self.severity_ok)
    }
}

impl IncidentExpectation {
    pub fn fit(&self, i: &Incident) -> IncidentFit {
        let missing_hosts = self
            .hosts
            .iter()
            .filter(|want| {
                !i.hosts.iter().any(|h| host_matches(h, want)) && !i.stages.iter().any(|s| host_matches(&s.host, want))
            })
            .cloned()
            .collect();
        // The longest prefix of `order` found as a subsequence of the stages: greedy is exact.
        let mut order_matched = 0;
        for s in &i.stages {
            if self.order.get(order_matched).is_some_and(|d| d == s.detector) {
                order_matched += 1;
            }
        }
        IncidentFit { missing_hosts, order_matched, severity_ok: self.min_severity.is_none_or(|m| i.severity >= m) }
    }
}

/// The verdict on one `[[finding]]`.
#[derive(Debug, Clone)]
pub struct FindingVerdict {
    pub expect: FindingExpectation,
    /// The strongest finding that met it.
    pub met: Option<Finding>,
    /// When none met it: the strongest that matched but fell below `min_severity`.
    pub below: Option<Finding>,
    /// When none matched: how many findings the detector made, and the first few of them.
    pub of_detector: usize,
    pub others: Vec<Finding>,
}

/// The verdict on one `[[incident]]`.
#[derive(Debug, Clone)]
pub struct IncidentVerdict {
    pub expect: IncidentExpectation,
    /// The incident that met it, or the nearest one, with how it fits.
    pub nearest: Option<(Incident, IncidentFit)>,
}

impl IncidentVerdict {
    pub fn met(&self) -> bool {
        self.nearest.as_ref().is_some_and(|(_, fit)| fit.met(&self.expect))
    }
}

/// Everything `seam check` says.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub unexpected_above: Option<Severity>,
    pub findings: Vec<FindingVerdict>,
    pub incidents: Vec<IncidentVerdict>,
    /// Findings above `unexpected_above` that nothing explains, in finding order.
    pub unexpected_findings: Vec<Finding>,
    /// Incidents above `unexpected_above` that nothing explains, highest first.
    pub unexpected_incidents: Vec<Incident>,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|v| v.met.is_some())
            && self.incidents.iter().all(IncidentVerdict::met)
            && self.unexpected_findings.is_empty()
            && self.unexpected_incidents.is_empty()
    }
}

/// Judges a run's findings and incidents against the expectations.
pub fn evaluate(e: &Expectations, findings: &[Finding], incidents: &[Incident]) -> CheckResult {
    // The first of the strongest (findings come highest first).
    let strongest = |fs: Vec<&Finding>| {
        fs.into_iter().min_by(|a, b| b.severity.cmp(&a.severity).then(b.score.total_cmp(&a.score))).cloned()
    };
    let finding_verdicts = e
        .findings
        .iter()
        .map(|x| {
            let matching: Vec<&Finding> = findings.iter().filter(|f| x.matches(f)).collect();
            let met = strongest(matching.iter().copied().filter(|f| x.severity_ok(f.severity)).collect());
            let below = if met.is_none() { strongest(matching.clone()) } else { None };
            let same: Vec<&Finding> = findings.iter().filter(|f| f.detector == x.detector).collect();
            let others = if matching.is_empty() {
                same.iter().take(OTHERS_SHOWN).map(|f| (*f).clone()).collect()
            } else {
                Vec::new()
            };
            FindingVerdict { expect: x.clone(), met, below, of_detector: same.len(), others }
        })
        .collect();
    let incident_verdicts: Vec<IncidentVerdict> = e
        .incidents
        .iter()
        .map(|x| {
            // The first incident (highest ranked) that meets it, else the nearest.
            let fits: Vec<(&Incident, IncidentFit)> = incidents.iter().map(|i| (i, x.fit(i))).collect();
            let nearest = fits
                .iter()
                .find(|(_, fit)| fit.met(x))
                .or_else(|| fits.iter().rev().max_by_key(|(_, fit)| fit.closeness(x)))
                .map(|(i, fit)| ((*i).clone(), fit.clone()));
            IncidentVerdict { expect: x.clone(), nearest }
        })
        .collect();
    let met_incidents: BTreeSet<&str> =
        incidents.iter().filter(|i| e.incidents.iter().any(|x| x.fit(i).met(x))).map(|i| i.id.as_str()).collect();
    let by_expectation = |f: &Finding| e.findings.iter().any(|x| x.matches(f));
    let in_met_incident: BTreeSet<&str> = incidents
        .iter()
        .filter(|i| met_incidents.contains(i.id.as_str()))
        .flat_map(|i| i.stages.iter().map(|s| s.finding.as_str()))
        .collect();
    let (mut unexpected_findings, mut unexpected_incidents) = (Vec::new(), Vec::new());
    if let Some(above) = e.unexpected_above {
        unexpected_findings = findings
            .iter()
            .filter(|f| f.severity > above && !by_expectation(f) && !in_met_incident.contains(f.id.as_str()))
            .cloned()
            .collect();
        let explained_by_findings = |i: &Incident| {
            i.stages.iter().all(|s| findings.iter().find(|f| f.id == s.finding).is_some_and(by_expectation))
        };
        unexpected_incidents = incidents
            .iter()
            .filter(|i| i.severity > above && !met_incidents.contains(i.id.as_str()) && !explained_by_findings(i))
            .cloned()
            .collect();
    }
    CheckResult {
        unexpected_above: e.unexpected_above,
        findings: finding_verdicts,
        incidents: incident_verdicts,
        unexpected_findings,
        unexpected_incidents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{SeverityCuts, Tactic};

    fn finding(id: &str, detector: &'static str, host: &str, peer: &str, score: f64, t: i64) -> Finding {
        let mut f = Finding::new(detector, Tactic::CommandAndControl, "T0000", score).window(t, t + 1);
        f.id = id.into();
        f.severity = SeverityCuts::default().of(score);
        f.host.ip = host.parse().ok();
        f.peer.ip = peer.parse().ok();
        f
    }

    #[test]
    fn parses_and_rejects_with_the_key() {
        let ok = Expectations::parse(
            "unexpected_above = \"low\"\n[[finding]]\ndetector = \"beacon\"\nhost = \"10.0.0.1\"\npeer = \"45.0.0.0/8\"\n\
             [[incident]]\nhosts = [\"db01\"]\norder = [\"scan\", \"cryptominer\"]\nmin_severity = \"high\"\n",
            "e.toml",
        )
        .unwrap();
        assert_eq!(ok.unexpected_above, Some(Severity::Low));
        assert_eq!(ok.findings[0].peer.as_deref(), Some("45.0.0.0/8"));
        assert_eq!(ok.incidents[0].min_severity, Some(Severity::High));
        let err = |text: &str| Expectations::parse(text, "e.toml").unwrap_err().to_string();
        let unknown_key = err("[[finding]]\ndetector = \"beacon\"\nhots = \"x\"\n");
        assert!(unknown_key.contains("e.toml") && unknown_key.contains("unknown field `hots`"), "{unknown_key}");
        let bad_severity = err("unexpected_above = \"loud\"\n");
        assert!(bad_severity.contains("unexpected_above") && bad_severity.contains("loud"), "{bad_severity}");
        let bad_detector = err("[[incident]]\norder = [\"scan\", \"nope\"]\n");
        assert!(bad_detector.contains("[[incident]] 1 order") && bad_detector.contains("`nope`"), "{bad_detector}");
        assert!(err("[[finding]]\ndetector = \"scan\"\npeer = \"10.0.0.0/99\"\n").contains("[[finding]] 1 peer"));
    }

    #[test]
    fn host_peer_and_process_match_loosely() {
        let h = FindingHost { ip: "10.0.0.50".parse().ok(), name: Some("FS01.corp.example".into()), managed: true };
        assert!(host_matches(&h, "10.0.0.50") && host_matches(&h, "fs01") && host_matches(&h, "FS01.corp.example"));
        assert!(!host_matches(&h, "10.0.0.5") && !host_matches(&h, "corp"));
        let p = Peer { ip: "45.77.8.39".parse().ok(), domain: Some("oast.fun".into()), port: None, cidr: None };
        assert!(peer_matches(&p, "45.77.8.39") && peer_matches(&p, "45.77.0.0/16"));
        assert!(peer_matches(&p, "abc.oast.fun") && peer_matches(&p, "OAST.fun") && !peer_matches(&p, "fun.oast"));
        let proc = FindingProcess { executable: Some("/tmp/.x/xmrig".into()), ..FindingProcess::default() };
        assert!(process_matches(Some(&proc), "xmrig") && process_matches(Some(&proc), "/tmp/.x/xmrig"));
        assert!(!process_matches(None, "xmrig"));
    }

    #[test]
    fn verdicts_and_unexpected() {
        let findings = vec![
            finding("F1", "beacon", "10.0.0.1", "45.1.1.1", 0.95, 100),
            finding("F2", "scan", "10.0.0.1", "", 0.8, 200),
            finding("F3", "lateral-movement", "10.0.0.1", "10.0.0.50", 0.9, 300),
            finding("F4", "beacon", "10.0.0.9", "8.8.8.8", 0.6, 50),
            finding("F5", "long-connection", "10.0.0.7", "8.8.4.4", 0.35, 50),
        ];
        let incidents = crate::chains::build(&findings, &crate::detect::Thresholds::defaults(), &Default::default());
        let e = Expectations {
            unexpected_above: Some(Severity::Low),
            findings: vec![
                FindingExpectation { detector: "beacon".into(), host: Some("10.0.0.1".into()), ..Default::default() },
                FindingExpectation {
                    detector: "scan".into(),
                    min_severity: Some(Severity::Critical),
                    ..Default::default()
                },
                FindingExpectation { detector: "exfil".into(), ..Default::default() },
            ],
            incidents: vec![IncidentExpectation {
                hosts: vec!["10.0.0.1".into(), "10.0.0.50".into()],
                order: vec!["beacon".into(), "lateral-movement".into()],
                min_severity: Some(Severity::High),
            }],
        };
        let r = evaluate(&e, &findings, &incidents);
        assert_eq!(r.findings[0].met.as_ref().map(|f| f.id.as_str()), Some("F1"));
        assert!(r.findings[1].met.is_none());
        assert_eq!(r.findings[1].below.as_ref().map(|f| f.id.as_str()), Some("F2"));
        assert!(r.findings[2].met.is_none() && r.findings[2].below.is_none() && r.findings[2].of_detector == 0);
        assert!(r.incidents[0].met());
        // F2 and F3 are explained by the incident; F4 (medium, alone) by nothing; F5 is low.
        let unexpected: Vec<&str> = r.unexpected_findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(unexpected, ["F4"]);
        assert_eq!(r.unexpected_incidents.len(), 1);
        assert!(!r.passed());

        // Order is relative: the reverse is not met, and the verdict names the nearest incident.
        let wrong =
            IncidentExpectation { order: vec!["lateral-movement".into(), "beacon".into()], ..Default::default() };
        let r = evaluate(&Expectations { incidents: vec![wrong], ..Default::default() }, &findings, &incidents);
        let (nearest, fit) = r.incidents[0].nearest.as_ref().unwrap();
        assert_eq!(nearest.id, incidents[0].id);
        assert_eq!(fit.order_matched, 1);
        assert!(!r.passed());
    }
}
