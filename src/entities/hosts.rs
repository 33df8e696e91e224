//! Internal hosts: each address seen in the capture, tied to the names and MACs the evidence
//! gives it.
//!
//! An address gets a name when an endpoint record of that host says it used the address (the
//! source of an outgoing Sysmon or WFP connection, or the originator of a flow attributed to
//! one of its processes), when a logon elsewhere names the workstation it came from (Security
//! 4624/4625/4648/4776 record the client's name and address), when a DHCP server acknowledged
//! the address to a client that gave its host name, when the network's DNS answers a reverse
//! lookup for it or answers a name with it (LLMNR and mDNS answers included), when a NetBIOS
//! name-service answer gives it for a workstation or server name, or when the
//! analyst's host map names it. MACs come from the frames it sent (a router's MAC, which
//! carries external or many internal addresses, is left out) and from DHCP; addresses that
//! share a MAC are the same host over time. Roles come from what others asked of the host
//! (answered DNS on port 53, DHCP on 67, SMB on 445/139, HTTP(S), SSH, mail), whether it
//! accepted connections from outside, and whether it is the router's own address (gateway).
//! Only internal addresses (RFC 1918, ULA, link-local, shared, or `--internal`) are listed.

use super::ClockOffset;
use crate::model::{Asset, Event, FlowRecord};
use crate::util::net::{mac_text, InternalNets};
use crate::util::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Activity closer than this joins one interval (telemetry and network alike).
pub const COVERAGE_GAP: i64 = 5 * 60 * 1_000_000_000;

/// A name the analyst knows for an address (`--host-map`), optionally only for a time span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHost {
    pub ip: IpAddr,
    pub name: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// What the analyst says about the network.
#[derive(Debug, Clone, Default)]
pub struct NetworkKnowledge {
    pub internal: InternalNets,
    pub known: Vec<KnownHost>,
}

/// One address's facts while they are gathered.
struct Acc {
    asset: Asset,
    peers: FxHashSet<IpAddr>,
    macs: BTreeSet<[u8; 6]>,
    roles: BTreeSet<&'static str>,
    names: BTreeSet<String>,
    telemetry: Option<(i64, i64)>,
    offset: Option<i64>,
    active: Vec<(i64, i64)>,
}
/// The address's entry, made at `ts` on first sight; `None` for external addresses.
fn entry<'a>(
    hosts: &'a mut FxHashMap<IpAddr, Acc>,
    internal: &InternalNets,
    ip: IpAddr,
    ts: i64,
) -> Option<&'a mut Acc> {
    if !internal.contains(ip) {
        return None;
    }
    let acc = hosts.entry(ip).or_insert_with(|| Acc {
        asset: Asset::new(ip, ts),
        peers: FxHashSet::default(),
        macs: BTreeSet::new(),
        roles: BTreeSet::new(),
        names: BTreeSet::new(),
        telemetry: None,
        offset: None,
        active: Vec::new(),
    });
    Some(acc)
}

/// Every internal host, by address.
pub fn assets(
    flows: &[&FlowRecord],
    endpoint: &[&Event],
    dns: &[&Event],
    offsets: &[ClockOffset],
    knowledge: &NetworkKnowledge,
) -> Vec<Asset> {
    let internal = &knowledge.internal;
    // Hashed while gathering (one lookup per flow end), ordered by address at the end.
    let mut hosts: FxHashMap<IpAddr, Acc> = FxHashMap::default();
    // What the frames' MACs carried (see `Carried`), in the same pass.
    let mut carried = Carried::default();
    for f in flows {
        carried.add(f, internal);
        if let Some(a) = entry(&mut hosts, internal, f.orig_ip, f.start) {
            a.asset.first_seen = a.asset.first_seen.min(f.start);
            a.asset.last_seen = a.asset.last_seen.max(f.end);
            a.asset.flows_out += 1;
            note_active(&mut a.active, (f.start, f.end));
            a.asset.bytes_out += f.orig.bytes;
            a.asset.bytes_in += f.resp.bytes;
            a.peers.insert(f.resp_ip);
            if let Some(name) = f.process.as_ref().filter(|p| !p.accepted).and_then(|p| p.host.clone()) {
                a.names.insert(name);
            }
        }
        // A service is offered when it answered with data (a RST to a scan offers nothing).
        let answered = if f.transport.ip_proto() == 6 { f.resp.bytes > 0 } else { f.resp.packets > 0 };
        if let Some(a) = entry(&mut hosts, internal, f.resp_ip, f.start) {
            a.asset.first_seen = a.asset.first_seen.min(f.start);
            a.asset.last_seen = a.asset.last_seen.max(f.end);
            a.asset.flows_in += 1;
            if let Some(name) = f.process.as_ref().filter(|p| p.accepted).and_then(|p| p.host.clone()) {
                a.names.insert(name);
            }
            note_active(&mut a.active, (f.start, f.end));
            a.asset.bytes_in += f.orig.bytes;
            a.asset.bytes_out += f.resp.bytes;
            a.peers.insert(f.orig_ip);
            if answered {
                if let Some(role) = role_of(f) {
                    a.roles.insert(role);
                }
                if !internal.contains(f.orig_ip) {
                    a.roles.insert("internet-facing");
                }
            }
        }
    }
    carried.decide(&mut |ip, mac, gateway| {
        if let Some(a) = hosts.get_mut(&ip) {
            a.macs.insert(mac);
            if gateway {
                a.roles.insert("gateway");
            }
        }
    });
    // Names from the endpoint side: the local address of outgoing connections.
    let mut spans: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut times: BTreeMap<String, Vec<Timestamp>> = BTreeMap::new();
    for e in endpoint {
        let Some(name) = e.host.as_ref().and_then(|h| h.name.clone()) else { continue };
        let span = spans.entry(name.clone()).or_insert((e.ts, e.ts));
        *span = (span.0.min(e.ts), span.1.max(e.ts));
        times.entry(name.clone()).or_default().push(e.ts);
        // The host's own address: the source of what it opened, the destination of what it
        // accepted.
        let local = match (&e.fields, &e.net) {
            (crate::model::Fields::Endpoint(x), Some(net)) => match x.action {
                "network-connect" => Some(net.src_ip),
                "network-accept" => Some(net.dst_ip),
                _ => None,
            },
            _ => None,
        };
        if let Some(a) = local.and_then(|ip| hosts.get_mut(&ip)) {
            a.names.insert(name);
        }
        // A logon names the workstation it came from (NTLM and Kerberos logons record the
        // client's name and address: Security 4624/4625/4648/4776).
        if let crate::model::Fields::Endpoint(x) = &e.fields {
            let remote = x.source_ip.zip(x.source_host.as_deref().filter(|h| plausible_host_name(h)));
            if let Some((ip, workstation)) = remote.filter(|(ip, _)| !ip.is_loopback()) {
                if let Some(a) = hosts.get_mut(&ip) {
                    a.names.insert(workstation.to_string());
                }
            }
        }
    }
    // Names the network's own DNS gives: answers to reverse (PTR) lookups, and forward lookups
    // answered with an internal address.
    for e in dns {
        let crate::model::Fields::Dns(d) = &e.fields else { continue };
        match d.qtype {
            // A reverse lookup names the address it asks about.
            12 => {
                let (Some(ip), Some(name)) = (reverse_name(&d.query), d.answers.first()) else { continue };
                if let Some(a) = hosts.get_mut(&ip) {
                    a.names.insert(name.trim_end_matches('.').to_ascii_lowercase());
                }
            }
            // A forward lookup answered with an internal address names that address (the
            // office's own DNS, LLMNR and mDNS answers).
            1 | 28 => {
                for &ip in &d.addresses {
                    if let Some(a) = hosts.get_mut(&ip) {
                        a.names.insert(d.query.trim_end_matches('.').to_ascii_lowercase());
                    }
                }
            }
            // A NetBIOS name-service answer (NB) names the address with the workstation or
            // server name asked for.
            32 => {
                let Some(name) = netbios_host_name(d) else { continue };
                for &ip in &d.addresses {
                    if let Some(a) = hosts.get_mut(&ip) {
                        a.names.insert(name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    dhcp_leases(dns, internal, &mut hosts);
    // Names the analyst supplied, for the span they hold.
    for k in &knowledge.known {
        if let Some(a) = hosts.get_mut(&k.ip) {
            let overlaps =
                k.start.is_none_or(|s| a.asset.last_seen >= s) && k.end.is_none_or(|e| a.asset.first_seen <= e);
            if overlaps {
                a.names.insert(k.name.clone());
            }
        }
    }
    let mut hosts: Vec<(IpAddr, Acc)> = hosts.into_iter().collect();
    hosts.sort_unstable_by_key(|(ip, _)| *ip);
    let mut assets: Vec<Asset> = hosts
        .into_iter()
        .map(|(_, mut acc)| {
            acc.asset.peers = acc.peers.len() as u64;
            acc.asset.roles = acc.roles.into_iter().map(String::from).collect();
            acc.asset.names = acc.names.into_iter().collect();
            acc.asset.macs = acc.macs.iter().map(|m| mac_text(*m)).collect();
            acc.asset.managed = acc.asset.names.iter().any(|n| spans.keys().any(|k| k.eq_ignore_ascii_case(n)));
            for name in &acc.asset.names {
                let span = spans.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
                if let Some(&(first, last)) = span {
                    acc.telemetry =
                        Some(acc.telemetry.map_or((first, last), |(a, b): (i64, i64)| (a.min(first), b.max(last))));
                }
                if let Some(o) = offsets.iter().find(|o| o.host.eq_ignore_ascii_case(name)) {
                    acc.offset = Some(o.offset);
                }
            }
            let mut seen: Vec<(i64, i64)> =
                acc.asset.names.iter().flat_map(|n| times.get(n).into_iter().flatten().map(|&t| (t, t))).collect();
            acc.asset.telemetry = merge(&mut seen);
            acc.asset.active = merge(&mut acc.active);
            if acc.asset.managed {
                acc.asset.silent_while_active = Some(uncovered(&acc.asset.active, &acc.asset.telemetry));
            }
            acc.asset.telemetry_first = acc.telemetry.map(|t| t.0);
            acc.asset.telemetry_last = acc.telemetry.map(|t| t.1);
            acc.asset.clock_offset = acc.offset;
            acc.asset
        })
        .collect();
    // One host, several addresses: those that share a MAC.
    let mut by_mac: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for a in &assets {
        for m in &a.macs {
            by_mac.entry(m.clone()).or_default().push(a.ip);
        }
    }
    for a in &mut assets {
        let mut others: BTreeSet<IpAddr> =
            a.macs.iter().flat_map(|m| by_mac.get(m).into_iter().flatten().copied()).collect();
        others.remove(&a.ip);
        a.other_addresses = others.into_iter().collect();
    }
    assets
}

/// A workstation name worth keeping: not empty, not a placeholder (`-`, `localhost`), not an
/// address.
fn plausible_host_name(name: &str) -> bool {
    let n = name.trim();
    !n.is_empty()
        && n != "-"
        && !n.eq_ignore_ascii_case("localhost")
        && n.parse::<IpAddr>().is_err()
        && n.len() <= 255
        && !n.chars().any(char::is_control)
}

/// What DHCP says: an ACK gives the client's MAC an address, and the host name the client sent
/// (in the ACK, or in its REQUEST of the same transaction) names it.
fn dhcp_leases(events: &[&Event], internal: &InternalNets, hosts: &mut FxHashMap<IpAddr, Acc>) {
    let mut asked: BTreeMap<(u32, Option<&str>), &str> = BTreeMap::new();
    for e in events {
        let crate::model::Fields::Dhcp(d) = &e.fields else { continue };
        if let Some(name) = d.host_name.as_deref() {
            asked.insert((d.transaction_id, d.client_mac.as_deref()), name);
        }
    }
    for e in events {
        let crate::model::Fields::Dhcp(d) = &e.fields else { continue };
        let Some(ip) = d.assigned_ip.filter(|_| d.message_type == "ACK") else { continue };
        let Some(acc) = entry(hosts, internal, ip, e.ts) else { continue };
        acc.asset.first_seen = acc.asset.first_seen.min(e.ts);
        acc.asset.last_seen = acc.asset.last_seen.max(e.ts);
        let name = d.host_name.as_deref().or_else(|| asked.get(&(d.transaction_id, d.client_mac.as_deref())).copied());
        if let Some(name) = name {
            acc.names.insert(name.trim_end_matches('.').to_ascii_lowercase());
        }
        if let Some(mac) = d.client_mac.as_deref().and_then(parse_mac) {
            acc.macs.insert(mac);
        }
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let bytes: Vec<u8> = s.split(['-', ':']).map(|h| u8::from_str_radix(h, 16).ok()).collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// Internal addresses one MAC is seen carrying before it counts as a router's.
const ROUTER_MIN_INTERNAL: usize = 3;
/// Internal addresses kept per MAC (a router forwarding a whole network needs no more).
const MAX_ADDRESSES_PER_MAC: usize = 64;

/// What the frames' source MACs say: the addresses each MAC carried, and whether it carried
/// an external one, gathered while the flows pass; then [`Carried::decide`] calls
/// `found(ip, mac, gateway)` for each internal address's own MAC, with `gateway` set when that
/// MAC also carried external addresses and no other internal one (the router's own interface).
#[derive(Default)]
struct Carried {
    by_mac: FxHashMap<[u8; 6], (FxHashSet<IpAddr>, bool)>,
    /// The last MAC seen carrying an external address: the router's, flow after flow, and
    /// noting it again changes nothing.
    last_external: Option<[u8; 6]>,
}

impl Carried {
    fn add(&mut self, f: &FlowRecord, internal: &InternalNets) {
        for (ip, mac) in [(f.orig_ip, f.orig_mac), (f.resp_ip, f.resp_mac)] {
            let Some(mac) = mac.filter(|m| m.iter().any(|&b| b != 0)) else { continue };
            let external = !internal.contains(ip);
            if external && self.last_external == Some(mac) {
                continue;
            }
            let e = self.by_mac.entry(mac).or_default();
            if external {
                e.1 = true;
                self.last_external = Some(mac);
            } else if e.0.len() < MAX_ADDRESSES_PER_MAC {
                e.0.insert(ip);
            }
        }
    }

    /// The calls only add to sets, so the map's order does not matter.
    fn decide(self, found: &mut dyn FnMut(IpAddr, [u8; 6], bool)) {
        for (mac, (ips, external)) in self.by_mac {
            Carried::judge(mac, &ips, external, found);
        }
    }

    fn judge(mac: [u8; 6], ips: &FxHashSet<IpAddr>, external: bool, found: &mut dyn FnMut(IpAddr, [u8; 6], bool)) {
        match (external, ips.len()) {
            (true, 1) => ips.iter().for_each(|&ip| found(ip, mac, true)),
            (false, n) if n < ROUTER_MIN_INTERNAL => ips.iter().for_each(|&ip| found(ip, mac, false)),
            _ => {}
        }
    }
}

/// The computer name a NetBIOS name-service transaction is about: its decoded name, for the
/// workstation (0x00) and file-server (0x20) suffixes only (the others name domains, groups
/// and services, not one host). Lower-case.
fn netbios_host_name(d: &crate::model::DnsFields) -> Option<String> {
    if !matches!(d.netbios_suffix, Some(0x00 | 0x20)) {
        return None;
    }
    let name = d.query.to_ascii_lowercase();
    (!name.is_empty() && name != "*" && plausible_host_name(&name)).then_some(name)
}

/// The address a reverse-lookup name stands for: `4.3.2.1.in-addr.arpa` → 1.2.3.4,
/// `b.a.9.8….ip6.arpa` (32 nibbles) → the IPv6 address.
fn reverse_name(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(v4) = name.strip_suffix(".in-addr.arpa") {
        let octets: Vec<u8> = v4.split('.').rev().map(|o| o.parse().ok()).collect::<Option<_>>()?;
        let octets: [u8; 4] = octets.try_into().ok()?;
        return Some(IpAddr::from(octets));
    }
    let v6 = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u32> =
        v6.split('.').rev().map(|n| u32::from_str_radix(n, 16).ok().filter(|_| n.len() == 1)).collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let value = nibbles.iter().fold(0u128, |acc, &n| (acc << 4) | u128::from(n));
    Some(IpAddr::V6(std::net::Ipv6Addr::from(value)))
}

/// Intervals sorted and joined where less than [`COVERAGE_GAP`] apart.
/// Adds a span of activity, joined at once to the last one when [`merge`] would join them
/// (flows come in start order, so most spans join): what is kept stays small, and merging
/// it at the end gives what merging every span would.
fn note_active(active: &mut Vec<(i64, i64)>, (start, end): (i64, i64)) {
    match active.last_mut() {
        Some(last) if last.0 <= start && start <= last.1.saturating_add(COVERAGE_GAP) => last.1 = last.1.max(end),
        _ => active.push((start, end)),
    }
}

fn merge(spans: &mut [(i64, i64)]) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(start, end) in spans.iter() {
        match out.last_mut() {
            Some(last) if start <= last.1.saturating_add(COVERAGE_GAP) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// How much of `active` no `covered` interval (widened by half the coverage gap on each
/// side, as one event stands for the minutes around it) overlaps.
fn uncovered(active: &[(i64, i64)], covered: &[(i64, i64)]) -> i64 {
    let half = COVERAGE_GAP / 2;
    active
        .iter()
        .map(|&(start, end)| {
            let overlap: i64 = covered
                .iter()
                .map(|&(a, b)| (end.min(b.saturating_add(half)) - start.max(a.saturating_sub(half))).max(0))
                .sum();
            ((end - start) - overlap).max(0)
        })
        .sum()
}

/// The service a responder offered on a flow, by its port and what seam recognised.
fn role_of(f: &FlowRecord) -> Option<&'static str> {
    let service = |name: &str| f.services.iter().any(|s| s.as_str() == name);
    match (f.transport.ip_proto(), f.resp_port) {
        (17, 53) | (6, 53) if service("dns") || f.resp_port == 53 => Some("dns-server"),
        (17, 67) => Some("dhcp-server"),
        (6, 445) | (6, 139) => Some("file-server"),
        (6, 80) | (6, 443) | (6, 8080) | (6, 8443) => Some("web-server"),
        (6, 22) => Some("ssh-server"),
        (6, 25) | (6, 587) | (6, 993) | (6, 143) => Some("mail-server"),
        _ => None,
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;
    use crate::model::{ConnState, DirStats, Transport};

    fn flow(orig: &str, om: u8, resp: &str, rm: u8) -> FlowRecord {
        FlowRecord {
            id: "C1".into(),
            start: 0,
            end: 1,
            orig_ip: orig.parse().unwrap(),
            orig_port: 40000,
            resp_ip: resp.parse().unwrap(),
            resp_port: 53,
            transport: Transport::Udp,
            services: Vec::new(),
            orig: DirStats::default(),
            resp: DirStats::default(),
            conn_state: ConnState::SF,
            history: String::new(),
            missed_bytes: 0,
            community_id: "".into(),
            vlan: None,
            orig_mac: Some([2, 0, 0, 0, 0, om]),
            resp_mac: Some([2, 0, 0, 0, 0, rm]),
            file: 0,
            first_packet: 1,
            last_packet: 1,
            process: None,
        }
    }

    fn dhcp(ts: i64, kind: &str, xid: u32, mac: &str, name: Option<&str>, assigned: Option<&str>) -> Event {
        use crate::model::{DhcpFields, EventKind, Fields, Locator, Provenance};
        Event {
            ts,
            kind: EventKind::Dhcp,
            host: None,
            net: None,
            process: None,
            provenance: Provenance { file: 0, locator: Locator::Packet(1) },
            fields: Fields::Dhcp(Box::new(DhcpFields {
                message_type: kind.into(),
                transaction_id: xid,
                client_mac: Some(mac.into()),
                host_name: name.map(String::from),
                requested_ip: None,
                assigned_ip: assigned.and_then(|a| a.parse().ok()),
                server_id: None,
                lease_secs: None,
                vendor_class: None,
            })),
        }
    }

    #[test]
    fn logons_name_the_workstation_they_came_from() {
        use crate::model::{EndpointFields, EventKind, Fields, HostRef, Locator, LogSource, Pairs, Provenance};
        let logon = |workstation: &str, ip: &str| Event {
            ts: 5,
            kind: EventKind::Logon,
            host: Some(HostRef { name: Some("FS01".into()), ip: None }),
            net: None,
            process: None,
            provenance: Provenance { file: 1, locator: Locator::Record(9) },
            fields: Fields::Endpoint(Box::new(EndpointFields {
                source: LogSource::Security,
                action: "logon",
                code: "4624".into(),
                provider: None,
                channel: None,
                outcome: Some("success"),
                written: None,
                user: Some("alice".into()),
                user_id: None,
                logon_type: Some(3),
                logon_id: None,
                source_ip: ip.parse().ok(),
                source_port: None,
                destination_ip: None,
                destination_port: None,
                source_host: Some(workstation.into()),
                target: None,
                details: None,
                clock_offset: None,
                carved: false,
                data: Pairs::new(),
            })),
        };
        let flows = [flow("10.0.0.42", 42, "10.0.0.50", 50), flow("10.0.0.43", 43, "10.0.0.50", 50)];
        let refs: Vec<&FlowRecord> = flows.iter().collect();
        let events = [logon("WS-42", "10.0.0.42"), logon("-", "10.0.0.43")];
        let endpoint: Vec<&Event> = events.iter().collect();
        let assets = assets(&refs, &endpoint, &[], &[], &NetworkKnowledge::default());
        let names = |ip: &str| assets.iter().find(|a| a.ip.to_string() == ip).map(|a| a.names.clone());
        assert_eq!(names("10.0.0.42"), Some(vec!["WS-42".to_string()]));
        assert_eq!(names("10.0.0.43"), Some(vec![]));
    }

    #[test]
    fn dhcp_names_and_renumbered_hosts() {
        // ws-7 asks by name, is acknowledged at .42; later renumbered to .77 (same MAC).
        let events = [
            dhcp(10, "REQUEST", 1, "00-1A-2B-3C-4D-5E", Some("WS-7"), None),
            dhcp(11, "ACK", 1, "00-1A-2B-3C-4D-5E", None, Some("10.0.0.42")),
            dhcp(500, "REQUEST", 2, "00-1A-2B-3C-4D-5E", Some("ws-7"), None),
            dhcp(501, "ACK", 2, "00-1A-2B-3C-4D-5E", None, Some("10.0.0.77")),
            // An offer is not a lease.
            dhcp(600, "OFFER", 3, "00-00-00-00-00-09", None, Some("10.0.0.99")),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let assets = assets(&[], &[], &refs, &[], &NetworkKnowledge::default());
        type Row = (String, Vec<String>, Vec<String>, Vec<IpAddr>);
        let got: Vec<Row> = assets
            .iter()
            .map(|a| (a.ip.to_string(), a.names.clone(), a.macs.clone(), a.other_addresses.clone()))
            .collect();
        let mac = vec!["00-1A-2B-3C-4D-5E".to_string()];
        assert_eq!(
            got,
            vec![
                ("10.0.0.42".into(), vec!["ws-7".into()], mac.clone(), vec!["10.0.0.77".parse().unwrap()]),
                ("10.0.0.77".into(), vec!["ws-7".into()], mac, vec!["10.0.0.42".parse().unwrap()]),
            ]
        );
        assert_eq!(parse_mac("00:1a:2B:3c:4d:5e"), Some([0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]));
        assert_eq!(parse_mac("00-1a"), None);
    }

    #[test]
    fn own_macs_routers_and_the_gateway() {
        let flows = [
            flow("10.0.0.5", 5, "8.8.8.8", 1),  // the internet behind MAC 1
            flow("10.0.0.5", 5, "10.0.0.1", 1), // the router's own address, MAC 1
            flow("10.0.0.6", 6, "1.1.1.1", 1),
            flow("10.0.9.1", 9, "10.0.0.5", 5), // routed subnet: three addresses behind MAC 9
            flow("10.0.9.2", 9, "10.0.0.5", 5),
            flow("10.0.9.3", 9, "10.0.0.6", 6),
        ];
        let refs: Vec<&FlowRecord> = flows.iter().collect();
        let mut got = Vec::new();
        let mut carried = Carried::default();
        for f in &refs {
            carried.add(f, &InternalNets::default());
        }
        carried.decide(&mut |ip, mac, gw| got.push((ip.to_string(), mac[5], gw)));
        got.sort();
        assert_eq!(
            got,
            vec![("10.0.0.1".into(), 1, true), ("10.0.0.5".into(), 5, false), ("10.0.0.6".into(), 6, false)]
        );
        assert_eq!(mac_text([0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]), "00-1A-2B-3C-4D-5E");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_joined_as_they_come_merge_to_what_all_spans_merge_to() {
        // Spans in start order mostly, out of order now and then, touching, nested, gapped.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as i64
        };
        for _ in 0..200 {
            let mut spans = Vec::new();
            let mut t = 0i64;
            for _ in 0..next(60) {
                t += next(3 * COVERAGE_GAP as u64);
                let start = if next(10) == 0 { t - next(4 * COVERAGE_GAP as u64) } else { t };
                spans.push((start, start + next(2 * COVERAGE_GAP as u64)));
            }
            let mut joined = Vec::new();
            for &span in &spans {
                note_active(&mut joined, span);
            }
            assert_eq!(merge(&mut joined), merge(&mut spans.clone()), "{spans:?}");
        }
    }

    const M: i64 = 60 * 1_000_000_000;

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("5.0.0.10.in-addr.arpa."), Some("10.0.0.5".parse().unwrap()));
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
        assert_eq!(reverse_name(v6), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(reverse_name("example.com"), None);
        assert_eq!(reverse_name("1.2.in-addr.arpa"), None);
    }

    #[test]
    fn intervals_join_and_silence_is_measured() {
        let mut spans = [(20 * M, 21 * M), (0, M), (3 * M, 4 * M)];
        assert_eq!(merge(&mut spans), vec![(0, 4 * M), (20 * M, 21 * M)]);
        // Active for an hour, telemetry only in its first ten minutes: 47.5 minutes silent.
        let active = [(0, 60 * M)];
        let covered = [(0, 10 * M)];
        assert_eq!(uncovered(&active, &covered), 60 * M - 10 * M - 5 * M / 2);
        assert_eq!(uncovered(&active, &[(0, 60 * M)]), 0);
    }
}
