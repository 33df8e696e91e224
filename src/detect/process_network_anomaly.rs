//! `process-network-anomaly` — a rare destination contacted by a process that is rare on its
//! host or runs from a temporary, hidden or user-writable path (`/tmp/.x/`, `%APPDATA%`,
//! `\Users\Public`).
//!
//! Contacts come from two places: flows an endpoint log attributes to the process that opened
//! them (Sysmon 3, WFP 5156, auditd connect; a process that accepted a flow is not counted),
//! and endpoint connection records with no flow in the capture. One finding per (host,
//! executable, destination) whose destination is rare (the baseline's `is_rare`, by address,
//! or by the name it was reached by when that is rarer). Score, every part a component:
//!
//! ```text
//! score = rarity_weight · (path_weight·path + process_weight·process_rarity
//!                          + both_weight·path·process_rarity)
//! rarity_weight = prevalence_floor + (1 − prevalence_floor)·ramp(rarity, rarity_low, rarity_high)
//! ```
//!
//! - `path`: where the executable lives — 1 for temporary directories (`/tmp/`, `/var/tmp/`,
//!   `/dev/shm/`, `\Temp\`, `\Windows\Temp\`, `\$Recycle.Bin\`) and hidden ones (a path
//!   component starting with `.`), 0.9 for shared writable places (`\Users\Public\`,
//!   `\PerfLogs\`), 0.6 for a user's roaming profile, downloads or desktop (`%APPDATA%`), 0.4
//!   for other user-writable places (`\AppData\Local\`, `/home/`), 0 elsewhere (see
//!   [`PLACES`]);
//! - `process_rarity`: 1 − ramp(process starts of the executable on the host,
//!   `rare_starts_low`, `rare_starts_high`): a program started once is rare, one started every
//!   few minutes is the host's routine. A program with no start in the logs (it ran before
//!   they begin) gets `unknown_rarity`;
//! - `rarity`: of the destination among internal hosts (1 − prevalence, see the baseline).
//!
//! Findings scoring below `min_score` are not reported.
//!
//! ATT&CK: Command and Control, T1071 (application layer protocol).

use super::stats::ramp;
use super::{check, DetectCtx, Detector, EvidenceRef, Finding, FindingProcess, Tactic, Thresholds};
use crate::model::{Event, EventKind, Fields, FlowRecord};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Where an executable lives, by a lowercase fragment of its path (separators as `/`): the
/// kind and the `path` part. The first match wins, so the more specific come first.
pub const PLACES: &[(&str, &str, f64)] = &[
    ("/appdata/local/temp/", "temporary", 1.0),
    ("/windows/temp/", "temporary", 1.0),
    ("/$recycle.bin/", "temporary", 1.0),
    ("/temp/", "temporary", 1.0),
    ("/tmp/", "temporary", 1.0),
    ("/var/tmp/", "temporary", 1.0),
    ("/dev/shm/", "temporary", 1.0),
    ("/users/public/", "shared writable", 0.9),
    ("/perflogs/", "shared writable", 0.9),
    ("/appdata/roaming/", "user profile", 0.6),
    ("/downloads/", "user profile", 0.6),
    ("/desktop/", "user profile", 0.6),
    ("/appdata/local/", "user writable", 0.4),
    ("/home/", "user writable", 0.4),
];

/// The kind of place an executable runs from and its `path` part; hidden (a component
/// starting with `.`) counts as 1.
pub fn place(executable: &str) -> (Option<&'static str>, f64) {
    let p = executable.replace('\\', "/").to_ascii_lowercase();
    let mut best: (Option<&'static str>, f64) = (None, 0.0);
    if let Some((kind, _, w)) = PLACES.iter().find(|(frag, _, _)| p.contains(frag)).map(|(f, k, w)| (*k, f, *w)) {
        best = (Some(kind), w);
    }
    let hidden = p.split('/').any(|d| d.len() > 1 && d.starts_with('.') && d != "..");
    if hidden && best.1 < 1.0 {
        best = (Some("hidden"), 1.0);
    } else if hidden {
        best = (best.0.map(|k| if k == "temporary" { "hidden temporary" } else { k }), 1.0);
    }
    best
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rare_starts_low: f64,
    rare_starts_high: f64,
    unknown_rarity: f64,
    path_weight: f64,
    process_weight: f64,
    both_weight: f64,
    prevalence_floor: f64,
    rarity_low: f64,
    rarity_high: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rare_starts_low: 1.0,
            rare_starts_high: 10.0,
            unknown_rarity: 0.5,
            path_weight: 0.5,
            process_weight: 0.2,
            both_weight: 0.3,
            prevalence_floor: 0.25,
            rarity_low: 0.4,
            rarity_high: 0.9,
            min_score: 0.3,
        }
    }
}

pub struct ProcessNetworkAnomaly;

impl Detector for ProcessNetworkAnomaly {
    fn id(&self) -> &'static str {
        "process-network-anomaly"
    }

    fn describe(&self) -> &'static str {
        "a rare destination reached by a process rare on its host or run from a temporary, hidden or user-writable path"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let starts = process_starts(ctx);
        gather(ctx)
            .into_iter()
            .filter_map(|((host, exe, dst), g)| {
                let n = starts.get(&(g.host_name.clone().unwrap_or_default(), exe.to_ascii_lowercase())).copied();
                finding(ctx, &config, host, &exe, dst, &g, n)
            })
            .collect()
    }
}

/// Process starts per (host name lowercased, executable lowercased).
fn process_starts(ctx: &DetectCtx<'_>) -> BTreeMap<(String, String), u64> {
    let mut n = BTreeMap::new();
    for e in &ctx.endpoint {
        let Fields::Endpoint(x) = &e.fields else { continue };
        if e.kind != EventKind::Process || x.action != "process-start" {
            continue;
        }
        let (Some(host), Some(exe)) =
            (e.host.as_ref().and_then(|h| h.name.as_deref()), e.process.as_ref().and_then(|p| p.executable.as_deref()))
        else {
            continue;
        };
        *n.entry((host.to_ascii_lowercase(), exe.to_ascii_lowercase())).or_insert(0) += 1;
    }
    n
}

/// One (host, executable, destination).
#[derive(Default)]
struct Group<'a> {
    host_name: Option<String>,
    flows: BTreeSet<usize>,
    /// Connection records with no flow in the capture.
    records: Vec<&'a Event>,
    ports: BTreeSet<u16>,
    process: Option<FindingProcess>,
}

type Key = (IpAddr, String, IpAddr);

fn gather<'a>(ctx: &DetectCtx<'a>) -> BTreeMap<Key, Group<'a>> {
    let mut groups: BTreeMap<Key, Group<'a>> = BTreeMap::new();
    let mut attributed: BTreeSet<crate::model::Provenance> = BTreeSet::new();
    for (i, f) in ctx.flows.iter().enumerate() {
        let Some(a) = f.process.as_deref().filter(|a| !a.accepted) else { continue };
        let Some(exe) = a.process.executable.clone() else { continue };
        if !ctx.is_internal(f.orig_ip) {
            continue;
        }
        attributed.insert(a.evidence);
        let g = groups.entry((f.orig_ip, exe, f.resp_ip)).or_default();
        g.flows.insert(i);
        g.ports.insert(f.resp_port);
        g.host_name = g.host_name.take().or_else(|| a.host.as_ref().map(|h| h.to_ascii_lowercase()));
    }
    // Connection records no flow was joined to: the capture did not see them.
    let names: BTreeMap<String, IpAddr> = ctx
        .flow_hosts
        .iter()
        .filter_map(|&ip| ctx.asset(ip))
        .flat_map(|a| a.names.iter().map(move |n| (n.to_ascii_lowercase(), a.ip)))
        .collect();
    for &e in &ctx.endpoint {
        let Fields::Endpoint(x) = &e.fields else { continue };
        if e.kind != EventKind::Connection || x.action != "network-connect" {
            continue;
        }
        if attributed.contains(&e.provenance) {
            continue;
        }
        let Some(exe) = e.process.as_ref().and_then(|p| p.executable.clone()) else { continue };
        let host_name = e.host.as_ref().and_then(|h| h.name.as_deref()).map(str::to_ascii_lowercase);
        let local = e.net.as_ref().map(|n| n.src_ip).or_else(|| host_name.as_ref().and_then(|n| names.get(n).copied()));
        let remote = e
            .net
            .as_ref()
            .map(|n| (n.dst_ip, n.dst_port))
            .or(x.destination_ip.map(|ip| (ip, x.destination_port.unwrap_or(0))));
        let (Some(local), Some((dst, port))) = (local, remote) else { continue };
        if dst.is_loopback() || dst.is_unspecified() {
            continue;
        }
        let g = groups.entry((local, exe, dst)).or_default();
        g.records.push(e);
        g.ports.insert(port);
        if g.process.is_none() {
            g.process = e.process.as_ref().map(|p| FindingProcess {
                pid: p.pid,
                executable: p.executable.clone(),
                command_line: p.command_line.clone(),
                source: x.source.as_str().to_string(),
            });
        }
        g.host_name = g.host_name.take().or(host_name);
    }
    groups
}

/// The parts of a finding's score.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    path: f64,
    process_rarity: f64,
    rarity_weight: f64,
    score: f64,
}

fn parts(path: f64, starts: Option<u64>, rarity: f64, c: &Config) -> Parts {
    let process_rarity = match starts {
        Some(n) if n > 0 => 1.0 - ramp(n as f64, c.rare_starts_low, c.rare_starts_high),
        _ => c.unknown_rarity,
    };
    let rarity_weight = c.prevalence_floor + (1.0 - c.prevalence_floor) * ramp(rarity, c.rarity_low, c.rarity_high);
    let core = c.path_weight * path + c.process_weight * process_rarity + c.both_weight * path * process_rarity;
    Parts { path, process_rarity, rarity_weight, score: (rarity_weight * core).clamp(0.0, 1.0) }
}

fn finding(
    ctx: &DetectCtx<'_>,
    c: &Config,
    host: IpAddr,
    exe: &str,
    dst: IpAddr,
    g: &Group<'_>,
    starts: Option<u64>,
) -> Option<Finding> {
    let b = ctx.baseline;
    let flows: Vec<&FlowRecord> = g.flows.iter().filter_map(|&i| ctx.flows.get(i)).collect();
    let name = g.flows.iter().find_map(|&i| ctx.name_of(i));
    let by_ip = b.ip_prevalence(dst);
    let prevalence = name.map_or(by_ip, |n| by_ip.min(b.fqdn_prevalence(n)));
    if !(b.ip_is_rare(dst) || name.is_some_and(|n| b.fqdn_is_rare(n))) {
        return None;
    }
    let rarity = b.rarity(prevalence);
    let (kind, path) = place(exe);
    let p = parts(path, starts, rarity, c);
    if p.score < c.min_score {
        return None;
    }
    let times = flows.iter().flat_map(|f| [f.start, f.end.max(f.start)]).chain(g.records.iter().map(|e| e.ts));
    let (first, last) = times.fold((Timestamp::MAX, Timestamp::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if first > last {
        return None;
    }
    let mut f = Finding::new("process-network-anomaly", Tactic::CommandAndControl, "T1071", p.score)
        .component("path", p.path)
        .component("process_rarity", p.process_rarity)
        .component("process_starts", starts.unwrap_or(0) as f64)
        .component("rarity", rarity)
        .component("prevalence", prevalence)
        .component("rarity_weight", p.rarity_weight)
        .component("flows", flows.len() as f64)
        .component("records", g.records.len() as f64)
        .window(first, last);
    f.host = ctx.host(host);
    f.peer.ip = Some(dst);
    f.peer.domain = name.map(str::to_string);
    f.peer.port = g.ports.first().copied();
    f.process = ctx.process_of(flows.iter().copied()).or_else(|| g.process.clone());
    let place_text = kind.map_or(String::new(), |k| format!(" from a {k} path"));
    let rare_text = match starts {
        Some(n) if n > 0 => format!(", started {n} time(s) on the host"),
        _ => String::new(),
    };
    let target = match (name, g.ports.first()) {
        (Some(n), Some(port)) => format!("{n} ({dst}:{port})"),
        (None, Some(port)) => format!("{dst}:{port}"),
        (Some(n), None) => format!("{n} ({dst})"),
        (None, None) => dst.to_string(),
    };
    f.summary = format!(
        "{host}: {exe}{place_text}{rare_text} reached {target}, used by {:.0} % of internal hosts: {} flow(s), {} \
         record(s) without a flow",
        prevalence * 100.0,
        flows.len(),
        g.records.len()
    );
    let attribution = flows.iter().filter_map(|fl| fl.process.as_deref()).map(|a| EvidenceRef {
        file: ctx.file_name(a.evidence.file),
        packet: None,
        record: matches!(a.evidence.locator, crate::model::Locator::Record(_)).then(|| a.evidence.locator.value()),
        line: matches!(a.evidence.locator, crate::model::Locator::Line(_)).then(|| a.evidence.locator.value()),
        flow: None,
    });
    let evidence = flows
        .iter()
        .map(|fl| ctx.flow_evidence(fl))
        .chain(attribution)
        .chain(g.records.iter().map(|e| ctx.event_evidence(e)));
    Some(f.evidence(evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, ip, Bundle};
    use super::super::Severity;
    use super::*;
    use crate::model::{Attribution, Locator, LogSource, ProcessRef, Provenance};

    fn attribution(exe: &str, accepted: bool) -> Box<Attribution> {
        Box::new(Attribution {
            host: Some("db01".into()),
            process: ProcessRef { pid: Some(31337), executable: Some(exe.into()), ..ProcessRef::default() },
            source: LogSource::Auditd,
            method: "remote-endpoint",
            evidence: Provenance { file: 1, locator: Locator::Line(40) },
            accepted,
        })
    }

    fn start(b: &mut Bundle, host: &str, at: f64, exe: &str) {
        let e = b.endpoint(host, at, EventKind::Process, LogSource::Auditd, "process-start", "SYSCALL:execve", &[]);
        e.process = Some(Box::new(ProcessRef { executable: Some(exe.into()), ..ProcessRef::default() }));
    }

    #[test]
    fn a_miner_from_a_hidden_temporary_directory_is_high() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        // /tmp/.x/xmrig started once on db01 (10.0.0.60), then a 1-hour flow to 94.130.5.6:3333
        // attributed to it by its connect record.
        start(&mut b, "db01", 590.0, "/tmp/.x/xmrig");
        let f = b.tcp("10.0.0.60", "94.130.5.6", 3333, 600.0, 3600.0, 20_000, 30_000);
        b.flows[f].process = Some(attribution("/tmp/.x/xmrig", false));
        b.asset("10.0.0.60", Some("db01"), true);
        let found = b.run(&ProcessNetworkAnomaly);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!((f.host.ip, f.peer.ip, f.peer.port), (Some(ip("10.0.0.60")), Some(ip("94.130.5.6")), Some(3333)));
        assert_eq!(f.process.as_ref().and_then(|p| p.executable.as_deref()), Some("/tmp/.x/xmrig"));
        assert_eq!(f.process.as_ref().map(|p| p.source.as_str()), Some("auditd/remote-endpoint"));
        // path 1 (hidden temporary), one start → process_rarity 1; 1 of 7 internal hosts →
        // rarity 6/7, rarity_weight 0.25 + 0.75·(0.857 − 0.4)/0.5 = 0.9357; core 0.5 + 0.2 + 0.3.
        assert_eq!((f.components["path"], f.components["process_rarity"]), (1.0, 1.0));
        assert!((f.score - 0.9357).abs() < 1e-4, "{f:#?}");
        assert_eq!(f.severity, Severity::Critical);
        assert!(f.summary.contains("hidden temporary path"), "{}", f.summary);
    }

    #[test]
    fn a_connect_record_without_a_flow_counts() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        b.asset("10.0.0.60", Some("db01"), true);
        b.tcp("10.0.0.60", "10.0.0.50", 873, 10.0, 1.0, 100, 100);
        start(&mut b, "db01", 100.0, "/dev/shm/k");
        let e = b.endpoint(
            "db01",
            101.0,
            EventKind::Connection,
            LogSource::Auditd,
            "network-connect",
            "SYSCALL:connect",
            &[],
        );
        e.process =
            Some(Box::new(ProcessRef { pid: Some(9), executable: Some("/dev/shm/k".into()), ..ProcessRef::default() }));
        let x = super::super::testkit::endpoint_fields(e);
        x.destination_ip = Some(ip("198.51.100.9"));
        x.destination_port = Some(443);
        let found = b.run(&ProcessNetworkAnomaly);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].peer.ip, Some(ip("198.51.100.9")));
        assert_eq!(found[0].process.as_ref().map(|p| p.source.as_str()), Some("auditd"));
        assert_eq!(found[0].components["records"], 1.0);
    }

    #[test]
    fn near_misses() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        b.asset("10.0.0.60", Some("db01"), true);
        // A routine program (started 12 times) from /usr/bin to a rare address: 0.
        for k in 0..12 {
            start(&mut b, "db01", 60.0 * k as f64, "/usr/bin/rsync");
        }
        let f = b.tcp("10.0.0.60", "198.51.100.20", 873, 800.0, 1.0, 100, 100);
        b.flows[f].process = Some(attribution("/usr/bin/rsync", false));
        // A hidden temporary program, but to a destination every workstation uses.
        let f = b.tcp("10.0.0.60", "23.45.100.10", 443, 900.0, 1.0, 100, 100);
        b.flows[f].process = Some(attribution("/tmp/.x/xmrig", false));
        // A flow the temporary program accepted (it runs on the responder, not on db01).
        let f = b.tcp("10.0.0.60", "198.51.100.21", 8080, 950.0, 1.0, 100, 100);
        b.flows[f].process = Some(attribution("/tmp/.y/srv", true));
        let found = b.run(&ProcessNetworkAnomaly);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn places_and_parts_by_hand() {
        assert_eq!(place("/tmp/.x/xmrig"), (Some("hidden temporary"), 1.0));
        assert_eq!(place("/home/ann/.cache/x"), (Some("hidden"), 1.0));
        assert_eq!(place("C:\\Users\\Public\\svc.exe"), (Some("shared writable"), 0.9));
        assert_eq!(place("C:\\Users\\ann\\AppData\\Roaming\\upd.exe"), (Some("user profile"), 0.6));
        assert_eq!(place("C:\\Users\\ann\\AppData\\Local\\Temp\\a.exe"), (Some("temporary"), 1.0));
        assert_eq!(place("C:\\Windows\\System32\\svchost.exe"), (None, 0.0));
        assert_eq!(place("/usr/bin/rsync"), (None, 0.0));
        let c = Config::default();
        // %APPDATA% program started once to a destination of rarity 0.9:
        // 1·(0.5·0.6 + 0.2·1 + 0.3·0.6) = 0.68.
        let p = parts(0.6, Some(1), 0.9, &c);
        assert!((p.score - 0.68).abs() < 1e-12, "{p:?}");
        // A program of an ordinary path never seen starting: 0.2·0.5 = 0.1 (below min_score).
        assert!((parts(0.0, None, 1.0, &c).score - 0.1).abs() < 1e-12);
        // Started 5 times: process_rarity 1 − (5 − 1)/(10 − 1).
        assert!((parts(0.0, Some(5), 1.0, &c).process_rarity - (1.0 - 4.0 / 9.0)).abs() < 1e-12);
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("process-network-anomaly"), Ok(Config::default()));
    }
}
