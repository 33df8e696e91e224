//! `telemetry-gap` — a managed host whose endpoint log stops or thins while the capture shows
//! the host active: the agent went quiet, the host did not.
//!
//! For every managed host (an asset with endpoint telemetry) and each of its logs (Sysmon,
//! Security, System, audit, …), the log's events are counted in bins of `bin_s` seconds. Each
//! silence of the log — a gap between two of its events, or from its last event to the end of
//! the capture — lasting at least `min_silence_s` is judged against the log's own rate before
//! it, and against what the network shows the host doing meanwhile. One finding per host: its
//! highest-scoring silence. Score, every part a component:
//!
//! ```text
//! score = silence · activity · (base_weight + other_logs_weight·other_logs
//!                               + stop_record_weight·stop_record)
//! ```
//!
//! - `silence`: the log's active bins per bin before the silence (`rate_before_per_h` per hour)
//!   times the silence's length gives the bins that should have had events
//!   (`expected_bins`); ramped from `expected_low` to `expected_high`. A log that was sparse
//!   before (a cron job's audit records every 15 minutes) needs a much longer silence than a
//!   busy one;
//! - `activity`: windows of `window_s` seconds in the silence in which the host opened a flow,
//!   or answered one (a powered-off host answers nothing; a scan of it does not count), over
//!   `activity_full`, at most 1 (`active_windows`). Flows within `grace_s` of the silence's
//!   edges are not counted. A long connection merely staying open through the silence is no
//!   new activity and does not count either;
//! - `other_logs`: 1 when another log of the same host recorded something inside the silence —
//!   the host was up and logging, only this log fell silent (the agent's, selectively);
//! - `stop_record`: 1 when a record within `grace_s` of the silence's start says logging or a
//!   sensor stopped (Sysmon state `Stopped`, a 7036/7034 for a sensor service, the audit
//!   daemon ending, a log cleared). The record itself is `edr-tamper`'s or `log-cleared`'s
//!   finding; here it only says why the log went silent.
//!
//! A log that simply ends with the capture has no silence; a host powered off has no activity;
//! neither is reported. Findings scoring below `min_score` are not reported. Known limit: a
//! bundle whose endpoint logs were all collected before the capture ended shows every log
//! silent at once with traffic going on; without `other_logs` or `stop_record` such a
//! finding scores at most `base_weight`.
//!
//! ATT&CK: Defense Evasion, T1562.001 (impair defenses: disable or modify tools) when a stop
//! record names a sensor, else T1562.006 (indicator blocking).

use super::stats::ramp;
use super::{check, DetectCtx, Detector, EvidenceRef, Finding, Tactic, Thresholds};
use crate::model::{Asset, EndpointFields, Event, Fields, LogSource};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

const SEC: f64 = 1e9;

/// Service and sensor names whose stopping silences a log (matched case-insensitively as part
/// of the service name a record names).
const SENSORS: &[&str] = &[
    "sysmon",
    "auditd",
    "windefend",
    "sense",
    "csagent",
    "csfalcon",
    "cbdefense",
    "carbonblack",
    "sentinel",
    "cylance",
    "elastic",
    "winlogbeat",
    "osquery",
    "wazuh",
    "splunk",
    "nxlog",
    "eventlog",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    bin_s: f64,
    min_silence_s: f64,
    min_bins_before: u64,
    expected_low: f64,
    expected_high: f64,
    grace_s: f64,
    window_s: f64,
    activity_full: f64,
    base_weight: f64,
    other_logs_weight: f64,
    stop_record_weight: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bin_s: 60.0,
            min_silence_s: 1200.0,
            min_bins_before: 5,
            expected_low: 2.0,
            expected_high: 8.0,
            grace_s: 150.0,
            window_s: 300.0,
            activity_full: 3.0,
            base_weight: 0.6,
            other_logs_weight: 0.25,
            stop_record_weight: 0.15,
            min_score: 0.2,
        }
    }
}

pub struct TelemetryGap;

impl Detector for TelemetryGap {
    fn id(&self) -> &'static str {
        "telemetry-gap"
    }

    fn describe(&self) -> &'static str {
        "a managed host's endpoint log stops or thins while the capture shows the host active"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        managed_hosts(ctx).into_iter().filter_map(|a| judge_host(ctx, &config, a)).collect()
    }
}

/// The managed assets among the addresses the flows name, in address order.
fn managed_hosts<'a>(ctx: &DetectCtx<'a>) -> Vec<&'a Asset> {
    ctx.flow_hosts.iter().filter_map(|&ip| ctx.asset(ip)).filter(|a| a.managed).collect()
}

/// Whether an endpoint event happened on the asset (its host name is one of the asset's).
fn on_asset(e: &Event, a: &Asset) -> bool {
    e.host.as_ref().and_then(|h| h.name.as_deref()).is_some_and(|n| a.names.iter().any(|m| m.eq_ignore_ascii_case(n)))
}

fn endpoint(e: &Event) -> Option<&EndpointFields> {
    match &e.fields {
        Fields::Endpoint(x) => Some(x),
        _ => None,
    }
}

/// Whether a record says logging or a sensor stopped; `Some(true)` when it names a sensor.
fn stop_record(x: &EndpointFields) -> Option<bool> {
    let names_sensor =
        |s: Option<&str>| s.map(str::to_ascii_lowercase).is_some_and(|s| SENSORS.iter().any(|k| s.contains(k)));
    let says = |s: Option<&str>, word: &str| s.is_some_and(|d| d.to_ascii_lowercase().contains(word));
    match x.action {
        "sysmon-state-changed" if says(x.details.as_deref(), "stop") => Some(true),
        "service-state-changed" if says(x.details.as_deref(), "stop") && names_sensor(x.target.as_deref()) => {
            Some(true)
        }
        "service-crashed" if names_sensor(x.target.as_deref()) => Some(true),
        "audit-daemon-stopped" | "audit-daemon-aborted" => Some(true),
        "log-cleared" => Some(false),
        _ => None,
    }
}

/// A silence of one log and what it is judged on.
#[derive(Debug, Clone, PartialEq)]
struct Silence {
    source: LogSource,
    start: Timestamp,
    end: Timestamp,
    /// Whether the log resumed at `end` (else it never did before the capture ended).
    resumed: bool,
    bins_before: u64,
    rate_before_per_h: f64,
    rate_after_per_h: f64,
    expected_bins: f64,
    active_windows: u64,
    other_logs: f64,
    stop_record: f64,
    names_sensor: bool,
    silence: f64,
    activity: f64,
    score: f64,
    /// Flows in the silence (indices), the records around it.
    flows: Vec<usize>,
    records: Vec<EvidenceRef>,
}

fn judge_host(ctx: &DetectCtx<'_>, c: &Config, a: &Asset) -> Option<Finding> {
    let events: Vec<(&Event, &EndpointFields)> =
        ctx.endpoint.iter().filter(|e| on_asset(e, a)).filter_map(|&e| endpoint(e).map(|x| (e, x))).collect();
    let mut by_source: BTreeMap<LogSource, Vec<&Event>> = BTreeMap::new();
    for (e, x) in &events {
        by_source.entry(x.source).or_default().push(e);
    }
    let capture_end = ctx.baseline.end;
    let mut best: Option<Silence> = None;
    for (&source, log) in &by_source {
        for s in silences(ctx, c, a, source, log, &events, capture_end) {
            if best.as_ref().is_none_or(|b| s.score > b.score) {
                best = Some(s);
            }
        }
    }
    let s = best.filter(|s| s.score >= c.min_score && s.score > 0.0)?;
    let technique = if s.names_sensor { "T1562.001" } else { "T1562.006" };
    let mut f = Finding::new("telemetry-gap", Tactic::DefenseEvasion, technique, s.score)
        .component("silence", s.silence)
        .component("activity", s.activity)
        .component("other_logs", s.other_logs)
        .component("stop_record", s.stop_record)
        .component("expected_bins", s.expected_bins)
        .component("bins_before", s.bins_before as f64)
        .component("rate_before_per_h", s.rate_before_per_h)
        .component("rate_after_per_h", s.rate_after_per_h)
        .component("active_windows", s.active_windows as f64)
        .component("silence_s", (s.end - s.start) as f64 / SEC)
        .component("flows", s.flows.len() as f64)
        .window(s.start, s.end);
    f.host = ctx.host(a.ip);
    let minutes = (s.end - s.start) as f64 / SEC / 60.0;
    let how = if s.resumed { "resumed" } else { "never resumed" };
    let others = if s.other_logs > 0.0 { "; its other logs went on" } else { "" };
    let stopped = if s.stop_record > 0.0 { "; a record says logging stopped" } else { "" };
    f.summary = format!(
        "{} ({}): {} log silent for {:.0} min ({how}) after {:.0} active {} per hour, while the host made or \
         answered {} flow(s) in {} window(s){others}{stopped}",
        a.ip,
        a.names.first().map_or("?", String::as_str),
        s.source.as_str(),
        minutes,
        s.rate_before_per_h,
        if c.bin_s == 60.0 { "minutes".to_string() } else { format!("{:.0}-s bins", c.bin_s) },
        s.flows.len(),
        s.active_windows,
    );
    let evidence = s
        .records
        .iter()
        .cloned()
        .chain(s.flows.iter().filter_map(|&i| ctx.flows.get(i)).map(|fl| ctx.flow_evidence(fl)));
    Some(f.evidence(evidence))
}

/// Every silence of one log long enough to judge, scored.
fn silences(
    ctx: &DetectCtx<'_>,
    c: &Config,
    a: &Asset,
    source: LogSource,
    log: &[&Event],
    all: &[(&Event, &EndpointFields)],
    capture_end: Timestamp,
) -> Vec<Silence> {
    let bin = (c.bin_s * SEC).max(1.0) as i64;
    let min_silence = (c.min_silence_s * SEC) as i64;
    let grace = (c.grace_s * SEC) as i64;
    let window = (c.window_s * SEC).max(1.0) as i64;
    let mut out = Vec::new();
    let Some(first) = log.first().map(|e| e.ts) else { return out };
    let bins_of =
        |events: &[&Event]| events.iter().map(|e| e.ts.div_euclid(bin)).collect::<BTreeSet<i64>>().len() as u64;
    for i in 0..log.len() {
        let start = log[i].ts;
        let (end, resumed) = match log.get(i + 1) {
            Some(next) => (next.ts, true),
            None => (capture_end, false),
        };
        if end - start < min_silence {
            continue;
        }
        let before = &log[..=i];
        let bins_before = bins_of(before);
        let span_before = (start - first).max(bin);
        if bins_before < c.min_bins_before {
            continue;
        }
        let per_bin = (bins_before as f64 / (span_before as f64 / bin as f64)).min(1.0);
        let expected_bins = per_bin * ((end - start) as f64 / bin as f64);
        let after = &log[(i + 1).min(log.len())..];
        let span_after = (capture_end - end).max(bin);
        let rate_after_per_h = if after.is_empty() {
            0.0
        } else {
            bins_of(after) as f64 / (span_after as f64 / bin as f64) * 3600.0 / (bin as f64 / SEC)
        };
        let rate_before_per_h = per_bin * 3600.0 / (bin as f64 / SEC);
        // What the capture shows the host doing in the silence.
        // A log that never resumed is silent to the capture's end: no grace at that edge.
        let (lo, hi) = (start + grace, if resumed { end - grace } else { end + 1 });
        let mut windows = BTreeSet::new();
        let mut flows = Vec::new();
        for (k, f) in ctx.flows.iter().enumerate() {
            if f.start <= lo || f.start >= hi {
                continue;
            }
            let opened = f.orig_ip == a.ip;
            let answered =
                f.resp_ip == a.ip && (f.resp.bytes > 0 || (f.transport.ip_proto() != 6 && f.resp.packets > 0));
            if opened || answered {
                windows.insert((f.start - start).div_euclid(window));
                flows.push(k);
            }
        }
        let others: Vec<&Event> =
            all.iter().filter(|(e, x)| x.source != source && e.ts > lo && e.ts < hi).map(|(e, _)| *e).collect();
        let stop: Option<(&Event, bool)> = all
            .iter()
            .filter(|(e, _)| e.ts >= start - grace && e.ts <= start + grace)
            .find_map(|(e, x)| stop_record(x).map(|s| (*e, s)));
        let silence = ramp(expected_bins, c.expected_low, c.expected_high);
        let activity = (windows.len() as f64 / c.activity_full.max(1e-9)).min(1.0);
        let other_logs = if others.is_empty() { 0.0 } else { 1.0 };
        let stop_part = if stop.is_some() { 1.0 } else { 0.0 };
        let score =
            silence * activity * (c.base_weight + c.other_logs_weight * other_logs + c.stop_record_weight * stop_part);
        let mut records = vec![ctx.event_evidence(log[i])];
        records.extend(stop.map(|(e, _)| ctx.event_evidence(e)));
        records.extend(log.get(i + 1).map(|e| ctx.event_evidence(e)));
        records.extend(others.first().map(|e| ctx.event_evidence(e)));
        out.push(Silence {
            source,
            start,
            end,
            resumed,
            bins_before,
            rate_before_per_h,
            rate_after_per_h,
            expected_bins,
            active_windows: windows.len() as u64,
            other_logs,
            stop_record: stop_part,
            names_sensor: stop.is_some_and(|(_, s)| s),
            silence,
            activity,
            score: score.clamp(0.0, 1.0),
            flows,
            records,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{endpoint_fields, ip, Bundle, SEC as NS, T0};
    use super::super::Severity;
    use super::*;
    use crate::model::EventKind;

    /// FS01 at 10.0.0.50: Sysmon records every 3 minutes from 0 s to `sysmon_until` s, Security
    /// records every 10 minutes through 2 h; db01 at 10.0.0.60 rsyncs to it every 15 minutes
    /// for 2 h.
    fn bundle(sysmon_until: f64, stop_record: bool) -> Bundle {
        let mut b = Bundle::default();
        let mut t = 0.0;
        while t < sysmon_until {
            b.endpoint("FS01", t, EventKind::Process, LogSource::Sysmon, "process-start", "1", &[]);
            t += 180.0;
        }
        if stop_record {
            let e =
                b.endpoint("FS01", sysmon_until, EventKind::Audit, LogSource::Sysmon, "sysmon-state-changed", "4", &[]);
            endpoint_fields(e).details = Some("Stopped".into());
        }
        let mut t = 30.0;
        while t < 7200.0 {
            b.endpoint("FS01", t, EventKind::Logon, LogSource::Security, "logon", "4624", &[]);
            t += 600.0;
        }
        let mut t = 60.0;
        while t < 7200.0 {
            b.tcp("10.0.0.60", "10.0.0.50", 873, t, 0.5, 40_000, 200);
            t += 900.0;
        }
        let a = b.asset("10.0.0.50", Some("FS01"), true);
        a.telemetry = vec![(T0, T0 + 7200 * NS)];
        b
    }

    #[test]
    fn sysmon_stopping_while_the_host_serves_backups_is_found() {
        // Sysmon stops at 3600 s with its state record; the backups at 3660, 4560, 5460,
        // 6360 s go on, as does the Security log.
        let mut b = bundle(3600.0, true);
        let found = b.run(&TelemetryGap);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.host.ip, Some(ip("10.0.0.50")));
        assert_eq!(f.technique, "T1562.001");
        // 21 active bins (20 records and the state record) over 3600 s of 60 s bins: 0.35 a
        // bin; the silence runs from the state record (3600 s) to the capture's end (the last
        // backup ends at 6360.5 s): 46 bins → 16.1 expected → silence 1. Backups at 3660 s
        // (within grace: not counted), 4560, 5460, 6360 s → 3 windows → activity 1.
        // Score 1·1·(0.6 + 0.25 + 0.15) = 1.
        assert_eq!(f.components["bins_before"], 21.0);
        assert!((f.components["expected_bins"] - 0.35 * 2760.5 / 60.0).abs() < 1e-9);
        assert_eq!(f.components["active_windows"], 3.0);
        assert_eq!((f.components["other_logs"], f.components["stop_record"]), (1.0, 1.0));
        assert_eq!(f.score, 1.0);
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.summary.contains("sysmon log silent"), "{}", f.summary);
    }

    #[test]
    fn a_silent_log_without_corroboration_is_medium() {
        // No state record, and the Security log removed: the whole host goes quiet at 3600 s
        // while its backups go on: 1·1·0.6.
        let mut b = bundle(3600.0, false);
        b.events.retain(|e| endpoint_fields_ref(e).is_some_and(|x| x.source == LogSource::Sysmon));
        let found = b.run(&TelemetryGap);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].score, 0.6);
        assert_eq!(found[0].technique, "T1562.006");
        assert_eq!(found[0].severity, Severity::Medium);
    }

    fn endpoint_fields_ref(e: &Event) -> Option<&EndpointFields> {
        endpoint(e)
    }

    #[test]
    fn near_misses_stay_quiet() {
        // The log ends with the capture: no silence long enough.
        let mut b = bundle(7200.0, false);
        assert!(b.run(&TelemetryGap).is_empty());
        // The log stops, but the host is off: nothing opened or answered (the backups get no
        // answer).
        let mut b = bundle(3600.0, true);
        for f in &mut b.flows {
            f.resp.bytes = 0;
            f.resp.packets = 0;
        }
        assert!(b.run(&TelemetryGap).is_empty());
        // A sparse log (one record every 15 minutes, as a cron job's) with 16-minute gaps:
        // shorter than min_silence_s.
        let mut b = Bundle::default();
        for k in 0..8 {
            b.endpoint("db01", 960.0 * k as f64, EventKind::Process, LogSource::Auditd, "process-start", "x", &[]);
            b.tcp("10.0.0.60", "10.0.0.50", 873, 960.0 * k as f64 + 400.0, 0.5, 40_000, 200);
        }
        b.asset("10.0.0.60", Some("db01"), true);
        assert!(b.run(&TelemetryGap).is_empty());
        // Unmanaged hosts are not judged.
        let mut b = bundle(3600.0, true);
        b.assets[0].managed = false;
        assert!(b.run(&TelemetryGap).is_empty());
    }

    #[test]
    fn partial_activity_and_expectation_by_hand() {
        let c = Config::default();
        assert_eq!(ramp(5.0, c.expected_low, c.expected_high), 0.5);
        // One answered backup in the silence (the last two go unanswered): activity 1/3; stop
        // record, no other log: 1 · (1/3) · (0.6 + 0.15) = 0.25.
        let mut b = bundle(3600.0, true);
        b.events.retain(|e| endpoint_fields_ref(e).is_some_and(|x| x.source == LogSource::Sysmon));
        for f in b.flows.iter_mut().filter(|f| f.start > T0 + 5000 * NS) {
            f.resp.bytes = 0;
            f.resp.packets = 0;
        }
        let found = b.run(&TelemetryGap);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].components["active_windows"], 1.0);
        assert_eq!(found[0].score, 0.25);
    }

    #[test]
    fn stop_records() {
        let mut x = EndpointFields::new(LogSource::System, "service-state-changed", "7036".into());
        x.target = Some("Sysmon64".into());
        x.details = Some("stopped".into());
        assert_eq!(stop_record(&x), Some(true));
        x.target = Some("Windows Modules Installer".into());
        assert_eq!(stop_record(&x), None);
        x.details = Some("running".into());
        x.target = Some("Sysmon64".into());
        assert_eq!(stop_record(&x), None);
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("telemetry-gap"), Ok(Config::default()));
    }
}
