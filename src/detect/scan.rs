//! `scan` — one source probing many addresses on a port (horizontal), many ports on one address
//! (vertical), or a block on several ports at once (a sweep, reported once with its ports).
//!
//! Input: every TCP and UDP flow. A flow is a *probe* when it never became a conversation:
//! rejected, unanswered, half-open (Zeek's failed states), or accepted and then reset or closed
//! with no payload either way (a connect scan); a UDP flow is one when nothing came back. Only
//! probes trigger a finding — the distinct addresses of one port, or the distinct ports of one
//! address, reached with probes — so busy clients whose connections succeed do not look like
//! scanners. Internal scans use thresholds far below those for the internet's edge.
//!
//! Score, every part a component:
//!
//! ```text
//! core  = base + weight_failed·failed_ratio + weight_breadth·breadth + weight_rate·rate
//! score = scope·core·(1 − repetition_damp·repetition) + follow_up_weight·followed_up·(1 − scope)
//! ```
//!
//! `failed_ratio` = probes / attempts; `breadth` = probed addresses / `full_addresses` (ports /
//! `full_ports` for a vertical scan); `rate` = probes per second between the first and the last
//! probe / `full_rate`, capped at 1;
//! `scope` = how much a scan in that direction means (internal → internal, internal → internet,
//! internet → internal); `repetition` grows with the attempts per target (a monitor polling the
//! same services is no scan); `followed_up` = 1 when the source then held a conversation with a
//! target (an edge scan that found something and used it).
//!
//! Tables are keyed by flow fields, so each holds at most one entry per flow: memory is bounded
//! by the flow table's own cap.

use super::stats::ramp;
use super::{check, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{ConnState, FlowRecord, Transport};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

const SEC: f64 = 1e9;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    internal_min_addresses: usize,
    internal_min_ports: usize,
    external_min_addresses: usize,
    external_min_ports: usize,
    full_addresses: f64,
    full_ports: f64,
    full_rate: f64,
    base: f64,
    weight_failed: f64,
    weight_breadth: f64,
    weight_rate: f64,
    scope_internal: f64,
    scope_outbound: f64,
    scope_inbound: f64,
    repetition_from: f64,
    repetition_full: f64,
    repetition_damp: f64,
    follow_up_weight: f64,
    block_prefix_v4: u8,
    block_prefix_v6: u8,
    udp_ignore_ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            internal_min_addresses: 10,
            internal_min_ports: 15,
            external_min_addresses: 25,
            external_min_ports: 25,
            full_addresses: 50.0,
            full_ports: 100.0,
            full_rate: 2.0,
            base: 0.2,
            weight_failed: 0.35,
            weight_breadth: 0.25,
            weight_rate: 0.1,
            scope_internal: 1.0,
            scope_outbound: 0.8,
            scope_inbound: 0.4,
            repetition_from: 2.0,
            repetition_full: 10.0,
            repetition_damp: 0.5,
            follow_up_weight: 0.6,
            block_prefix_v4: 24,
            block_prefix_v6: 64,
            udp_ignore_ports: vec![53, 67, 68, 123, 137, 138, 1900, 5353, 5355],
        }
    }
}

pub struct Scan;

impl Detector for Scan {
    fn id(&self) -> &'static str {
        "scan"
    }

    fn describe(&self) -> &'static str {
        "horizontal, vertical and multi-port sweeps, counted from failed attempts"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let mut groups: BTreeMap<(IpAddr, Scope), Vec<Attempt>> = BTreeMap::new();
        for (i, f) in ctx.flows.iter().enumerate() {
            let Some(scope) = Scope::of(ctx, f) else { continue };
            if !counts(f, &config) {
                continue;
            }
            groups.entry((f.orig_ip, scope)).or_default().push(Attempt {
                dst: f.resp_ip,
                port: f.resp_port,
                probe: is_probe(f),
                answered: is_answered(f),
                conversation: is_conversation(f),
                flow: i,
            });
        }
        let mut out = Vec::new();
        for ((src, scope), attempts) in &groups {
            for shape in shapes(attempts, scope.min_addresses(&config), scope.min_ports(&config)) {
                if let Some(f) = finding(ctx, &config, *src, *scope, attempts, &shape) {
                    out.push(f);
                }
            }
        }
        out
    }
}

/// An attempt that never became a conversation: rejected, unanswered, half-open, or accepted
/// and then reset or closed with no payload either way; for UDP, nothing came back.
pub(super) fn is_probe(f: &FlowRecord) -> bool {
    match f.transport {
        Transport::Tcp => {
            f.conn_state.is_failed_attempt()
                || (f.conn_state != ConnState::OTH && f.orig.bytes == 0 && f.resp.bytes == 0)
        }
        Transport::Udp => f.resp.packets == 0,
        _ => false,
    }
}

/// The target answered: accepted the connection (even if the source then reset it), or, for
/// UDP, sent something back.
fn is_answered(f: &FlowRecord) -> bool {
    match f.transport {
        Transport::Tcp => {
            !matches!(f.conn_state, ConnState::S0 | ConnState::REJ | ConnState::RSTOS0 | ConnState::SH | ConnState::OTH)
        }
        _ => f.resp.packets > 0,
    }
}

/// Payload went both ways.
fn is_conversation(f: &FlowRecord) -> bool {
    !f.conn_state.is_failed_attempt() && f.orig.bytes > 0 && f.resp.bytes > 0
}

/// TCP, and UDP other than the discovery and name-service chatter every host sends.
fn counts(f: &FlowRecord, config: &Config) -> bool {
    match f.transport {
        Transport::Tcp => true,
        Transport::Udp => !config.udp_ignore_ports.contains(&f.resp_port),
        _ => false,
    }
}

/// Which side of the perimeter the source and its targets are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Internal,
    Outbound,
    Inbound,
}

impl Scope {
    fn of(ctx: &DetectCtx<'_>, f: &FlowRecord) -> Option<Scope> {
        if super::ctx::is_announcement(f) {
            return None;
        }
        match (ctx.is_internal(f.orig_ip), ctx.is_internal(f.resp_ip)) {
            (true, true) => Some(Scope::Internal),
            (true, false) => Some(Scope::Outbound),
            (false, true) => Some(Scope::Inbound),
            (false, false) => None,
        }
    }

    fn min_addresses(self, c: &Config) -> usize {
        match self {
            Scope::Internal => c.internal_min_addresses,
            Scope::Outbound | Scope::Inbound => c.external_min_addresses,
        }
    }

    fn min_ports(self, c: &Config) -> usize {
        match self {
            Scope::Internal => c.internal_min_ports,
            Scope::Outbound | Scope::Inbound => c.external_min_ports,
        }
    }

    fn weight(self, c: &Config) -> f64 {
        match self {
            Scope::Internal => c.scope_internal,
            Scope::Outbound => c.scope_outbound,
            Scope::Inbound => c.scope_inbound,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Scope::Internal => "internal",
            Scope::Outbound => "internet",
            Scope::Inbound => "internal from the internet",
        }
    }
}

struct Attempt {
    dst: IpAddr,
    port: u16,
    probe: bool,
    answered: bool,
    conversation: bool,
    flow: usize,
}

/// What a finding covers.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// Many addresses on these ports (one port: a horizontal scan), and the addresses that
    /// were also probed on many ports.
    Sweep { ports: BTreeSet<u16>, hosts: BTreeSet<IpAddr> },
    /// Many ports on one address.
    Vertical { dst: IpAddr },
}

/// The findings one source's attempts make: one sweep over the ports probed on at least
/// `min_addresses` addresses, and one vertical scan per address probed on at least `min_ports`
/// ports — folded into the sweep when the sweep also probed several addresses that deeply.
fn shapes(attempts: &[Attempt], min_addresses: usize, min_ports: usize) -> Vec<Shape> {
    let mut by_port: BTreeMap<u16, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut by_dst: BTreeMap<IpAddr, BTreeSet<u16>> = BTreeMap::new();
    for a in attempts.iter().filter(|a| a.probe) {
        by_port.entry(a.port).or_default().insert(a.dst);
        by_dst.entry(a.dst).or_default().insert(a.port);
    }
    let ports: BTreeSet<u16> =
        by_port.into_iter().filter(|(_, d)| d.len() >= min_addresses.max(1)).map(|(p, _)| p).collect();
    let deep: BTreeSet<IpAddr> =
        by_dst.into_iter().filter(|(_, p)| p.len() >= min_ports.max(1)).map(|(d, _)| d).collect();
    let mut out = Vec::new();
    if !ports.is_empty() && deep.len() >= 2 {
        out.push(Shape::Sweep { ports, hosts: deep });
        return out;
    }
    if !ports.is_empty() {
        out.push(Shape::Sweep { ports, hosts: BTreeSet::new() });
    }
    out.extend(deep.into_iter().map(|dst| Shape::Vertical { dst }));
    out
}

impl Shape {
    fn covers(&self, a: &Attempt) -> bool {
        match self {
            Shape::Sweep { ports, hosts } => ports.contains(&a.port) || hosts.contains(&a.dst),
            Shape::Vertical { dst } => a.dst == *dst,
        }
    }
}

/// The parts of a scan's score, from its counts.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    failed_ratio: f64,
    breadth: f64,
    rate: f64,
    repetition: f64,
    followed_up: f64,
    scope: f64,
    score: f64,
}

/// What a scan's score is computed from.
struct Counts {
    attempts: usize,
    probes: usize,
    /// Distinct addresses probed (ports, for a vertical scan).
    breadth_targets: usize,
    /// Distinct (address, port) targets attempted.
    targets: usize,
    /// From the first probe's start to the last one's end.
    secs: f64,
    conversations: usize,
}

fn parts(c: &Counts, vertical: bool, scope: f64, config: &Config) -> Parts {
    let attempts = c.attempts.max(1) as f64;
    let failed_ratio = c.probes as f64 / attempts;
    let full = if vertical { config.full_ports } else { config.full_addresses };
    let breadth = ramp(c.breadth_targets as f64, 0.0, full);
    let rate = ramp(c.probes as f64 / c.secs.max(1.0), 0.0, config.full_rate);
    let per_target = attempts / c.targets.max(1) as f64;
    let repetition = ramp(per_target, config.repetition_from, config.repetition_full);
    let followed_up = if c.conversations > 0 { 1.0 } else { 0.0 };
    let core =
        config.base + config.weight_failed * failed_ratio + config.weight_breadth * breadth + config.weight_rate * rate;
    let score = scope * core * (1.0 - config.repetition_damp * repetition)
        + config.follow_up_weight * followed_up * (1.0 - scope);
    Parts { failed_ratio, breadth, rate, repetition, followed_up, scope, score: score.clamp(0.0, 1.0) }
}

fn finding(
    ctx: &DetectCtx<'_>,
    config: &Config,
    src: IpAddr,
    scope: Scope,
    attempts: &[Attempt],
    shape: &Shape,
) -> Option<Finding> {
    let covered: Vec<&Attempt> = attempts.iter().filter(|a| shape.covers(a)).collect();
    // The scan is its probes: its window runs from the first probe's start to the last one's
    // end. Other attempts on the targets it covers count only from the first probe on (a
    // session before the scan is no part of it): those during the scan, and conversations
    // after it (follow-ups: the scan found something and it was used).
    let start_of = |a: &Attempt| ctx.flows.get(a.flow).map(|f| f.start);
    let first = covered.iter().filter(|a| a.probe).filter_map(|a| start_of(a)).min()?;
    let last =
        covered.iter().filter(|a| a.probe).filter_map(|a| ctx.flows.get(a.flow)).map(|f| f.end.max(f.start)).max()?;
    let probed_addrs: BTreeSet<IpAddr> = covered.iter().filter(|a| a.probe).map(|a| a.dst).collect();
    let probed_ports: BTreeSet<u16> = covered.iter().filter(|a| a.probe).map(|a| a.port).collect();
    let mine: Vec<&Attempt> = covered
        .into_iter()
        .filter(|a| start_of(a).is_some_and(|t| t >= first))
        .filter(|a| a.probe || a.conversation || start_of(a).is_some_and(|t| t <= last))
        .collect();
    let flows: Vec<&FlowRecord> = mine.iter().filter_map(|a| ctx.flows.get(a.flow)).collect();
    let targets: BTreeSet<(IpAddr, u16)> = mine.iter().map(|a| (a.dst, a.port)).collect();
    let answered: BTreeSet<(IpAddr, u16)> = mine.iter().filter(|a| a.answered).map(|a| (a.dst, a.port)).collect();
    let vertical = matches!(shape, Shape::Vertical { .. });
    let counts = Counts {
        attempts: mine.len(),
        probes: mine.iter().filter(|a| a.probe).count(),
        breadth_targets: if vertical { probed_ports.len() } else { probed_addrs.len() },
        targets: targets.len(),
        secs: probe_span(&mine, ctx.flows),
        conversations: mine.iter().filter(|a| a.conversation).count(),
    };
    let p = parts(&counts, vertical, scope.weight(config), config);
    let all_addrs: BTreeSet<IpAddr> = mine.iter().map(|a| a.dst).collect();
    let mut finding = Finding::new("scan", Tactic::Discovery, "T1046", p.score)
        .component("failed_ratio", p.failed_ratio)
        .component("breadth", p.breadth)
        .component("rate", p.rate)
        .component("repetition", p.repetition)
        .component("followed_up", p.followed_up)
        .component("scope", p.scope)
        .component("attempts", counts.attempts as f64)
        .component("failed", counts.probes as f64)
        .component("addresses", probed_addrs.len() as f64)
        .component("ports", probed_ports.len() as f64)
        .component("answered", answered.len() as f64)
        .component("duration_s", counts.secs)
        .window(first, last);
    finding.host = if ctx.is_internal(src) { ctx.host(src) } else { external_host(src) };
    let took = duration_text(counts.secs);
    let summary = match shape {
        Shape::Sweep { ports, .. } => {
            let cidr = covering_block(&all_addrs, config.block_prefix_v4, config.block_prefix_v6);
            finding.peer.port = (ports.len() == 1).then(|| ports.first().copied()).flatten();
            finding.peer.ip = (all_addrs.len() == 1).then(|| all_addrs.first().copied()).flatten();
            let range = cidr.clone().unwrap_or_else(|| "several ranges".into());
            finding.peer.cidr = cidr;
            let kind = if ports.len() == 1 { "horizontal scan" } else { "sweep" };
            format!(
                "{kind} ({}): {src} probed {} addresses of {range} on {} {}: {} attempts, {} failed, {} answered, in {took}",
                scope.text(),
                probed_addrs.len(),
                if ports.len() == 1 { "port" } else { "ports" },
                port_list(ports),
                counts.attempts,
                counts.probes,
                answered.len(),
            )
        }
        Shape::Vertical { dst } => {
            finding.peer.ip = Some(*dst);
            format!(
                "vertical scan ({}): {src} probed {} ports of {dst} ({}): {} attempts, {} failed, {} answered, in {took}",
                scope.text(),
                probed_ports.len(),
                port_list(&probed_ports),
                counts.attempts,
                counts.probes,
                answered.len(),
            )
        }
    };
    finding.process = ctx.process_of(flows.iter().copied());
    let evidence = flows.iter().map(|f| ctx.flow_evidence(f));
    Some(finding.summary(summary).evidence(evidence))
}

/// Seconds from the first probe's start to the last probe's end: the scan's own pace, whatever
/// conversations followed it.
fn probe_span(attempts: &[&Attempt], flows: &[FlowRecord]) -> f64 {
    let probes = attempts.iter().filter(|a| a.probe).filter_map(|a| flows.get(a.flow));
    let (lo, hi) = probes.fold((i64::MAX, i64::MIN), |(lo, hi), f| (lo.min(f.start), hi.max(f.end.max(f.start))));
    if lo > hi {
        0.0
    } else {
        (hi - lo) as f64 / SEC
    }
}

/// A source outside the internal ranges, named by its address alone.
fn external_host(ip: IpAddr) -> super::FindingHost {
    super::FindingHost { ip: Some(ip), name: None, managed: false }
}

/// Up to ten ports, then how many more.
fn port_list(ports: &BTreeSet<u16>) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = ports.iter().take(SHOWN).map(u16::to_string).collect();
    if ports.len() > SHOWN {
        text.push(format!("+{} more", ports.len() - SHOWN));
    }
    text.join(", ")
}

fn duration_text(secs: f64) -> String {
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 7200.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// The smallest block holding every address, widened to at least `/max_v4` (`/max_v6`) so a
/// sweep of part of a subnet is named by its subnet; `None` for mixed families or no address.
fn covering_block(addrs: &BTreeSet<IpAddr>, max_v4: u8, max_v6: u8) -> Option<String> {
    let (first, last) = (addrs.first()?, addrs.last()?);
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(*a), u32::from(*b));
            let prefix = (a ^ b).leading_zeros().min(u32::from(max_v4.min(32)));
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            Some(format!("{}/{prefix}", std::net::Ipv4Addr::from(a & mask)))
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(*a), u128::from(*b));
            let prefix = (a ^ b).leading_zeros().min(u32::from(max_v6.min(128)));
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            Some(format!("{}/{prefix}", std::net::Ipv6Addr::from(a & mask)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, ip, Bundle};
    use super::super::Severity;
    use super::*;

    /// `src` sends one SYN to each of `hosts` addresses `10.0.5.1…` on each port, `gap` seconds
    /// apart, answered by a reset (REJ) or by nothing (S0), alternately.
    fn sweep(b: &mut Bundle, src: &str, hosts: u8, ports: &[u16], at: f64, gap: f64) {
        let mut t = at;
        for h in 1..=hosts {
            for &port in ports {
                let i = b.tcp(src, &format!("10.0.5.{h}"), port, t, 0.001, 0, 0);
                b.flows[i].conn_state =
                    if (usize::from(h) + usize::from(port)) % 2 == 0 { ConnState::REJ } else { ConnState::S0 };
                b.flows[i].history = if b.flows[i].conn_state == ConnState::REJ { "Sr" } else { "S" }.into();
                t += gap;
            }
        }
    }

    #[test]
    fn internal_sweep_on_three_ports_is_one_high_finding() {
        let mut b = Bundle::default();
        background(&mut b, 8);
        // 40 addresses × 3 ports, 20 ms apart: 120 failed attempts in 2.4 s.
        sweep(&mut b, "10.0.5.200", 40, &[22, 445, 3389], 1000.0, 0.02);
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert!(f.severity >= Severity::High, "{f:#?}");
        assert_eq!(f.peer.cidr.as_deref(), Some("10.0.5.0/24"));
        assert_eq!(f.peer.port, None);
        assert_eq!(f.components["attempts"], 120.0);
        assert_eq!(f.components["failed"], 120.0);
        assert_eq!(f.components["addresses"], 40.0);
        assert_eq!(f.components["ports"], 3.0);
        assert!(f.summary.contains("22, 445, 3389"), "{}", f.summary);
        assert_eq!(f.host.ip, Some(ip("10.0.5.200")));
        assert_eq!(f.evidence_total, 120);
    }

    #[test]
    fn horizontal_scan_names_its_port() {
        let mut b = Bundle::default();
        // 12 addresses on 445, one a second.
        sweep(&mut b, "10.0.5.200", 12, &[445], 100.0, 1.0);
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].peer.port, Some(445));
        assert!(found[0].severity >= Severity::Medium, "{:#?}", found[0]);
    }

    #[test]
    fn near_miss_nine_addresses_is_no_scan() {
        let mut b = Bundle::default();
        // One below internal_min_addresses = 10.
        sweep(&mut b, "10.0.5.200", 9, &[22, 445, 3389], 100.0, 0.02);
        assert!(b.run(&Scan).is_empty());
    }

    #[test]
    fn successful_connections_to_many_servers_are_no_scan() {
        let mut b = Bundle::default();
        // An admin's SSH sessions to 30 servers, every one answered with data.
        for h in 1..=30u8 {
            b.tcp("10.0.0.9", &format!("10.0.5.{h}"), 22, f64::from(h) * 60.0, 30.0, 3000, 5000);
        }
        assert!(b.run(&Scan).is_empty());
    }

    #[test]
    fn monitor_polling_down_hosts_stays_low() {
        let mut b = Bundle::default();
        // A monitor polls 20 hosts on 443 every 5 minutes for 2 h; 10 of them never answer.
        for round in 0..24 {
            for h in 1..=20u8 {
                let i = b.tcp("10.0.0.8", &format!("10.0.5.{h}"), 443, f64::from(round) * 300.0, 0.1, 200, 900);
                if h > 10 {
                    b.flows[i].conn_state = ConnState::S0;
                    b.flows[i].orig.bytes = 0;
                    b.flows[i].resp.bytes = 0;
                }
            }
        }
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1);
        assert!(found[0].severity <= Severity::Low, "{:#?}", found[0]);
        assert_eq!(found[0].components["repetition"], 1.0);
    }

    #[test]
    fn vertical_scan_of_one_host() {
        let mut b = Bundle::default();
        // 100 ports of one host, 10 ms apart; the scanner resets after each SYN-ACK (RSTO,
        // no payload) on 3 open ports, the rest are refused.
        for (k, port) in (1..=100u16).enumerate() {
            let i = b.tcp("10.0.0.7", "10.0.0.20", port, 50.0 + k as f64 * 0.01, 0.001, 0, 0);
            b.flows[i].conn_state = if [22, 80, 88].contains(&port) { ConnState::RSTO } else { ConnState::REJ };
        }
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.peer.ip, Some(ip("10.0.0.20")));
        assert_eq!(f.components["ports"], 100.0);
        assert_eq!(f.components["answered"], 3.0);
        assert!(f.severity >= Severity::High, "{f:#?}");
    }

    #[test]
    fn block_scan_of_many_ports_on_many_hosts_is_one_finding() {
        let mut b = Bundle::default();
        // 20 addresses × 20 ports (1–20), 5 ms apart: every address is also vertically scanned.
        let ports: Vec<u16> = (1..=20).collect();
        sweep(&mut b, "10.0.5.200", 20, &ports, 100.0, 0.005);
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].components["ports"], 20.0);
        assert_eq!(found[0].components["addresses"], 20.0);
        assert!(found[0].summary.contains("+10 more"), "{}", found[0].summary);
    }

    #[test]
    fn udp_sweeps_count_but_name_service_chatter_does_not() {
        let mut b = Bundle::default();
        // Unanswered UDP to 15 addresses on 161 (SNMP) and on 137 (NetBIOS name service).
        for h in 1..=15u8 {
            for port in [161, 137] {
                let i = b.udp("10.0.0.7", &format!("10.0.5.{h}"), port, f64::from(h), 0.0, 40, 0);
                b.flows[i].resp.packets = 0;
            }
        }
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].peer.port, Some(161));
    }

    #[test]
    fn internet_scan_of_the_edge_is_low_unless_followed_up() {
        let mut b = Bundle::default();
        background(&mut b, 5);
        // 30 internal addresses probed on 3389 from outside.
        for h in 1..=30u8 {
            let i = b.tcp("198.51.100.7", &format!("10.0.5.{h}"), 3389, f64::from(h), 0.001, 0, 0);
            b.flows[i].conn_state = ConnState::S0;
        }
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1);
        assert!(found[0].severity <= Severity::Low, "{:#?}", found[0]);
        assert_eq!(found[0].host.ip, Some(ip("198.51.100.7")));
        // The same scan, then a session with one of the targets.
        b.tcp("198.51.100.7", "10.0.5.3", 3389, 100.0, 60.0, 5000, 20000);
        let found = b.run(&Scan);
        assert_eq!(found[0].components["followed_up"], 1.0);
        assert!(found[0].severity >= Severity::Medium, "{:#?}", found[0]);
    }

    #[test]
    fn a_session_before_the_scan_is_no_part_of_it() {
        let mut b = Bundle::default();
        background(&mut b, 5);
        // An SMB session with one target at t = 10 s, then a SYN sweep of 20 addresses on 445 an
        // hour later.
        let early = b.tcp("10.0.0.7", "10.0.5.3", 445, 10.0, 30.0, 4000, 9000);
        for h in 1..=20u8 {
            let i = b.tcp("10.0.0.7", &format!("10.0.5.{h}"), 445, 3600.0 + f64::from(h) * 0.05, 0.001, 0, 0);
            b.flows[i].conn_state = ConnState::S0;
        }
        let found = b.run(&Scan);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.first_seen, b.flows[early + 1].start, "the window starts at the first probe");
        assert_eq!(f.components["followed_up"], 0.0, "a session before the scan follows nothing up");
        assert_eq!(f.components["attempts"], 20.0);
        let early_packet = b.flows[early].first_packet;
        assert!(f.evidence.iter().all(|e| e.packet != Some(early_packet)), "{:?}", f.evidence);
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("scan"), Ok(Config::default()));
    }

    #[test]
    fn parts_by_hand() {
        let config = Config::default();
        // 120 attempts, all failed, 40 addresses, 2.4 s, 120 targets.
        let c = Counts { attempts: 120, probes: 120, breadth_targets: 40, targets: 120, secs: 2.4, conversations: 0 };
        let p = parts(&c, false, 1.0, &config);
        assert_eq!(p.failed_ratio, 1.0);
        assert!((p.breadth - 0.8).abs() < 1e-12);
        // 120 / 2.4 s = 50 per second ≥ full_rate.
        assert_eq!(p.rate, 1.0);
        assert_eq!(p.repetition, 0.0);
        // 0.2 + 0.35 + 0.25·0.8 + 0.1 = 0.85
        assert!((p.score - 0.85).abs() < 1e-12, "{p:?}");
        // 60 attempts at 6 targets (10 each), half failed, 10 addresses, over 600 s; inbound.
        let c = Counts { attempts: 60, probes: 30, breadth_targets: 10, targets: 6, secs: 600.0, conversations: 1 };
        let p = parts(&c, false, 0.4, &config);
        assert_eq!(p.failed_ratio, 0.5);
        assert!((p.breadth - 0.2).abs() < 1e-12);
        // 30 probes in 600 s: 0.05 per second / 2
        assert!((p.rate - 0.025).abs() < 1e-12);
        assert_eq!(p.repetition, 1.0);
        // 0.4·(0.2 + 0.175 + 0.05 + 0.0025)·0.5 + 0.6·1·0.6 = 0.0855 + 0.36
        assert!((p.score - 0.4455).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn probes_and_blocks() {
        let mut b = Bundle::default();
        let i = b.tcp("10.0.0.1", "10.0.0.2", 80, 0.0, 1.0, 0, 0);
        b.flows[i].conn_state = ConnState::RSTR;
        assert!(is_probe(&b.flows[i]), "reset with no payload");
        b.flows[i].resp.bytes = 10;
        assert!(!is_probe(&b.flows[i]));
        b.flows[i].conn_state = ConnState::REJ;
        assert!(is_probe(&b.flows[i]));
        let set = |v: &[&str]| v.iter().map(|s| ip(s)).collect::<BTreeSet<_>>();
        assert_eq!(covering_block(&set(&["10.113.0.1", "10.113.0.40"]), 24, 64).as_deref(), Some("10.113.0.0/24"));
        assert_eq!(covering_block(&set(&["10.1.0.1", "10.1.3.4"]), 24, 64).as_deref(), Some("10.1.0.0/22"));
        assert_eq!(covering_block(&set(&["10.1.0.1", "192.168.0.1"]), 24, 64).as_deref(), Some("0.0.0.0/0"));
        assert_eq!(covering_block(&set(&["2001:db8::1", "2001:db8::9"]), 24, 64).as_deref(), Some("2001:db8::/64"));
        assert_eq!(covering_block(&set(&["10.0.0.1", "2001:db8::9"]), 24, 64), None);
        assert_eq!(covering_block(&BTreeSet::new(), 24, 64), None);
    }
}
