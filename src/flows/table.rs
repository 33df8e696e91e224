//! The flow table: one entry per active bidirectional flow, finished by Zeek's timeouts.

use super::app::{AppLimits, AppRecord, AppState, At, Sink, UdpPorts};
use super::defrag::{Defragmenter, FragKey};
use super::key::{community_id, flow_id, icmp_counterpart, FlowKey};
use super::stream::{Delivery, Reassembler};
use super::tcp::TcpConn;
use crate::decode::packet::{self, Decoded, IpPacket, TransportView, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::diag::{DiagKind, Diagnostics};
use crate::model::{ConnState, DirStats, EventKind, Fields, FlowRecord, Service, Transport};
use crate::util::time::NANOS_PER_SEC;
use crate::util::Timestamp;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Flows tracked at once. Past it, flows idle longest are finished early (and reported).
pub const MAX_ACTIVE_FLOWS: usize = 2_000_000;
/// Capture time between sweeps for expired flows.
const SWEEP_INTERVAL: Timestamp = 10 * NANOS_PER_SEC;
/// Zeek's tcp_attempt_delay: an unanswered SYN is given up after this.
const TCP_ATTEMPT_DELAY: Timestamp = 5 * NANOS_PER_SEC;
/// Zeek's tcp_close_delay: a closed connection lingers this long for stray packets.
const TCP_CLOSE_DELAY: Timestamp = 5 * NANOS_PER_SEC;
/// Zeek's tcp_partial_close_delay: a half-closed connection is finished after this.
const TCP_PARTIAL_CLOSE_DELAY: Timestamp = 3 * NANOS_PER_SEC;

/// Timeouts and switches of the flow layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    pub tcp_timeout: Timestamp,
    pub udp_timeout: Timestamp,
    pub icmp_timeout: Timestamp,
    /// Decode application protocols (off: flows only, for speed).
    pub app_layer: bool,
    /// Keep the application records (DNS transactions, HTTP requests, TLS hellos…) for the
    /// caller. Off when only flow records are wanted: the decoders still run, because they name
    /// each flow's services, but their records are dropped as they are made instead of held.
    pub app_records: bool,
}

impl Default for FlowConfig {
    /// Zeek's defaults: TCP 5 minutes, UDP and ICMP 1 minute of inactivity.
    fn default() -> Self {
        FlowConfig {
            tcp_timeout: 300 * NANOS_PER_SEC,
            udp_timeout: 60 * NANOS_PER_SEC,
            icmp_timeout: 60 * NANOS_PER_SEC,
            app_layer: true,
            app_records: true,
        }
    }
}

/// Identity of a flow, carried by its application records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowIdent {
    pub id: Arc<str>,
    pub orig_ip: IpAddr,
    pub orig_port: u16,
    pub resp_ip: IpAddr,
    pub resp_port: u16,
    pub transport: Transport,
    pub community_id: Arc<str>,
}

/// An application-layer record with the flow it belongs to, as its event's kind, position
/// and fields (see [`super::fields`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AppEvent {
    /// Shared by every record of the flow.
    pub flow: Arc<FlowIdent>,
    pub at: At,
    pub kind: EventKind,
    pub fields: Fields,
}

impl AppEvent {
    /// `record` of `flow`, converted.
    pub fn new(flow: Arc<FlowIdent>, record: AppRecord) -> AppEvent {
        let (kind, at, fields) = super::fields::record_fields(record, &flow);
        AppEvent { flow, at, kind, fields }
    }
}

/// Moves the records a flow's decoders just made out of `scratch`: converted into `app` when
/// the caller keeps them, dropped otherwise.
fn keep_records(keep: bool, scratch: &mut Vec<AppRecord>, app: &mut Vec<AppEvent>, ident: &Arc<FlowIdent>) {
    if keep {
        app.extend(scratch.drain(..).map(|record| AppEvent::new(ident.clone(), record)));
    } else {
        scratch.clear();
    }
}

/// Packet accounting of one capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub packets: u64,
    pub ip_packets: u64,
    pub non_ip: u64,
    pub malformed: u64,
    pub unsupported_link: BTreeMap<u32, u64>,
    pub fragments: u64,
    pub reassembled: u64,
    pub fragments_dropped: u64,
    pub flows_evicted: u64,
    pub limits: AppLimits,
}

impl FlowOutput {
    /// Reports what was counted but not decoded, and every limit that was reached, under
    /// `label`. Called once per capture, after shards are merged.
    pub fn report(&self, label: &str, diags: &mut Diagnostics) {
        let st = &self.stats;
        let what = format!("{} frames without IP (ARP, LLDP, STP, …) counted, not decoded", st.non_ip);
        diags.push_counted(label, None, DiagKind::Skipped, st.non_ip, what);
        for (link, n) in &st.unsupported_link {
            let what = format!("{n} packets with link type {link} not decoded");
            diags.push_counted(label, None, DiagKind::UnsupportedLinkType, *n, what);
        }
        for (n, what) in [
            (st.limits.dns_pending_overflow, "DNS queries emitted unanswered because a flow had too many pending"),
            (st.limits.http_pending_overflow, "HTTP requests emitted unanswered because a flow had too many pending"),
            (st.limits.dns_tcp_oversize, "DNS-over-TCP messages dropped for exceeding the buffer"),
            (st.flows_evicted, "flows finished early because the flow table was full"),
            (st.fragments_dropped, "IP fragments whose datagram never completed"),
        ] {
            diags.push_counted(label, None, DiagKind::LimitReached, n, format!("{n} {what}"));
        }
    }
}

impl FlowStats {
    /// Adds another table's counters (for shards of one capture).
    pub fn add(&mut self, o: &FlowStats) {
        self.packets += o.packets;
        self.ip_packets += o.ip_packets;
        self.non_ip += o.non_ip;
        self.malformed += o.malformed;
        for (link, n) in &o.unsupported_link {
            *self.unsupported_link.entry(*link).or_default() += n;
        }
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.fragments_dropped += o.fragments_dropped;
        self.flows_evicted += o.flows_evicted;
        self.limits.dns_pending_overflow += o.limits.dns_pending_overflow;
        self.limits.http_pending_overflow += o.limits.http_pending_overflow;
        self.limits.dns_tcp_oversize += o.limits.dns_tcp_oversize;
    }
}

/// Everything the flow layer produced for one capture.
#[derive(Debug, Default)]
pub struct FlowOutput {
    pub flows: Vec<FlowRecord>,
    pub app: Vec<AppEvent>,
    pub stats: FlowStats,
    /// How full the tables got: of the fullest table when a capture was split.
    pub peaks: TablePeaks,
}

/// The most entries a flow table held at once, before the packet that added one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TablePeaks {
    /// Active flows.
    pub flows: usize,
    /// Fragmented datagrams in progress.
    pub datagrams: usize,
}

impl TablePeaks {
    /// The larger of each.
    pub fn max(self, o: TablePeaks) -> TablePeaks {
        TablePeaks { flows: self.flows.max(o.flows), datagrams: self.datagrams.max(o.datagrams) }
    }

    /// Whether a capture split into `shards` tables may have filled one table had it not been
    /// split. The split tables together held what one table would have (each flow lives in
    /// one), so when one table would have reached a limit, some split table held at least
    /// its share of it; below that share in every table, no limit was near and the split
    /// decided nothing.
    pub fn may_fill_one_table(self, shards: usize) -> bool {
        let reaches = |peak: usize, limit: usize| (peak + 1).saturating_mul(shards) >= limit;
        shards > 1
            && (reaches(self.flows, MAX_ACTIVE_FLOWS)
                || reaches(self.datagrams, super::defrag::MAX_DATAGRAMS_IN_PROGRESS))
    }
}

struct Flow {
    ident: Arc<FlowIdent>,
    /// `ident.transport`, kept beside the counters: every packet's expiry check reads it.
    transport: Transport,
    start: Timestamp,
    last: Timestamp,
    first_packet: u64,
    last_packet: u64,
    /// The originator is the key's `lo` side.
    orig_is_lo: bool,
    orig: DirStats,
    resp: DirStats,
    tcp: Option<Box<TcpConn>>,
    history: String,
    streams: Option<Box<[Reassembler; 2]>>,
    app: Option<Box<AppState>>,
    services: Vec<Service>,
    vlan: Option<u16>,
    /// Source MAC of the first frame from the originator and from the responder.
    macs: [Option<[u8; 6]>; 2],
    closed_at: Option<Timestamp>,
    half_closed_at: Option<Timestamp>,
    missed: u64,
}

/// Ports Zeek's analyzers register, used like Zeek to guess the responder when a flow's
/// opening was not captured.
const LIKELY_SERVER_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 67, 68, 69, 80, 81, 88, 110, 111, 123, 135, 137, 138, 139, 143, 161, 162, 389, 443, 445, 464,
    465, 502, 514, 563, 585, 587, 614, 631, 636, 853, 989, 990, 992, 993, 994, 995, 1080, 1194, 1723, 1812, 1813, 2049,
    2152, 2811, 3128, 3306, 3389, 3478, 3544, 4789, 5060, 5061, 5222, 5223, 5269, 5353, 5355, 5432, 6379, 6666, 6667,
    6668, 6669, 8000, 8080, 8443, 8888, 9001, 47808,
];

fn likely_server(port: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&port).is_ok()
}

/// One packet as the flow layer needs it.
#[derive(Debug, Clone, Copy)]
pub struct PacketIn<'a> {
    pub ts: Timestamp,
    /// 1-based position in the capture.
    pub index: u64,
    pub link: u32,
    pub data: &'a [u8],
    /// Byte offset of the record, for diagnostics.
    pub offset: u64,
}

/// The per-capture flow table.
pub struct FlowTable {
    cfg: FlowConfig,
    file: u32,
    /// What flow ids are made from besides the flow itself: the capture file's own tag, so
    /// that ids do not depend on the other files of a bundle.
    tag: u64,
    map: FxHashMap<FlowKey, Flow>,
    finished: Vec<FlowRecord>,
    app: Vec<AppEvent>,
    scratch: Vec<AppRecord>,
    defrag: Defragmenter,
    stats: FlowStats,
    /// The most flows active at once (before the packet that added one).
    peak_flows: usize,
    next_sweep: Timestamp,
    /// Packets since the last sweep.
    since_sweep: u64,
    now: Timestamp,
}

/// Transport-level facts of a packet, after fragment handling.
struct Segment<'a> {
    src_port: u16,
    dst_port: u16,
    tcp: Option<(u32, u32, u8, u16)>,
    icmp_v6: bool,
    payload: &'a [u8],
}

impl FlowTable {
    pub fn new(file: u32, cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            file,
            tag: u64::from(file),
            map: FxHashMap::default(),
            finished: Vec::new(),
            app: Vec::new(),
            scratch: Vec::new(),
            defrag: Defragmenter::default(),
            stats: FlowStats::default(),
            peak_flows: 0,
            next_sweep: Timestamp::MIN,
            since_sweep: 0,
            now: Timestamp::MIN,
        }
    }

    /// Makes flow ids from `tag` rather than the file's number in the run.
    pub fn tagged(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }

    /// Moves the table's clock to `clock`, the latest time seen anywhere in the capture up to
    /// the next packet. Every expiry decision compares a flow against this clock, never against
    /// a packet's own (possibly earlier) time, so a table that sees only some of a capture's
    /// packets — one shard — decides exactly as a table that sees them all.
    pub fn advance_clock(&mut self, clock: Timestamp) {
        self.now = self.now.max(clock);
    }

    /// Processes one packet of the capture; undecodable packets are reported under `label`.
    pub fn process(&mut self, p: PacketIn<'_>, label: &str, diags: &mut Diagnostics) {
        let PacketIn { ts, index, link, data, offset } = p;
        self.stats.packets += 1;
        self.now = self.now.max(ts);
        // A sweep walks every flow, so it waits for as many packets as there are flows: its
        // cost per packet stays constant. Sweeps only free memory; they never change a result,
        // because expiry is decided by the capture clock.
        self.since_sweep += 1;
        if self.now >= self.next_sweep && self.since_sweep >= self.map.len() as u64 {
            self.sweep();
            self.next_sweep = self.now.saturating_add(SWEEP_INTERVAL);
            self.since_sweep = 0;
        }
        let ip = match packet::decode(link, data) {
            Decoded::Ip(ip) => ip,
            Decoded::NotIp => {
                self.stats.non_ip += 1;
                return;
            }
            Decoded::UnsupportedLink => {
                *self.stats.unsupported_link.entry(link).or_default() += 1;
                return;
            }
            Decoded::Malformed(what) => {
                self.stats.malformed += 1;
                diags.push(label, Some(offset), DiagKind::UndecodablePacket, format!("packet {index}: {what}"));
                return;
            }
        };
        self.stats.ip_packets += 1;
        if let Some(frag) = ip.fragment {
            self.stats.fragments += 1;
            let TransportView::Fragment { payload } = ip.transport else { return };
            let key = FragKey { src: ip.src, dst: ip.dst, proto: ip.proto, id: frag.id };
            let Some(whole) = self.defrag.add(self.now, key, frag.offset, frag.more, payload) else { return };
            let transport = packet::transport_from(ip.proto, &whole);
            let header = whole.len() as u32 - transport_payload(&transport).len() as u32;
            let full = IpPacket {
                ip_len: ip.ip_len.saturating_sub(ip.payload_len) + whole.len() as u32,
                payload_len: whole.len() as u32 - header,
                fragment: None,
                transport,
                ..ip
            };
            self.handle(ts, index, &full);
            return;
        }
        self.handle(ts, index, &ip);
    }

    fn handle(&mut self, ts: Timestamp, index: u64, ip: &IpPacket<'_>) {
        let seg = match ip.transport {
            TransportView::Tcp { src_port, dst_port, seq, ack, flags, window, payload } => {
                Segment { src_port, dst_port, tcp: Some((seq, ack, flags, window)), icmp_v6: false, payload }
            }
            TransportView::Udp { src_port, dst_port, payload } => {
                Segment { src_port, dst_port, tcp: None, icmp_v6: false, payload }
            }
            TransportView::Icmp { icmp_type, code, v6, payload } => {
                // Zeek's ICMP "ports": the type, and the counterpart type of a request/reply
                // pair or the code of a one-way message.
                let resp = icmp_counterpart(icmp_type, v6).unwrap_or(code);
                Segment { src_port: u16::from(icmp_type), dst_port: u16::from(resp), tcp: None, icmp_v6: v6, payload }
            }
            TransportView::Other { payload } | TransportView::Fragment { payload } => {
                Segment { src_port: 0, dst_port: 0, tcp: None, icmp_v6: false, payload }
            }
        };
        let is_icmp = matches!(ip.proto, 1 | 58);
        let key = if is_icmp {
            // Request and reply share a key: the canonical (lower) type of the pair.
            let t = seg.src_port as u8;
            let canon = icmp_counterpart(t, seg.icmp_v6).map_or(t, |c| c.min(t));
            FlowKey::new(ip.src, u16::from(canon), ip.dst, u16::from(canon), ip.proto).0
        } else {
            FlowKey::new(ip.src, seg.src_port, ip.dst, seg.dst_port, ip.proto).0
        };
        let src_is_lo = ip.src == key.lo_ip
            && (is_icmp || seg.src_port == key.lo_port)
            && (ip.src != ip.dst || seg.src_port <= seg.dst_port);

        // A packet of a live flow takes one hash lookup; the flow is found, checked for expiry
        // and updated in place. Only a new flow, or one that has just expired, takes more.
        let (now, cfg, len) = (self.now, self.cfg, self.map.len());
        let (map, out) = self.flows_and_out();
        if let Some(flow) = map.get_mut(&key).filter(|flow| !expired(&cfg, flow, now, Some(&seg))) {
            add_packet(flow, ts, index, ip, &seg, src_is_lo, out);
            self.peak_flows = self.peak_flows.max(len);
            return;
        }
        if let Some(old) = self.map.remove(&key) {
            self.finalize(old);
        }
        self.peak_flows = self.peak_flows.max(self.map.len());
        if self.map.len() >= MAX_ACTIVE_FLOWS {
            self.evict();
        }
        let tag = self.tag;
        let (map, out) = self.flows_and_out();
        let flow = map.entry(key).or_insert_with(|| new_flow(tag, cfg, ts, index, ip, &seg, src_is_lo));
        add_packet(flow, ts, index, ip, &seg, src_is_lo, out);
    }

    /// The flows, and where a packet's application records go, borrowed apart.
    fn flows_and_out(&mut self) -> (&mut FxHashMap<FlowKey, Flow>, Out<'_>) {
        let out = Out {
            scratch: &mut self.scratch,
            limits: &mut self.stats.limits,
            app: &mut self.app,
            keep: self.cfg.app_records,
        };
        (&mut self.map, out)
    }

    fn sweep(&mut self) {
        let now = self.now;
        let done: Vec<FlowKey> =
            self.map.iter().filter(|(_, f)| expired(&self.cfg, f, now, None)).map(|(k, _)| *k).collect();
        for k in done {
            if let Some(f) = self.map.remove(&k) {
                self.finalize(f);
            }
        }
        self.defrag.expire(now);
    }

    /// Finishes the tenth of flows idle longest, when the table is full.
    fn evict(&mut self) {
        let mut idle: Vec<(Timestamp, FlowKey)> = self.map.iter().map(|(k, f)| (f.last, *k)).collect();
        idle.sort();
        let n = (idle.len() / 10).max(1);
        for (_, k) in idle.into_iter().take(n) {
            if let Some(f) = self.map.remove(&k) {
                self.stats.flows_evicted += 1;
                self.finalize(f);
            }
        }
    }

    fn finalize(&mut self, mut flow: Flow) {
        let at = At { ts: flow.last, packet: flow.last_packet };
        if let Some(app) = flow.app.as_mut() {
            let mut sink =
                Sink { records: &mut self.scratch, limits: &mut self.stats.limits, services: &mut flow.services };
            if let Some(streams) = flow.streams.as_mut() {
                for (d, s) in streams.iter_mut().enumerate() {
                    s.finish(&mut |del| match del {
                        Delivery::Data(b) => app.stream_data(d == 0, b, at, &mut sink),
                        Delivery::Gap(n) => app.stream_gap(d == 0, n, at, &mut sink),
                    });
                    flow.missed += s.missed;
                }
            }
            app.finish(at, &mut sink);
        }
        keep_records(self.cfg.app_records, &mut self.scratch, &mut self.app, &flow.ident);
        let (conn_state, history, orig_bytes, resp_bytes) = match flow.tcp.as_deref() {
            Some(tcp) => (tcp.conn_state(), tcp.history.letters.clone(), tcp.orig_bytes(), tcp.resp_bytes()),
            None => {
                let state = if flow.ident.transport == Transport::Udp {
                    match (flow.orig.packets > 0, flow.resp.packets > 0) {
                        (true, true) => ConnState::SF,
                        (true, false) => ConnState::S0,
                        (false, true) => ConnState::SHR,
                        (false, false) => ConnState::OTH,
                    }
                } else {
                    ConnState::OTH
                };
                (state, flow.history.clone(), flow.orig.bytes, flow.resp.bytes)
            }
        };
        let mut services = flow.services;
        services.sort();
        self.finished.push(FlowRecord {
            id: flow.ident.id.clone(),
            start: flow.start,
            end: flow.last,
            orig_ip: flow.ident.orig_ip,
            orig_port: flow.ident.orig_port,
            resp_ip: flow.ident.resp_ip,
            resp_port: flow.ident.resp_port,
            transport: flow.ident.transport,
            services,
            orig: DirStats { bytes: orig_bytes, ..flow.orig },
            resp: DirStats { bytes: resp_bytes, ..flow.resp },
            conn_state,
            history,
            missed_bytes: flow.missed,
            community_id: flow.ident.community_id.clone(),
            vlan: flow.vlan,
            orig_mac: flow.macs[0],
            resp_mac: flow.macs[1],
            file: self.file,
            first_packet: flow.first_packet,
            last_packet: flow.last_packet,
            process: None,
        });
    }

    /// Ends the capture: every open flow is finished and emitted, nothing is lost.
    pub fn finish(mut self) -> FlowOutput {
        let mut open: Vec<(Timestamp, u64, FlowKey)> =
            self.map.iter().map(|(k, f)| (f.start, f.first_packet, *k)).collect();
        open.sort();
        for (_, _, k) in open {
            if let Some(f) = self.map.remove(&k) {
                self.finalize(f);
            }
        }
        self.defrag.finish();
        let d = self.defrag.stats;
        self.stats.fragments = d.fragments;
        self.stats.reassembled = d.reassembled;
        self.stats.fragments_dropped = d.dropped;
        let peaks = TablePeaks { flows: self.peak_flows, datagrams: self.defrag.peak };
        super::shard::merge(vec![FlowOutput { flows: self.finished, app: self.app, stats: self.stats, peaks }])
    }
}

/// Where a packet's application records go: the table's scratch list, its limit counters and
/// its kept events, borrowed apart from its flows.
struct Out<'a> {
    scratch: &'a mut Vec<AppRecord>,
    limits: &'a mut AppLimits,
    app: &'a mut Vec<AppEvent>,
    /// Whether application records are kept (`FlowConfig::app_records`).
    keep: bool,
}

/// Adds one packet to its flow: counters, TCP state, and the application decoders.
fn add_packet(
    flow: &mut Flow,
    ts: Timestamp,
    index: u64,
    ip: &IpPacket<'_>,
    seg: &Segment<'_>,
    src_is_lo: bool,
    out: Out<'_>,
) {
    let from_orig = flow.orig_is_lo == src_is_lo;
    flow.last = flow.last.max(ts);
    flow.last_packet = index;
    if flow.vlan.is_none() {
        flow.vlan = ip.vlan;
    }
    let side = usize::from(!from_orig);
    if flow.macs[side].is_none() {
        flow.macs[side] = ip.src_mac;
    }
    let stats = if from_orig { &mut flow.orig } else { &mut flow.resp };
    stats.packets += 1;
    stats.ip_bytes += u64::from(ip.ip_len);
    let at = At { ts, packet: index };
    let mut sink = Sink { records: &mut *out.scratch, limits: &mut *out.limits, services: &mut flow.services };

    if let (Some((seq, ack, flags, window)), Some(tcp)) = (seg.tcp, flow.tcp.as_mut()) {
        let update = tcp.segment(from_orig, seq, ack, flags, window, ip.payload_len);
        if update.closed {
            if tcp.close_complete() {
                flow.closed_at.get_or_insert(ts);
            } else if tcp.half_closed() {
                flow.half_closed_at.get_or_insert(ts);
            }
        }
        if let (Some(app), Some(streams)) = (flow.app.as_mut(), flow.streams.as_mut()) {
            let d = usize::from(!from_orig);
            if flags & TCP_SYN != 0 {
                streams[d].start_at(0);
            }
            // What this packet acknowledges of the other direction is settled before its own
            // payload is delivered, so a request released from behind a hole is pending when
            // the answer in this packet arrives.
            if let Some(end) = update.peer_acked {
                streams[1 - d].acked_to(end, &mut |del| match del {
                    Delivery::Data(b) => app.stream_data(!from_orig, b, at, &mut sink),
                    Delivery::Gap(n) => app.stream_gap(!from_orig, n, at, &mut sink),
                });
            }
            if let Some(off) = update.stream_offset {
                if !seg.payload.is_empty() {
                    streams[d].push(off, seg.payload, &mut |del| match del {
                        Delivery::Data(b) => app.stream_data(from_orig, b, at, &mut sink),
                        Delivery::Gap(n) => app.stream_gap(from_orig, n, at, &mut sink),
                    });
                }
            }
            if flags & (TCP_FIN | TCP_RST) != 0 {
                app.stream_end(from_orig, at, &mut sink);
            }
            if app.is_done() {
                flow.missed += streams[0].missed + streams[1].missed;
                flow.app = None;
                flow.streams = None;
            }
        }
    } else {
        stats_add_payload(if from_orig { &mut flow.orig } else { &mut flow.resp }, ip.payload_len);
        if ip.proto == 17 {
            let letter = if from_orig { 'D' } else { 'd' };
            if !flow.history.contains(letter) {
                flow.history.push(letter);
            }
            if let Some(app) = flow.app.as_mut() {
                let ports = UdpPorts::of(flow.ident.orig_port, flow.ident.resp_port);
                app.datagram(from_orig, seg.payload, at, &mut sink, ports);
                if app.is_done() {
                    flow.app = None;
                }
            }
        }
    }
    keep_records(out.keep, out.scratch, out.app, &flow.ident);
}

/// Whether a flow is over at time `now` (before a packet `seg`, when given).
fn expired(cfg: &FlowConfig, flow: &Flow, now: Timestamp, seg: Option<&Segment<'_>>) -> bool {
    let idle = now.saturating_sub(flow.last);
    let timeout = match flow.transport {
        Transport::Tcp => cfg.tcp_timeout,
        Transport::Udp => cfg.udp_timeout,
        _ => cfg.icmp_timeout,
    };
    if idle > timeout {
        return true;
    }
    let Some(tcp) = flow.tcp.as_deref() else { return false };
    if tcp.is_attempt() && now.saturating_sub(flow.start) > TCP_ATTEMPT_DELAY {
        return true;
    }
    if let Some(closed) = flow.closed_at {
        if now.saturating_sub(flow.last.max(closed)) > TCP_CLOSE_DELAY {
            return true;
        }
        // A fresh SYN on a finished connection opens a new one (port reuse).
        if let Some(Segment { tcp: Some((_, _, flags, _)), .. }) = seg {
            if flags & TCP_SYN != 0 && flags & TCP_ACK == 0 && tcp.close_complete() {
                return true;
            }
        }
    }
    if let Some(half) = flow.half_closed_at {
        if !tcp.close_complete() && now.saturating_sub(half) > TCP_PARTIAL_CLOSE_DELAY && !tcp_reset(tcp) {
            return true;
        }
    }
    false
}

/// A new flow for the packet that opens it, oriented by Zeek's rules.
fn new_flow(
    tag: u64,
    cfg: FlowConfig,
    ts: Timestamp,
    index: u64,
    ip: &IpPacket<'_>,
    seg: &Segment<'_>,
    src_is_lo: bool,
) -> Flow {
    let flip = match (ip.proto, seg.tcp) {
        (6, Some((_, _, flags, _))) => {
            if flags & TCP_SYN != 0 {
                // A SYN-ACK comes from the responder whatever the ports (Zeek's `^h`).
                flags & TCP_ACK != 0
            } else if !likely_server(seg.src_port) {
                false
            } else if likely_server(seg.dst_port) {
                seg.src_port < seg.dst_port
            } else {
                true
            }
        }
        (17, _) => likely_server(seg.src_port) && !likely_server(seg.dst_port),
        _ => false,
    };
    let (orig_ip, orig_port, resp_ip, resp_port) =
        if flip { (ip.dst, seg.dst_port, ip.src, seg.src_port) } else { (ip.src, seg.src_port, ip.dst, seg.dst_port) };
    let transport = Transport::from_ip_proto(ip.proto);
    let cid = community_id(orig_ip, orig_port, resp_ip, resp_port, ip.proto, 0);
    let id = flow_id(tag, ts, &cid, 0);
    let is_tcp = seg.tcp.is_some();
    let mut tcp = is_tcp.then(Box::<TcpConn>::default);
    let mut history = String::new();
    if flip {
        if let Some(t) = tcp.as_mut() {
            t.history.flip();
        } else {
            history.push('^');
        }
    }
    let app_wanted = cfg.app_layer && matches!(ip.proto, 6 | 17);
    Flow {
        ident: Arc::new(FlowIdent {
            id: id.into(),
            orig_ip,
            orig_port,
            resp_ip,
            resp_port,
            transport,
            community_id: cid.into(),
        }),
        transport,
        start: ts,
        last: ts,
        first_packet: index,
        last_packet: index,
        orig_is_lo: src_is_lo != flip,
        orig: DirStats::default(),
        resp: DirStats::default(),
        tcp,
        history,
        streams: (app_wanted && is_tcp).then(Box::default),
        app: app_wanted.then(Box::default),
        services: Vec::new(),
        vlan: ip.vlan,
        macs: [None; 2],
        closed_at: None,
        half_closed_at: None,
        missed: 0,
    }
}

fn tcp_reset(tcp: &TcpConn) -> bool {
    use super::tcp::TcpState;
    tcp.orig.state == TcpState::Reset || tcp.resp.state == TcpState::Reset
}

fn stats_add_payload(stats: &mut DirStats, len: u32) {
    stats.bytes += u64::from(len);
}

fn transport_payload<'a>(t: &TransportView<'a>) -> &'a [u8] {
    match *t {
        TransportView::Tcp { payload, .. }
        | TransportView::Udp { payload, .. }
        | TransportView::Icmp { payload, .. }
        | TransportView::Other { payload }
        | TransportView::Fragment { payload } => payload,
    }
}
