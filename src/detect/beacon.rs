//! `beacon` — an internal host checking in with one external destination at regular times.
//!
//! Connections are grouped per internal originator and destination name (TLS server name,
//! HTTP Host, or the DNS answer the host got), so that a beacon hopping between the addresses
//! of one name is one behaviour; the connections no qualifying name group took are then
//! grouped per originator and external address. A connection is judged once: a name group
//! with enough connections claims its flows, as RITA v5 lets its SNI beacons claim theirs.
//!
//! NTP time-keeping (recognised from content on the NTP port, see `decode::ntp`) is not
//! judged: an NTP client polls its servers at a fixed power-of-two interval with same-sized
//! messages by design, so it scores as a perfect beacon, and only prevalence would pull it
//! down — which a bundle with one or a few internal hosts cannot measure (the one workstation
//! that keeps time is as "rare" a user of its time server as a compromised host of its C2).
//! UDP to port 123 that is not NTP is judged like any other traffic.
//!
//! Each group is scored with RITA v5's four components, reproduced formula for formula:
//!
//! - **timestamp**: the intervals between connection times (whole seconds, zero intervals
//!   dropped): the mean of the Bowley-skew score `1 − |skew|` (skew taken as 0 when the
//!   quartile spread is under `skew_min_spread` or the median equals a quartile) and the MAD
//!   score `(median − MAD) / median`, rounded to three decimals;
//! - **size**: the same over the bytes the host sent per connection (IP bytes), the MAD score
//!   being 0 when the median is under one byte;
//! - **histogram**: connections counted in equal bins over the bundle; the larger of the
//!   coefficient-of-variation score `1 − sd/mean` (0 when above 1) and the bimodal fit (the
//!   share of bars in the two most common bar heights, heights grouped by
//!   `histogram_mode_sensitivity` of the highest bar, `histogram_bimodal_outlier_removal` bars
//!   forgiven);
//! - **duration**: the larger of the coverage (last − first connection over the bundle span)
//!   and the consistency (longest run of non-empty bins, wrapping round, over the ideal run),
//!   0 with too few non-empty bins.
//!
//! RITA always uses 24 bins (hours of a day). Here the bins are sized from the estimated
//! period (the median interval): `max(span / 24, periods_per_bin × period)`, so each bin
//! expects the same number of check-ins whatever the capture length, and the bar counts RITA
//! states for 24 bins (`duration_min_bars`, `duration_ideal_run`, `histogram_bimodal_min_bars`)
//! scale with the number of bins. A day-long capture and a period of at most half an hour
//! gives RITA's 24 hourly bins and RITA's numbers; a 30-minute beacon in a 3-hour capture gets
//! the same one-hour bins as in a day-long one instead of being judged on 7.5-minute bins.
//!
//! The weighted mean of the components (`beacon`, RITA's score) is then scaled by how much the
//! sample says and by how rare the destination is among internal hosts:
//!
//! ```text
//! score = beacon × support × timer × rarity_weight × (1 + novelty_boost × novelty)
//! support = support_floor + (1 − support_floor) × ramp(check-ins, min_connections, support_connections), check-ins being
//!           the distinct seconds connections opened in
//! timer = 0.5 + 0.5 × ramp(on_time, on_time_low, on_time_high)
//! rarity_weight = prevalence_floor + (1 − prevalence_floor) × ramp(rarity, rarity_low, rarity_high)
//! ```
//!
//! Support and timer: a dozen visits at random times look regular by chance often enough (RITA's
//! timestamp score is lenient: its skew part ignores scale, its MAD part sees only the middle
//! half of the intervals) that few connections cannot carry a high score on their own, nor
//! intervals of which many stray from the period. `on_time` is the share of intervals within
//! `on_time_tolerance` of the median: every one for a sleep jittered up to ±30 %, about a quarter
//! for visits at random times. Intervals whose MAD exceeds `max_interval_dispersion` of the
//! median are no beacon at all. Novelty is 1 when the
//! destination first appears after the first `novelty_grace` share of the bundle and a saved
//! baseline does not know it. A periodic service every host uses stays at `prevalence_floor ×
//! beacon`, below medium.
//!
//! A group with more connections than `strobe_per_day` pro rata (RITA: 86 400 a day, one a
//! second) is a **strobe**: reported as such, scored `strobe_score` scaled the same way, not
//! scored as a beacon.

use super::finding::Tactic;
use super::names::{NameId, PerName};
use super::stats::{mad, median, quartiles, ramp};
use super::{check, DetectCtx, Detector, Finding, Thresholds};
use crate::model::{FlowRecord, Service};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

const NANOS: i64 = 1_000_000_000;
const DAY_SECS: f64 = 86_400.0;

/// The `[beacon]` section of the thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    min_connections: usize,
    timestamp_weight: f64,
    size_weight: f64,
    histogram_weight: f64,
    duration_weight: f64,
    skew_min_spread: f64,
    histogram_mode_sensitivity: f64,
    histogram_bimodal_outlier_removal: usize,
    histogram_bimodal_min_bars: usize,
    duration_min_bars: usize,
    duration_ideal_run: usize,
    reference_bins: usize,
    periods_per_bin: f64,
    strobe_per_day: f64,
    strobe_score: f64,
    max_interval_dispersion: f64,
    on_time_tolerance: f64,
    on_time_low: f64,
    on_time_high: f64,
    min_beacon_score: f64,
    min_score: f64,
    prevalence_floor: f64,
    rarity_low: f64,
    rarity_high: f64,
    novelty_boost: f64,
    novelty_grace: f64,
    support_connections: usize,
    support_floor: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_connections: 4,
            timestamp_weight: 0.25,
            size_weight: 0.25,
            histogram_weight: 0.25,
            duration_weight: 0.25,
            skew_min_spread: 10.0,
            histogram_mode_sensitivity: 0.05,
            histogram_bimodal_outlier_removal: 1,
            histogram_bimodal_min_bars: 11,
            duration_min_bars: 6,
            duration_ideal_run: 12,
            reference_bins: 24,
            periods_per_bin: 2.0,
            strobe_per_day: 86_400.0,
            strobe_score: 0.8,
            max_interval_dispersion: 0.3,
            on_time_tolerance: 0.4,
            on_time_low: 0.7,
            on_time_high: 0.9,
            min_beacon_score: 0.6,
            min_score: 0.3,
            prevalence_floor: 0.25,
            rarity_low: 0.4,
            rarity_high: 0.9,
            novelty_boost: 0.15,
            novelty_grace: 0.1,
            support_connections: 16,
            support_floor: 0.3,
        }
    }
}

impl Config {
    fn check(&self) -> Result<(), String> {
        let weights = [self.timestamp_weight, self.size_weight, self.histogram_weight, self.duration_weight];
        if weights.iter().any(|w| !(0.0..=1.0).contains(w)) || (weights.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err("the four component weights must lie in [0, 1] and sum to 1".into());
        }
        if self.min_connections < 4 {
            return Err("min_connections must be at least 4 (three intervals)".into());
        }
        if self.reference_bins == 0 || self.periods_per_bin <= 0.0 {
            return Err("reference_bins and periods_per_bin must be positive".into());
        }
        if self.rarity_high <= self.rarity_low {
            return Err("rarity_high must be above rarity_low".into());
        }
        Ok(())
    }
}

pub struct Beacon;

impl Detector for Beacon {
    fn id(&self) -> &'static str {
        "beacon"
    }

    fn describe(&self) -> &'static str {
        "regular check-ins to a rare external address or name (RITA-style scoring), and strobes"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())?;
        t.try_section::<Config>(self.id())?.check()
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        run(ctx, &config)
    }
}

/// What a group of connections was gathered by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Name(String),
    Address(IpAddr),
}

fn run(ctx: &DetectCtx<'_>, config: &Config) -> Vec<Finding> {
    let Some(window) = Window::of(ctx) else { return Vec::new() };
    // Outgoing flows but time keeping, as (host, peer, flow index), in (host, peer) order;
    // each flow is looked at once.
    let kept: Vec<&(IpAddr, IpAddr, usize)> =
        ctx.outgoing.iter().filter(|k| !is_time_keeping(&ctx.flows[k.2])).collect();
    let outgoing = || kept.iter().copied();

    // Names come numbered and normalised; addresses used as names are not names. Groups are
    // keyed by the name's number: every group is judged, so their order does not matter.
    let names = ctx.names();
    let mut is_name = PerName::new(names);
    let mut by_name: Vec<((IpAddr, NameId), usize)> = Vec::new();
    for &(host, _, i) in outgoing() {
        let Some(id) = ctx.name_id_of(i) else { continue };
        if is_name.get(id, |name| crate::util::net::parse_ip(name).is_none()) {
            by_name.push(((host, id), i));
        }
    }
    let mut claimed = vec![false; ctx.flows.len()];
    let mut findings = Vec::new();
    for ((host, id), flows) in regular_enough(ctx, config, by_name) {
        for &i in &flows {
            claimed[i] = true;
        }
        findings.extend(judge(ctx, config, &window, host, Target::Name(names.name(id).to_string()), &flows));
    }

    let by_address: Vec<((IpAddr, IpAddr), usize)> =
        outgoing().filter(|k| !claimed[k.2]).map(|&(host, peer, i)| ((host, peer), i)).collect();
    for ((host, peer), flows) in regular_enough(ctx, config, by_address) {
        findings.extend(judge(ctx, config, &window, host, Target::Address(peer), &flows));
    }
    findings
}

/// The flows grouped by key (each group in flow order), the groups with enough connections
/// to judge, in the order of their keys. One sort instead of a map of lists: most keys have a
/// flow or two.
fn regular_enough<K: Ord + Copy>(
    ctx: &DetectCtx<'_>,
    config: &Config,
    mut keyed: Vec<(K, usize)>,
) -> Vec<(K, Vec<usize>)> {
    keyed.sort_unstable();
    keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.len() >= config.min_connections)
        .filter_map(|group| Some((group.first()?.0, group.iter().map(|&(_, i)| i).collect::<Vec<usize>>())))
        .filter(|(_, flows)| unique_seconds(ctx, flows) >= config.min_connections)
        .collect()
}

/// An NTP exchange: periodic by design, never a beacon (see the module's documentation).
fn is_time_keeping(f: &FlowRecord) -> bool {
    f.services.contains(&Service::Ntp)
}

fn unique_seconds(ctx: &DetectCtx<'_>, flows: &[usize]) -> usize {
    let mut secs: Vec<i64> = flows.iter().map(|&i| ctx.flows[i].start.div_euclid(NANOS)).collect();
    secs.sort_unstable();
    secs.dedup();
    secs.len()
}

/// The time the bundle covers, in whole seconds: RITA's dataset minimum and maximum, the
/// first and the last connection start (a long flow running on past the last connection does
/// not stretch it).
struct Window {
    first: i64,
    last: i64,
}

impl Window {
    fn of(ctx: &DetectCtx<'_>) -> Option<Window> {
        let first = ctx.flows.iter().map(|f| f.start).min()?.div_euclid(NANOS);
        let last = ctx.flows.iter().map(|f| f.start).max()?.div_euclid(NANOS);
        (last > first).then_some(Window { first, last })
    }

    fn span(&self) -> f64 {
        (self.last - self.first) as f64
    }
}

/// How rare a destination is, and how much that weighs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rarity {
    pub prevalence: f64,
    pub rarity: f64,
    /// `prevalence_floor + (1 − prevalence_floor) × ramp(rarity, low, high)`.
    pub weight: f64,
}

impl Rarity {
    pub(super) fn of(ctx: &DetectCtx<'_>, prevalence: f64, floor: f64, low: f64, high: f64) -> Rarity {
        let rarity = ctx.baseline.rarity(prevalence);
        Rarity { prevalence, rarity, weight: floor + (1.0 - floor) * ramp(rarity, low, high) }
    }
}

/// Scores one group and returns its finding, if it is one worth reporting.
fn judge(
    ctx: &DetectCtx<'_>,
    config: &Config,
    window: &Window,
    host: IpAddr,
    target: Target,
    flows: &[usize],
) -> Option<Finding> {
    let records: Vec<&FlowRecord> = flows.iter().map(|&i| &ctx.flows[i]).collect();
    let (prevalence, first_seen, known) = match &target {
        Target::Name(n) => (
            ctx.baseline.fqdn_prevalence(n),
            ctx.baseline.fqdns.get(n).map(|s| s.first_seen),
            ctx.baseline.prior.as_deref().is_some_and(|p| p.fqdns.contains_key(n)),
        ),
        Target::Address(ip) => (
            ctx.baseline.ip_prevalence(*ip),
            ctx.baseline.ips.get(ip).map(|s| s.first_seen),
            ctx.baseline.known_ip(*ip),
        ),
    };
    let rarity = Rarity::of(ctx, prevalence, config.prevalence_floor, config.rarity_low, config.rarity_high);
    let grace_end = ctx.baseline.start + (config.novelty_grace * (ctx.baseline.end - ctx.baseline.start) as f64) as i64;
    let novelty = if !known && first_seen.is_some_and(|t| t > grace_end) { 1.0 } else { 0.0 };
    let modifier = rarity.weight * (1.0 + config.novelty_boost * novelty);

    let mut times: Vec<i64> = records.iter().map(|f| f.start.div_euclid(NANOS)).collect();
    times.sort_unstable();
    let (first, last) = (records.iter().map(|f| f.start).min()?, records.iter().map(|f| f.end).max()?);
    let peer_ip = match &target {
        Target::Address(ip) => *ip,
        Target::Name(_) => most_common(records.iter().map(|f| f.resp_ip))?,
    };
    let port = most_common(records.iter().map(|f| f.resp_port))?;
    let base = Finding::new("beacon", Tactic::CommandAndControl, technique(&records), 0.0)
        .window(first, last)
        .evidence(records.iter().map(|f| ctx.flow_evidence(f)));
    let mut f = Finding { host: ctx.host(host), process: ctx.process_of(records.iter().copied()), ..base };
    f.peer.ip = Some(peer_ip);
    f.peer.port = Some(port);
    if let Target::Name(n) = &target {
        f.peer.domain = Some(n.clone());
    }
    let shown = match &target {
        Target::Name(n) => format!("{n} ({peer_ip}:{port})"),
        Target::Address(ip) => format!("{}:{port}", endpoint(*ip)),
    };
    let f = f
        .component("rarity", rarity.rarity)
        .component("prevalence", rarity.prevalence)
        .component("rarity_weight", rarity.weight)
        .component("novelty", novelty)
        .component("connections", records.len() as f64);

    let strobe_at = config.strobe_per_day * (window.span() / DAY_SECS).max(1.0 / 24.0);
    if records.len() as f64 >= strobe_at {
        let score = (config.strobe_score * modifier).clamp(0.0, 1.0);
        if score < config.min_score {
            return None;
        }
        let per_hour = records.len() as f64 / (window.span() / 3600.0);
        let summary = format!(
            "{host} → {shown}: strobe, {} connections in {} ({per_hour:.0} an hour)",
            records.len(),
            span_text(last - first)
        );
        return Some(
            Finding { score, ..f }
                .component("strobe", 1.0)
                .component("strobe_score", config.strobe_score)
                .component("per_hour", per_hour)
                .summary(summary),
        );
    }

    let sizes: Vec<f64> = records.iter().map(|f| f.orig.ip_bytes as f64).collect();
    let s = series_score(&times, &sizes, window, config)?;
    if s.timestamp.dispersion > config.max_interval_dispersion || s.beacon < config.min_beacon_score {
        return None;
    }
    // Support counts check-ins, as `min_connections` does: connections opened in the same
    // second are one.
    let check_ins = unique_seconds(ctx, flows);
    let support = config.support_floor
        + (1.0 - config.support_floor)
            * ramp(check_ins as f64, config.min_connections as f64, config.support_connections.max(1) as f64);
    let on_time = on_time_share(&times, s.period, config.on_time_tolerance);
    let timer = 0.5 + 0.5 * ramp(on_time, config.on_time_low, config.on_time_high);
    let score = (s.beacon * support * timer * modifier).clamp(0.0, 1.0);
    if score < config.min_score {
        return None;
    }
    let summary = format!(
        "{host} → {shown} every {:.0} s (±{:.0} %) for {}, {} connections",
        s.period,
        100.0 * s.timestamp.dispersion,
        span_text(last - first),
        records.len()
    );
    Some(
        Finding { score, ..f }
            .component("beacon", s.beacon)
            .component("support", support)
            .component("timer", timer)
            .component("on_time", on_time)
            .component("timestamp", s.timestamp.score)
            .component("interval_skew", s.timestamp.skew)
            .component("interval_dispersion", s.timestamp.dispersion)
            .component("period_s", s.period)
            .component("size", s.size.score)
            .component("size_skew", s.size.skew)
            .component("size_dispersion", s.size.dispersion)
            .component("size_median", s.size.median)
            .component("histogram", s.histogram.score)
            .component("histogram_bins", s.bins as f64)
            .component("histogram_cv", s.histogram.cv_score)
            .component("histogram_bimodal", s.histogram.bimodal_score)
            .component("duration", s.duration.score)
            .component("coverage", s.duration.coverage)
            .component("consistency", s.duration.consistency)
            .summary(summary),
    )
}

/// `[v6]` in brackets so that the port reads apart.
fn endpoint(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => ip.to_string(),
        IpAddr::V6(_) => format!("[{ip}]"),
    }
}

/// The most frequent value, ties to the smallest.
pub(super) fn most_common<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for x in items {
        *counts.entry(x).or_default() += 1;
    }
    let mut best: Option<(T, usize)> = None;
    for (k, n) in counts {
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((k, n));
        }
    }
    best.map(|(k, _)| k)
}

/// ATT&CK technique by the application protocol most of the flows spoke: web (T1071.001) or
/// DNS (T1071.004), by content, else by the usual port; T1071 otherwise.
pub(super) fn technique(flows: &[&FlowRecord]) -> &'static str {
    let web = |f: &FlowRecord| {
        f.services.iter().any(|s| matches!(s, Service::Http | Service::Tls))
            || (f.services.is_empty() && matches!(f.resp_port, 80 | 443 | 8080 | 8443))
    };
    let dns = |f: &FlowRecord| f.services.contains(&Service::Dns) || (f.services.is_empty() && f.resp_port == 53);
    let half = flows.len().div_ceil(2);
    if flows.iter().filter(|f| web(f)).count() >= half {
        "T1071.001"
    } else if flows.iter().filter(|f| dns(f)).count() >= half {
        "T1071.004"
    } else {
        "T1071"
    }
}

/// `2 h 05 min`, `14 min`, `40 s`.
pub(super) fn span_text(nanos: Timestamp) -> String {
    let secs = nanos.max(0) / NANOS;
    match secs {
        s if s >= 3600 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

// ---------------------------------------------------------------------------------------------
// The components, as RITA v5 computes them (analysis/beacons.go), generalised to any number of
// histogram bins.

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ceil3(x: f64) -> f64 {
    (x * 1000.0).ceil() / 1000.0
}

/// RITA's statistical score of a sample (intervals or sizes).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Regularity {
    /// `round3((skew_score + mad_score) / 2)`.
    score: f64,
    /// Bowley skew, 0 when unreliable.
    skew: f64,
    /// MAD over median (0 when the median is under 1).
    dispersion: f64,
    median: f64,
    mad: f64,
}

/// RITA's `calculateStatisticalScore`: Bowley skew score `1 − |skew|` (skew 0 when the quartile
/// spread is below `min_spread` or the median equals a quartile) averaged with the MAD score
/// `(median − MAD) / median` (`default_mad_score` when the median is under 1; 0 when negative).
fn regularity(xs: &[f64], min_spread: f64, default_mad_score: f64) -> Option<Regularity> {
    if xs.len() < 3 {
        return None;
    }
    let (q1, q2, q3) = quartiles(xs)?;
    let (num, den) = (q3 + q1 - 2.0 * q2, q3 - q1);
    let skew = if den >= min_spread && q2 != q1 && q2 != q3 { num / den } else { 0.0 };
    let skew_score = 1.0 - skew.abs();
    let m = median(xs)?;
    let d = mad(xs)?;
    let mut mad_score = if m >= 1.0 { (m - d) / m } else { default_mad_score };
    if mad_score.is_nan() || mad_score < 0.0 {
        mad_score = 0.0;
    }
    Some(Regularity {
        score: round3((skew_score + mad_score) / 2.0),
        skew,
        dispersion: if m >= 1.0 { d / m } else { 0.0 },
        median: m,
        mad: d,
    })
}

/// RITA's timestamp score: over the intervals between sorted whole-second times, zero intervals
/// dropped; at least four times and three non-zero intervals.
fn timestamp_score(times: &[i64], min_spread: f64) -> Option<Regularity> {
    if times.len() < 4 {
        return None;
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let intervals: Vec<f64> = sorted.windows(2).map(|w| (w[1] - w[0]) as f64).filter(|&d| d > 0.0).collect();
    if intervals.len() < 3 {
        return None;
    }
    regularity(&intervals, min_spread, 1.0)
}

/// The share of non-zero intervals between sorted times within `tolerance` (a share) of `period`.
fn on_time_share(times: &[i64], period: f64, tolerance: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let intervals: Vec<f64> = sorted.windows(2).map(|w| (w[1] - w[0]) as f64).filter(|&d| d > 0.0).collect();
    if intervals.is_empty() || period <= 0.0 {
        return 0.0;
    }
    let near = intervals.iter().filter(|&&d| (d - period).abs() <= tolerance * period).count();
    near as f64 / intervals.len() as f64
}

/// RITA's data size score: the statistical score of the sizes, MAD score 0 for a median under 1.
fn size_score(sizes: &[f64], min_spread: f64) -> Option<Regularity> {
    regularity(sizes, min_spread, 0.0)
}

/// The connection histogram and its score.
#[derive(Debug, Clone, PartialEq)]
struct Histogram {
    counts: Vec<u64>,
    /// Non-empty bins.
    bars: usize,
    /// Longest run of non-empty bins, wrapping from the last bin to the first.
    longest_run: usize,
    cv_score: f64,
    bimodal_score: f64,
    /// `max(cv_score, bimodal_score)`.
    score: f64,
}

/// RITA's `getHistogramScore` with `bins` equal bins over `[first, last]` (times outside go to
/// the first or last bin, as RITA's walk does). `bimodal_min_bars` below 6 means no bimodal fit.
fn histogram_score(
    first: i64,
    last: i64,
    times: &[i64],
    bins: usize,
    mode_sensitivity: f64,
    outlier_removal: usize,
    bimodal_min_bars: usize,
) -> Option<Histogram> {
    if times.is_empty() || last <= first || bins == 0 {
        return None;
    }
    let step = (last - first) as f64 / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| first as f64 + i as f64 * step).collect();
    if let Some(e) = edges.last_mut() {
        *e = last as f64;
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut counts = vec![0u64; bins];
    let mut bin = 0usize;
    for &t in &sorted {
        let t = t as f64;
        while bin + 1 < bins && edges.get(bin + 1).is_some_and(|&e| t >= e) {
            bin += 1;
        }
        if let Some(c) = counts.get_mut(bin) {
            *c += 1;
        }
    }

    let bars = counts.iter().filter(|&&c| c > 0).count();
    let largest = counts.iter().copied().max().unwrap_or(0);
    let bin_size = (largest as f64 * mode_sensitivity).ceil();
    let mut heights: BTreeMap<u64, usize> = BTreeMap::new();
    for &c in counts.iter().filter(|&&c| c > 0) {
        let h = if bin_size > 0.0 { ((c as f64 / bin_size).floor() * bin_size) as u64 } else { c };
        *heights.entry(h).or_default() += 1;
    }
    let (mut longest_run, mut run) = (0usize, 0usize);
    for i in 0..2 * bins {
        if counts.get(i % bins).is_some_and(|&c| c > 0) {
            run += 1;
        } else {
            longest_run = longest_run.max(run);
            run = 0;
        }
    }
    let longest_run = longest_run.max(run).min(bins);

    let total: u64 = counts.iter().sum();
    let mean = total as f64 / bins as f64;
    let sd = (counts.iter().map(|&c| (c as f64 - mean).powi(2)).sum::<f64>() / bins as f64).sqrt();
    let cv = sd / mean;
    let cv_score = if cv > 1.0 || !cv.is_finite() { 0.0 } else { round3(1.0 - cv).min(1.0) };

    let bimodal_score = if bimodal_min_bars >= 6 && bars >= bimodal_min_bars {
        let mut modes: Vec<usize> = heights.values().copied().collect();
        modes.sort_unstable_by(|a, b| b.cmp(a));
        let top2 = modes.iter().take(2).sum::<usize>() as f64;
        let adjusted = (bars.saturating_sub(outlier_removal) as f64).max(1.0);
        round3(top2 / adjusted).min(1.0)
    } else {
        0.0
    };
    Some(Histogram { counts, bars, longest_run, cv_score, bimodal_score, score: cv_score.max(bimodal_score) })
}

/// RITA's duration score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Duration {
    coverage: f64,
    consistency: f64,
    score: f64,
}

/// RITA's `getDurationScore`: with at least `min_bars` non-empty bins, the larger of the
/// coverage `ceil3((last − first connection) / (dataset span))` and the consistency
/// `ceil3(longest run / ideal run)`, each at most 1; 0 otherwise.
fn duration_score(
    (dataset_first, dataset_last): (i64, i64),
    (first, last): (i64, i64),
    bars: usize,
    longest_run: usize,
    min_bars: usize,
    ideal_run: usize,
) -> Duration {
    if bars < min_bars.max(1) || dataset_last <= dataset_first || ideal_run == 0 {
        return Duration { coverage: 0.0, consistency: 0.0, score: 0.0 };
    }
    let coverage = ceil3((last - first) as f64 / (dataset_last - dataset_first) as f64).clamp(0.0, 1.0);
    let consistency = ceil3(longest_run as f64 / ideal_run as f64).min(1.0);
    Duration { coverage, consistency, score: coverage.max(consistency) }
}

/// RITA's weighted beacon score, rounded to three decimals.
fn beacon_score(config: &Config, ts: f64, ds: f64, hist: f64, dur: f64) -> f64 {
    round3(
        ts * config.timestamp_weight
            + ds * config.size_weight
            + hist * config.histogram_weight
            + dur * config.duration_weight,
    )
}

/// The number of histogram bins: as many as fit `periods_per_bin` periods each (rounded, so
/// that a period a second over half an hour still gets a day's 24 bins), at most
/// `reference_bins` (RITA's 24), at least one.
fn bin_count(span: f64, period: f64, config: &Config) -> usize {
    let width = config.periods_per_bin * period;
    let fit = if width > 0.0 { (span / width).round() } else { f64::INFINITY };
    (fit.min(config.reference_bins as f64).max(1.0)) as usize
}

/// A bar count RITA states for 24 bins, for `bins` bins.
fn scaled(count: usize, bins: usize, reference: usize) -> usize {
    (count * bins).div_ceil(reference.max(1))
}

/// Every component of one series.
#[derive(Debug, Clone, PartialEq)]
struct SeriesScore {
    timestamp: Regularity,
    size: Regularity,
    histogram: Histogram,
    duration: Duration,
    bins: usize,
    period: f64,
    beacon: f64,
}

/// Scores whole-second connection times and per-connection sizes over the bundle window.
fn series_score(times: &[i64], sizes: &[f64], window: &Window, config: &Config) -> Option<SeriesScore> {
    let timestamp = timestamp_score(times, config.skew_min_spread)?;
    let size = size_score(sizes, config.skew_min_spread)?;
    let period = timestamp.median;
    let bins = bin_count(window.span(), period, config);
    let reference = config.reference_bins;
    let bimodal_min = scaled(config.histogram_bimodal_min_bars, bins, reference);
    let histogram = histogram_score(
        window.first,
        window.last,
        times,
        bins,
        config.histogram_mode_sensitivity,
        config.histogram_bimodal_outlier_removal,
        bimodal_min,
    )?;
    let (first, last) = (*times.iter().min()?, *times.iter().max()?);
    let duration = duration_score(
        (window.first, window.last),
        (first, last),
        histogram.bars,
        histogram.longest_run,
        scaled(config.duration_min_bars, bins, reference),
        scaled(config.duration_ideal_run, bins, reference),
    );
    let beacon = beacon_score(config, timestamp.score, size.score, histogram.score, duration.score);
    Some(SeriesScore { timestamp, size, histogram, duration, bins, period, beacon })
}

#[cfg(test)]
mod tests;
