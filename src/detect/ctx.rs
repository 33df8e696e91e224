//! The read-only context every detector runs against: the bundle's flows and events indexed
//! the ways detection asks for them, the hosts, the baseline, the thresholds.

use super::baseline::Baseline;
use super::finding::{EvidenceRef, FindingHost, FindingProcess};
use super::names::{raw_name, NameId, NameTable};
use super::thresholds::Thresholds;
use crate::model::{Asset, Event, EventKind, Fields, FlowRecord, Locator, Transport};
use crate::util::net::InternalNets;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;
use std::net::IpAddr;

/// Everything a detector may look at.
pub struct DetectCtx<'a> {
    /// Every flow, in timeline order.
    pub flows: &'a [FlowRecord],
    /// Application-layer events (DNS, HTTP, TLS, SSH, stratum) in timeline order.
    pub dns: Vec<&'a Event>,
    /// The DNS transactions internal clients asked for themselves: `dns` without those an
    /// internal resolver made on a client's behalf (the same name asked of it by another
    /// internal host just before), so that a lookup counts once, on the host that wanted it.
    pub client_dns: Vec<&'a Event>,
    pub http: Vec<&'a Event>,
    pub tls: Vec<&'a Event>,
    pub stratum: Vec<&'a Event>,
    pub ssh: Vec<&'a Event>,
    /// Endpoint events in timeline order.
    pub endpoint: Vec<&'a Event>,
    pub internal: &'a InternalNets,
    pub baseline: &'a Baseline,
    pub thresholds: &'a Thresholds,
    /// Evidence file names, by the index events and flows carry.
    pub files: &'a [String],
    assets: HashMap<IpAddr, &'a Asset>,
    /// The internal addresses the flows name (either end), in address order.
    pub flow_hosts: Vec<IpAddr>,
    /// The outgoing flows (see [`is_outgoing`]) as (host, peer, index into `flows`), sorted:
    /// each pair's flows together, in flow order. See [`DetectCtx::outgoing_pairs`].
    pub outgoing: Vec<(IpAddr, IpAddr, usize)>,
    flow_by_id: FlowIds<'a>,
    /// Per flow (same index as `flows`): the event that names the destination (TLS SNI, HTTP
    /// Host, or the DNS answer the originator got for the address).
    namers: Vec<Option<&'a Event>>,
    /// The events' names, numbered.
    names: NameTable<'a>,
}

/// What a run's detection reads.
pub struct DetectInput<'a> {
    pub flows: &'a [FlowRecord],
    pub events: &'a [Event],
    pub assets: &'a [Asset],
    pub internal: &'a InternalNets,
    pub files: &'a [String],
}

/// The indexes of a [`DetectCtx`], which need no baseline: built while the baseline is learnt.
pub struct Index<'a> {
    dns: Vec<&'a Event>,
    http: Vec<&'a Event>,
    tls: Vec<&'a Event>,
    stratum: Vec<&'a Event>,
    ssh: Vec<&'a Event>,
    endpoint: Vec<&'a Event>,
    flow_hosts: Vec<IpAddr>,
    outgoing: Vec<(IpAddr, IpAddr, usize)>,
    flow_by_id: FlowIds<'a>,
    namers: Vec<Option<&'a Event>>,
}

impl<'a> Index<'a> {
    /// Builds the indexes from the input's flows and events (its assets are not read, so
    /// that they may be gathered meanwhile).
    pub fn build(input: &DetectInput<'a>) -> Index<'a> {
        let mut by_kind: HashMap<EventKind, Vec<&'a Event>> = HashMap::new();
        let mut endpoint = Vec::new();
        for e in input.events {
            if e.kind.is_endpoint() {
                endpoint.push(e);
            } else if e.kind != EventKind::Flow {
                by_kind.entry(e.kind).or_default().push(e);
            }
        }
        let mut take = |k| by_kind.remove(&k).unwrap_or_default();
        let (dns, http, tls, stratum, ssh) = (
            take(EventKind::Dns),
            take(EventKind::Http),
            take(EventKind::Tls),
            take(EventKind::Stratum),
            take(EventKind::Ssh),
        );
        let ((flow_by_id, namers), (flow_hosts, outgoing)) = rayon::join(
            || {
                let flow_by_id = FlowIds::build(input.flows);
                let namers = flow_namers(input.flows, &flow_by_id, &dns, &http, &tls);
                (flow_by_id, namers)
            },
            || {
                let pairs = outgoing(input.flows, input.internal);
                (flow_hosts(input.flows, input.internal), pairs)
            },
        );
        Index { dns, http, tls, stratum, ssh, endpoint, flow_hosts, outgoing, flow_by_id, namers }
    }
}

/// Flows by id. A flow's events share its id (one allocation, see `FlowRecord::id`), so an id
/// is looked up by its address first, which needs neither hashing nor comparing its text; an
/// id copied from elsewhere is looked up by its text, in a map made the first time one is.
/// Either way the answer is the same, and only lookups are made, never a walk over the map:
/// addresses do not change what comes out.
pub struct FlowIds<'a> {
    flows: &'a [FlowRecord],
    by_address: FxHashMap<usize, usize>,
    by_text: std::sync::OnceLock<FxHashMap<std::sync::Arc<str>, usize>>,
}

impl<'a> FlowIds<'a> {
    fn build(flows: &'a [FlowRecord]) -> FlowIds<'a> {
        let by_address = flows.iter().enumerate().map(|(i, f)| (f.id.as_ptr() as usize, i)).collect();
        FlowIds { flows, by_address, by_text: std::sync::OnceLock::new() }
    }

    /// The index of the flow with this id.
    pub fn get(&self, id: &str) -> Option<usize> {
        let shared = self.by_address.get(&(id.as_ptr() as usize)).copied();
        // The same address and length: the flow's own id.
        if let Some(i) = shared.filter(|&i| self.flows.get(i).is_some_and(|f| f.id.len() == id.len())) {
            return Some(i);
        }
        let by_text =
            self.by_text.get_or_init(|| self.flows.iter().enumerate().map(|(i, f)| (f.id.clone(), i)).collect());
        by_text.get(id).copied()
    }
}

/// An internal host opening a flow to an external, unicast address.
fn is_outgoing(internal: &InternalNets, f: &FlowRecord) -> bool {
    internal.contains(f.orig_ip) && !internal.contains(f.resp_ip) && !is_broadcast(f.resp_ip)
}

fn is_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_multicast() || v6.is_unspecified(),
    }
}

/// The outgoing flows by pair: one sort of small keys, shared by the detectors that judge
/// pairs, instead of a map of lists in each.
fn outgoing(flows: &[FlowRecord], internal: &InternalNets) -> Vec<(IpAddr, IpAddr, usize)> {
    let mut keys: Vec<(IpAddr, IpAddr, usize)> = flows
        .iter()
        .enumerate()
        .filter(|(_, f)| is_outgoing(internal, f))
        .map(|(i, f)| (f.orig_ip, f.resp_ip, i))
        .collect();
    keys.sort_unstable();
    keys
}

/// The internal addresses at either end of the flows, in address order.
fn flow_hosts(flows: &[FlowRecord], internal: &InternalNets) -> Vec<IpAddr> {
    let mut seen: FxHashSet<IpAddr> = FxHashSet::default();
    for f in flows {
        seen.insert(f.orig_ip);
        seen.insert(f.resp_ip);
    }
    let mut hosts: Vec<IpAddr> = seen.into_iter().filter(|ip| internal.contains(*ip)).collect();
    hosts.sort_unstable();
    hosts
}

impl<'a> DetectCtx<'a> {
    pub fn new(input: &DetectInput<'a>, baseline: &'a Baseline, thresholds: &'a Thresholds) -> DetectCtx<'a> {
        let names = NameTable::build(input.events);
        let client_dns = client_lookups(input.events, &names, input.internal);
        DetectCtx::with_index(input, Index::build(input), names, client_dns, baseline, thresholds)
    }

    pub fn with_index(
        input: &DetectInput<'a>,
        index: Index<'a>,
        names: NameTable<'a>,
        client_dns: Vec<&'a Event>,
        baseline: &'a Baseline,
        thresholds: &'a Thresholds,
    ) -> DetectCtx<'a> {
        let Index { dns, http, tls, stratum, ssh, endpoint, flow_hosts, outgoing, flow_by_id, namers } = index;
        let assets = input.assets.iter().map(|a| (a.ip, a)).collect();
        DetectCtx {
            flows: input.flows,
            client_dns,
            dns,
            http,
            tls,
            stratum,
            ssh,
            endpoint,
            internal: input.internal,
            baseline,
            thresholds,
            files: input.files,
            assets,
            flow_hosts,
            outgoing,
            flow_by_id,
            namers,
            names,
        }
    }

    /// The outgoing flows grouped by (host, peer), in that order; each group's flows in flow
    /// order.
    pub fn outgoing_pairs(&self) -> impl Iterator<Item = &[(IpAddr, IpAddr, usize)]> + '_ {
        self.outgoing.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
    }

    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.internal.contains(ip)
    }

    /// The flow an event belongs to.
    pub fn flow_of(&self, e: &Event) -> Option<&'a FlowRecord> {
        let id = e.net.as_ref()?.flow_id.as_deref()?;
        self.flow_by_id.get(id).and_then(|i| self.flows.get(i))
    }

    /// Index of a flow in `flows`, by id.
    pub fn flow_index(&self, id: &str) -> Option<usize> {
        self.flow_by_id.get(id)
    }

    /// The name the originator used for the responder of flow `i`, when known.
    pub fn name_of(&self, i: usize) -> Option<&'a str> {
        self.namers.get(i).copied().flatten().and_then(raw_name)
    }

    /// The number of the name the originator used for the responder of flow `i`.
    pub fn name_id_of(&self, i: usize) -> Option<NameId> {
        self.namers.get(i).copied().flatten().and_then(|e| self.names.of(e))
    }

    /// The number of the name an event carries (see [`NameTable`]).
    pub fn name_id(&self, e: &Event) -> Option<NameId> {
        self.names.of(e)
    }

    /// The events' names, numbered.
    pub fn names(&self) -> &NameTable<'a> {
        &self.names
    }

    /// An internal host as findings name it.
    pub fn host(&self, ip: IpAddr) -> FindingHost {
        let asset = self.assets.get(&ip);
        FindingHost {
            ip: Some(ip),
            name: asset.and_then(|a| a.names.first().cloned()),
            managed: asset.is_some_and(|a| a.managed),
        }
    }

    pub fn asset(&self, ip: IpAddr) -> Option<&'a Asset> {
        self.assets.get(&ip).copied()
    }

    /// Every asset, in no particular order.
    pub fn assets(&self) -> impl Iterator<Item = &'a Asset> + '_ {
        self.assets.values().copied()
    }

    /// The host an endpoint event happened on, as findings name it: the address the event
    /// carries, else that of the asset the log's host name names (see [`Self::ip_named`]), else
    /// the name alone; managed (it wrote the log).
    pub fn endpoint_host(&self, e: &Event) -> FindingHost {
        let name = e.host.as_ref().and_then(|h| h.name.as_deref());
        if let Some(ip) = e.host.as_ref().and_then(|h| h.ip) {
            return FindingHost { name: name.map(String::from), managed: true, ..self.host(ip) };
        }
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return FindingHost { ip: None, name: None, managed: true };
        };
        match self.ip_named(name) {
            Some(ip) => FindingHost { name: Some(name.to_string()), managed: true, ..self.host(ip) },
            None => FindingHost { ip: None, name: Some(name.to_string()), managed: true },
        }
    }

    /// The internal address of the asset an endpoint log names `name` (case-insensitive; a
    /// bare host name also matches a qualified asset name by its first label and the other way
    /// round), the lowest address when several match.
    pub fn ip_named(&self, name: &str) -> Option<IpAddr> {
        let name = name.trim().trim_end_matches('.');
        if name.is_empty() {
            return None;
        }
        let first = |n: &str| n.split('.').next().unwrap_or(n).to_ascii_lowercase();
        let exact = |a: &&Asset| a.names.iter().any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(name));
        let label = |a: &&Asset| a.names.iter().any(|n| first(n) == first(name));
        let pick = |f: &dyn Fn(&&Asset) -> bool| self.assets.values().filter(|a| f(a)).map(|a| a.ip).min();
        pick(&exact).or_else(|| if name.parse::<IpAddr>().is_ok() { None } else { pick(&label) })
    }

    /// The process of an endpoint event as findings name it, the log as its source.
    pub fn event_process(&self, e: &Event) -> Option<FindingProcess> {
        let p = e.process.as_ref().filter(|p| !p.is_empty())?;
        let source = match &e.fields {
            Fields::Endpoint(x) => x.source.as_str(),
            _ => "endpoint",
        };
        Some(FindingProcess {
            pid: p.pid,
            executable: p.executable.clone(),
            command_line: p.command_line.clone(),
            source: source.to_string(),
        })
    }

    pub fn file_name(&self, file: u32) -> String {
        self.files.get(file as usize).cloned().unwrap_or_else(|| format!("file {file}"))
    }

    /// The first packet of a flow as evidence.
    pub fn flow_evidence(&self, f: &FlowRecord) -> EvidenceRef {
        EvidenceRef {
            file: self.file_name(f.file),
            packet: Some(f.first_packet),
            record: None,
            line: None,
            flow: Some(f.id.to_string()),
        }
    }

    /// Where an event came from as evidence.
    pub fn event_evidence(&self, e: &Event) -> EvidenceRef {
        let (packet, record, line) = match e.provenance.locator {
            Locator::Packet(n) => (Some(n), None, None),
            Locator::Record(n) => (None, Some(n), None),
            Locator::Line(n) => (None, None, Some(n)),
        };
        EvidenceRef {
            file: self.file_name(e.provenance.file),
            packet,
            record,
            line,
            flow: e.net.as_ref().and_then(|n| n.flow_id.as_deref().map(str::to_string)),
        }
    }

    /// The process that opened most of these flows (ties broken by executable, then pid),
    /// when an endpoint log names one. A process that accepted a flow runs on the responder,
    /// not on the host that acted, and is not counted.
    pub fn process_of<'f>(&self, flows: impl IntoIterator<Item = &'f FlowRecord>) -> Option<FindingProcess> {
        type Key<'k> = (Option<&'k str>, Option<u64>);
        let mut counts: HashMap<Key<'_>, (usize, &crate::model::Attribution)> = HashMap::new();
        for f in flows {
            if let Some(a) = f.process.as_deref().filter(|a| !a.accepted) {
                let key = (a.process.executable.as_deref(), a.process.pid);
                counts.entry(key).or_insert((0, a)).0 += 1;
            }
        }
        let (_, (_, a)) = counts.into_iter().max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)))?;
        Some(FindingProcess {
            pid: a.process.pid,
            executable: a.process.executable.clone(),
            command_line: a.process.command_line.clone(),
            source: format!("{}/{}", a.source.as_str(), a.method),
        })
    }
}

/// For each flow, the event naming its responder: the TLS server name or HTTP Host on the flow
/// itself, else the latest DNS answer the originator received for that address before the flow
/// started, else any DNS answer for the address.
fn flow_namers<'a>(
    flows: &'a [FlowRecord],
    by_id: &FlowIds<'a>,
    dns: &[&'a Event],
    http: &[&'a Event],
    tls: &[&'a Event],
) -> Vec<Option<&'a Event>> {
    let mut namers: Vec<Option<&'a Event>> = vec![None; flows.len()];
    let on_flow = |e: &&'a Event| e.net.as_ref().and_then(|n| n.flow_id.as_deref()).and_then(|id| by_id.get(id));
    for &e in tls {
        if let (Some(i), Fields::Tls(t)) = (on_flow(&e), &e.fields) {
            if t.server_name.as_deref().is_some_and(|sni| !sni.is_empty()) {
                namers[i] = Some(e);
            }
        }
    }
    for &e in http {
        if let (Some(i), Fields::Http(h)) = (on_flow(&e), &e.fields) {
            let named = || {
                h.host
                    .as_deref()
                    .map(super::domain::strip_port)
                    .is_some_and(|s| !s.is_empty() && crate::util::net::parse_ip(s).is_none())
            };
            if namers[i].is_none() && named() {
                namers[i] = Some(e);
            }
        }
    }
    // Only the flows still unnamed look at DNS answers: only answers with their responders
    // are kept.
    let unnamed_peers: FxHashSet<IpAddr> =
        flows.iter().zip(&namers).filter(|(_, n)| n.is_none()).map(|(f, _)| f.resp_ip).collect();
    // (client, address) → answers in time order; address → any answer.
    let mut answered: FxHashMap<(IpAddr, IpAddr), Vec<&'a Event>> = FxHashMap::default();
    let mut any: FxHashMap<IpAddr, &'a Event> = FxHashMap::default();
    for &e in dns {
        let (Fields::Dns(d), Some(net)) = (&e.fields, &e.net) else { continue };
        for &ip in &d.addresses {
            if !unnamed_peers.contains(&ip) {
                continue;
            }
            answered.entry((net.src_ip, ip)).or_default().push(e);
            any.entry(ip).or_insert(e);
        }
    }
    for (i, f) in flows.iter().enumerate() {
        if namers[i].is_some() {
            continue;
        }
        // An address no answer gave needs no look among the client's answers.
        let Some(&any) = any.get(&f.resp_ip) else { continue };
        namers[i] = answered
            .get(&(f.orig_ip, f.resp_ip))
            .and_then(|v| v.iter().rev().find(|e| e.ts <= f.start).or(v.first()).copied())
            .or(Some(any));
    }
    namers
}

/// How long before a resolver's own query a client's query of the same name makes it a
/// forwarded one.
const FORWARD_WINDOW: i64 = 10_000_000_000;

/// DNS transactions without those an internal resolver forwarded: a query from an internal
/// address that itself answered internal clients' queries, for a name one of them asked it
/// within [`FORWARD_WINDOW`] before.
pub fn client_lookups<'a>(events: &'a [Event], names: &NameTable<'_>, internal: &InternalNets) -> Vec<&'a Event> {
    let dns: Vec<&Event> = events.iter().filter(|e| e.kind == EventKind::Dns).collect();
    let resolvers: rustc_hash::FxHashSet<IpAddr> = dns
        .iter()
        .filter_map(|e| e.net.as_ref())
        .filter(|n| internal.contains(n.src_ip) && internal.contains(n.dst_ip))
        .map(|n| n.dst_ip)
        .collect();
    // Names by number: spellings that differ in case only are one name.
    let mut asked: FxHashMap<(IpAddr, Option<NameId>), i64> = FxHashMap::default();
    let mut out = Vec::with_capacity(dns.len());
    for e in dns {
        let (Some(net), Fields::Dns(_)) = (&e.net, &e.fields) else {
            out.push(e);
            continue;
        };
        let name = names.of(e);
        if resolvers.contains(&net.src_ip) {
            let forwarded = asked.get(&(net.src_ip, name)).is_some_and(|&t| e.ts >= t && e.ts - t <= FORWARD_WINDOW);
            if forwarded {
                continue;
            }
        }
        if resolvers.contains(&net.dst_ip) && internal.contains(net.src_ip) {
            asked.insert((net.dst_ip, name), e.ts);
        }
        out.push(e);
    }
    out
}

/// Whether a flow goes to a broadcast or multicast address: an announcement, not a destination a
/// host chose. An IPv4 address ending in `.255` is taken for a subnet's broadcast only over UDP
/// or ICMP (TCP cannot broadcast; in a network wider than /24 it is an ordinary host).
pub fn is_announcement(f: &FlowRecord) -> bool {
    match f.resp_ip {
        IpAddr::V4(v4) => {
            v4.is_broadcast() || v4.is_multicast() || (v4.octets()[3] == 255 && f.transport != Transport::Tcp)
        }
        IpAddr::V6(v6) => v6.is_multicast(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Bundle;
    use super::*;
    use crate::model::{Attribution, LogSource, ProcessRef, Provenance};

    fn attribution(exe: &str, accepted: bool) -> Box<Attribution> {
        Box::new(Attribution {
            host: Some("h".into()),
            process: ProcessRef { pid: Some(7), executable: Some(exe.into()), ..ProcessRef::default() },
            source: LogSource::Sysmon,
            method: "community-id",
            evidence: Provenance { file: 1, locator: Locator::Record(3) },
            accepted,
        })
    }

    #[test]
    fn flows_are_found_by_their_own_id_and_by_a_copy_of_it() {
        let mut b = Bundle::default();
        for i in 0..50 {
            b.tcp("10.0.0.1", "10.0.0.2", 445, f64::from(i), 1.0, 10, 10);
        }
        let ids = FlowIds::build(&b.flows);
        for (i, f) in b.flows.iter().enumerate() {
            assert_eq!(ids.get(&f.id), Some(i), "shared");
            let copy = f.id.to_string();
            assert_eq!(ids.get(&copy), Some(i), "copied");
            // A shorter slice of the same text starts at the same address: not the flow.
            assert_eq!(ids.get(&f.id[..f.id.len() - 1]), b.flows.iter().position(|g| *g.id == f.id[..f.id.len() - 1]));
        }
        assert_eq!(ids.get("C-none"), None);
    }

    #[test]
    fn the_acting_process_is_the_opener_not_the_acceptor() {
        let mut b = Bundle::default();
        let f = b.tcp("10.0.0.1", "10.0.0.2", 445, 0.0, 1.0, 10, 10);
        let g = b.tcp("10.0.0.1", "10.0.0.2", 445, 5.0, 1.0, 10, 10);
        b.flows[f].process = Some(attribution("svchost.exe", true));
        let internal = InternalNets::default();
        let files = vec!["a.pcap".to_string()];
        let input = DetectInput { flows: &b.flows, events: &[], assets: &[], internal: &internal, files: &files };
        let t = Thresholds::defaults();
        let baseline = Baseline::learn(&input, t.section("baseline"));
        let ctx = DetectCtx::new(&input, &baseline, &t);
        assert_eq!(ctx.process_of([&b.flows[f]]), None);
        let mut flows = b.flows.clone();
        flows[g].process = Some(attribution("tool.exe", false));
        let p = ctx.process_of([&flows[f], &flows[g]]).expect("the opener");
        assert_eq!(
            (p.pid, p.executable.as_deref(), p.source.as_str()),
            (Some(7), Some("tool.exe"), "sysmon/community-id")
        );
    }
}
