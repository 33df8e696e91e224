//! `suspicious-logon` — remote logons the environment has no history of, explicit credentials
//! used towards another host, and failure bursts.
//!
//! Input: the logon events of endpoint logs (Security 4624 types 3 and 10, 4625, 4648, 4672;
//! auditd `logon`/`authentication` with a remote address, as sshd writes them), each host's log
//! span, and the capture's flows to confirm that a logon came over the network.
//!
//! **Remote logons**: successful network (type 3), remote-interactive (type 10) and SSH logons,
//! grouped per (target host, source, kind). Machine accounts (`…$`), anonymous logons and
//! logons without a remote address are left out: computers authenticate to each other all day.
//! One finding per group, scored at its first logon:
//!
//! - `new_source` = ramp(position of the first logon in the target's log span, `new_from_share`,
//!   `new_after_share`): a source logging on from the start of the logs is a habit already
//!   running; 0 when the capture showed the source reaching the target on that service more than
//!   `confirm_window_s` before, or a saved baseline knew the pair
//! - `remote_interactive` = 1 for RDP (type 10) and SSH, 0 for network logons
//! - `external` = 1 when the source address is not internal
//! - `privileged` = 1 when a 4672 (special privileges) names the logon's session
//! - `burst` = ramp(failed logons from the source on the host within `burst_window_s` before the
//!   first success, `burst_from`, `burst_full`)
//! - `network_confirmed` = 1 when the capture has a flow from the source to the target on an
//!   admin port ([`ADMIN_PORTS`]) within `confirm_window_s` of a logon
//! - `habit` = ramp(logons, 1, `habit_logons`) · ramp(first-to-last share of the log span, 0,
//!   `habit_spread`)
//!
//! score = (base + weight_new·new_source + weight_interactive·remote_interactive
//! + weight_external·external + weight_privileged·privileged + weight_burst·burst
//! + weight_confirmed·network_confirmed) · (1 − habit_damp·habit)
//!
//! **Failure bursts** without a success: at least `burst_from` failures from one source on one
//! host within `burst_window_s`: score = base + weight_burst·burst + weight_spray·spray
//! + weight_external·external, spray = ramp(distinct accounts tried, 1, `spray_accounts`).
//!
//! **Explicit credentials** (4648) towards another server, per (host, account, server):
//! score = base + weight_new·new_source + weight_confirmed·network_confirmed.
//!
//! Host and peer: when the source of a logon is an internal address, the finding's host is that
//! source (the host that acted) and its peer the target (address, name, service port), as
//! `lateral-movement` names them; otherwise the host is the target and the peer the source.
//!
//! ATT&CK: Valid Accounts (T1078, lateral movement); Remote Services T1021.001/.002/.004/.006
//! when the capture confirms the logon; Brute Force (T1110, credential access) for bursts.
//!
//! Memory: one entry per (host, source, kind) group and per failure, bounded by the endpoint
//! events themselves; at most [`MAX_EVIDENCE_EVENTS`] events are kept per group.

use super::stats::ramp;
use super::{check, DetectCtx, Detector, EvidenceRef, Finding, FindingHost, Peer, Tactic, Thresholds};
use crate::model::{EndpointFields, Event, Fields, LogSource};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Events kept per group for evidence.
pub const MAX_EVIDENCE_EVENTS: usize = 20;

const SEC: f64 = 1e9;

/// Admin ports a logon can arrive on: SMB/NetBIOS and the RPC mapper (network logons, PsExec,
/// WMI), RDP, SSH, WinRM.
pub const ADMIN_PORTS: &[u16] = &[445, 139, 135, 3389, 22, 5985, 5986];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    new_from_share: f64,
    new_after_share: f64,
    confirm_window_s: f64,
    burst_window_s: f64,
    burst_from: f64,
    burst_full: f64,
    spray_accounts: f64,
    habit_logons: f64,
    habit_spread: f64,
    base: f64,
    weight_new: f64,
    weight_interactive: f64,
    weight_external: f64,
    weight_privileged: f64,
    weight_burst: f64,
    weight_confirmed: f64,
    weight_spray: f64,
    habit_damp: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            new_from_share: 0.02,
            new_after_share: 0.1,
            confirm_window_s: 120.0,
            burst_window_s: 600.0,
            burst_from: 5.0,
            burst_full: 20.0,
            spray_accounts: 5.0,
            habit_logons: 6.0,
            habit_spread: 0.5,
            base: 0.1,
            weight_new: 0.3,
            weight_interactive: 0.15,
            weight_external: 0.2,
            weight_privileged: 0.1,
            weight_burst: 0.25,
            weight_confirmed: 0.25,
            weight_spray: 0.2,
            habit_damp: 0.7,
            min_score: 0.3,
        }
    }
}

pub struct SuspiciousLogon;

impl Detector for SuspiciousLogon {
    fn id(&self) -> &'static str {
        "suspicious-logon"
    }

    fn describe(&self) -> &'static str {
        "remote logons from new sources, explicit credentials, failure bursts; confirmed by the capture"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let mut out = Vec::new();
        let logs = Logs::read(ctx);
        remote_logons(ctx, &c, &logs, &mut out);
        bursts(ctx, &c, &logs, &mut out);
        explicit(ctx, &c, &logs, &mut out);
        out.retain(|f| f.score >= c.min_score);
        out
    }
}

/// How a logon arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Network,
    Rdp,
    Ssh,
}

impl Kind {
    fn text(self) -> &'static str {
        match self {
            Kind::Network => "network logon",
            Kind::Rdp => "RDP logon",
            Kind::Ssh => "SSH login",
        }
    }
    fn ports(self) -> &'static [u16] {
        match self {
            Kind::Network => &[445, 139, 135, 5985, 5986],
            Kind::Rdp => &[3389],
            Kind::Ssh => &[22],
        }
    }
}

/// A remote logon or failure as detection reads it.
struct Logon<'a> {
    event: &'a Event,
    host: String,
    source: String,
    source_ip: Option<IpAddr>,
    user: String,
    kind: Kind,
}

/// The bundle's logon events, sorted out.
struct Logs<'a> {
    successes: Vec<Logon<'a>>,
    failures: Vec<Logon<'a>>,
    explicit: Vec<&'a Event>,
    /// (host, logon id) of 4672 records.
    privileged: BTreeSet<(String, String)>,
    /// Per host (lower case): first and last endpoint event.
    spans: HashMap<String, (Timestamp, Timestamp)>,
}

fn host_key(e: &Event) -> String {
    e.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or_default().to_ascii_lowercase()
}

fn machine_or_anonymous(user: &str) -> bool {
    let u = user.rsplit('\\').next().unwrap_or(user);
    u.ends_with('$') || u.eq_ignore_ascii_case("ANONYMOUS LOGON") || u.is_empty() || u == "-"
}

impl<'a> Logs<'a> {
    fn read(ctx: &DetectCtx<'a>) -> Logs<'a> {
        let mut logs = Logs {
            successes: Vec::new(),
            failures: Vec::new(),
            explicit: Vec::new(),
            privileged: BTreeSet::new(),
            spans: HashMap::new(),
        };
        for &e in &ctx.endpoint {
            let host = host_key(e);
            let span = logs.spans.entry(host.clone()).or_insert((e.ts, e.ts));
            span.0 = span.0.min(e.ts);
            span.1 = span.1.max(e.ts);
            let Fields::Endpoint(x) = &e.fields else { continue };
            match x.action {
                "special-privileges" => {
                    if let Some(id) = &x.logon_id {
                        logs.privileged.insert((host, id.clone()));
                    }
                }
                "explicit-credentials" => logs.explicit.push(e),
                "logon" | "logon-failed" | "authentication" => {
                    let Some(l) = remote(e, x, host) else { continue };
                    let failed = x.action == "logon-failed" || x.outcome == Some("failure");
                    if failed {
                        logs.failures.push(l);
                    } else if x.action != "authentication" && !machine_or_anonymous(&l.user) {
                        logs.successes.push(l);
                    }
                }
                _ => {}
            }
        }
        logs
    }
}

/// A logon with a remote source, or None.
fn remote<'a>(e: &'a Event, x: &EndpointFields, host: String) -> Option<Logon<'a>> {
    let kind = if x.source == LogSource::Auditd {
        Kind::Ssh
    } else {
        match x.logon_type {
            Some(3) => Kind::Network,
            Some(10) => Kind::Rdp,
            _ => return None,
        }
    };
    let source_ip = x.source_ip.filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let named = x.source_host.as_deref().map(str::trim).filter(|h| !h.is_empty() && *h != "-");
    if x.source_ip.is_some_and(|ip| ip.is_loopback()) {
        return None;
    }
    let source = match (source_ip, named) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(h)) => h.to_ascii_lowercase(),
        (None, None) => return None,
    };
    Some(Logon { event: e, host, source, source_ip, user: x.user.clone().unwrap_or_default(), kind })
}

/// Where `ts` falls in the host's log span, as a share.
fn position(logs: &Logs<'_>, host: &str, ts: Timestamp) -> (f64, f64) {
    let (first, last) = logs.spans.get(host).copied().unwrap_or((ts, ts));
    let span = (last - first).max(1) as f64;
    ((ts - first) as f64 / span, span)
}

/// The first flow from `src` to `dst` on one of `ports` within `window` of `ts`.
fn confirming_flow(
    ctx: &DetectCtx<'_>,
    src: IpAddr,
    dst: IpAddr,
    ports: &[u16],
    ts: Timestamp,
    window: i64,
) -> Option<usize> {
    let from = ts.saturating_sub(window);
    let start = ctx.flows.partition_point(|f| f.start < from);
    ctx.flows[start..]
        .iter()
        .take_while(|f| f.start <= ts.saturating_add(window))
        .position(|f| f.orig_ip == src && f.resp_ip == dst && ports.contains(&f.resp_port))
        .map(|i| i + start)
}

/// Host and peer of a logon from `source` onto `target`, and whether the finding is told from
/// the target's side (else from the internal source's).
fn sides(
    ctx: &DetectCtx<'_>,
    target: FindingHost,
    source_ip: Option<IpAddr>,
    source: &str,
    port: Option<u16>,
) -> (FindingHost, Peer, bool) {
    match source_ip {
        Some(ip) if ctx.is_internal(ip) => {
            let peer = Peer { ip: target.ip, domain: target.name.clone(), port, cidr: None };
            (ctx.host(ip), peer, false)
        }
        _ => {
            let domain = if source_ip.is_none() { Some(source.to_string()) } else { None };
            (target, Peer { ip: source_ip, domain, port, cidr: None }, true)
        }
    }
}

fn remote_logons(ctx: &DetectCtx<'_>, c: &Config, logs: &Logs<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(&str, &str, Kind), Vec<&Logon<'_>>> = BTreeMap::new();
    for l in &logs.successes {
        groups.entry((l.host.as_str(), l.source.as_str(), l.kind)).or_default().push(l);
    }
    let window = (c.confirm_window_s * SEC) as i64;
    let burst_window = (c.burst_window_s * SEC) as i64;
    for ((host, source, kind), list) in groups {
        let Some(first) = list.first() else { continue };
        let last = list.last().map_or(first.event.ts, |l| l.event.ts);
        let target = ctx.endpoint_host(first.event);
        let (at, span) = position(logs, host, first.event.ts);
        let mut new_source = ramp(at, c.new_from_share, c.new_after_share);
        let mut confirmed: Option<(usize, u16)> = None;
        if let (Some(src), Some(dst)) = (first.source_ip, target.ip) {
            for l in &list {
                if let Some(i) = confirming_flow(ctx, src, dst, kind.ports(), l.event.ts, window) {
                    confirmed = Some((i, ctx.flows[i].resp_port));
                    break;
                }
            }
            for &p in kind.ports() {
                let (seen, known) = ctx.baseline.internal_pair(src, dst, p);
                if known || seen.is_some_and(|t| t < first.event.ts.saturating_sub(window)) {
                    new_source = 0.0;
                }
            }
        }
        let interactive = if kind == Kind::Network { 0.0 } else { 1.0 };
        let external = if first.source_ip.is_some_and(|ip| !ctx.is_internal(ip)) { 1.0 } else { 0.0 };
        let privileged = list.iter().any(|l| {
            let id = match &l.event.fields {
                Fields::Endpoint(x) => x.logon_id.clone(),
                _ => None,
            };
            id.is_some_and(|id| logs.privileged.contains(&(host.to_string(), id)))
        });
        let privileged = if privileged { 1.0 } else { 0.0 };
        let failures: Vec<&Logon<'_>> = logs
            .failures
            .iter()
            .filter(|f| {
                f.host == host
                    && f.source == source
                    && f.event.ts <= first.event.ts
                    && f.event.ts >= first.event.ts.saturating_sub(burst_window)
            })
            .collect();
        let burst = ramp(failures.len() as f64, c.burst_from - 1.0, c.burst_full);
        let spread = (last - first.event.ts) as f64 / span;
        let habit = ramp(list.len() as f64, 1.0, c.habit_logons) * ramp(spread, 0.0, c.habit_spread);
        let net = if confirmed.is_some() { 1.0 } else { 0.0 };
        let score = (c.base
            + c.weight_new * new_source
            + c.weight_interactive * interactive
            + c.weight_external * external
            + c.weight_privileged * privileged
            + c.weight_burst * burst
            + c.weight_confirmed * net)
            * (1.0 - c.habit_damp * habit);
        let (tactic, technique) = match (confirmed.map(|(_, p)| p), burst > 0.0) {
            (_, true) => (Tactic::CredentialAccess, "T1110"),
            (Some(3389), _) => (Tactic::LateralMovement, "T1021.001"),
            (Some(22), _) => (Tactic::LateralMovement, "T1021.004"),
            (Some(5985 | 5986), _) => (Tactic::LateralMovement, "T1021.006"),
            (Some(_), _) => (Tactic::LateralMovement, "T1021.002"),
            (None, false) => (Tactic::LateralMovement, "T1078"),
        };
        let port = confirmed.map(|(_, p)| p);
        let (finding_host, peer, from_target) = sides(ctx, target.clone(), first.source_ip, source, port);
        let mut evidence: Vec<EvidenceRef> =
            list.iter().take(MAX_EVIDENCE_EVENTS).map(|l| ctx.event_evidence(l.event)).collect();
        evidence.extend(failures.iter().take(5).map(|l| ctx.event_evidence(l.event)));
        if let Some((i, _)) = confirmed {
            evidence.push(ctx.flow_evidence(&ctx.flows[i]));
        }
        let target_name = target.name.clone().unwrap_or_else(|| host.to_string());
        let mut f = Finding::new("suspicious-logon", tactic, technique, score)
            .component("new_source", new_source)
            .component("remote_interactive", interactive)
            .component("external", external)
            .component("privileged", privileged)
            .component("burst", burst)
            .component("network_confirmed", net)
            .component("habit", habit)
            .component("logons", list.len() as f64)
            .component("failures_before", failures.len() as f64)
            .component("first_share", at)
            .window(failures.first().map_or(first.event.ts, |f| f.event.ts), last)
            .summary(format!(
                "{} of {} on {target_name} from {source}{}: {} logon(s){}{}",
                kind.text(),
                first.user,
                if new_source > 0.0 { " (no earlier history)" } else { "" },
                list.len(),
                if failures.is_empty() { String::new() } else { format!(" after {} failure(s)", failures.len()) },
                match confirmed {
                    Some((_, p)) => format!("; the capture confirms it (flow to port {p})"),
                    None => String::new(),
                }
            ))
            .evidence(evidence);
        // The logged process (sshd, lsass) ran on the target: it is the finding's process only
        // when the finding is told from the target's side, not the internal source's.
        f.host = finding_host;
        f.peer = peer;
        f.process = if from_target { ctx.event_process(first.event) } else { None };
        out.push(f);
    }
}

fn bursts(ctx: &DetectCtx<'_>, c: &Config, logs: &Logs<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(&str, &str), Vec<&Logon<'_>>> = BTreeMap::new();
    for l in &logs.failures {
        groups.entry((l.host.as_str(), l.source.as_str())).or_default().push(l);
    }
    let window = (c.burst_window_s * SEC) as i64;
    for ((host, source), list) in groups {
        // The densest window of failures.
        let (mut best, mut best_at) = (0usize, 0usize);
        let mut lo = 0;
        for hi in 0..list.len() {
            while list[hi].event.ts - list[lo].event.ts > window {
                lo += 1;
            }
            if hi + 1 - lo > best {
                best = hi + 1 - lo;
                best_at = lo;
            }
        }
        if (best as f64) < c.burst_from {
            continue;
        }
        let burst_list = &list[best_at..best_at + best];
        let (Some(first), Some(last)) = (burst_list.first(), burst_list.last()) else { continue };
        // A success right after is scored with the remote logon.
        let succeeded = logs.successes.iter().any(|s| {
            s.host == host && s.source == source && s.event.ts >= first.event.ts && s.event.ts <= last.event.ts + window
        });
        if succeeded {
            continue;
        }
        let accounts: BTreeSet<&str> = burst_list.iter().map(|l| l.user.as_str()).collect();
        let burst = ramp(best as f64, c.burst_from - 1.0, c.burst_full);
        let spray = ramp(accounts.len() as f64, 1.0, c.spray_accounts);
        let external = if first.source_ip.is_some_and(|ip| !ctx.is_internal(ip)) { 1.0 } else { 0.0 };
        let score = c.base + c.weight_burst * burst + c.weight_spray * spray + c.weight_external * external;
        let target = ctx.endpoint_host(first.event);
        let target_name = target.name.clone().unwrap_or_else(|| host.to_string());
        let (h, peer, _) = sides(ctx, target, first.source_ip, source, None);
        let mut f = Finding::new("suspicious-logon", Tactic::CredentialAccess, "T1110", score)
            .component("burst", burst)
            .component("spray", spray)
            .component("external", external)
            .component("failures", best as f64)
            .component("accounts", accounts.len() as f64)
            .window(first.event.ts, last.event.ts)
            .summary(format!(
                "{best} failed logon(s) on {target_name} from {source} within {:.0} s, {} account(s), none succeeded",
                (last.event.ts - first.event.ts) as f64 / SEC,
                accounts.len()
            ))
            .evidence(burst_list.iter().map(|l| ctx.event_evidence(l.event)));
        f.host = h;
        f.peer = peer;
        out.push(f);
    }
}

fn explicit(ctx: &DetectCtx<'_>, c: &Config, logs: &Logs<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String, String), Vec<&Event>> = BTreeMap::new();
    for &e in &logs.explicit {
        let Fields::Endpoint(x) = &e.fields else { continue };
        let host = host_key(e);
        let server = x.target.as_deref().unwrap_or_default().trim().to_ascii_lowercase();
        let user = x.user.clone().unwrap_or_default();
        let first_label = |s: &str| s.split('.').next().unwrap_or_default().to_string();
        if server.is_empty()
            || server == "-"
            || server == "localhost"
            || server == "127.0.0.1"
            || first_label(&server) == first_label(&host)
            || machine_or_anonymous(&user)
        {
            continue;
        }
        groups.entry((host, user, server)).or_default().push(e);
    }
    let window = (c.confirm_window_s * SEC) as i64;
    for ((host, user, server), list) in groups {
        let (Some(&first), Some(&last)) = (list.first(), list.last()) else { continue };
        let (at, _) = position(logs, &host, first.ts);
        let new_source = ramp(at, c.new_from_share, c.new_after_share);
        let acting = ctx.endpoint_host(first);
        let server_ip = server.parse::<IpAddr>().ok().or_else(|| ctx.ip_named(&server));
        let confirmed = match (acting.ip, server_ip) {
            (Some(src), Some(dst)) => {
                list.iter().find_map(|e| confirming_flow(ctx, src, dst, ADMIN_PORTS, e.ts, window))
            }
            _ => None,
        };
        let net = if confirmed.is_some() { 1.0 } else { 0.0 };
        let score = c.base + c.weight_new * new_source + c.weight_confirmed * net;
        let port = confirmed.map(|i| ctx.flows[i].resp_port);
        let technique = match port {
            Some(3389) => "T1021.001",
            Some(22) => "T1021.004",
            Some(5985 | 5986) => "T1021.006",
            Some(_) => "T1021.002",
            None => "T1078",
        };
        let mut evidence: Vec<EvidenceRef> = list.iter().map(|e| ctx.event_evidence(e)).collect();
        evidence.extend(confirmed.map(|i| ctx.flow_evidence(&ctx.flows[i])));
        let mut f = Finding::new("suspicious-logon", Tactic::LateralMovement, technique, score)
            .component("new_source", new_source)
            .component("network_confirmed", net)
            .component("uses", list.len() as f64)
            .window(first.ts, last.ts)
            .summary(format!(
                "explicit credentials of {user} used on {} towards {server} ({} time(s)){}",
                acting.name.clone().unwrap_or_else(|| host.clone()),
                list.len(),
                if confirmed.is_some() { "; the capture shows the connection" } else { "" }
            ))
            .evidence(evidence);
        f.process = ctx.event_process(first);
        f.host = acting;
        f.peer = Peer { ip: server_ip, domain: Some(server), port, cidr: None };
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{endpoint_fields, Bundle};
    use super::super::Severity;
    use super::*;
    use crate::model::EventKind;

    #[test]
    fn defaults_match_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("suspicious-logon"), Ok(Config::default()));
    }

    fn logon(b: &mut Bundle, host: &str, at: f64, code: &str, logon_type: u32, user: &str, from: &str) {
        let action = if code == "4625" { "logon-failed" } else { "logon" };
        let e = b.endpoint(host, at, EventKind::Logon, LogSource::Security, action, code, &[]);
        let x = endpoint_fields(e);
        x.logon_type = Some(logon_type);
        x.user = Some(user.into());
        x.source_ip = from.parse().ok();
        x.logon_id = Some(format!("0x{}", at as u64));
        x.outcome = Some(if code == "4625" { "failure" } else { "success" });
    }

    /// The file server's log runs 0…3600 s with routine events.
    fn routine(b: &mut Bundle) {
        b.asset("10.0.0.50", Some("FS01.corp.example"), true);
        for k in 0..=12 {
            b.endpoint(
                "FS01.corp.example",
                300.0 * f64::from(k),
                EventKind::Process,
                LogSource::Sysmon,
                "process-start",
                "1",
                &[],
            );
        }
    }

    #[test]
    fn a_new_rdp_logon_confirmed_by_the_capture_is_high() {
        let mut b = Bundle::default();
        routine(&mut b);
        b.tcp("10.0.0.1", "10.0.0.50", 3389, 1799.5, 600.0, 90_000, 900_000);
        logon(&mut b, "FS01.corp.example", 1800.0, "4624", 10, "CORP\\svc_backup", "10.0.0.1");
        let lsass =
            crate::model::ProcessRef { pid: Some(640), executable: Some("lsass.exe".into()), ..Default::default() };
        b.events.last_mut().expect("the logon").process = Some(Box::new(lsass));
        let f = b.run(&SuspiciousLogon);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.process, None, "the target's logon process did not run on the source host");
        // (0.1 + 0.3·1 + 0.15·1 + 0.25·1)·(1 − 0) = 0.8
        assert!((f.score - 0.8).abs() < 1e-9, "{}", f.score);
        assert_eq!(f.severity, Severity::High);
        assert_eq!((f.tactic, f.technique), (Tactic::LateralMovement, "T1021.001"));
        assert_eq!(f.host.ip, "10.0.0.1".parse().ok());
        assert_eq!((f.peer.ip, f.peer.port), ("10.0.0.50".parse().ok(), Some(3389)));
        assert_eq!(f.components["network_confirmed"], 1.0);
        assert_eq!(f.evidence_total, 2);
    }

    #[test]
    fn an_admins_habitual_rdp_and_machine_accounts_stay_low() {
        let mut b = Bundle::default();
        routine(&mut b);
        // The admin's workstation RDPs in from the start, every ten minutes for an hour.
        for k in 0..7 {
            let at = 10.0 + 600.0 * f64::from(k);
            b.tcp("10.0.0.7", "10.0.0.50", 3389, at - 0.5, 60.0, 9000, 90_000);
            logon(&mut b, "FS01.corp.example", at, "4624", 10, "CORP\\admin", "10.0.0.7");
        }
        logon(&mut b, "FS01.corp.example", 1800.0, "4624", 3, "CORP\\WS07$", "10.0.0.8");
        logon(&mut b, "FS01.corp.example", 1800.0, "4624", 2, "CORP\\alice", "127.0.0.1");
        let f = b.run(&SuspiciousLogon);
        assert!(f.iter().all(|f| f.severity <= Severity::Low), "{f:#?}");
        assert!(f.iter().all(|f| f.score < 0.3), "{f:#?}");
    }

    #[test]
    fn failures_then_success_is_brute_force() {
        let mut b = Bundle::default();
        routine(&mut b);
        for k in 0..12 {
            logon(&mut b, "FS01.corp.example", 1700.0 + f64::from(k), "4625", 3, "CORP\\admin", "203.0.113.5");
        }
        logon(&mut b, "FS01.corp.example", 1720.0, "4624", 3, "CORP\\admin", "203.0.113.5");
        let f = b.run(&SuspiciousLogon);
        assert_eq!(f.len(), 1, "{f:#?}");
        // burst = (12 − 4) / (20 − 4) = 0.5; 0.1 + 0.3 + 0.2 + 0.25·0.5 = 0.725
        assert!((f[0].score - 0.725).abs() < 1e-9, "{}", f[0].score);
        assert_eq!((f[0].tactic, f[0].technique), (Tactic::CredentialAccess, "T1110"));
        assert_eq!(f[0].host.ip, "10.0.0.50".parse().ok());
        assert_eq!(f[0].peer.ip, "203.0.113.5".parse().ok());
    }

    #[test]
    fn a_spray_without_success_and_a_few_typos() {
        let mut b = Bundle::default();
        routine(&mut b);
        for k in 0..10 {
            logon(&mut b, "FS01.corp.example", 100.0 + f64::from(k), "4625", 3, &format!("CORP\\user{k}"), "10.0.0.9");
        }
        // Three typos are no burst.
        for k in 0..3 {
            logon(&mut b, "FS01.corp.example", 2000.0 + f64::from(k), "4625", 3, "CORP\\bob", "10.0.0.10");
        }
        let f = b.run(&SuspiciousLogon);
        assert_eq!(f.len(), 1, "{f:#?}");
        // burst = (10 − 4)/16 = 0.375, spray = 1: 0.1 + 0.25·0.375 + 0.2 = 0.39375
        assert!((f[0].score - 0.3938).abs() < 1e-4, "{}", f[0].score);
        assert_eq!(f[0].components["accounts"], 10.0);
        assert_eq!(f[0].host.ip, "10.0.0.9".parse().ok());
    }
}
