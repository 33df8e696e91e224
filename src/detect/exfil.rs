//! `exfil` — data leaving for a rare destination.
//!
//! Input: the flows from internal hosts to external peers, grouped per (host, peer address),
//! the HTTP POST/PUT requests on them, the host's own habits from the baseline (payload bytes it
//! usually sends one external peer) and the peer's prevalence. Output: one finding per pair whose
//! score reaches `min_score`. Internal destinations are never judged: a host's backup to a file
//! server, a replication job, a share copy are how internal networks work, and data moved inside
//! has not left.
//!
//! Score (every part in `components`, all in [0, 1]):
//!
//! - `volume` = log-ramp(payload bytes sent to the peer, `min_out_bytes`, `volume_high`)
//! - `excess` = ramp(bytes sent above the host's median bytes per external peer, in MADs (the
//!   MAD floored at `mad_floor`), `excess_low`, `excess_high`); 0.5 when the host has fewer
//!   than `min_history_peers` external peers to judge against
//! - `asymmetry` = ramp(sent ÷ (sent + received), `asymmetry_low`, `asymmetry_high`)
//! - `upload` = log-ramp(HTTP POST/PUT body bytes to the peer, `upload_low`, `upload_high`)
//! - `files` = 1 when an upload's URI names a file with a data or archive extension
//!   (`.dat`, `.sys`, `.zip`, `.7z`, `.rar`, …) or its body is an archive, else 0
//! - `cloud_storage` = 1 when the peer was reached by the name of a cloud object store or
//!   file-sharing service (see [`super::transfer`]), else 0
//! - `rarity` = the baseline's rarity of the peer (its address or, when larger, its name's
//!   registrable domain, whichever is more prevalent)
//!
//! ```text
//! score = min(1, volume_weight·volume + excess_weight·excess + asymmetry_weight·asymmetry
//!                + upload_weight·upload + files_weight·files + cloud_storage_weight·cloud_storage)
//!         · (prevalence_floor + (1 − prevalence_floor)·rarity)
//! ```
//!
//! The weights and the floor are in the `[exfil]` section of the thresholds, each in [0, 1]
//! (the weights may sum past 1: the cap keeps the score within [0, 1]).
//!
//! Inputs shown beside them: `bytes_out`, `bytes_in`, `flows`, `host_median_bytes_per_peer`,
//! `host_mad_bytes_per_peer`, `host_peers`, `excess_mads`, `uploads`, `upload_bytes`,
//! `largest_upload`, `prevalence`.
//!
//! The window spans the flows that carried the data (the uploads and every flow with at least
//! 1 % of the bytes), not the whole time the host knew the peer.
//!
//! ATT&CK (TA0010): T1567.002 Exfiltration to Cloud Storage when the peer is a storage service;
//! T1041 Exfiltration Over C2 Channel when the host also kept up at least `channel_flows` other
//! flows with the peer (an established channel the uploads rode along); T1048 Exfiltration Over
//! Alternative Protocol otherwise.

use super::stats::log_ramp;
use super::transfer::{self, size_text, NameKind};
use super::{check, domain, stats, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, Fields, HttpFields};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// File names and user agents remembered per pair.
pub const MAX_NAMES: usize = 16;

/// A flow is evidence when it carried at least this share of the bytes sent to the peer (the
/// uploads always are): the transfer, not the keep-alives around it.
const EVIDENCE_SHARE: f64 = 0.01;

/// Request body kinds that are archives (see `decode::filetype`).
const ARCHIVE_KINDS: &[&str] = &["zip", "gzip", "7z", "rar", "bzip2", "xz"];

/// The `[exfil]` section of the thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    min_out_bytes: f64,
    volume_high: f64,
    excess_low: f64,
    excess_high: f64,
    mad_floor: f64,
    min_history_peers: u64,
    asymmetry_low: f64,
    asymmetry_high: f64,
    upload_low: f64,
    upload_high: f64,
    channel_flows: u64,
    volume_weight: f64,
    excess_weight: f64,
    asymmetry_weight: f64,
    upload_weight: f64,
    files_weight: f64,
    cloud_storage_weight: f64,
    prevalence_floor: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_out_bytes: 100_000.0,
            volume_high: 20_000_000.0,
            excess_low: 3.0,
            excess_high: 12.0,
            mad_floor: 10_000.0,
            min_history_peers: 3,
            asymmetry_low: 0.5,
            asymmetry_high: 0.9,
            upload_low: 65_536.0,
            upload_high: 5_000_000.0,
            channel_flows: 10,
            volume_weight: 0.30,
            excess_weight: 0.20,
            asymmetry_weight: 0.15,
            upload_weight: 0.20,
            files_weight: 0.15,
            cloud_storage_weight: 0.15,
            prevalence_floor: 0.4,
            min_score: 0.25,
        }
    }
}

pub struct Exfil;

impl Detector for Exfil {
    fn id(&self) -> &'static str {
        "exfil"
    }

    fn describe(&self) -> &'static str {
        "bytes out to a rare external peer above the host's habit, large HTTP uploads, cloud storage"
    }

    /// Every weight, the floor and the cut lie in [0, 1] (the thresholds file's checks), so
    /// the score does too.
    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let mut judged: Vec<((IpAddr, IpAddr), Pair<'_>)> = pairs(ctx, &config).into_iter().collect();
        judged.sort_unstable_by_key(|(k, _)| *k);
        judged.iter().filter_map(|((host, peer), p)| judge(ctx, &config, *host, *peer, p)).collect()
    }
}

/// What one internal host sent one external peer.
#[derive(Default)]
struct Pair<'a> {
    out: u64,
    back: u64,
    /// Indexes into `ctx.flows`.
    flows: Vec<usize>,
    first: Timestamp,
    last: Timestamp,
    /// Responder port → bytes sent to it.
    ports: BTreeMap<u16, u64>,
    /// Name the peer was reached by → bytes sent under it.
    names: BTreeMap<&'a str, u64>,
    uploads: Vec<&'a Event>,
    /// Flows carrying an upload.
    upload_flows: BTreeSet<usize>,
    upload_bytes: u64,
    largest_upload: u64,
    /// Data files the upload URIs name, at most [`MAX_NAMES`].
    files: BTreeSet<String>,
    archive_bodies: u64,
    user_agents: BTreeSet<String>,
}

/// An HTTP request that uploads a body, and the index of its flow.
fn upload<'a>(ctx: &DetectCtx<'a>, e: &'a Event) -> Option<(&'a HttpFields, usize)> {
    let Fields::Http(h) = &e.fields else { return None };
    let upload = h.method.eq_ignore_ascii_case("POST") || h.method.eq_ignore_ascii_case("PUT");
    if !upload || h.request_body_len == 0 {
        return None;
    }
    let i = e.net.as_ref().and_then(|n| n.flow_id.as_deref()).and_then(|id| ctx.flow_index(id))?;
    Some((h, i))
}

/// The pairs that sent enough, out or in uploads, to be judged. Totals come first, so that the
/// many small pairs never get the full record.
fn pairs<'a>(ctx: &DetectCtx<'a>, config: &Config) -> rustc_hash::FxHashMap<(IpAddr, IpAddr), Pair<'a>> {
    // Bytes uploaded per pair (few: POST and PUT bodies).
    let mut uploaded: rustc_hash::FxHashMap<(IpAddr, IpAddr), u64> = rustc_hash::FxHashMap::default();
    for &e in &ctx.http {
        let Some((h, i)) = upload(ctx, e) else { continue };
        let Some(f) = ctx.flows.get(i) else { continue };
        *uploaded.entry((f.orig_ip, f.resp_ip)).or_default() += h.request_body_len;
    }
    let mut pairs: rustc_hash::FxHashMap<(IpAddr, IpAddr), Pair<'a>> = rustc_hash::FxHashMap::default();
    for group in ctx.outgoing_pairs() {
        let Some(&(host, peer, _)) = group.first() else { continue };
        let flows = || group.iter().filter_map(|&(_, _, i)| ctx.flows.get(i).map(|f| (i, f)));
        let out: u64 = flows().map(|(_, f)| f.orig.bytes).sum();
        let up = uploaded.get(&(host, peer)).copied().unwrap_or(0);
        if (out as f64) < config.min_out_bytes && (up as f64) < config.upload_low {
            continue;
        }
        let p = pairs.entry((host, peer)).or_default();
        p.first = flows().map(|(_, f)| f.start).min().unwrap_or_default();
        p.last = flows().map(|(_, f)| f.end).max().unwrap_or_default();
        for (i, f) in flows() {
            p.out += f.orig.bytes;
            p.back += f.resp.bytes;
            p.flows.push(i);
            *p.ports.entry(f.resp_port).or_default() += f.orig.bytes;
            if let Some(name) = ctx.name_of(i) {
                *p.names.entry(name).or_default() += f.orig.bytes;
            }
        }
    }
    for &e in &ctx.http {
        let Some((h, i)) = upload(ctx, e) else { continue };
        let Some(f) = ctx.flows.get(i) else { continue };
        let Some(p) = pairs.get_mut(&(f.orig_ip, f.resp_ip)) else { continue };
        p.uploads.push(e);
        p.upload_flows.insert(i);
        p.upload_bytes += h.request_body_len;
        p.largest_upload = p.largest_upload.max(h.request_body_len);
        for file in transfer::uri_files(&h.uri, NameKind::Data) {
            if p.files.len() < MAX_NAMES {
                p.files.insert(file.to_string());
            }
        }
        if h.request_body_type.as_deref().is_some_and(|k| ARCHIVE_KINDS.contains(&k)) {
            p.archive_bodies += 1;
        }
        if let Some(ua) = &h.user_agent {
            if p.user_agents.len() < MAX_NAMES && !p.user_agents.contains(ua) {
                p.user_agents.insert(ua.clone());
            }
        }
    }
    pairs
}

/// The host's habit: payload bytes per external peer.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Habit {
    peers: u64,
    median: f64,
    mad: f64,
}

/// The parts of a pair's score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Parts {
    volume: f64,
    excess: f64,
    asymmetry: f64,
    upload: f64,
    files: f64,
    cloud_storage: f64,
    rarity: f64,
}

impl Parts {
    fn base(&self, c: &Config) -> f64 {
        (c.volume_weight * self.volume
            + c.excess_weight * self.excess
            + c.asymmetry_weight * self.asymmetry
            + c.upload_weight * self.upload
            + c.files_weight * self.files
            + c.cloud_storage_weight * self.cloud_storage)
            .min(1.0)
    }

    fn score(&self, c: &Config) -> f64 {
        self.base(c) * (c.prevalence_floor + (1.0 - c.prevalence_floor) * self.rarity)
    }
}

/// How far `out` lies above the habit, in MADs (floored), when there is a habit to judge by.
fn excess_mads(c: &Config, habit: Option<Habit>, out: f64) -> Option<f64> {
    let h = habit.filter(|h| h.peers >= c.min_history_peers)?;
    Some((out - h.median) / h.mad.max(c.mad_floor))
}

/// The measured amounts of a pair, before scoring.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Amounts {
    out: f64,
    back: f64,
    upload_bytes: f64,
    excess_mads: Option<f64>,
    files: bool,
    cloud: bool,
}

impl Amounts {
    fn parts(&self, c: &Config, rarity: f64) -> Parts {
        let total = self.out + self.back;
        Parts {
            volume: log_ramp(self.out, c.min_out_bytes, c.volume_high),
            excess: self.excess_mads.map_or(0.5, |x| stats::ramp(x, c.excess_low, c.excess_high)),
            asymmetry: if total > 0.0 { stats::ramp(self.out / total, c.asymmetry_low, c.asymmetry_high) } else { 0.0 },
            upload: log_ramp(self.upload_bytes, c.upload_low, c.upload_high),
            files: if self.files { 1.0 } else { 0.0 },
            cloud_storage: if self.cloud { 1.0 } else { 0.0 },
            rarity,
        }
    }
}

/// The name carrying the most bytes (ties: the first in order).
fn main_name<'a>(names: &BTreeMap<&'a str, u64>) -> Option<&'a str> {
    names
        .iter()
        .fold(None, |best: Option<(&'a str, u64)>, (&n, &b)| match best {
            Some((_, bb)) if bb >= b => best,
            _ => Some((n, b)),
        })
        .map(|(n, _)| n)
}

fn judge(ctx: &DetectCtx<'_>, c: &Config, host: IpAddr, peer: IpAddr, p: &Pair<'_>) -> Option<Finding> {
    let name = main_name(&p.names);
    let provider = p.names.keys().find_map(|n| transfer::storage_provider(n));
    let habit = ctx.baseline.host(host).map(|h| Habit {
        peers: h.bytes_per_peer.n,
        median: h.bytes_per_peer.median,
        mad: h.bytes_per_peer.mad,
    });
    let amounts = Amounts {
        out: p.out as f64,
        back: p.back as f64,
        upload_bytes: p.upload_bytes as f64,
        excess_mads: excess_mads(c, habit, p.out as f64),
        files: !p.files.is_empty() || p.archive_bodies > 0,
        cloud: provider.is_some(),
    };
    let prevalence = ctx
        .baseline
        .ip_prevalence(peer)
        .max(name.map_or(0.0, |n| ctx.baseline.domain_prevalence(&domain::registrable(n))));
    let parts = amounts.parts(c, ctx.baseline.rarity(prevalence));
    let score = parts.score(c);
    if score < c.min_score {
        return None;
    }
    let other_flows = p.flows.len().saturating_sub(p.upload_flows.len()) as u64;
    let technique = if provider.is_some() {
        "T1567.002"
    } else if other_flows >= c.channel_flows {
        "T1041"
    } else {
        "T1048"
    };
    let port = p.ports.iter().fold(None, |best: Option<(u16, u64)>, (&port, &b)| match best {
        Some((_, bb)) if bb >= b => best,
        _ => Some((port, b)),
    });
    let threshold = (p.out as f64 * EVIDENCE_SHARE) as u64;
    let carried: Vec<&crate::model::FlowRecord> = p
        .flows
        .iter()
        .filter(|&&i| p.upload_flows.contains(&i) || ctx.flows.get(i).is_some_and(|f| f.orig.bytes >= threshold))
        .filter_map(|&i| ctx.flows.get(i))
        .collect();
    // The window is the transfer's, not the whole acquaintance with the peer (a channel may
    // have been open for hours before the data went).
    let first = carried.iter().map(|f| f.start).min().unwrap_or(p.first);
    let last = carried.iter().map(|f| f.end).max().unwrap_or(p.last);
    let evidence: Vec<_> =
        p.uploads.iter().map(|e| ctx.event_evidence(e)).chain(carried.iter().map(|f| ctx.flow_evidence(f))).collect();
    let h = habit.unwrap_or(Habit { peers: 0, median: 0.0, mad: 0.0 });
    let mut f = Finding::new("exfil", Tactic::Exfiltration, technique, score)
        .component("volume", parts.volume)
        .component("excess", parts.excess)
        .component("asymmetry", parts.asymmetry)
        .component("upload", parts.upload)
        .component("files", parts.files)
        .component("cloud_storage", parts.cloud_storage)
        .component("rarity", parts.rarity)
        .component("bytes_out", amounts.out)
        .component("bytes_in", amounts.back)
        .component("flows", p.flows.len() as f64)
        .component("host_median_bytes_per_peer", h.median)
        .component("host_mad_bytes_per_peer", h.mad)
        .component("host_peers", h.peers as f64)
        .component("uploads", p.uploads.len() as f64)
        .component("upload_bytes", amounts.upload_bytes)
        .component("largest_upload", p.largest_upload as f64)
        .component("prevalence", prevalence)
        .window(first, last)
        .summary(summary(host, peer, name, port.map(|(n, _)| n), provider, p, &h))
        .evidence(evidence);
    if let Some(x) = amounts.excess_mads {
        f = f.component("excess_mads", x);
    }
    f.host = ctx.host(host);
    f.peer.ip = Some(peer);
    f.peer.domain = name.map(domain::normalize);
    f.peer.port = port.map(|(n, _)| n);
    f.process = ctx.process_of(carried.iter().copied());
    f.keys = p
        .names
        .keys()
        .filter(|&&n| Some(n) != name)
        .map(|n| n.to_string())
        .chain(p.user_agents.iter().cloned())
        .collect();
    Some(f)
}

fn summary(
    host: IpAddr,
    peer: IpAddr,
    name: Option<&str>,
    port: Option<u16>,
    provider: Option<&str>,
    p: &Pair<'_>,
    habit: &Habit,
) -> String {
    let to = match (name, port) {
        (Some(n), Some(port)) => format!("{n} ({peer}:{port})"),
        (Some(n), None) => format!("{n} ({peer})"),
        (None, Some(port)) => format!("{peer}:{port}"),
        (None, None) => peer.to_string(),
    };
    let mut s = format!("{host} sent {} to {to}", size_text(p.out));
    if let Some(provider) = provider {
        s.push_str(&format!(" ({provider})"));
    }
    s.push_str(&format!(", received {}", size_text(p.back)));
    if habit.peers > 0 {
        s.push_str(&format!("; usually {} per peer", size_text(habit.median.max(0.0) as u64)));
    }
    if !p.uploads.is_empty() {
        s.push_str(&format!("; {} HTTP upload(s), largest {}", p.uploads.len(), size_text(p.largest_upload)));
    }
    if !p.files.is_empty() {
        let files: Vec<&str> = p.files.iter().map(String::as_str).collect();
        s.push_str(&format!(" naming {}", files.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::{background, ip, Bundle, SEC, T0};
    use crate::detect::Severity;

    const HOST: &str = "10.0.0.1";
    const C2: &str = "45.77.8.39";

    #[test]
    fn config_default_matches_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("exfil"), Ok(Config::default()));
    }

    /// The host's ordinary day: a few small sessions to three popular sites and two rare ones.
    fn habits(b: &mut Bundle) {
        for (k, dst) in
            ["23.45.100.10", "142.250.74.3", "52.97.150.2", "198.51.100.7", "203.0.113.9"].iter().enumerate()
        {
            for i in 0..3 {
                b.tcp(HOST, dst, 443, 100.0 + 300.0 * i as f64 + k as f64, 2.0, 4_000 + 1_000 * k as u64, 30_000);
            }
        }
    }

    #[test]
    fn large_posts_of_system_files_to_a_rare_peer_are_high() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        habits(&mut b);
        // 40 small beacons to the C2, then three POSTs of 0.8 MB each naming .dat/.sys files.
        for i in 0..40 {
            b.tcp(HOST, C2, 443, 1000.0 + 120.0 * i as f64, 0.5, 400, 200);
        }
        for (i, file) in ["system.dat", "config.dat", "kernel.sys"].iter().enumerate() {
            let fl = b.tcp(HOST, C2, 8080, 3000.0 + 30.0 * i as f64, 4.0, 800_000, 200);
            let h = b.http(fl, "POST", C2, &format!("/upload?f={file}"));
            h.request_body_len = 800_000;
        }
        let found = b.run(&Exfil);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert!(f.severity >= Severity::High, "{f:#?}");
        assert_eq!(f.peer.ip, Some(ip(C2)));
        assert_eq!(f.peer.port, Some(8080));
        assert_eq!(f.peer.domain, None);
        assert_eq!(f.technique, "T1041");
        assert_eq!(f.components["files"], 1.0);
        assert_eq!(f.components["uploads"], 3.0);
        assert_eq!(f.components["bytes_out"], 2_416_000.0);
        // The three uploads, each as request and flow; not the 40 beacons.
        assert_eq!(f.evidence_total, 6);
        assert!(f.summary.contains("system.dat"), "{}", f.summary);
        // The window is the uploads', not the beacons' before them.
        assert_eq!((f.first_seen, f.last_seen), (T0 + 3000 * SEC, T0 + 3064 * SEC));
    }

    #[test]
    fn upload_to_cloud_storage_is_named_so() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        habits(&mut b);
        let fl = b.tcp(HOST, "52.216.8.9", 443, 2000.0, 30.0, 6_000_000, 4_000);
        b.tls(fl, "loot-drop.s3.amazonaws.com");
        let found = b.run(&Exfil);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.technique, "T1567.002");
        assert_eq!(f.components["cloud_storage"], 1.0);
        assert_eq!(f.peer.domain.as_deref(), Some("loot-drop.s3.amazonaws.com"));
        assert!(f.severity >= Severity::Medium, "{f:#?}");
        assert!(f.summary.contains("Amazon S3"), "{}", f.summary);
    }

    #[test]
    fn internal_backup_and_popular_downloads_stay_quiet() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        habits(&mut b);
        // Near miss 1: 12 backups of 5 MB each to an internal file server.
        for i in 0..12 {
            b.tcp(HOST, "10.0.0.50", 873, 100.0 + 900.0 * i as f64, 20.0, 5_000_000, 2_000);
        }
        // Near miss 2: every workstation uploads 300 KB to the same popular mail service.
        for h in 0..10 {
            b.tcp(&format!("10.0.0.{}", 100 + h), "52.97.150.2", 443, 5000.0 + h as f64, 3.0, 300_000, 20_000);
        }
        let found = b.run(&Exfil);
        assert!(found.iter().all(|f| f.severity <= Severity::Low), "{found:#?}");
        assert!(found.iter().all(|f| f.peer.ip != Some(ip("10.0.0.50"))), "{found:#?}");
    }

    #[test]
    fn the_same_upload_to_a_rare_peer_is_worth_a_look() {
        // The counterpart of the popular-service near miss: one host, one rare peer.
        let mut b = Bundle::default();
        background(&mut b, 10);
        habits(&mut b);
        b.tcp(HOST, "198.18.7.7", 443, 5000.0, 3.0, 3_000_000, 20_000);
        let found = b.run(&Exfil);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].severity >= Severity::Medium, "{found:#?}");
        assert_eq!(found[0].technique, "T1048");
    }

    #[test]
    fn parts_by_hand() {
        let c = Config::default();
        let a = Amounts {
            out: 2_000_000.0,
            back: 500_000.0,
            upload_bytes: 65_536.0 * 2.0,
            excess_mads: Some(7.5),
            files: true,
            cloud: false,
        };
        let p = a.parts(&c, 0.9);
        // ln(2e6/1e5)/ln(2e7/1e5) = ln 20 / ln 200
        assert!((p.volume - 20f64.ln() / 200f64.ln()).abs() < 1e-12);
        assert!((p.excess - 0.5).abs() < 1e-12); // (7.5−3)/(12−3)
        assert!((p.asymmetry - 0.75).abs() < 1e-12); // 0.8 → (0.8−0.5)/(0.9−0.5)
                                                     // ln 2 / ln(5e6/65536)
        assert!((p.upload - 2f64.ln() / (5e6f64 / 65_536.0).ln()).abs() < 1e-12);
        assert_eq!((p.files, p.cloud_storage, p.rarity), (1.0, 0.0, 0.9));
        // Without history the excess is neutral.
        assert_eq!(Amounts { excess_mads: None, ..a }.parts(&c, 0.9).excess, 0.5);
    }

    #[test]
    fn excess_against_the_habit_by_hand() {
        let c = Config::default();
        let habit = Habit { peers: 5, median: 20_000.0, mad: 5_000.0 };
        // MAD floored at 10 000: (220 000 − 20 000) / 10 000 = 20.
        assert_eq!(excess_mads(&c, Some(habit), 220_000.0), Some(20.0));
        let wide = Habit { mad: 40_000.0, ..habit };
        assert_eq!(excess_mads(&c, Some(wide), 220_000.0), Some(5.0));
        assert_eq!(excess_mads(&c, Some(Habit { peers: 2, ..habit }), 220_000.0), None);
        assert_eq!(excess_mads(&c, None, 220_000.0), None);
    }

    #[test]
    fn score_by_hand() {
        let all = Parts {
            volume: 1.0,
            excess: 1.0,
            asymmetry: 1.0,
            upload: 1.0,
            files: 1.0,
            cloud_storage: 1.0,
            rarity: 1.0,
        };
        let c = Config::default();
        assert_eq!(all.base(&c), 1.0, "capped at 1");
        assert!((all.score(&c) - 1.0).abs() < 1e-12);
        // 0.3·0.5 + 0.2·1 + 0.15·1 = 0.5; · (0.4 + 0.6·0.5) = 0.35
        let p = Parts { volume: 0.5, upload: 0.0, files: 0.0, cloud_storage: 0.0, rarity: 0.5, ..all };
        assert!((p.base(&c) - 0.5).abs() < 1e-12);
        assert!((p.score(&c) - 0.35).abs() < 1e-12);
    }

    /// One host sends a rare peer 3 MB in one flow: the score as the thresholds weigh it.
    fn one_upload_score(t: &Thresholds) -> f64 {
        let mut b = Bundle::default();
        background(&mut b, 10);
        habits(&mut b);
        b.tcp(HOST, "198.18.7.7", 443, 5000.0, 3.0, 3_000_000, 20_000);
        let found = b.run_with(&Exfil, t);
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0].score
    }

    #[test]
    fn weights_and_floor_come_from_the_thresholds_file() {
        let default = one_upload_score(&Thresholds::defaults());
        // No excess to judge by, no upload, no file, no storage: volume, a neutral excess and
        // the asymmetry carry it. Volume alone at full weight, nothing off for prevalence.
        let text =
            "[exfil]\nvolume_weight = 1.0\nexcess_weight = 0.0\nasymmetry_weight = 0.0\nprevalence_floor = 1.0\n";
        let t = Thresholds::overlay(text, "t.toml").expect("valid thresholds");
        let volume = log_ramp(3_000_000.0, 100_000.0, 20_000_000.0);
        let overridden = one_upload_score(&t);
        assert!((overridden - volume).abs() < 1e-4, "{overridden} vs {volume}");
        assert!((overridden - default).abs() > 0.05, "{overridden} vs {default}");
    }

    #[test]
    fn weights_outside_zero_to_one_are_refused() {
        for bad in ["volume_weight = 1.5", "files_weight = -0.1", "prevalence_floor = 2.0"] {
            let e = Thresholds::overlay(&format!("[exfil]\n{bad}\n"), "t.toml").expect_err(bad).to_string();
            assert!(e.contains("[exfil]") && e.contains("must lie in [0, 1]"), "{e}");
        }
    }
}
