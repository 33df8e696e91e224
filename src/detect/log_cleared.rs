//! `log-cleared` — logs cleared, auditing switched off, and holes in a log that say records
//! were deleted.
//!
//! Input: every endpoint event. Three kinds of finding, each one per host and object:
//!
//! - **cleared** (object: the host's event logs): Security 1102 and System 104, the logs'
//!   own record of being cleared. Parts: `cleared` (`security_cleared` when the Security log
//!   is among them, else `log_cleared`) and `many_logs = many_logs_weight ·
//!   ramp(logs, 1, many_logs_full)` (tools clear every log at once); `logs_cleared` counts them.
//! - **auditd** (object: the audit log): DAEMON_END/DAEMON_ABORT (`audit_daemon_stopped`, weak:
//!   a shutdown does this too) and CONFIG_CHANGE `audit_enabled=0` (`auditing_disabled`).
//!   Technique T1070.002.
//! - **holes** (object: one EVTX file and channel): record ids are sequential within a log, so
//!   a jump between consecutive ids means records are gone: `gap = gap_weight ·
//!   ramp(missing_records, 0, gap_full)`; records carved from unallocated space whose ids are
//!   not among the live ones are deleted records recovered: `recovered = recovered_weight ·
//!   min(1, carved_deleted / recovered_full)`; records whose time goes back more than
//!   `backwards_secs` from the previous id (`backwards`, counted in `time_backwards`) and
//!   silences longer than `quiet_secs` (`quiet`, counted in `quiet_gaps`) are weaker signs.
//!   Carved copies of records still live are not counted.
//!
//! Score: `1 − Π(1 − part)` over the parts present; counts are components too. Hole findings
//! below `report_min` are not reported (a quiet night alone is not a finding).
//!
//! Memory: per (file, channel) the live and carved record ids, bounded by the events read;
//! evidence is capped by the findings contract.

use super::edr_tamper::{endpoint, record_process};
use super::{check, stats, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, LogSource};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    security_cleared: f64,
    log_cleared: f64,
    many_logs_weight: f64,
    many_logs_full: f64,
    audit_daemon_stopped: f64,
    auditing_disabled: f64,
    gap_weight: f64,
    gap_full: f64,
    recovered_weight: f64,
    recovered_full: f64,
    backwards_weight: f64,
    backwards_secs: f64,
    quiet_weight: f64,
    quiet_secs: f64,
    report_min: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            security_cleared: 0.85,
            log_cleared: 0.75,
            many_logs_weight: 0.5,
            many_logs_full: 10.0,
            audit_daemon_stopped: 0.35,
            auditing_disabled: 0.75,
            gap_weight: 0.45,
            gap_full: 20.0,
            recovered_weight: 0.7,
            recovered_full: 3.0,
            backwards_weight: 0.3,
            backwards_secs: 300.0,
            quiet_weight: 0.15,
            quiet_secs: 21_600.0,
            report_min: 0.3,
        }
    }
}

pub struct LogCleared;

/// `1 − Π(1 − part)`.
fn combine<'p>(parts: impl IntoIterator<Item = &'p f64>) -> f64 {
    1.0 - parts.into_iter().fold(1.0, |acc, p| acc * (1.0 - p.clamp(0.0, 1.0)))
}

fn host_name(e: &Event) -> Option<&str> {
    e.host.as_ref().and_then(|h| h.name.as_deref())
}

/// One EVTX log's records, for holes.
#[derive(Default)]
struct Log<'a> {
    live: Vec<(u64, &'a Event)>,
    carved: Vec<(u64, &'a Event)>,
}

impl LogCleared {
    fn cleared(&self, ctx: &DetectCtx<'_>, c: &Config, out: &mut Vec<Finding>) {
        let mut by_host: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
        for &e in &ctx.endpoint {
            let Some(f) = endpoint(e) else { continue };
            if f.action == "log-cleared" && f.source.is_evtx() {
                by_host.entry(host_name(e).unwrap_or_default().to_ascii_lowercase()).or_default().push(e);
            }
        }
        for events in by_host.values() {
            let Some(&lead) = events.first() else { continue };
            let logs: BTreeSet<&str> =
                events.iter().filter_map(|e| endpoint(e)?.target.as_deref()).collect::<BTreeSet<_>>();
            let security = events.iter().any(|e| endpoint(e).is_some_and(|f| f.code == "1102"))
                || logs.iter().any(|l| l.eq_ignore_ascii_case("security"));
            let (name, part) =
                if security { ("security_cleared", c.security_cleared) } else { ("log_cleared", c.log_cleared) };
            let count = logs.len().max(1) as f64;
            let many = c.many_logs_weight * stats::ramp(count, 1.0, c.many_logs_full);
            let score = combine(&[part, many]);
            let by = events
                .iter()
                .find_map(|e| e.process.as_ref()?.user.as_deref())
                .map(|u| format!(" by {u}"))
                .unwrap_or_default();
            let shown: Vec<&str> = logs.iter().take(5).copied().collect();
            let more = if logs.len() > shown.len() {
                format!(" and {} more", logs.len() - shown.len())
            } else {
                String::new()
            };
            let first = events.iter().map(|e| e.ts).min().unwrap_or(lead.ts);
            let last = events.iter().map(|e| e.ts).max().unwrap_or(lead.ts);
            let mut f = Finding::new(self.id(), Tactic::DefenseEvasion, "T1070.001", score)
                .component(name, part)
                .component("many_logs", many)
                .component("logs_cleared", count)
                .window(first, last)
                .summary(format!(
                    "{} log{} cleared on {}{by}: {}{more}",
                    logs.len(),
                    if logs.len() == 1 { "" } else { "s" },
                    host_name(lead).unwrap_or("an unnamed host"),
                    shown.join(", ")
                ))
                .evidence(events.iter().map(|e| ctx.event_evidence(e)));
            f.host = ctx.endpoint_host(lead);
            f.process = events.iter().find_map(|e| record_process(e, endpoint(e)?.source));
            f.keys = logs.iter().map(|l| l.to_string()).collect();
            out.push(f);
        }
    }

    fn auditd(&self, ctx: &DetectCtx<'_>, c: &Config, out: &mut Vec<Finding>) {
        let mut by_host: BTreeMap<String, (BTreeMap<&'static str, f64>, Vec<&Event>)> = BTreeMap::new();
        for &e in &ctx.endpoint {
            let Some(f) = endpoint(e) else { continue };
            if f.source != LogSource::Auditd {
                continue;
            }
            let part = match f.action {
                "audit-daemon-stopped" | "audit-daemon-aborted" => ("audit_daemon_stopped", c.audit_daemon_stopped),
                "audit-config-changed" if f.get("CONFIG_CHANGE.audit_enabled").is_some_and(|v| v.trim() == "0") => {
                    ("auditing_disabled", c.auditing_disabled)
                }
                _ => continue,
            };
            let g = by_host.entry(host_name(e).unwrap_or_default().to_ascii_lowercase()).or_default();
            g.0.insert(part.0, part.1);
            g.1.push(e);
        }
        for (parts, events) in by_host.values() {
            let Some(&lead) = events.first() else { continue };
            let score = combine(parts.values());
            let what: Vec<&str> = parts
                .keys()
                .map(|k| if *k == "auditing_disabled" { "auditing disabled" } else { "audit daemon stopped" })
                .collect();
            let mut f = Finding::new(self.id(), Tactic::DefenseEvasion, "T1070.002", score)
                .window(lead.ts, events.iter().map(|e| e.ts).max().unwrap_or(lead.ts))
                .summary(format!(
                    "audit log on {}: {} ({} record{})",
                    host_name(lead).unwrap_or("an unnamed host"),
                    what.join(", "),
                    events.len(),
                    if events.len() == 1 { "" } else { "s" }
                ))
                .evidence(events.iter().map(|e| ctx.event_evidence(e)));
            for (k, v) in parts {
                f = f.component(k, *v);
            }
            f.host = ctx.endpoint_host(lead);
            f.process = events.iter().find_map(|e| record_process(e, LogSource::Auditd));
            f.keys = vec!["auditd".into()];
            out.push(f);
        }
    }

    fn holes(&self, ctx: &DetectCtx<'_>, c: &Config, out: &mut Vec<Finding>) {
        let mut logs: BTreeMap<(u32, String), Log> = BTreeMap::new();
        for &e in &ctx.endpoint {
            let Some(f) = endpoint(e) else { continue };
            let crate::model::Locator::Record(id) = e.provenance.locator else { continue };
            if !f.source.is_evtx() {
                continue;
            }
            let log = logs.entry((e.provenance.file, f.channel.clone().unwrap_or_default())).or_default();
            if f.carved {
                log.carved.push((id, e));
            } else {
                log.live.push((id, e));
            }
        }
        let backwards = (c.backwards_secs * 1e9) as i64;
        let quiet = (c.quiet_secs * 1e9) as i64;
        for ((file, channel), mut log) in logs {
            log.live.sort_by_key(|(id, e)| (*id, e.ts));
            log.live.dedup_by_key(|(id, _)| *id);
            let live: BTreeSet<u64> = log.live.iter().map(|(id, _)| *id).collect();
            let mut evidence: Vec<&Event> = Vec::new();
            let (mut missing, mut went_back, mut silences) = (0u64, 0u64, 0u64);
            for w in log.live.windows(2) {
                let ((ia, a), (ib, b)) = (w[0], w[1]);
                let hole = ib.saturating_sub(ia).saturating_sub(1);
                let mut odd = false;
                if hole > 0 {
                    missing = missing.saturating_add(hole);
                    odd = true;
                }
                if a.ts - b.ts > backwards {
                    went_back += 1;
                    odd = true;
                }
                if b.ts - a.ts > quiet {
                    silences += 1;
                    odd = true;
                }
                if odd {
                    evidence.push(a);
                    evidence.push(b);
                }
            }
            let deleted: Vec<&Event> =
                log.carved.iter().filter(|(id, _)| !live.contains(id)).map(|(_, e)| *e).collect();
            evidence.extend(&deleted);
            if evidence.is_empty() {
                continue;
            }
            let mut parts: BTreeMap<&'static str, f64> = BTreeMap::new();
            if missing > 0 {
                parts.insert("gap", c.gap_weight * stats::ramp(missing as f64, 0.0, c.gap_full));
            }
            if !deleted.is_empty() {
                parts.insert(
                    "recovered",
                    c.recovered_weight * (deleted.len() as f64 / c.recovered_full.max(1.0)).min(1.0),
                );
            }
            if went_back > 0 {
                parts.insert("backwards", c.backwards_weight);
            }
            if silences > 0 {
                parts.insert("quiet", c.quiet_weight);
            }
            let score = combine(parts.values());
            if score < c.report_min {
                continue;
            }
            let Some(&lead) = evidence.first() else { continue };
            let first = evidence.iter().map(|e| e.ts).min().unwrap_or(lead.ts);
            let last = evidence.iter().map(|e| e.ts).max().unwrap_or(lead.ts);
            let mut said = Vec::new();
            if missing > 0 {
                said.push(format!("{missing} record id{} missing", if missing == 1 { "" } else { "s" }));
            }
            if !deleted.is_empty() {
                said.push(format!(
                    "{} deleted record{} carved",
                    deleted.len(),
                    if deleted.len() == 1 { "" } else { "s" }
                ));
            }
            if went_back > 0 {
                said.push(format!("time goes back {went_back}×"));
            }
            if silences > 0 {
                said.push(format!("{silences} silence{}", if silences == 1 { "" } else { "s" }));
            }
            let channel_shown = if channel.is_empty() { "log".to_string() } else { channel.clone() };
            let mut f = Finding::new(self.id(), Tactic::DefenseEvasion, "T1070.001", score)
                .component("missing_records", missing as f64)
                .component("carved_deleted", deleted.len() as f64)
                .component("time_backwards", went_back as f64)
                .component("quiet_gaps", silences as f64)
                .window(first, last)
                .summary(format!(
                    "{channel_shown} in {} on {}: {}",
                    ctx.file_name(file),
                    host_name(lead).unwrap_or("an unnamed host"),
                    said.join(", ")
                ))
                .evidence(evidence.iter().map(|e| ctx.event_evidence(e)));
            for (k, v) in &parts {
                f = f.component(k, *v);
            }
            f.host = ctx.endpoint_host(lead);
            f.keys = vec![channel];
            out.push(f);
        }
    }
}

impl Detector for LogCleared {
    fn id(&self) -> &'static str {
        "log-cleared"
    }

    fn describe(&self) -> &'static str {
        "event logs cleared, auditd stopped or disabled, and record-id holes or carved deleted records in a log"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let mut out = Vec::new();
        self.cleared(ctx, &c, &mut out);
        self.auditd(ctx, &c, &mut out);
        self.holes(ctx, &c, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{endpoint_fields, Bundle, SEC, T0};
    use super::*;
    use crate::detect::finding::round4;
    use crate::model::{EventKind, Locator, ProcessRef};

    #[test]
    fn defaults_equal_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("log-cleared"), Ok(Config::default()));
    }

    fn clear(b: &mut Bundle, host: &str, at: f64, code: &str, log: &str) {
        let source = if code == "1102" { LogSource::Security } else { LogSource::System };
        let e = b.endpoint(host, at, EventKind::Audit, source, "log-cleared", code, &[]);
        e.process = Some(Box::new(ProcessRef { user: Some("CORP\\admin".into()), ..Default::default() }));
        endpoint_fields(e).target = Some(log.into());
    }

    /// A Security log of `n` records `1..=n` one minute apart, file 1.
    fn security_log(b: &mut Bundle, host: &str, ids: impl IntoIterator<Item = u64>) {
        for id in ids {
            let e = b.endpoint(host, id as f64 * 60.0, EventKind::Logon, LogSource::Security, "logon", "4624", &[]);
            e.provenance.locator = Locator::Record(id);
            endpoint_fields(e).channel = Some("Security".into());
        }
    }

    #[test]
    fn security_and_system_cleared_is_one_high_finding() {
        let mut b = Bundle::default();
        b.asset("10.0.0.7", Some("fs03.corp.local"), true);
        clear(&mut b, "FS03.corp.local", 10.0, "104", "System");
        clear(&mut b, "FS03.corp.local", 20.0, "1102", "Security");
        clear(&mut b, "FS03.corp.local", 30.0, "104", "Application");
        let found = b.run(&LogCleared);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        // many_logs = 0.5 · ramp(3, 1, 10) = 0.5 · 2/9 = 0.1111; 1 − 0.15 · 0.8889 = 0.8667
        assert_eq!((f.components["security_cleared"], round4(f.components["many_logs"])), (0.85, 0.1111));
        assert_eq!(f.score, 0.8667);
        assert_eq!(f.host.ip, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(f.evidence_total, 3);
        assert!(f.summary.contains("by CORP\\admin"), "{}", f.summary);
        assert_eq!((f.first_seen, f.last_seen), (T0 + 10 * SEC, T0 + 30 * SEC));
    }

    #[test]
    fn a_contiguous_log_has_no_finding_and_a_hole_has_one() {
        let mut b = Bundle::default();
        security_log(&mut b, "dc01", 1..=50);
        assert!(b.run(&LogCleared).is_empty());
        let mut b = Bundle::default();
        security_log(&mut b, "dc01", (1..=20).chain(41..=50));
        let found = b.run(&LogCleared);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        // 20 missing: gap = 0.45 · ramp(20, 0, 20) = 0.45 (a hole alone stays low)
        assert_eq!((f.components["missing_records"], f.components["gap"], f.score), (20.0, 0.45, 0.45));
        assert_eq!(f.evidence.iter().filter_map(|r| r.record).collect::<Vec<_>>(), vec![20, 41]);
    }

    #[test]
    fn one_missing_record_is_below_report_min() {
        let mut b = Bundle::default();
        security_log(&mut b, "dc01", (1..=20).chain(22..=30));
        // gap = 0.45 · 1/20 = 0.0225 < 0.3
        assert!(b.run(&LogCleared).is_empty());
    }

    #[test]
    fn carved_deleted_records_count_but_carved_copies_do_not() {
        let mut b = Bundle::default();
        security_log(&mut b, "dc01", 1..=10);
        for id in [5, 6, 500, 501, 502] {
            let e = b.endpoint("dc01", 30.0, EventKind::Logon, LogSource::Security, "logon", "4624", &[]);
            e.provenance.locator = Locator::Record(id);
            let f = endpoint_fields(e);
            f.channel = Some("Security".into());
            f.carved = true;
        }
        let found = b.run(&LogCleared);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].components["carved_deleted"], found[0].score), (3.0, 0.7));
    }

    #[test]
    fn auditd_disabled_and_stopped() {
        let mut b = Bundle::default();
        b.endpoint("lnx1", 1.0, EventKind::Audit, LogSource::Auditd, "audit-daemon-stopped", "DAEMON_END", &[]);
        let found = b.run(&LogCleared);
        assert_eq!((found.len(), found[0].score), (1, 0.35), "a halt alone stays low");
        b.endpoint(
            "lnx1",
            2.0,
            EventKind::Audit,
            LogSource::Auditd,
            "audit-config-changed",
            "CONFIG_CHANGE",
            &[("CONFIG_CHANGE.audit_enabled", "0"), ("CONFIG_CHANGE.old", "1")],
        );
        b.endpoint(
            "lnx1",
            3.0,
            EventKind::Audit,
            LogSource::Auditd,
            "audit-config-changed",
            "CONFIG_CHANGE",
            &[("CONFIG_CHANGE.op", "add_rule")],
        );
        let found = b.run(&LogCleared);
        // 1 − 0.65 · 0.25 = 0.8375
        assert_eq!((found.len(), found[0].score, found[0].technique), (1, 0.8375, "T1070.002"));
        assert_eq!(found[0].evidence_total, 2);
    }
}
