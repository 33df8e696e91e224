//! Process ↔ flow attribution.
//!
//! Three joins, each deterministic (events are taken in timeline order; the first record that
//! attributes a flow wins; ties go to the flow that starts first):
//!
//! When both ends of a flow are managed, the process that opened it is attributed, not the one
//! that accepted it.
//!
//! - **community-id**: a Sysmon 3 or WFP 5156/5158 connection carries the 5-tuple; its
//!   Community ID names the flow, and the flow must be live at the event's time (start − tol ≤
//!   t ≤ end + tol). Among several flows with that ID (port reuse), the one starting nearest
//!   the event.
//! - **remote-endpoint**: an auditd connect names only the remote address and port; the flow to
//!   that address and port starting nearest the event within the tolerance, when no other flow
//!   is as near (an ambiguous pair is left unattributed, never guessed).
//! - **dns-name**: a Sysmon 22 lookup names the queried name; the DNS transaction for that name
//!   nearest in time within the tolerance attributes its flow.
//!
//! The last two name only the remote side, so they are kept only when the flow's local address
//! is the host's own: shown by its Community ID joins, or used repeatedly (or alone) by its
//! remote-endpoint joins; an address another host's records use is never this one's (see
//! [`attribute`]).
//!
//! The tolerance is [`JOIN_TOLERANCE`] until clock skew is estimated per source.

use crate::model::{Attribution, EndpointFields, Event, EventKind, Fields, FlowRecord, LogSource};
use crate::util::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// How far an endpoint record's time may be from the flow it joins (clock offsets between a
/// host and the capture point, and the resolution of either).
pub const JOIN_TOLERANCE: i64 = 2_000_000_000;

/// Connections of one host and log, and how many found their flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AttributionRate {
    pub host: String,
    pub source: String,
    /// Endpoint records that could name a flow (connections, lookups).
    pub records: u64,
    /// Of those, records joined to a flow of the capture.
    pub attributed: u64,
}

/// What the joins found.
#[derive(Debug, Clone, Default)]
pub struct Attributions {
    /// By flow id.
    pub flows: BTreeMap<String, Attribution>,
    /// Index (into the endpoint events given) → flow id joined.
    pub events: BTreeMap<usize, String>,
    /// Per host and log, in name order.
    pub rates: Vec<AttributionRate>,
    /// Clock offsets applied to endpoint logs before joining (estimated or set).
    pub offsets: Vec<super::ClockOffset>,
}

impl Attributions {
    /// The attribution of a flow, by its id.
    pub fn of(&self, flow_id: &str) -> Option<&Attribution> {
        self.flows.get(flow_id)
    }
}

/// One endpoint record's join, before the hosts' addresses are known.
struct Candidate {
    event: usize,
    flow_id: String,
    method: &'static str,
    /// The flow's address on the host's side: its originator, or its responder for a
    /// connection the host accepted.
    local: IpAddr,
    accepted: bool,
}

impl Candidate {
    /// Whether the join names its flow by the full 5-tuple (Community ID): the record itself
    /// then says which address is the host's. The other joins name only the remote side.
    fn by_tuple(&self) -> bool {
        self.method == "community-id"
    }
}

/// The key a host's records are grouped by: its name, or for a log that names none, the file.
fn host_key(e: &Event) -> String {
    match e.host.as_ref().and_then(|h| h.name.as_deref()) {
        Some(name) => name.to_ascii_lowercase(),
        None => format!("file:{}", e.provenance.file),
    }
}

/// Joins `endpoint` events (timeline order) to `flows` and to the flows of `dns` transaction
/// events (`Fields::Dns` events that carry their flow id).
///
/// A join by the remote side alone (remote-endpoint, dns-name) is kept only when the flow's
/// local address is the host's: one its tuple-named records (Community ID) show it using, or
/// one its remote-endpoint joins use repeatedly (or alone) — and no other host's tuple-named
/// records claim it.
pub fn attribute(endpoint: &[&Event], flows: &[&FlowRecord], dns: &[&Event]) -> Attributions {
    let mut by_cid: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_remote: HashMap<(IpAddr, u16), Vec<usize>> = HashMap::new();
    for (i, f) in flows.iter().enumerate() {
        by_cid.entry(&*f.community_id).or_default().push(i);
        by_remote.entry((f.resp_ip, f.resp_port)).or_default().push(i);
    }
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in dns.iter().enumerate() {
        if let Fields::Dns(d) = &e.fields {
            by_name.entry(d.query.to_ascii_lowercase()).or_default().push(i);
        }
    }
    let mut out = Attributions::default();
    let mut rates: BTreeMap<(String, &'static str), AttributionRate> = BTreeMap::new();
    let mut candidates = Vec::new();
    for (i, e) in endpoint.iter().enumerate() {
        let Fields::Endpoint(x) = &e.fields else { continue };
        let joined = match (e.kind, x.source) {
            (EventKind::Connection, _) if is_outgoing(x) => match &e.net {
                Some(net) => nearest_live(by_cid.get(&*net.community_id), flows, e.ts).map(|f| (f, "community-id")),
                None => match (x.destination_ip, x.destination_port) {
                    (Some(ip), Some(port)) => {
                        unambiguous_nearest(by_remote.get(&(ip, port)), flows, e.ts).map(|f| (f, "remote-endpoint"))
                    }
                    _ => continue,
                },
            },
            (EventKind::Lookup, LogSource::Sysmon) => {
                let Some(name) = x.target.as_deref() else { continue };
                nearest_lookup(by_name.get(&name.to_ascii_lowercase()), dns, e.ts).map(|j| (j, "dns-name"))
            }
            _ => continue,
        };
        let host = e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default();
        let rate = rates.entry((host.clone(), x.source.as_str())).or_insert_with(|| AttributionRate {
            host,
            source: x.source.as_str().to_string(),
            ..AttributionRate::default()
        });
        rate.records += 1;
        let Some((ends, method)) = joined else { continue };
        let accepted = x.action == "network-accept" || is_inbound_wfp(x);
        let local = if accepted { ends.responder } else { ends.originator };
        candidates.push(Candidate { event: i, flow_id: ends.flow_id, method, local, accepted });
    }
    let addresses = HostAddresses::learn(&candidates, endpoint);
    let mut ranks: HashMap<String, u8> = HashMap::new();
    for c in candidates {
        let e = endpoint[c.event];
        if !c.by_tuple() && !addresses.is_own(&host_key(e), c.local) {
            continue;
        }
        let Fields::Endpoint(x) = &e.fields else { continue };
        let host = e.host.as_ref().and_then(|h| h.name.clone());
        if let Some(rate) = rates.get_mut(&(host.clone().unwrap_or_default(), x.source.as_str())) {
            rate.attributed += 1;
        }
        out.events.insert(c.event, c.flow_id.clone());
        let Some(process) = e.process.as_deref().cloned() else { continue };
        // The process that opened the flow outranks the one that accepted it (both ends can
        // be managed hosts); otherwise the first record in timeline order wins.
        let rank = u8::from(c.accepted);
        match ranks.get(&c.flow_id) {
            Some(&held) if held <= rank => continue,
            _ => {}
        }
        ranks.insert(c.flow_id.clone(), rank);
        out.flows.insert(
            c.flow_id,
            Attribution {
                host,
                process,
                source: x.source,
                method: c.method,
                evidence: e.provenance,
                accepted: c.accepted,
            },
        );
    }
    out.rates = rates.into_values().collect();
    out
}

/// Which addresses are each host's, from its joins.
struct HostAddresses {
    /// Host → the addresses its tuple-named records show it using.
    seen: HashMap<String, std::collections::BTreeSet<IpAddr>>,
    /// Address → the hosts whose tuple-named records use it.
    owners: HashMap<IpAddr, std::collections::BTreeSet<String>>,
    /// Host → the addresses its remote-endpoint joins keep using.
    voted: HashMap<String, std::collections::BTreeSet<IpAddr>>,
}

impl HostAddresses {
    fn learn(candidates: &[Candidate], endpoint: &[&Event]) -> HostAddresses {
        let mut seen: HashMap<String, std::collections::BTreeSet<IpAddr>> = HashMap::new();
        let mut owners: HashMap<IpAddr, std::collections::BTreeSet<String>> = HashMap::new();
        let mut votes: HashMap<String, BTreeMap<IpAddr, u32>> = HashMap::new();
        for c in candidates {
            let host = host_key(endpoint[c.event]);
            if c.by_tuple() {
                seen.entry(host.clone()).or_default().insert(c.local);
                owners.entry(c.local).or_default().insert(host);
            } else if c.method == "remote-endpoint" {
                // A lookup names neither end of a flow, only a name many hosts may ask for:
                // it never says which address is the host's.
                *votes.entry(host).or_default().entry(c.local).or_default() += 1;
            }
        }
        // An address the host's joins use once, beside others, may be a join to another
        // machine's flow; one they use again and again (a DHCP renumbering gives a host two),
        // or the only one they use, is the host's.
        let voted = votes
            .into_iter()
            .map(|(host, v)| {
                let only = v.len() == 1;
                let kept = v.into_iter().filter(|&(_, n)| only || n >= 2).map(|(ip, _)| ip).collect();
                (host, kept)
            })
            .collect();
        HostAddresses { seen, owners, voted }
    }

    /// Whether `ip` is `host`'s address, and no other host's.
    fn is_own(&self, host: &str, ip: IpAddr) -> bool {
        let claimed_by_other = self.owners.get(&ip).is_some_and(|o| o.iter().any(|h| h != host));
        let own = self.seen.get(host).is_some_and(|k| k.contains(&ip))
            || self.voted.get(host).is_some_and(|k| k.contains(&ip));
        own && !claimed_by_other
    }
}

/// A Windows Filtering Platform record of an inbound connection (`Direction` `%%14592`): the
/// host accepted it.
fn is_inbound_wfp(x: &EndpointFields) -> bool {
    x.action == "connection-allowed"
        && x.data.get("Direction").is_some_and(|d| d == "%%14592" || d.eq_ignore_ascii_case("inbound"))
}

/// Connections a process opened or accepted (not binds, not blocked attempts): the records that
/// can name a flow.
pub(crate) fn is_outgoing(x: &EndpointFields) -> bool {
    matches!(x.action, "network-connect" | "network-accept" | "network-send" | "connection-allowed")
}

/// The flow a record joined: its id and its two ends.
struct Joined {
    flow_id: String,
    originator: IpAddr,
    responder: IpAddr,
}

impl Joined {
    fn of(f: &FlowRecord) -> Joined {
        Joined { flow_id: f.id.to_string(), originator: f.orig_ip, responder: f.resp_ip }
    }
}

/// The flow with this Community ID live at `ts`, starting nearest to it.
fn nearest_live(candidates: Option<&Vec<usize>>, flows: &[&FlowRecord], ts: Timestamp) -> Option<Joined> {
    candidates?
        .iter()
        .map(|&i| flows[i])
        .filter(|f| f.start.saturating_sub(JOIN_TOLERANCE) <= ts && ts <= f.end.saturating_add(JOIN_TOLERANCE))
        .min_by_key(|f| (f.start.abs_diff(ts), f.start, &f.id))
        .map(Joined::of)
}

/// The flow to a remote endpoint starting nearest `ts` within the tolerance, when no other
/// flow starts as near.
fn unambiguous_nearest(candidates: Option<&Vec<usize>>, flows: &[&FlowRecord], ts: Timestamp) -> Option<Joined> {
    let mut near: Vec<(u64, &FlowRecord)> = candidates?
        .iter()
        .map(|&i| (flows[i].start.abs_diff(ts), flows[i]))
        .filter(|(d, _)| *d <= JOIN_TOLERANCE as u64)
        .collect();
    near.sort_by(|a, b| (a.0, a.1.start, &a.1.id).cmp(&(b.0, b.1.start, &b.1.id)));
    match near.as_slice() {
        [] => None,
        [(_, only)] => Some(Joined::of(only)),
        [(d0, best), (d1, _), ..] => (d0 < d1).then(|| Joined::of(best)),
    }
}

/// The flow of the DNS transaction for a name nearest `ts` within the tolerance: the client
/// that asked is its originator.
fn nearest_lookup(candidates: Option<&Vec<usize>>, dns: &[&Event], ts: Timestamp) -> Option<Joined> {
    let net = candidates?
        .iter()
        .map(|&i| dns[i])
        .filter(|e| e.ts.abs_diff(ts) <= JOIN_TOLERANCE as u64)
        .min_by_key(|e| (e.ts.abs_diff(ts), e.provenance))?
        .net
        .as_ref()?;
    Some(Joined { flow_id: net.flow_id.as_deref()?.to_string(), originator: net.src_ip, responder: net.dst_ip })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ConnState, DirStats, EndpointFields, HostRef, Locator, NetTuple, ProcessRef, Provenance, Transport,
    };

    const S: i64 = 1_000_000_000;

    fn flow(id: &str, start: i64, orig: &str, resp: &str, port: u16, cid: &str) -> FlowRecord {
        FlowRecord {
            id: id.into(),
            start,
            end: start + S,
            orig_ip: orig.parse().unwrap(),
            orig_port: 40000,
            resp_ip: resp.parse().unwrap(),
            resp_port: port,
            transport: Transport::Tcp,
            services: Vec::new(),
            orig: DirStats::default(),
            resp: DirStats::default(),
            conn_state: ConnState::SF,
            history: String::new(),
            missed_bytes: 0,
            community_id: cid.into(),
            vlan: None,
            orig_mac: None,
            resp_mac: None,
            file: 0,
            first_packet: 1,
            last_packet: 2,
            process: None,
        }
    }

    fn connect(ts: i64, pid: u64, net: Option<(&str, &str)>, remote: Option<(&str, u16)>) -> Event {
        let source = if net.is_some() { LogSource::Sysmon } else { LogSource::Auditd };
        let mut f = EndpointFields::new(source, "network-connect", "3".into());
        if let Some((ip, port)) = remote {
            f.destination_ip = Some(ip.parse().unwrap());
            f.destination_port = Some(port);
        }
        Event {
            ts,
            kind: EventKind::Connection,
            host: Some(HostRef { name: Some("h".into()), ip: None }),
            net: net.map(|(cid, dst)| NetTuple {
                src_ip: "10.0.0.1".parse().unwrap(),
                src_port: 40000,
                dst_ip: dst.parse().unwrap(),
                dst_port: 443,
                transport: Transport::Tcp,
                community_id: cid.into(),
                flow_id: None,
            }),
            process: Some(Box::new(ProcessRef { pid: Some(pid), ..ProcessRef::default() })),
            provenance: Provenance { file: 1, locator: Locator::Record(pid) },
            fields: Fields::Endpoint(Box::new(f)),
        }
    }

    #[test]
    fn community_id_picks_the_live_flow_nearest_in_time() {
        // The same 5-tuple reused a minute apart: each connection joins its own flow.
        let flows = [
            flow("a", 10 * S, "10.0.0.1", "1.1.1.1", 443, "1:x"),
            flow("b", 70 * S, "10.0.0.1", "1.1.1.1", 443, "1:x"),
        ];
        let events = [
            connect(70 * S + S / 10, 7, Some(("1:x", "1.1.1.1")), None),
            connect(10 * S, 6, Some(("1:x", "1.1.1.1")), None),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        let a = attribute(&refs, &flow_refs, &[]);
        assert_eq!(a.of("b").unwrap().process.pid, Some(7));
        assert_eq!(a.of("a").unwrap().process.pid, Some(6));
        assert_eq!(a.of("a").unwrap().method, "community-id");
        assert_eq!(
            a.rates,
            vec![AttributionRate { host: "h".into(), source: "sysmon".into(), records: 2, attributed: 2 }]
        );
        // Outside the flow's life (and the tolerance), nothing joins.
        let late = [connect(80 * S, 8, Some(("1:x", "1.1.1.1")), None)];
        let refs: Vec<&Event> = late.iter().collect();
        assert!(attribute(&refs, &flow_refs, &[]).flows.is_empty());
    }

    #[test]
    fn the_opener_outranks_the_acceptor() {
        let flows = [flow("a", 10 * S, "10.0.0.1", "10.0.0.2", 445, "1:a")];
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        let mut accept = connect(10 * S, 4, Some(("1:a", "10.0.0.2")), None);
        if let Fields::Endpoint(x) = &mut accept.fields {
            x.action = "network-accept";
        }
        let open = connect(10 * S + S / 100, 9, Some(("1:a", "10.0.0.2")), None);
        let events = [accept, open];
        let refs: Vec<&Event> = events.iter().collect();
        let a = attribute(&refs, &flow_refs, &[]);
        assert_eq!(a.of("a").map(|x| (x.process.pid, x.accepted)), Some((Some(9), false)));
        assert_eq!(a.events.len(), 2, "both records still learn their flow");
    }

    #[test]
    fn a_remote_endpoint_joins_only_when_unambiguous() {
        let flows = [
            flow("a", 10 * S, "10.0.0.1", "2.2.2.2", 443, "1:a"),
            flow("b", 10 * S, "10.0.0.2", "2.2.2.2", 443, "1:b"),
            flow("c", 30 * S, "10.0.0.1", "2.2.2.2", 443, "1:c"),
        ];
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        let events = [
            connect(10 * S, 1, None, Some(("2.2.2.2", 443))),
            connect(30 * S + S / 2, 2, None, Some(("2.2.2.2", 443))),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let a = attribute(&refs, &flow_refs, &[]);
        assert!(a.of("a").is_none() && a.of("b").is_none(), "two flows equally near: not guessed");
        assert_eq!(a.of("c").map(|x| (x.process.pid, x.method)), Some((Some(2), "remote-endpoint")));
        assert_eq!((a.rates[0].records, a.rates[0].attributed), (2, 1));
    }

    fn on(host: &str, mut e: Event) -> Event {
        e.host = Some(HostRef { name: Some(host.into()), ip: None });
        e
    }

    #[test]
    fn a_join_by_the_remote_side_needs_the_hosts_own_address() {
        let flows = [
            flow("s", 5 * S, "10.0.0.7", "1.1.1.1", 443, "1:s"),
            flow("q1", 10 * S, "10.0.0.5", "4.4.4.4", 80, "1:q1"),
            flow("q2", 20 * S, "10.0.0.5", "4.4.4.4", 80, "1:q2"),
            flow("r", 30 * S, "10.0.0.7", "3.3.3.3", 80, "1:r"),
        ];
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        let events = [
            // Another host's Sysmon names 10.0.0.7 as its own, by the full tuple.
            on("ws7", connect(5 * S, 70, Some(("1:s", "1.1.1.1")), None)),
            // The audit log of h: two connects from 10.0.0.5, one whose only flow is 10.0.0.7's.
            on("h", connect(10 * S, 1, None, Some(("4.4.4.4", 80)))),
            on("h", connect(20 * S, 2, None, Some(("4.4.4.4", 80)))),
            on("h", connect(30 * S, 3, None, Some(("3.3.3.3", 80)))),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let a = attribute(&refs, &flow_refs, &[]);
        assert_eq!(a.of("q1").and_then(|x| x.process.pid), Some(1));
        assert_eq!(a.of("q2").and_then(|x| x.process.pid), Some(2));
        assert!(a.of("r").is_none(), "10.0.0.7 is another host's: {:?}", a.of("r"));
        // One connect each from two addresses: which is h's is unknown, so neither joins.
        let tie = [
            on("h", connect(10 * S, 1, None, Some(("4.4.4.4", 80)))),
            on("h", connect(30 * S, 3, None, Some(("3.3.3.3", 80)))),
        ];
        let refs: Vec<&Event> = tie.iter().collect();
        let flows = [
            flow("q1", 10 * S, "10.0.0.5", "4.4.4.4", 80, "1:q1"),
            flow("r", 30 * S, "10.0.0.7", "3.3.3.3", 80, "1:r"),
        ];
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        assert!(attribute(&refs, &flow_refs, &[]).flows.is_empty());
    }

    #[test]
    fn an_inbound_wfp_record_is_the_acceptor() {
        let flows = [flow("a", 10 * S, "10.0.0.9", "10.0.0.5", 445, "1:a")];
        let flow_refs: Vec<&FlowRecord> = flows.iter().collect();
        let mut inbound = connect(10 * S, 4, Some(("1:a", "10.0.0.5")), None);
        if let Fields::Endpoint(x) = &mut inbound.fields {
            x.source = LogSource::Security;
            x.action = "connection-allowed";
            x.data.push("Direction", "%%14592");
        }
        let events = [inbound];
        let refs: Vec<&Event> = events.iter().collect();
        let a = attribute(&refs, &flow_refs, &[]);
        assert_eq!(a.of("a").map(|x| x.accepted), Some(true));
    }
}
