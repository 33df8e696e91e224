//! `lateral-movement` — an internal host opening an admin protocol (SMB, RDP, WinRM, SSH, VNC,
//! DCE-RPC) on another internal host it did not use before, scored up when the source also
//! scanned or talked to rare destinations on the internet.
//!
//! Input: internal → internal flows that became conversations (payload both ways) on the admin
//! ports of the thresholds file, or recognised as SMB or SSH by content; a flow to a dynamic RPC
//! port counts as DCE-RPC when the same source spoke to the endpoint mapper (135) of the same
//! destination shortly before. One finding per (source, destination), listing the protocols.
//!
//! Score, every part a component:
//!
//! ```text
//! novelty    = weight_new_pair·new_pair + weight_new_destination·new_destination
//!            + weight_rare_port·rare_port
//! compromise = weight_scanned·scanned + weight_rare_external·rare_external
//!            + weight_moved_into·moved_into
//! score      = (base + novelty·(1 − shared_damp·shared) + compromise)·(1 − habit_damp·habit)
//! ```
//!
//! - `new_pair`: how late in the capture the (source, destination, port) was first seen — 0
//!   from the start of the capture (a habit already running), 1 after `new_after_share` of it;
//!   0 when a saved baseline knew it. The most novel port counts.
//! - `new_destination`: the same for the source's first conversation with the destination on
//!   any port.
//! - `rare_port`: how rarely the source uses the port at all (its share of the source's flows,
//!   failed attempts left out); the rarest port counts.
//! - `shared`: other internal sources use this service of the destination too (a file server,
//!   a jump host); the least shared port counts.
//! - `habit`: many sessions spread over the capture.
//! - `scanned`: the source's own failed attempts to internal addresses or ports, recomputed
//!   here (detectors do not read each other's findings), started before the pair's last session.
//! - `rare_external`: external addresses, reached by no popular name, that few internal hosts
//!   talk to and this source first held a conversation with before the pair's last session.
//! - `moved_into`: the source was itself reached by an admin connection earlier, as new as
//!   `new_pair` says that one was (the next hop of a chain).
//!
//! Pairs scoring below `min_score` are an environment's habits and are not reported. Every
//! table is keyed by flow fields and holds at most one entry per flow.

use super::names::PerName;
use super::scan::is_probe;
use super::stats::ramp;
use super::{check, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{FlowRecord, Service, Transport};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

const SEC: f64 = 1e9;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    smb_ports: Vec<u16>,
    rdp_ports: Vec<u16>,
    ssh_ports: Vec<u16>,
    winrm_ports: Vec<u16>,
    vnc_ports: Vec<u16>,
    rpc_ports: Vec<u16>,
    rpc_dynamic_from: u16,
    rpc_follow_s: f64,
    new_from_share: f64,
    new_after_share: f64,
    rare_port_share: f64,
    shared_sources: f64,
    habit_sessions: f64,
    habit_spread: f64,
    scan_from: f64,
    scan_full: f64,
    rare_external_full: f64,
    base: f64,
    weight_new_pair: f64,
    weight_new_destination: f64,
    weight_rare_port: f64,
    weight_scanned: f64,
    weight_rare_external: f64,
    weight_moved_into: f64,
    shared_damp: f64,
    habit_damp: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            smb_ports: vec![445, 139],
            rdp_ports: vec![3389],
            ssh_ports: vec![22],
            winrm_ports: vec![5985, 5986],
            vnc_ports: vec![5900],
            rpc_ports: vec![135],
            rpc_dynamic_from: 49152,
            rpc_follow_s: 120.0,
            new_from_share: 0.02,
            new_after_share: 0.1,
            rare_port_share: 0.05,
            shared_sources: 3.0,
            habit_sessions: 6.0,
            habit_spread: 0.5,
            scan_from: 2.0,
            scan_full: 10.0,
            rare_external_full: 2.0,
            base: 0.2,
            weight_new_pair: 0.2,
            weight_new_destination: 0.15,
            weight_rare_port: 0.1,
            weight_scanned: 0.2,
            weight_rare_external: 0.15,
            weight_moved_into: 0.15,
            shared_damp: 0.75,
            habit_damp: 0.6,
            min_score: 0.3,
        }
    }
}

pub struct LateralMovement;

impl Detector for LateralMovement {
    fn id(&self) -> &'static str {
        "lateral-movement"
    }

    fn describe(&self) -> &'static str {
        "first-seen internal admin connections (SMB, RDP, WinRM, SSH, VNC, DCE-RPC)"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        let facts = Facts::gather(ctx, &config);
        let arrivals = arrivals(ctx, &config, &facts);
        let mut out = Vec::new();
        for ((src, dst), uses) in &facts.admin {
            let first = uses.iter().filter_map(|u| ctx.flows.get(u.flow)).map(|f| f.start).min();
            let moved_into = arrivals
                .get(src)
                .into_iter()
                .flatten()
                .filter(|a| a.from != *dst && first.is_some_and(|t| a.at < t))
                .map(|a| a.newness)
                .fold(0.0, f64::max);
            if let Some(f) = finding(ctx, &config, &facts, *src, *dst, uses, moved_into) {
                out.push(f);
            }
        }
        out
    }
}

/// An admin connection into a host: from whom, when first, and how new the pair was.
struct Arrival {
    from: IpAddr,
    at: Timestamp,
    newness: f64,
}

/// Per destination, the admin connections it received, so a host that was itself just reached
/// by a new admin connection scores higher when it moves on.
fn arrivals(ctx: &DetectCtx<'_>, c: &Config, facts: &Facts) -> BTreeMap<IpAddr, Vec<Arrival>> {
    let mut out: BTreeMap<IpAddr, Vec<Arrival>> = BTreeMap::new();
    for ((src, dst), uses) in &facts.admin {
        let Some(at) = uses.iter().filter_map(|u| ctx.flows.get(u.flow)).map(|f| f.start).min() else { continue };
        let ports: BTreeSet<u16> = uses.iter().map(|u| u.port).collect();
        let newness = ports
            .iter()
            .map(|&port| {
                let (seen, known) = ctx.baseline.internal_pair(*src, *dst, port);
                newness(capture_share(ctx, seen.unwrap_or(at)), known, c)
            })
            .fold(0.0, f64::max);
        out.entry(*dst).or_default().push(Arrival { from: *src, at, newness });
    }
    out
}

/// Where a time falls in the capture: 0 at its start, 1 at its end.
fn capture_share(ctx: &DetectCtx<'_>, t: Timestamp) -> f64 {
    let b = ctx.baseline;
    let span = (b.end - b.start).max(1) as f64;
    ((t - b.start) as f64 / span).clamp(0.0, 1.0)
}

/// How new something first seen at `at` (a capture share) is: 0 when a saved baseline knew it
/// or it was there from the start, 1 from `new_after_share` on.
fn newness(at: f64, known: bool, c: &Config) -> f64 {
    if known {
        0.0
    } else {
        ramp(at, c.new_from_share, c.new_after_share)
    }
}

/// An admin protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Protocol {
    Smb,
    Rdp,
    Ssh,
    WinRm,
    Vnc,
    DceRpc,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Smb => "smb",
            Protocol::Rdp => "rdp",
            Protocol::Ssh => "ssh",
            Protocol::WinRm => "winrm",
            Protocol::Vnc => "vnc",
            Protocol::DceRpc => "dce-rpc",
        }
    }

    /// The ATT&CK technique: Remote Services and its sub-technique.
    fn technique(self) -> &'static str {
        match self {
            Protocol::Rdp => "T1021.001",
            Protocol::Smb => "T1021.002",
            Protocol::Ssh => "T1021.004",
            Protocol::Vnc => "T1021.005",
            Protocol::WinRm => "T1021.006",
            Protocol::DceRpc => "T1021",
        }
    }
}

/// One admin conversation.
struct Use {
    flow: usize,
    protocol: Protocol,
    /// The port the protocol is known by (135 for a dynamic RPC port).
    port: u16,
}

/// What the detector learns in one pass over the flows.
struct Facts {
    /// (source, destination) → its admin conversations, in time order.
    admin: BTreeMap<(IpAddr, IpAddr), Vec<Use>>,
    /// (destination, port) → the internal sources that held admin conversations there.
    users: BTreeMap<(IpAddr, u16), BTreeSet<IpAddr>>,
    /// (source, destination) → the start of their first conversation on any port.
    first_contact: BTreeMap<(IpAddr, IpAddr), Timestamp>,
    /// Source → its probes of internal targets: (start, address, port).
    probed: BTreeMap<IpAddr, Vec<(Timestamp, IpAddr, u16)>>,
    /// Source → the rare external addresses it held conversations with, and when it first did.
    rare_external: BTreeMap<IpAddr, BTreeMap<IpAddr, Timestamp>>,
    /// (source, port) → its failed attempts, left out of the port's share of its flows so that
    /// a scan does not make the scanned ports look usual.
    probes: BTreeMap<(IpAddr, u16), u64>,
}

impl Facts {
    fn gather(ctx: &DetectCtx<'_>, config: &Config) -> Facts {
        let mut admin: BTreeMap<(IpAddr, IpAddr), Vec<Use>> = BTreeMap::new();
        let mut users: BTreeMap<(IpAddr, u16), BTreeSet<IpAddr>> = BTreeMap::new();
        let mut first_contact = BTreeMap::new();
        let mut probed: BTreeMap<IpAddr, Vec<(Timestamp, IpAddr, u16)>> = BTreeMap::new();
        let mut rare_external: BTreeMap<IpAddr, BTreeMap<IpAddr, Timestamp>> = BTreeMap::new();
        let mut probes: BTreeMap<(IpAddr, u16), u64> = BTreeMap::new();
        // (source, destination) → when its latest endpoint-mapper conversation ended.
        let mut mapper: BTreeMap<(IpAddr, IpAddr), Timestamp> = BTreeMap::new();
        let follow = (config.rpc_follow_s * SEC) as i64;
        // Whether each name is a rare one, judged once per name.
        let mut rare_names = PerName::new(ctx.names());
        for (i, f) in ctx.flows.iter().enumerate() {
            if !ctx.is_internal(f.orig_ip) || f.transport != Transport::Tcp {
                continue;
            }
            let (src, dst) = (f.orig_ip, f.resp_ip);
            if !ctx.is_internal(dst) {
                if is_conversation(f) && is_rare_external(ctx, &mut rare_names, i, f) {
                    let at = rare_external.entry(src).or_default().entry(dst).or_insert(f.start);
                    *at = (*at).min(f.start);
                }
                continue;
            }
            if is_probe(f) {
                *probes.entry((src, f.resp_port)).or_default() += 1;
                probed.entry(src).or_default().push((f.start, dst, f.resp_port));
                continue;
            }
            if !is_conversation(f) {
                continue;
            }
            first_contact.entry((src, dst)).or_insert(f.start);
            let mut protocol = classify(f, config);
            let mut port = f.resp_port;
            if protocol == Some(Protocol::DceRpc) && config.rpc_ports.contains(&f.resp_port) {
                mapper.insert((src, dst), f.end);
            }
            if protocol.is_none() && f.resp_port >= config.rpc_dynamic_from {
                if let Some(&ended) = mapper.get(&(src, dst)) {
                    if f.start >= ended.saturating_sub(follow) && f.start.saturating_sub(ended) <= follow {
                        protocol = Some(Protocol::DceRpc);
                        port = config.rpc_ports.first().copied().unwrap_or(f.resp_port);
                    }
                }
            }
            let Some(protocol) = protocol else { continue };
            users.entry((dst, port)).or_default().insert(src);
            admin.entry((src, dst)).or_default().push(Use { flow: i, protocol, port });
        }
        Facts { admin, users, first_contact, probed, rare_external, probes }
    }
}

impl Facts {
    /// How deeply `src` probed internal targets before `until`: the larger of its probed
    /// addresses and the most ports it probed on one address.
    fn probed_before(&self, src: IpAddr, until: Timestamp) -> usize {
        let mut ports: BTreeMap<IpAddr, BTreeSet<u16>> = BTreeMap::new();
        for &(t, dst, port) in self.probed.get(&src).into_iter().flatten() {
            if t < until {
                ports.entry(dst).or_default().insert(port);
            }
        }
        ports.values().map(BTreeSet::len).max().unwrap_or(0).max(ports.len())
    }
}

/// Payload went both ways.
fn is_conversation(f: &FlowRecord) -> bool {
    !f.conn_state.is_failed_attempt() && f.orig.bytes > 0 && f.resp.bytes > 0
}

/// The admin protocol of a flow: by content when recognised, else by port.
fn classify(f: &FlowRecord, c: &Config) -> Option<Protocol> {
    if f.services.contains(&Service::Smb) {
        return Some(Protocol::Smb);
    }
    if f.services.contains(&Service::Ssh) {
        return Some(Protocol::Ssh);
    }
    let p = f.resp_port;
    if !f.services.is_empty() {
        // WinRM is HTTP (5985) or HTTPS (5986), and RDP upgrades to TLS after its negotiation:
        // on those protocols' ports, that content is the admin session. Anything else
        // recognised (web, mail, …) is not one.
        let web = f.services.contains(&Service::Http) || f.services.contains(&Service::Tls);
        return if web && c.winrm_ports.contains(&p) {
            Some(Protocol::WinRm)
        } else if f.services.contains(&Service::Tls) && c.rdp_ports.contains(&p) {
            Some(Protocol::Rdp)
        } else {
            None
        };
    }
    [
        (&c.smb_ports, Protocol::Smb),
        (&c.rdp_ports, Protocol::Rdp),
        (&c.ssh_ports, Protocol::Ssh),
        (&c.winrm_ports, Protocol::WinRm),
        (&c.vnc_ports, Protocol::Vnc),
        (&c.rpc_ports, Protocol::DceRpc),
    ]
    .into_iter()
    .find(|(ports, _)| ports.contains(&p))
    .map(|(_, proto)| proto)
}

/// An external address few internal hosts talk to, not reached by a popular name, and not a
/// name server (resolvers talk to many rare addresses by design).
/// `rare_names` remembers, by name number, what was found for names already judged.
fn is_rare_external(ctx: &DetectCtx<'_>, rare_names: &mut PerName<'_, bool>, i: usize, f: &FlowRecord) -> bool {
    if f.resp_port == 53 || f.services.contains(&Service::Dns) {
        return false;
    }
    let b = ctx.baseline;
    if !b.ip_is_rare(f.resp_ip) || b.known_ip(f.resp_ip) {
        return false;
    }
    let Some(id) = ctx.name_id_of(i) else { return true };
    rare_names.get(id, |name| b.domain_is_rare(name) && !b.known_domain(name))
}

/// The parts of a pair's score.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    new_pair: f64,
    new_destination: f64,
    rare_port: f64,
    shared: f64,
    habit: f64,
    scanned: f64,
    rare_external: f64,
    moved_into: f64,
    score: f64,
}

/// What a pair's score is computed from.
struct Inputs {
    /// Per admin port: where in the capture (0 = start, 1 = end) it was first seen, and
    /// whether a saved baseline knew it.
    ports_first: Vec<(f64, bool)>,
    /// Where the first conversation on any port falls, and whether a saved baseline knew the pair.
    contact_first: (f64, bool),
    /// Per admin port: its share of the source's flows.
    port_shares: Vec<f64>,
    /// Per admin port: other internal sources using it on the destination.
    other_users: Vec<usize>,
    sessions: usize,
    /// Time between the first and last session as a share of the capture.
    spread: f64,
    probed: usize,
    rare_external: usize,
    /// How new the admin connection that reached the source before was, if one did.
    moved_into: f64,
}

fn parts(x: &Inputs, c: &Config) -> Parts {
    let new_pair = x.ports_first.iter().map(|&(at, known)| newness(at, known, c)).fold(0.0, f64::max);
    let new_destination = newness(x.contact_first.0, x.contact_first.1, c);
    let rare_port = x.port_shares.iter().map(|&s| 1.0 - ramp(s, 0.0, c.rare_port_share)).fold(0.0, f64::max);
    let shared = x
        .other_users
        .iter()
        .map(|&n| ramp(n as f64, 0.0, c.shared_sources))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))))
        .unwrap_or(0.0);
    let habit = ramp(x.sessions as f64, 1.0, c.habit_sessions) * ramp(x.spread, 0.0, c.habit_spread);
    let scanned = ramp(x.probed as f64, c.scan_from, c.scan_full);
    let rare_external = ramp(x.rare_external as f64, 0.0, c.rare_external_full);
    let novelty =
        c.weight_new_pair * new_pair + c.weight_new_destination * new_destination + c.weight_rare_port * rare_port;
    let moved_into = x.moved_into.clamp(0.0, 1.0);
    let compromise =
        c.weight_scanned * scanned + c.weight_rare_external * rare_external + c.weight_moved_into * moved_into;
    let score = (c.base + novelty * (1.0 - c.shared_damp * shared) + compromise) * (1.0 - c.habit_damp * habit);
    Parts {
        new_pair,
        new_destination,
        rare_port,
        shared,
        habit,
        scanned,
        rare_external,
        moved_into,
        score: score.clamp(0.0, 1.0),
    }
}

fn finding(
    ctx: &DetectCtx<'_>,
    config: &Config,
    facts: &Facts,
    src: IpAddr,
    dst: IpAddr,
    uses: &[Use],
    moved_into: f64,
) -> Option<Finding> {
    let first_use = uses.first()?;
    let flows: Vec<&FlowRecord> = uses.iter().filter_map(|u| ctx.flows.get(u.flow)).collect();
    let first = flows.iter().map(|f| f.start).min()?;
    let last = flows.iter().map(|f| f.end.max(f.start)).max()?;
    // What says the source was compromised counts only when it came before the movement's
    // last session: a scan or a C2 contact afterwards did not lead to it.
    let last_start = flows.iter().map(|f| f.start).max()?;
    let b = ctx.baseline;
    let span = (b.end - b.start).max(1) as f64;
    let at = |t: Timestamp| capture_share(ctx, t);
    let ports: BTreeSet<u16> = uses.iter().map(|u| u.port).collect();
    let profile = b.host(src);
    let probes_of = |port: u16| facts.probes.get(&(src, port)).copied().unwrap_or(0);
    let all_probes: u64 = facts.probes.range((src, 0)..=(src, u16::MAX)).map(|(_, n)| n).sum();
    let total = profile.map_or(0, |p| p.ports.values().sum::<u64>()).saturating_sub(all_probes);
    let mut known_any = false;
    let mut ports_first = Vec::new();
    let mut port_shares = Vec::new();
    let mut other_users = Vec::new();
    for &port in &ports {
        let (seen, known) = b.internal_pair(src, dst, port);
        known_any |= known;
        ports_first.push((at(seen.unwrap_or(first)), known));
        let used = profile.and_then(|p| p.ports.get(&port)).copied().unwrap_or(0).saturating_sub(probes_of(port));
        port_shares.push(if total == 0 { 0.0 } else { used as f64 / total as f64 });
        let others = facts.users.get(&(dst, port)).map_or(0, |s| s.iter().filter(|&&u| u != src).count());
        other_users.push(others);
    }
    let contact = facts.first_contact.get(&(src, dst)).copied().unwrap_or(first);
    let inputs = Inputs {
        ports_first,
        contact_first: (at(contact), known_any),
        port_shares,
        other_users,
        sessions: uses.len(),
        spread: (last - first) as f64 / span,
        probed: facts.probed_before(src, last_start),
        rare_external: facts
            .rare_external
            .get(&src)
            .map_or(0, |peers| peers.values().filter(|&&t| t < last_start).count()),
        moved_into,
    };
    let p = parts(&inputs, config);
    if p.score < config.min_score {
        return None;
    }
    let mut protocols: Vec<Protocol> = Vec::new();
    for u in uses {
        if !protocols.contains(&u.protocol) {
            protocols.push(u.protocol);
        }
    }
    let names: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
    let mut finding =
        Finding::new("lateral-movement", Tactic::LateralMovement, first_use.protocol.technique(), p.score)
            .component("new_pair", p.new_pair)
            .component("new_destination", p.new_destination)
            .component("rare_port", p.rare_port)
            .component("shared", p.shared)
            .component("habit", p.habit)
            .component("scanned", p.scanned)
            .component("rare_external", p.rare_external)
            .component("moved_into", p.moved_into)
            .component("sessions", inputs.sessions as f64)
            .component("probed_targets", inputs.probed as f64)
            .component("rare_external_peers", inputs.rare_external as f64)
            .window(first, last);
    finding.host = ctx.host(src);
    finding.peer.ip = Some(dst);
    finding.peer.port = Some(first_use.port);
    finding.peer.domain = ctx.name_of(first_use.flow).map(str::to_string);
    let dst_name = ctx.host(dst).name.map(|n| format!(" ({n})")).unwrap_or_default();
    let mut summary = format!(
        "{src} → {dst}{dst_name}: {} on {}, {} session{}",
        names.join(", "),
        ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
        uses.len(),
        if uses.len() == 1 { "" } else { "s" },
    );
    if p.new_pair > 0.0 {
        summary.push_str(", first seen in this capture");
    }
    if inputs.probed > 0 {
        summary.push_str(&format!("; the source probed {} internal targets", inputs.probed));
    }
    if p.moved_into > 0.0 {
        summary.push_str("; the source was itself reached by a new admin connection before");
    }
    if inputs.rare_external > 0 {
        summary.push_str(&format!("; it talks to {} rare external addresses", inputs.rare_external));
    }
    finding.process = ctx.process_of(flows.iter().copied());
    let evidence = flows.iter().map(|f| ctx.flow_evidence(f));
    Some(finding.summary(summary).evidence(evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, ip, Bundle};
    use super::super::Severity;
    use super::*;
    use crate::model::ConnState;

    const HOUR: f64 = 3600.0;

    /// Eight workstations browsing for 4 h, so the capture has a span and a population.
    fn office() -> Bundle {
        let mut b = Bundle::default();
        background(&mut b, 8);
        b.tcp("10.0.0.100", "23.45.100.10", 443, 4.0 * HOUR, 5.0, 800, 5000);
        b
    }

    #[test]
    fn first_smb_and_rdp_after_a_scan_is_high() {
        let mut b = office();
        // 10.0.0.5 talks to a rare external host, probes 12 internal addresses on 445 at 2 h,
        // then opens SMB and RDP to 10.0.0.50 at 2 h 5 min.
        b.tcp("10.0.0.5", "203.0.113.9", 443, 600.0, 2.0, 300, 300);
        for h in 40..52u8 {
            let i = b.tcp("10.0.0.5", &format!("10.0.0.{h}"), 445, 2.0 * HOUR + f64::from(h) * 0.02, 0.0, 0, 0);
            b.flows[i].conn_state = ConnState::S0;
        }
        let smb = b.tcp("10.0.0.5", "10.0.0.50", 445, 2.0 * HOUR + 300.0, 2.0, 800, 700);
        b.service(smb, Service::Smb);
        b.tcp("10.0.0.5", "10.0.0.50", 3389, 2.0 * HOUR + 320.0, 60.0, 9000, 40000);
        let found = b.run(&LateralMovement);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.technique, "T1021.002");
        assert!(f.summary.contains("smb, rdp"), "{}", f.summary);
        assert_eq!(f.peer.ip, Some(ip("10.0.0.50")));
        assert_eq!(f.peer.port, Some(445));
        assert_eq!(f.components["scanned"], 1.0);
        assert_eq!(f.components["new_pair"], 1.0);
        assert_eq!(f.components["sessions"], 2.0);
        assert!(f.severity >= Severity::High, "{f:#?}");
    }

    #[test]
    fn a_new_ssh_session_alone_is_medium() {
        let mut b = office();
        b.tcp("10.0.0.5", "10.0.0.60", 22, 2.0 * HOUR, 30.0, 3000, 4000);
        let found = b.run(&LateralMovement);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].technique, "T1021.004");
        assert_eq!(found[0].components["scanned"], 0.0);
        assert_eq!(found[0].severity, Severity::Medium, "{:#?}", found[0]);
    }

    #[test]
    fn winrm_and_rdp_are_found_by_their_ports_when_their_content_is_http_or_tls() {
        let mut b = office();
        let winrm = b.tcp("10.0.0.5", "10.0.0.50", 5985, 2.0 * HOUR, 20.0, 6000, 9000);
        b.http(winrm, "POST", "10.0.0.50:5985", "/wsman");
        let rdp = b.tcp("10.0.0.6", "10.0.0.51", 3389, 2.0 * HOUR, 600.0, 90_000, 400_000);
        b.service(rdp, Service::Tls);
        // A web server on an ordinary port is no admin session.
        let web = b.tcp("10.0.0.7", "10.0.0.52", 8443, 2.0 * HOUR, 5.0, 900, 9000);
        b.service(web, Service::Tls);
        let found = b.run(&LateralMovement);
        let by_peer = |peer: &str| found.iter().find(|f| f.peer.ip == Some(ip(peer)));
        assert!(by_peer("10.0.0.50").is_some_and(|f| f.summary.contains("winrm")), "{found:#?}");
        assert!(by_peer("10.0.0.51").is_some_and(|f| f.summary.contains("rdp")), "{found:#?}");
        assert!(by_peer("10.0.0.52").is_none(), "{found:#?}");
    }

    #[test]
    fn a_scan_after_the_session_did_not_lead_to_it() {
        let mut b = office();
        b.tcp("10.0.0.5", "10.0.0.60", 22, HOUR, 30.0, 3000, 4000);
        for h in 40..52u8 {
            let i = b.tcp("10.0.0.5", &format!("10.0.0.{h}"), 445, 2.0 * HOUR + f64::from(h) * 0.02, 0.0, 0, 0);
            b.flows[i].conn_state = ConnState::S0;
        }
        b.tcp("10.0.0.5", "203.0.113.9", 443, 3.0 * HOUR, 2.0, 300, 300);
        let found = b.run(&LateralMovement);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].components["scanned"], 0.0, "{:?}", found[0].components);
        assert_eq!(found[0].components["rare_external"], 0.0, "{:?}", found[0].components);
    }

    #[test]
    fn habitual_admin_ssh_from_the_start_is_not_reported() {
        let mut b = office();
        // An admin workstation SSHes to two servers every 20 minutes for 4 h.
        for k in 0..12 {
            for dst in ["10.0.0.60", "10.0.0.61"] {
                b.tcp("10.0.0.9", dst, 22, 10.0 + f64::from(k) * 1200.0, 60.0, 3000, 8000);
            }
        }
        let found = b.run(&LateralMovement);
        assert!(found.iter().all(|f| f.severity <= Severity::Low), "{found:#?}");
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn file_server_smb_from_many_workstations_stays_low() {
        let mut b = office();
        // Each workstation maps the file share at its own time during the morning.
        for h in 0..8u8 {
            let i = b.tcp(&format!("10.0.0.{}", 100 + h), "10.0.0.20", 445, 1800.0 * f64::from(h), 20.0, 4000, 90000);
            b.service(i, Service::Smb);
        }
        let found = b.run(&LateralMovement);
        assert!(found.iter().all(|f| f.severity <= Severity::Low), "{found:#?}");
    }

    #[test]
    fn dynamic_rpc_after_the_endpoint_mapper() {
        let mut b = office();
        b.tcp("10.0.0.5", "10.0.0.50", 135, 2.0 * HOUR, 0.5, 200, 180);
        b.tcp("10.0.0.5", "10.0.0.50", 49_700, 2.0 * HOUR + 1.0, 3.0, 2000, 900);
        // Too late after the mapper (rpc_follow_s = 120): not RPC.
        b.tcp("10.0.0.5", "10.0.0.50", 49_701, 2.0 * HOUR + 600.0, 3.0, 2000, 900);
        let found = b.run(&LateralMovement);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].components["sessions"], 2.0);
        assert_eq!(found[0].technique, "T1021");
    }

    #[test]
    fn the_next_hop_of_a_chain_scores_higher() {
        let mut b = office();
        // 10.0.0.5 reaches 10.0.0.60 by SSH at 2 h; 10.0.0.60 reaches 10.0.0.61 at 2 h 10 min.
        b.tcp("10.0.0.5", "10.0.0.60", 22, 2.0 * HOUR, 30.0, 3000, 4000);
        b.tcp("10.0.0.60", "10.0.0.61", 22, 2.0 * HOUR + 600.0, 30.0, 3000, 4000);
        // The same hop with nothing before it, for comparison.
        b.tcp("10.0.0.70", "10.0.0.71", 22, 2.0 * HOUR + 600.0, 30.0, 3000, 4000);
        let found = b.run(&LateralMovement);
        let of = |src: &str| found.iter().find(|f| f.host.ip == Some(ip(src))).expect("a finding");
        assert_eq!(of("10.0.0.60").components["moved_into"], 1.0);
        assert_eq!(of("10.0.0.5").components["moved_into"], 0.0);
        assert!((of("10.0.0.60").score - of("10.0.0.70").score - 0.15).abs() < 1e-9);
        assert!(of("10.0.0.60").summary.contains("reached by a new admin connection"));
    }

    #[test]
    fn failed_attempts_are_not_movement() {
        let mut b = office();
        let i = b.tcp("10.0.0.5", "10.0.0.50", 445, 2.0 * HOUR, 0.0, 0, 0);
        b.flows[i].conn_state = ConnState::REJ;
        assert!(b.run(&LateralMovement).is_empty());
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("lateral-movement"), Ok(Config::default()));
    }

    #[test]
    fn parts_by_hand() {
        let c = Config::default();
        // A pair first seen halfway through, never known, a port the source never otherwise
        // uses, no other users, one session, 12 probed targets, one rare external peer.
        let x = Inputs {
            ports_first: vec![(0.5, false)],
            contact_first: (0.5, false),
            port_shares: vec![0.01],
            other_users: vec![0],
            sessions: 1,
            spread: 0.0,
            probed: 12,
            rare_external: 1,
            moved_into: 0.0,
        };
        let p = parts(&x, &c);
        assert_eq!((p.new_pair, p.new_destination, p.shared, p.habit, p.scanned), (1.0, 1.0, 0.0, 0.0, 1.0));
        // 1 − 0.01/0.05 = 0.8
        assert!((p.rare_port - 0.8).abs() < 1e-12);
        assert_eq!(p.rare_external, 0.5);
        // 0.2 + (0.2 + 0.15 + 0.08) + 0.2 + 0.075 = 0.905
        assert!((p.score - 0.905).abs() < 1e-12, "{p:?}");
        // The same pair known to a saved baseline, used 6 times over half the capture by a
        // source whose flows are 20 % on that port, with 3 other users, nothing suspicious.
        let x = Inputs {
            ports_first: vec![(0.0, true)],
            contact_first: (0.0, true),
            port_shares: vec![0.2],
            other_users: vec![3],
            sessions: 6,
            spread: 0.5,
            probed: 0,
            rare_external: 0,
            moved_into: 0.0,
        };
        let p = parts(&x, &c);
        assert_eq!((p.new_pair, p.new_destination, p.rare_port), (0.0, 0.0, 0.0));
        assert_eq!((p.shared, p.habit), (1.0, 1.0));
        // 0.2·(1 − 0.6)
        assert!((p.score - 0.08).abs() < 1e-12, "{p:?}");
        // Half-way novelty: first seen at 6 % of the capture → (0.06 − 0.02)/(0.1 − 0.02) = 0.5.
        let x = Inputs { ports_first: vec![(0.06, false)], ..x };
        assert!((parts(&x, &c).new_pair - 0.5).abs() < 1e-12);
        // Reached by a new admin connection before: + 0.15 before the habit damping.
        // (0.2 + 0.2·0.5·(1 − 0.75) + 0.15)·(1 − 0.6) = 0.15
        let x = Inputs { moved_into: 1.0, ..x };
        let p = parts(&x, &c);
        assert_eq!(p.moved_into, 1.0);
        assert!((p.score - 0.15).abs() < 1e-12, "{p:?}");
    }
}
