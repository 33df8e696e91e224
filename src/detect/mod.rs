//! Detection: baselines learned from the evidence and one detector per file, in one registry.
//!
//! Input: the bundle's flows and events after correlation, its assets, a baseline, the
//! thresholds. Output: findings (see [`finding`] for the contract), sorted by severity, time,
//! detector and entity, with stable ids. May use `util`, `model`, `timeline` and `entities`.
//!
//! Every detector reads the same read-only [`DetectCtx`], returns findings with the parts of
//! their scores, and is deterministic: same evidence, same findings, whatever the thread
//! count. Severity comes from the score through the cut points of the thresholds file; the
//! allowlist is applied to the finished findings.

pub mod allow;
pub mod baseline;
pub mod ctx;
pub mod domain;
pub mod finding;
pub mod names;
pub mod stats;
pub mod thresholds;

mod beacon;
mod cryptominer;
mod dns_tunnel;
mod edr_tamper;
mod exfil;
mod lateral_movement;
mod log_cleared;
mod lolbin_download;
mod long_connection;
mod oast;
mod payload_download;
mod process_network_anomaly;
mod scan;
mod suspicious_logon;
mod telemetry_gap;
#[cfg(test)]
pub mod testkit;
mod transfer;
mod unmanaged_asset;
mod webshell;

pub use allow::Allowlist;
pub use baseline::{Baseline, SavedBaseline};
pub use ctx::{DetectCtx, DetectInput};
pub use finding::{
    ChainWeights, EvidenceRef, Finding, FindingHost, FindingProcess, Peer, Severity, SeverityCuts, Tactic,
};
pub use thresholds::Thresholds;

use rayon::prelude::*;
use serde::de::DeserializeOwned;

/// One detector.
pub trait Detector: Sync {
    /// Stable kebab-case id; never changes once released.
    fn id(&self) -> &'static str;
    /// One line for `seam hunt --list`.
    fn describe(&self) -> &'static str;
    /// Checks the detector's section of the thresholds.
    fn validate(&self, t: &Thresholds) -> Result<(), String>;
    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding>;
}

/// Every detector: the network detectors, then the endpoint and cross-domain ones, each group in
/// id order.
pub const DETECTORS: &[&dyn Detector] = &[
    &beacon::Beacon,
    &cryptominer::Cryptominer,
    &dns_tunnel::DnsTunnel,
    &exfil::Exfil,
    &lateral_movement::LateralMovement,
    &long_connection::LongConnection,
    &oast::Oast,
    &payload_download::PayloadDownload,
    &scan::Scan,
    &edr_tamper::EdrTamper,
    &log_cleared::LogCleared,
    &lolbin_download::LolbinDownload,
    &process_network_anomaly::ProcessNetworkAnomaly,
    &suspicious_logon::SuspiciousLogon,
    &telemetry_gap::TelemetryGap,
    &unmanaged_asset::UnmanagedAsset,
    &webshell::Webshell,
];

/// Validates a section for [`Detector::validate`].
pub fn check<T: DeserializeOwned>(t: &Thresholds, id: &str) -> Result<(), String> {
    t.try_section::<T>(id).map(drop)
}

/// Checks, for [`Detector::validate`], that each named value (a weight, a floor, a share)
/// lies in [0, 1].
pub fn check_shares(values: &[(&str, f64)]) -> Result<(), String> {
    match values.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
        Some((name, v)) => Err(format!("{name} must lie in [0, 1], not {v}")),
        None => Ok(()),
    }
}

/// Checks, for [`Detector::validate`], that the weights of a weighted mean each lie in [0, 1]
/// and sum to 1, so that the mean of parts in [0, 1] is in [0, 1] and reaches 1.
pub fn check_weighted_mean(values: &[(&str, f64)]) -> Result<(), String> {
    check_shares(values)?;
    let sum: f64 = values.iter().map(|(_, v)| v).sum();
    if (sum - 1.0).abs() > 1e-9 {
        let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
        return Err(format!("{} must sum to 1, not {sum}", names.join(" + ")));
    }
    Ok(())
}

/// How a hunt runs.
#[derive(Debug, Clone, Default)]
pub struct HuntConfig {
    /// Detector ids to run; empty = all.
    pub detectors: Vec<String>,
    pub allow: Allowlist,
    pub thresholds: Thresholds,
    pub baseline: Option<SavedBaseline>,
}

/// What a hunt found.
#[derive(Debug, Clone, Default)]
pub struct Hunt {
    pub findings: Vec<Finding>,
    /// Findings the allowlist removed.
    pub allowed: u64,
    /// Seconds each detector ran, for `--timings`.
    pub timings: Vec<(&'static str, f64)>,
    /// Seconds spent learning the baseline, building the indexes (the two run side by side)
    /// and running the detectors, for `--timings`.
    pub stages: Vec<(&'static str, f64)>,
}

/// Learns the bundle's baseline, consults the saved one when given.
pub fn learn(input: &DetectInput<'_>, cfg: &HuntConfig) -> Result<Baseline, baseline::BaselineError> {
    consult(Baseline::learn(input, cfg.thresholds.section("baseline")), cfg)
}

/// A learnt baseline with the saved one, when given.
fn consult(learned: Baseline, cfg: &HuntConfig) -> Result<Baseline, baseline::BaselineError> {
    match &cfg.baseline {
        Some(saved) => learned.with_prior(saved),
        None => Ok(learned),
    }
}

/// Learns the baseline while the detectors' indexes are built, then runs the selected
/// detectors and finishes their findings.
pub fn hunt(input: &DetectInput<'_>, cfg: &HuntConfig) -> Result<Hunt, baseline::BaselineError> {
    let prepared = prepare(input, cfg)?;
    Ok(hunt_prepared(input, prepared, cfg))
}

/// What detection learns and indexes before the detectors run. Neither reads the input's
/// assets, which may be gathered meanwhile.
pub struct Prepared<'a> {
    baseline: Baseline,
    index: ctx::Index<'a>,
    names: names::NameTable<'a>,
    client_dns: Vec<&'a crate::model::Event>,
    stages: Vec<(&'static str, f64)>,
}

/// Learns the baseline from the flows and builds the detectors' indexes while the events'
/// names are numbered and then learnt from.
pub fn prepare<'a>(input: &DetectInput<'a>, cfg: &HuntConfig) -> Result<Prepared<'a>, baseline::BaselineError> {
    let (((from_flows, flows_secs), (index, index_secs)), ((names, names_secs), ((learnt, client_dns), learnt_secs))) =
        rayon::join(
            || {
                rayon::join(
                    || timed(|| Baseline::learn_flows(input, cfg.thresholds.section("baseline"))),
                    || timed(|| ctx::Index::build(input)),
                )
            },
            || {
                let (names, names_secs) = timed(|| names::NameTable::build(input.events));
                let learnt = timed(|| {
                    rayon::join(
                        || Baseline::learn_names(input, &names),
                        || ctx::client_lookups(input.events, &names, input.internal),
                    )
                });
                ((names, names_secs), learnt)
            },
        );
    let baseline = consult(from_flows.with_names(learnt), cfg)?;
    let stages = vec![
        ("baseline:flows", flows_secs),
        ("index", index_secs),
        ("names", names_secs),
        ("baseline:names+client-lookups", learnt_secs),
    ];
    Ok(Prepared { baseline, index, names, client_dns, stages })
}

/// What `work` returns, and how many seconds it took.
fn timed<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let t = std::time::Instant::now();
    let out = work();
    (out, t.elapsed().as_secs_f64())
}

/// Runs the selected detectors over what [`prepare`] made of the same flows and events
/// (`input` now carries the assets too).
pub fn hunt_prepared<'a>(input: &DetectInput<'a>, prepared: Prepared<'a>, cfg: &HuntConfig) -> Hunt {
    let Prepared { baseline, index, names, client_dns, mut stages } = prepared;
    let hunt = run(input, index, names, client_dns, &baseline, cfg);
    stages.extend(hunt.stages);
    Hunt { stages, ..hunt }
}

/// Runs the selected detectors against a learned baseline and finishes their findings.
fn run<'a>(
    input: &DetectInput<'a>,
    index: ctx::Index<'a>,
    names: names::NameTable<'a>,
    client_dns: Vec<&'a crate::model::Event>,
    baseline: &'a Baseline,
    cfg: &'a HuntConfig,
) -> Hunt {
    let ctx = DetectCtx::with_index(input, index, names, client_dns, baseline, &cfg.thresholds);
    let t0 = std::time::Instant::now();
    let selected: Vec<&dyn Detector> = DETECTORS
        .iter()
        .copied()
        .filter(|d| cfg.detectors.is_empty() || cfg.detectors.iter().any(|s| s == d.id()))
        .collect();
    let runs: Vec<(Vec<Finding>, f64)> = selected.par_iter().map(|d| timed(|| d.run(&ctx))).collect();
    let timings = selected.iter().zip(&runs).map(|(d, (_, t))| (d.id(), *t)).collect();
    let stages = vec![("detectors", t0.elapsed().as_secs_f64())];
    let findings = runs.into_iter().flat_map(|(f, _)| f).collect();
    Hunt { timings, stages, ..finish(findings, &cfg.allow, &cfg.thresholds.section("severity")) }
}

/// Severity from score, stable ids, the allowlist, the deterministic order.
pub fn finish(findings: Vec<Finding>, allow: &Allowlist, cuts: &SeverityCuts) -> Hunt {
    let before = findings.len();
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| !allow.covers(f))
        .map(|mut f| {
            f.score = finding::round4(f.score.clamp(0.0, 1.0));
            f.severity = cuts.of(f.score);
            f.id = f.stable_id();
            f
        })
        .collect();
    let allowed = (before - findings.len()) as u64;
    findings.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    // Two findings of one detector on the same host, peer and first time keep distinct ids.
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for f in &mut findings {
        let n = seen.entry(f.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.id = format!("{}-{n}", f.id);
        }
    }
    Hunt { findings, allowed, timings: Vec::new(), stages: Vec::new() }
}

impl Default for SeverityCuts {
    fn default() -> Self {
        SeverityCuts { critical: 0.9, high: 0.75, medium: 0.5, low: 0.3 }
    }
}
