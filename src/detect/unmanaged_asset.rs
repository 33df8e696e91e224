//! `unmanaged-asset` — internal hosts active on the network with no endpoint telemetry, raised
//! when one reaches rare external destinations or internal admin ports: the appliance problem
//! (a VPN concentrator, a NAS, a printer — a box no agent watches, used as a foothold).
//!
//! Only in bundles that hold endpoint telemetry for at least one host: where no host is
//! managed, every host is unmanaged and saying so is noise, so nothing is reported. A host is
//! active when it opened a flow or answered one (an address that only received a scan is not a
//! host seen to be there). One finding per active unmanaged host. Score, every part a
//! component:
//!
//! ```text
//! score = base + rare_external_weight·rare_external + admin_weight·admin_ports
//!         + both_weight·rare_external·admin_ports
//!         + internet_facing_weight·internet_facing·max(rare_external, admin_ports)
//! ```
//!
//! - `base`: an unmanaged host alone — below `low`, an inventory note (info);
//! - `rare_external`: distinct external addresses the host opened flows to that the baseline
//!   calls rare (`rare_external_peers`), over `rare_external_full`, at most 1; flows to
//!   `ignore_ports` (DNS, NTP: infrastructure any box talks to) are not counted;
//! - `admin_ports`: distinct internal (address, admin port) targets the host tried
//!   (`admin_targets`, failed attempts included) that at most `admin_shared_max` other
//!   internal hosts also reach — a file server every workstation maps is a habit — over
//!   `admin_full`, at most 1;
//! - `internet_facing`: 1 when hosts on the internet reached it (it is an edge device).
//!
//! An unmanaged workstation browsing ordinary sites stays at `base`; one reaching a few rare
//! sites, or an unmanaged admin laptop using SSH, stays below `medium`; an edge device that
//! does both is the appliance pattern.
//!
//! ATT&CK: Initial Access — T1133 (external remote services) for an internet-facing host,
//! T1200 (hardware additions) for any other unmanaged device.

use super::stats::ramp;
use super::{check, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::FlowRecord;
use crate::util::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    admin_ports: Vec<u16>,
    ignore_ports: Vec<u16>,
    rare_external_full: f64,
    admin_full: f64,
    admin_shared_max: u64,
    base: f64,
    rare_external_weight: f64,
    admin_weight: f64,
    both_weight: f64,
    internet_facing_weight: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_ports: vec![22, 23, 135, 139, 445, 3389, 5900, 5985, 5986],
            ignore_ports: vec![53, 123],
            rare_external_full: 3.0,
            admin_full: 3.0,
            admin_shared_max: 1,
            base: 0.15,
            rare_external_weight: 0.2,
            admin_weight: 0.2,
            both_weight: 0.3,
            internet_facing_weight: 0.1,
        }
    }
}

pub struct UnmanagedAsset;

impl Detector for UnmanagedAsset {
    fn id(&self) -> &'static str {
        "unmanaged-asset"
    }

    fn describe(&self) -> &'static str {
        "internal hosts without endpoint telemetry; raised when one reaches rare external hosts or internal admin ports"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        // Without a managed host there is no telemetry to be missing: nothing to gather.
        if !ctx.assets().any(|a| a.managed) {
            return Vec::new();
        }
        let mut hosts: Vec<(IpAddr, Host)> = gather(ctx, &config).into_iter().collect();
        if !hosts.iter().any(|(ip, _)| ctx.asset(*ip).is_some_and(|a| a.managed)) {
            return Vec::new();
        }
        hosts.sort_unstable_by_key(|(ip, _)| *ip);
        hosts
            .iter()
            .filter(|(ip, h)| h.active && !ctx.asset(*ip).is_some_and(|a| a.managed))
            .map(|(ip, h)| finding(ctx, &config, *ip, h))
            .collect()
    }
}

/// What the network shows of one internal host.
#[derive(Default)]
struct Host {
    active: bool,
    internet_facing: bool,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    /// Every flow it opened or answered.
    flows: Vec<usize>,
    /// Rare external addresses it opened flows to → the flows.
    rare: BTreeMap<IpAddr, Vec<usize>>,
    /// Internal (address, admin port) it tried → the flows.
    admin: BTreeMap<(IpAddr, u16), Vec<usize>>,
}

fn gather(ctx: &DetectCtx<'_>, c: &Config) -> FxHashMap<IpAddr, Host> {
    let b = ctx.baseline;
    // Internal sources per (internal address, admin port), to tell a habit from a foothold.
    let mut sources: FxHashMap<(IpAddr, u16), FxHashSet<IpAddr>> = FxHashMap::default();
    for f in ctx.flows {
        if ctx.is_internal(f.orig_ip) && ctx.is_internal(f.resp_ip) && c.admin_ports.contains(&f.resp_port) {
            sources.entry((f.resp_ip, f.resp_port)).or_default().insert(f.orig_ip);
        }
    }
    let mut hosts: FxHashMap<IpAddr, Host> = FxHashMap::default();
    let seen = |h: &mut Host, f: &FlowRecord, i: usize| {
        h.first = Some(h.first.map_or(f.start, |t| t.min(f.start)));
        h.last = Some(h.last.map_or(f.end, |t| t.max(f.end)));
        h.flows.push(i);
    };
    for (i, f) in ctx.flows.iter().enumerate() {
        if ctx.is_internal(f.orig_ip) && !super::ctx::is_announcement(f) {
            let h = hosts.entry(f.orig_ip).or_default();
            h.active = true;
            seen(h, f, i);
            if !ctx.is_internal(f.resp_ip) {
                if !c.ignore_ports.contains(&f.resp_port) && b.ip_is_rare(f.resp_ip) {
                    h.rare.entry(f.resp_ip).or_default().push(i);
                }
            } else if c.admin_ports.contains(&f.resp_port) {
                let others = sources.get(&(f.resp_ip, f.resp_port)).map_or(0, |s| s.len().saturating_sub(1));
                if others as u64 <= c.admin_shared_max {
                    h.admin.entry((f.resp_ip, f.resp_port)).or_default().push(i);
                }
            }
        }
        let answered = if f.transport.ip_proto() == 6 { f.resp.bytes > 0 } else { f.resp.packets > 0 };
        if ctx.is_internal(f.resp_ip) && answered {
            let h = hosts.entry(f.resp_ip).or_default();
            h.active = true;
            seen(h, f, i);
            if !ctx.is_internal(f.orig_ip) {
                h.internet_facing = true;
            }
        }
    }
    hosts
}

/// The parts of a finding's score.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    rare_external: f64,
    admin_ports: f64,
    internet_facing: f64,
    score: f64,
}

fn parts(rare_peers: usize, admin_targets: usize, internet_facing: bool, c: &Config) -> Parts {
    let rare_external = ramp(rare_peers as f64, 0.0, c.rare_external_full);
    let admin_ports = ramp(admin_targets as f64, 0.0, c.admin_full);
    let facing = if internet_facing { 1.0 } else { 0.0 };
    let score = c.base
        + c.rare_external_weight * rare_external
        + c.admin_weight * admin_ports
        + c.both_weight * rare_external * admin_ports
        + c.internet_facing_weight * facing * rare_external.max(admin_ports);
    Parts { rare_external, admin_ports, internet_facing: facing, score: score.clamp(0.0, 1.0) }
}

fn finding(ctx: &DetectCtx<'_>, c: &Config, ip: IpAddr, h: &Host) -> Finding {
    let p = parts(h.rare.len(), h.admin.len(), h.internet_facing, c);
    let technique = if h.internet_facing { "T1133" } else { "T1200" };
    let telling: BTreeSet<usize> = h.rare.values().chain(h.admin.values()).flatten().copied().collect();
    let flows: Vec<&FlowRecord> = telling.iter().filter_map(|&i| ctx.flows.get(i)).collect();
    // The window: the telling flows when there are any, else all the host was seen doing.
    let (first, last) = match (flows.iter().map(|f| f.start).min(), flows.iter().map(|f| f.end.max(f.start)).max()) {
        (Some(a), Some(b)) => (a, b),
        _ => (h.first.unwrap_or(0), h.last.unwrap_or(0)),
    };
    let mut f = Finding::new("unmanaged-asset", Tactic::InitialAccess, technique, p.score)
        .component("base", c.base)
        .component("rare_external", p.rare_external)
        .component("admin_ports", p.admin_ports)
        .component("internet_facing", p.internet_facing)
        .component("rare_external_peers", h.rare.len() as f64)
        .component("admin_targets", h.admin.len() as f64)
        .component("flows", h.flows.len() as f64)
        .window(first, last);
    f.host = ctx.host(ip);
    let mut said = vec![if h.internet_facing {
        "internet-facing, no endpoint telemetry".to_string()
    } else {
        "no endpoint telemetry".to_string()
    }];
    if !h.rare.is_empty() {
        let some: Vec<String> = h.rare.keys().take(3).map(|a| a.to_string()).collect();
        said.push(format!("opened flows to {} rare external address(es) ({})", h.rare.len(), some.join(", ")));
    }
    if !h.admin.is_empty() {
        let ports: BTreeSet<u16> = h.admin.keys().map(|(_, p)| *p).collect();
        let hosts: BTreeSet<IpAddr> = h.admin.keys().map(|(a, _)| *a).collect();
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        said.push(format!("tried admin ports {} on {} internal host(s)", ports.join(", "), hosts.len()));
    }
    f.summary = format!("{ip} active on the network in {} flow(s): {}", h.flows.len(), said.join("; "));
    // The evidence: the telling flows, or when nothing told, the flows that show the host
    // active without telemetry.
    let shown = if flows.is_empty() { h.flows.iter().filter_map(|&i| ctx.flows.get(i)).collect() } else { flows };
    f.evidence(shown.iter().map(|fl| ctx.flow_evidence(fl)))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, ip, Bundle};
    use super::super::Severity;
    use super::*;

    /// Six background workstations; FS01 (10.0.0.50) managed.
    fn office() -> Bundle {
        let mut b = Bundle::default();
        background(&mut b, 6);
        b.tcp("10.0.0.100", "10.0.0.50", 445, 30.0, 2.0, 3000, 3000);
        b.asset("10.0.0.50", Some("FS01"), true);
        b
    }

    #[test]
    fn the_appliance_pattern_is_critical() {
        let mut b = office();
        // The internet reaches 10.0.0.1 on 443; it then opens TLS to three addresses nobody
        // else uses and SMB, RDP, SSH to three internal hosts.
        b.tcp("203.0.113.9", "10.0.0.1", 443, 100.0, 1.0, 1800, 400);
        for (k, dst) in ["45.77.1.2", "185.220.3.4", "52.216.5.6"].iter().enumerate() {
            b.tcp("10.0.0.1", dst, 443, 200.0 + k as f64, 1.0, 300, 300);
        }
        b.tcp("10.0.0.1", "10.0.0.50", 445, 300.0, 1.0, 200, 200);
        b.tcp("10.0.0.1", "10.0.0.50", 3389, 310.0, 1.0, 200, 200);
        b.tcp("10.0.0.1", "10.0.0.60", 22, 320.0, 1.0, 200, 200);
        let found = b.run(&UnmanagedAsset);
        let f = found.iter().find(|f| f.host.ip == Some(ip("10.0.0.1"))).expect("the appliance");
        // 0.15 + 0.2 + 0.2 + 0.3 + 0.1 = 0.95. (10.0.0.50:445 is also used by 10.0.0.100: one
        // other source, within admin_shared_max.)
        assert_eq!(f.score, 0.95);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.technique, "T1133");
        assert_eq!((f.components["rare_external_peers"], f.components["admin_targets"]), (3.0, 3.0));
        // The workstations are unmanaged too: info only.
        for w in found.iter().filter(|f| f.host.ip != Some(ip("10.0.0.1"))) {
            assert_eq!(w.severity, Severity::Info, "{w:#?}");
            assert_eq!(w.technique, "T1200");
            // Where nothing told, the evidence is the flows that show it active.
            if w.components["rare_external_peers"] + w.components["admin_targets"] == 0.0 {
                assert_eq!(w.evidence_total as f64, w.components["flows"], "{w:#?}");
            }
            assert!(!w.evidence.is_empty());
        }
        assert!(!found.iter().any(|f| f.host.ip == Some(ip("10.0.0.50"))), "FS01 is managed");
    }

    #[test]
    fn near_misses() {
        // A workstation reaching two rare sites stays below medium: 0.15 + 0.2·2/3.
        let mut b = office();
        b.tcp("10.0.0.101", "198.51.100.7", 443, 50.0, 1.0, 300, 3000);
        b.tcp("10.0.0.101", "198.51.100.8", 443, 60.0, 1.0, 300, 3000);
        // An address that was only scanned is not an active host.
        let scanned = b.tcp("10.0.0.101", "10.0.0.77", 3389, 70.0, 0.0, 0, 0);
        b.flows[scanned].resp.packets = 0;
        let found = b.run(&UnmanagedAsset);
        let w = found.iter().find(|f| f.host.ip == Some(ip("10.0.0.101"))).expect("the workstation");
        // One admin target (10.0.0.77:3389) too: 0.15 + 0.2·(2/3) + 0.2·(1/3) + 0.3·(2/9) = 0.4167.
        assert!((w.score - 0.4167).abs() < 1e-4, "{w:#?}");
        assert!(w.severity < Severity::Medium);
        assert!(!found.iter().any(|f| f.host.ip == Some(ip("10.0.0.77"))));
        // No managed host at all: nothing.
        let mut b = office();
        b.assets.clear();
        assert!(b.run(&UnmanagedAsset).is_empty());
    }

    #[test]
    fn parts_by_hand() {
        let c = Config::default();
        assert_eq!(parts(0, 0, false, &c).score, 0.15);
        assert!((parts(3, 0, true, &c).score - 0.45).abs() < 1e-12);
        assert!((parts(0, 3, false, &c).score - 0.35).abs() < 1e-12);
        assert!((parts(3, 3, false, &c).score - 0.85).abs() < 1e-12);
    }

    #[test]
    fn defaults_match_the_thresholds_file() {
        assert_eq!(Thresholds::defaults().try_section::<Config>("unmanaged-asset"), Ok(Config::default()));
    }
}
