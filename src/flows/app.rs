//! Per-flow application layer: service detection from content, and the pairing of
//! transactions (DNS query ↔ response, HTTP request ↔ response, TLS client ↔ server hello).
//!
//! Each flow owns at most one [`AppState`]. It sees in-order bytes of each TCP direction (or
//! each UDP datagram), decides the service from the first bytes — never from the port — and then
//! feeds the matching decoder until that decoder is done, after which the flow costs nothing
//! more than its counters. Every queue here is bounded by a named limit.

use crate::decode::{dhcp, dns, dtls, http, ntp, smb, ssh, stratum, tls};
use crate::model::Service;
use crate::util::Timestamp;
use std::collections::VecDeque;

/// Bytes of each direction kept while the service is undecided.
pub const DETECT_BYTES: usize = 1024;
/// Bytes a direction needs before a negative detection counts (shorter prefixes may still grow
/// into a match).
pub const MIN_DETECT_BYTES: usize = 16;
/// DNS queries awaiting a response per flow; older ones are emitted unanswered.
pub const MAX_PENDING_DNS: usize = 64;
/// HTTP requests awaiting a response per flow.
pub const MAX_PENDING_HTTP: usize = 64;
/// Datagrams of a UDP flow examined for a protocol before it is left alone.
pub const MAX_UDP_DETECT_DATAGRAMS: usize = 16;
/// Client bytes of an unrecognised stream watched for a TLS handshake starting later.
pub const MAX_UPGRADE_SCAN: usize = 64 * 1024;
/// Client bytes scanned for Stratum calls.
pub const MAX_STRATUM_BYTES: usize = 16 * 1024;
/// Partial DNS-over-TCP message bytes buffered per direction (a message is at most 65535).
pub const MAX_DNS_TCP_BUFFER: usize = 65_537;

/// Position of the packet that produced something.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct At {
    pub ts: Timestamp,
    pub packet: u64,
}

/// A DNS transaction as paired within its flow.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsTransaction {
    pub at: At,
    pub id: u16,
    pub query: String,
    pub qtype: u16,
    pub rcode: Option<u16>,
    pub answers: Vec<String>,
    /// The addresses among the answers (A, AAAA, NB), in wire order.
    pub addresses: Vec<std::net::IpAddr>,
    pub ttls: Vec<u32>,
    pub response_at: Option<At>,
    pub anomalies: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpTransaction {
    pub at: At,
    pub request: Option<http::HttpRequest>,
    pub response: Option<http::HttpResponse>,
    pub response_at: Option<At>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsHandshake {
    pub at: At,
    pub client: Option<tls::ClientHello>,
    pub server: Option<tls::ServerHello>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SshBanners {
    pub at: At,
    pub client: Option<String>,
    pub server: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StratumSession {
    pub at: At,
    pub messages: Vec<stratum::StratumMessage>,
}

/// Something the application layer found in a flow. Records only pass through the flow
/// table, which converts each to its event's fields as it is made (see `super::fields`); the
/// largest payloads are boxed to keep the enum small.
#[derive(Debug, Clone, PartialEq)]
pub enum AppRecord {
    Dns(DnsTransaction),
    Http(Box<HttpTransaction>),
    Tls(Box<TlsHandshake>),
    Ssh(SshBanners),
    Stratum(StratumSession),
    Dhcp(Box<DhcpRecord>),
}

/// One DHCP message of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct DhcpRecord {
    pub at: At,
    pub message: dhcp::DhcpMessage,
}

/// Counters of limits hit, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppLimits {
    pub dns_pending_overflow: u64,
    pub http_pending_overflow: u64,
    pub dns_tcp_oversize: u64,
}

/// Application state of one flow.
#[derive(Debug)]
pub enum AppState {
    /// Collecting the first bytes of each direction.
    Detect {
        prefix: [Vec<u8>; 2],
        at: Option<At>,
        ended: [bool; 2],
    },
    Dns(DnsPairing),
    Http(Box<HttpState>),
    Tls(Box<TlsState>),
    /// DTLS hellos over UDP, read by the TLS parser after [`dtls::to_tls_record`].
    Dtls(Box<TlsState>),
    Ssh(SshState),
    Stratum(StratumState),
    /// DHCP over UDP: every message is a record of its own.
    Dhcp,
    /// Neither side opened with a protocol seam knows: each chunk the client sends is checked,
    /// up to [`MAX_UPGRADE_SCAN`] bytes, for a TLS handshake that starts later in the stream
    /// (STARTTLS in SMTP, IMAP, POP3, FTP or XMPP; TLS after RDP's negotiation).
    Watch {
        seen: usize,
    },
    /// Service known (or none); nothing more to parse.
    Done,
}

impl Default for AppState {
    fn default() -> Self {
        AppState::Detect { prefix: [Vec::new(), Vec::new()], at: None, ended: [false, false] }
    }
}

const ORIG: usize = 0;
const RESP: usize = 1;

fn dir(from_orig: bool) -> usize {
    if from_orig {
        ORIG
    } else {
        RESP
    }
}

/// Output sink of the application layer.
pub struct Sink<'a> {
    pub records: &'a mut Vec<AppRecord>,
    pub limits: &'a mut AppLimits,
    /// Services recognised in this flow.
    pub services: &'a mut Vec<Service>,
}

impl Sink<'_> {
    fn service(&mut self, s: Service) {
        if !self.services.contains(&s) {
            self.services.push(s);
        }
    }
}

impl AppState {
    pub fn is_done(&self) -> bool {
        matches!(self, AppState::Done)
    }

    /// In-order stream bytes of a TCP direction.
    pub fn stream_data(&mut self, from_orig: bool, data: &[u8], at: At, sink: &mut Sink<'_>) {
        let d = dir(from_orig);
        match self {
            AppState::Detect { prefix, at: first_at, .. } => {
                first_at.get_or_insert(at);
                let room = DETECT_BYTES - prefix[d].len().min(DETECT_BYTES);
                prefix[d].extend_from_slice(&data[..data.len().min(room)]);
                self.try_detect(at, sink);
            }
            AppState::Http(h) => h.feed(d, data, at, sink),
            AppState::Tls(t) => {
                t.feed(d, data);
                if t.finished() {
                    t.emit(sink);
                    *self = AppState::Done;
                }
            }
            AppState::Ssh(s) => {
                s.feed(d, data);
                if s.finished() {
                    s.emit(sink);
                    *self = AppState::Done;
                }
            }
            AppState::Stratum(s) => {
                if d == ORIG {
                    s.feed(data);
                    if s.buf.len() >= MAX_STRATUM_BYTES {
                        s.emit(sink);
                        *self = AppState::Done;
                    }
                }
            }
            AppState::Dns(p) => p.tcp_feed(d, data, at, sink),
            // DTLS and DHCP live on UDP; a TCP stream never reaches these states.
            AppState::Dtls(_) | AppState::Dhcp => {}
            AppState::Watch { seen } => {
                if d == ORIG
                    && tls::looks_like_tls(data)
                    && matches!(tls::parse_client_hello(data), tls::HelloParse::Done(_) | tls::HelloParse::NeedMore)
                {
                    sink.service(Service::Tls);
                    let mut t = TlsState { at, ..TlsState::default() };
                    t.feed(ORIG, data);
                    *self = AppState::Tls(Box::new(t));
                } else if d == ORIG {
                    *seen += data.len();
                    if *seen >= MAX_UPGRADE_SCAN {
                        *self = AppState::Done;
                    }
                }
            }
            AppState::Done => {}
        }
    }

    /// Bytes of a TCP direction that were lost.
    pub fn stream_gap(&mut self, from_orig: bool, len: u64, at: At, sink: &mut Sink<'_>) {
        let d = dir(from_orig);
        match self {
            AppState::Http(h) => h.gap(d, len, at, sink),
            AppState::Dns(p) => p.tcp_buf[d].clear(),
            AppState::Detect { .. } => {
                self.finish(at, sink);
                *self = AppState::Done;
            }
            _ => {
                self.finish(at, sink);
                *self = AppState::Done;
            }
        }
    }

    /// One UDP datagram of a flow using `ports` (see [`UdpPorts`]).
    pub fn datagram(&mut self, from_orig: bool, payload: &[u8], at: At, sink: &mut Sink<'_>, ports: UdpPorts) {
        match self {
            AppState::Detect { prefix, .. } => {
                // The first datagrams decide: a DNS or NTP message (among the first four) or a
                // DTLS handshake (among the first sixteen, as WebRTC sends STUN before it), or
                // nothing seam models.
                let seen = prefix[ORIG].len() + prefix[RESP].len();
                if dhcp::looks_like_dhcp(payload) {
                    sink.service(Service::Dhcp);
                    dhcp_record(payload, at, sink);
                    *self = AppState::Dhcp;
                } else if seen < 4 && looks_like_dns_datagram(payload, ports.dns) {
                    sink.service(Service::Dns);
                    let mut p = DnsPairing::default();
                    p.message(from_orig, payload, at, sink);
                    *self = AppState::Dns(p);
                } else if seen < 4 && ports.ntp && ntp::looks_like_ntp(payload) {
                    // Nothing of NTP is kept beyond the service: the flow's counters say the rest.
                    sink.service(Service::Ntp);
                    *self = AppState::Done;
                } else if dtls::looks_like_dtls(payload) {
                    sink.service(Service::Tls);
                    let mut t = TlsState { at, ..TlsState::default() };
                    t.datagram(payload);
                    *self = AppState::Dtls(Box::new(t));
                } else {
                    prefix[dir(from_orig)].push(0);
                    if seen + 1 >= MAX_UDP_DETECT_DATAGRAMS {
                        *self = AppState::Done;
                    }
                }
            }
            AppState::Dns(p) => p.message(from_orig, payload, at, sink),
            AppState::Dhcp => dhcp_record(payload, at, sink),
            AppState::Dtls(t) => {
                t.datagram(payload);
                t.datagrams += 1;
                if t.has_both() || t.datagrams >= MAX_UDP_DETECT_DATAGRAMS {
                    t.emit(sink);
                    *self = AppState::Done;
                }
            }
            _ => {}
        }
    }

    /// A TCP direction ended (FIN/RST).
    pub fn stream_end(&mut self, from_orig: bool, at: At, sink: &mut Sink<'_>) {
        if let AppState::Detect { ended, .. } = self {
            ended[dir(from_orig)] = true;
            self.try_detect(at, sink);
        } else if let AppState::Http(h) = self {
            h.end(dir(from_orig), at, sink);
        }
    }

    /// The flow is over: everything pending is emitted.
    pub fn finish(&mut self, at: At, sink: &mut Sink<'_>) {
        match std::mem::replace(self, AppState::Done) {
            AppState::Detect { prefix, at: first_at, .. } => {
                // A last chance for short streams (a 10-byte request, a lone banner).
                let mut st = AppState::Detect { prefix, at: first_at, ended: [true, true] };
                st.try_detect(at, sink);
                if !matches!(st, AppState::Detect { .. } | AppState::Done) {
                    st.finish(at, sink);
                }
            }
            AppState::Dns(mut p) => p.flush(sink),
            AppState::Http(mut h) => h.finish(at, sink),
            AppState::Tls(mut t) | AppState::Dtls(mut t) => t.emit(sink),
            AppState::Ssh(s) => s.emit(sink),
            AppState::Stratum(s) => s.emit(sink),
            AppState::Watch { .. } | AppState::Dhcp | AppState::Done => {}
        }
    }

    fn try_detect(&mut self, at: At, sink: &mut Sink<'_>) {
        let AppState::Detect { prefix, at: first_at, ended } = self else { return };
        let first_at = first_at.unwrap_or(at);
        let verdicts = [detect(&prefix[ORIG], true, ended[ORIG]), detect(&prefix[RESP], false, ended[RESP])];
        let service = match verdicts {
            [Verdict::Match(s), _] | [_, Verdict::Match(s)] => s,
            [Verdict::No, Verdict::No] => {
                *self = AppState::Watch { seen: prefix[ORIG].len() };
                return;
            }
            _ if prefix[ORIG].len() >= DETECT_BYTES || prefix[RESP].len() >= DETECT_BYTES => {
                *self = AppState::Watch { seen: prefix[ORIG].len() };
                return;
            }
            _ => return,
        };
        sink.service(service);
        let prefix = std::mem::take(prefix);
        let mut next = match service {
            Service::Http => AppState::Http(Box::default()),
            Service::Tls => AppState::Tls(Box::new(TlsState { at: first_at, ..TlsState::default() })),
            Service::Ssh => AppState::Ssh(SshState { at: first_at, ..SshState::default() }),
            Service::Stratum => AppState::Stratum(StratumState { at: first_at, ..StratumState::default() }),
            Service::Dns => AppState::Dns(DnsPairing::default()),
            Service::Smb | Service::Dhcp | Service::Ntp => AppState::Done,
        };
        for (d, bytes) in prefix.iter().enumerate() {
            if !bytes.is_empty() {
                next.stream_data(d == ORIG, bytes, first_at, sink);
            }
        }
        *self = next;
    }
}

/// A DHCP datagram as a record; one that does not parse is left out (the flow still counts it).
fn dhcp_record(payload: &[u8], at: At, sink: &mut Sink<'_>) {
    if let Ok(message) = dhcp::parse(payload) {
        sink.records.push(AppRecord::Dhcp(Box::new(DhcpRecord { at, message })));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match(Service),
    Maybe,
    No,
}

/// Service of a direction from its first bytes.
fn detect(prefix: &[u8], from_orig: bool, ended: bool) -> Verdict {
    if prefix.is_empty() {
        return if ended { Verdict::No } else { Verdict::Maybe };
    }
    if tls::looks_like_tls(prefix) {
        return Verdict::Match(Service::Tls);
    }
    if ssh::looks_like_ssh(prefix) && prefix.len() >= 4 {
        return Verdict::Match(Service::Ssh);
    }
    let http_dir = if from_orig { http::Direction::Request } else { http::Direction::Response };
    if http::HttpStream::looks_like_http(prefix, http_dir) {
        return Verdict::Match(Service::Http);
    }
    if smb::looks_like_smb(prefix) {
        return Verdict::Match(Service::Smb);
    }
    match dns_tcp_verdict(prefix, ended) {
        Verdict::No => {}
        v => return v,
    }
    if from_orig && prefix.first() == Some(&b'{') {
        if stratum::looks_like_stratum(prefix) {
            return Verdict::Match(Service::Stratum);
        }
        if !prefix.contains(&b'\n') && !ended && prefix.len() < DETECT_BYTES {
            return Verdict::Maybe;
        }
    }
    if prefix.len() < MIN_DETECT_BYTES && !ended {
        Verdict::Maybe
    } else {
        Verdict::No
    }
}

/// Anomalies that make a message on an arbitrary port unlikely to be DNS at all.
const NOT_DNS: u16 = dns::DnsAnomalies::POINTER_LOOP
    | dns::DnsAnomalies::BAD_LABEL_TYPE
    | dns::DnsAnomalies::TRUNCATED_MESSAGE
    | dns::DnsAnomalies::TRAILING_BYTES
    | dns::DnsAnomalies::BAD_RDATA
    | dns::DnsAnomalies::NON_PRINTABLE_NAME;

/// A plausible DNS message on any port: standard opcode, one to four questions, none of the
/// structural anomalies random bytes produce.
fn plausible_dns(msg: &dns::DnsMessage) -> bool {
    msg.opcode <= 5 && (1..=4).contains(&msg.questions.len()) && msg.anomalies.0 & NOT_DNS == 0
}

fn looks_like_dns_datagram(payload: &[u8], dns_port: bool) -> bool {
    match dns::parse_message(payload) {
        Ok(m) if dns_port => !m.questions.is_empty() || m.is_response,
        Ok(m) => plausible_dns(&m),
        Err(_) => false,
    }
}

/// Ports registered for DNS and its multicast/NetBIOS relatives.
pub fn is_dns_port(port: u16) -> bool {
    matches!(port, 53 | 137 | 5353 | 5355)
}

/// The registered ports a UDP flow has at either end, for the protocols whose content is judged
/// with its port in mind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpPorts {
    /// A DNS port (see [`is_dns_port`]): there a message that parses at all is DNS, damaged or
    /// not; elsewhere it must also look clean, so that random UDP is not mistaken for it.
    pub dns: bool,
    /// The NTP port: NTP's header has too little to check for content alone to tell it (see
    /// [`ntp`]), so NTP is recognised only here.
    pub ntp: bool,
}

impl UdpPorts {
    pub fn of(orig_port: u16, resp_port: u16) -> UdpPorts {
        UdpPorts {
            dns: is_dns_port(orig_port) || is_dns_port(resp_port),
            ntp: orig_port == ntp::NTP_PORT || resp_port == ntp::NTP_PORT,
        }
    }
}

/// DNS over TCP from the first bytes: a complete plausible message, or — for messages longer
/// than the detection window, such as TKEY or zone transfers — a plausible header and first
/// question.
fn dns_tcp_verdict(prefix: &[u8], ended: bool) -> Verdict {
    match dns::tcp_frame(prefix) {
        dns::TcpFrame::Complete { msg_start, msg_len, .. } => {
            match prefix.get(msg_start..msg_start + msg_len).and_then(|m| dns::parse_message(m).ok()) {
                Some(m) if plausible_dns(&m) => Verdict::Match(Service::Dns),
                _ => Verdict::No,
            }
        }
        dns::TcpFrame::NeedMore { .. } => {
            let start = prefix.get(2..).and_then(|m| dns::parse_message(m).ok());
            let cut_short = dns::DnsAnomalies::TRUNCATED_MESSAGE | dns::DnsAnomalies::TRAILING_BYTES;
            match start {
                Some(m)
                    if m.opcode <= 5
                        && (1..=4).contains(&m.questions.len())
                        && m.anomalies.0 & NOT_DNS & !cut_short == 0 =>
                {
                    if prefix.len() >= DETECT_BYTES || ended {
                        Verdict::Match(Service::Dns)
                    } else {
                        Verdict::Maybe
                    }
                }
                _ => Verdict::No,
            }
        }
    }
}

/// DNS query ↔ response pairing within one flow.
#[derive(Debug, Default)]
pub struct DnsPairing {
    pending: VecDeque<DnsTransaction>,
    tcp_buf: [Vec<u8>; 2],
}

impl DnsPairing {
    fn message(&mut self, _from_orig: bool, payload: &[u8], at: At, sink: &mut Sink<'_>) {
        let Ok(msg) = dns::parse_message(payload) else { return };
        let question = msg.questions.first();
        let mut anomalies = msg.anomalies.names();
        if msg.opcode > 6 {
            anomalies.push("unknown_opcode");
        }
        if !msg.is_response {
            if self.pending.len() >= MAX_PENDING_DNS {
                if let Some(old) = self.pending.pop_front() {
                    sink.limits.dns_pending_overflow += 1;
                    sink.records.push(AppRecord::Dns(old));
                }
            }
            self.pending.push_back(DnsTransaction {
                at,
                id: msg.id,
                query: question.map(|q| q.name.clone()).unwrap_or_default(),
                qtype: question.map_or(0, |q| q.qtype),
                rcode: None,
                answers: Vec::new(),
                addresses: Vec::new(),
                ttls: Vec::new(),
                response_at: None,
                anomalies,
            });
            return;
        }
        let name = question.map(|q| q.name.as_str());
        let pos =
            self.pending.iter().position(|t| t.id == msg.id && name.is_none_or(|n| n.eq_ignore_ascii_case(&t.query)));
        let mut t = match pos.and_then(|p| self.pending.remove(p)) {
            Some(t) => t,
            // A response without a question (NetBIOS name-service and mDNS answers) is about
            // the name of its first answer.
            None => DnsTransaction {
                at,
                id: msg.id,
                query: name.or(msg.answers.first().map(|a| a.name.as_str())).unwrap_or_default().to_string(),
                qtype: question.map(|q| q.qtype).or(msg.answers.first().map(|a| a.rtype)).unwrap_or(0),
                rcode: None,
                answers: Vec::new(),
                addresses: Vec::new(),
                ttls: Vec::new(),
                response_at: None,
                // The query was not captured: no round-trip time can be known.
                anomalies: vec!["response_only"],
            },
        };
        t.rcode = Some(msg.rcode);
        // TKEY and TSIG are transaction meta-records, not answers.
        let answers = msg.answers.iter().filter(|a| !matches!(a.rtype, 249 | 250));
        t.answers = answers.clone().map(|a| a.data.clone()).collect();
        t.addresses = answers.clone().filter_map(|a| a.address).collect();
        t.ttls = answers.map(|a| a.ttl).collect();
        t.response_at = Some(at);
        for a in anomalies {
            if !t.anomalies.contains(&a) {
                t.anomalies.push(a);
            }
        }
        sink.records.push(AppRecord::Dns(t));
    }

    fn tcp_feed(&mut self, d: usize, data: &[u8], at: At, sink: &mut Sink<'_>) {
        self.tcp_buf[d].extend_from_slice(data);
        while let dns::TcpFrame::Complete { msg_start, msg_len, consumed } = dns::tcp_frame(&self.tcp_buf[d]) {
            let buf = &mut self.tcp_buf[d];
            let msg = buf.get(msg_start..msg_start + msg_len).map(<[u8]>::to_vec).unwrap_or_default();
            buf.drain(..consumed.min(buf.len()));
            self.message(d == ORIG, &msg, at, sink);
        }
        if self.tcp_buf[d].len() > MAX_DNS_TCP_BUFFER {
            sink.limits.dns_tcp_oversize += 1;
            self.tcp_buf[d].clear();
        }
    }

    fn flush(&mut self, sink: &mut Sink<'_>) {
        sink.records.extend(self.pending.drain(..).map(AppRecord::Dns));
    }
}

/// HTTP request ↔ response pairing.
#[derive(Debug)]
pub struct HttpState {
    streams: [http::HttpStream; 2],
    pending: VecDeque<(At, http::HttpRequest)>,
    /// Responses that completed before their request did (a server may answer before the
    /// request body ends, or the body is cut by the capture): paired when the request ends.
    early: VecDeque<(At, http::HttpResponse)>,
    out: Vec<http::HttpMessage>,
}

impl Default for HttpState {
    fn default() -> Self {
        HttpState {
            streams: [
                http::HttpStream::new(http::Direction::Request),
                http::HttpStream::new(http::Direction::Response),
            ],
            pending: VecDeque::new(),
            early: VecDeque::new(),
            out: Vec::new(),
        }
    }
}

impl HttpState {
    fn feed(&mut self, d: usize, data: &[u8], at: At, sink: &mut Sink<'_>) {
        self.streams[d].feed(data, &mut self.out);
        self.take(at, sink);
    }

    fn gap(&mut self, d: usize, len: u64, at: At, sink: &mut Sink<'_>) {
        self.streams[d].gap(len, &mut self.out);
        self.take(at, sink);
    }

    fn end(&mut self, d: usize, at: At, sink: &mut Sink<'_>) {
        self.streams[d].finish(&mut self.out);
        self.take(at, sink);
    }

    fn take(&mut self, at: At, sink: &mut Sink<'_>) {
        for msg in std::mem::take(&mut self.out) {
            match msg {
                http::HttpMessage::Request(req) => {
                    if let Some((resp_at, resp)) = self.early.pop_front() {
                        sink.records.push(AppRecord::Http(Box::new(HttpTransaction {
                            // The transaction dates from the earlier of the request's end and its answer.
                            at: if resp_at.ts < at.ts { resp_at } else { at },
                            request: Some(req),
                            response: Some(resp),
                            response_at: Some(resp_at),
                        })));
                        continue;
                    }
                    self.streams[RESP].expect_response_to(&req.method);
                    if self.pending.len() >= MAX_PENDING_HTTP {
                        if let Some((old_at, old)) = self.pending.pop_front() {
                            sink.limits.http_pending_overflow += 1;
                            sink.records.push(AppRecord::Http(Box::new(HttpTransaction {
                                at: old_at,
                                request: Some(old),
                                response: None,
                                response_at: None,
                            })));
                        }
                    }
                    self.pending.push_back((at, req));
                }
                http::HttpMessage::Response(resp) => {
                    // Interim 1xx responses do not answer the request.
                    if (100..200).contains(&resp.status) && resp.status != 101 {
                        continue;
                    }
                    let Some((req_at, request)) = self.pending.pop_front() else {
                        if self.early.len() >= MAX_PENDING_HTTP {
                            if let Some((a, r)) = self.early.pop_front() {
                                sink.limits.http_pending_overflow += 1;
                                sink.records.push(response_only(a, r));
                            }
                        }
                        self.early.push_back((at, resp));
                        continue;
                    };
                    let request = Some(request);
                    sink.records.push(AppRecord::Http(Box::new(HttpTransaction {
                        at: req_at,
                        request,
                        response: Some(resp),
                        response_at: Some(at),
                    })));
                }
            }
        }
    }

    fn finish(&mut self, at: At, sink: &mut Sink<'_>) {
        self.streams[ORIG].finish(&mut self.out);
        self.take(at, sink);
        self.streams[RESP].finish(&mut self.out);
        self.take(at, sink);
        for (a, req) in self.pending.drain(..) {
            sink.records.push(AppRecord::Http(Box::new(HttpTransaction {
                at: a,
                request: Some(req),
                response: None,
                response_at: None,
            })));
        }
        for (a, resp) in self.early.drain(..) {
            sink.records.push(response_only(a, resp));
        }
    }
}

/// A response whose request was never seen.
fn response_only(at: At, resp: http::HttpResponse) -> AppRecord {
    AppRecord::Http(Box::new(HttpTransaction { at, request: None, response: Some(resp), response_at: Some(at) }))
}

/// TLS hellos of both directions.
#[derive(Debug, Default)]
pub struct TlsState {
    at: At,
    buf: [Vec<u8>; 2],
    client: Option<tls::ClientHello>,
    server: Option<tls::ServerHello>,
    done: [bool; 2],
    /// Datagrams seen (DTLS).
    datagrams: usize,
}

impl TlsState {
    fn feed(&mut self, d: usize, data: &[u8]) {
        if self.done[d] {
            return;
        }
        let buf = &mut self.buf[d];
        let room = tls::MAX_HELLO_LEN.saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
        let full = buf.len() >= tls::MAX_HELLO_LEN;
        if d == ORIG {
            match tls::parse_client_hello(buf) {
                tls::HelloParse::Done(h) => {
                    self.client = Some(h);
                    self.done[d] = true;
                }
                tls::HelloParse::NeedMore if !full => {}
                _ => self.done[d] = true,
            }
        } else {
            match tls::parse_server_hello(buf) {
                tls::HelloParse::Done(h) => {
                    self.server = Some(h);
                    self.done[d] = true;
                }
                tls::HelloParse::NeedMore if !full => {}
                _ => self.done[d] = true,
            }
        }
        if self.done[d] {
            self.buf[d] = Vec::new();
        }
    }

    fn finished(&self) -> bool {
        self.done[ORIG] && self.done[RESP]
    }

    /// One DTLS datagram: a ClientHello or ServerHello in it fills its side.
    fn datagram(&mut self, payload: &[u8]) {
        match dtls::to_tls_record(payload) {
            // JA4's first character names the transport: `d` for DTLS.
            Some((1, record)) if self.client.is_none() => {
                if let tls::HelloParse::Done(mut h) = tls::parse_client_hello(&record) {
                    if h.ja4.starts_with('t') {
                        h.ja4.replace_range(..1, "d");
                    }
                    self.client = Some(h);
                }
            }
            Some((2, record)) if self.server.is_none() => {
                if let tls::HelloParse::Done(mut h) = tls::parse_server_hello(&record) {
                    if h.ja4s.starts_with('t') {
                        h.ja4s.replace_range(..1, "d");
                    }
                    self.server = Some(h);
                }
            }
            _ => {}
        }
    }

    fn has_both(&self) -> bool {
        self.client.is_some() && self.server.is_some()
    }

    /// Emits the handshake (the flow table then keeps only what its event carries: the
    /// fingerprints, not the raw lists behind them).
    fn emit(&mut self, sink: &mut Sink<'_>) {
        if self.client.is_none() && self.server.is_none() {
            return;
        }
        let (client, server) = (self.client.take(), self.server.take());
        sink.records.push(AppRecord::Tls(Box::new(TlsHandshake { at: self.at, client, server })));
    }
}

/// SSH identification strings.
#[derive(Debug, Default)]
pub struct SshState {
    at: At,
    buf: [Vec<u8>; 2],
    banner: [Option<String>; 2],
    done: [bool; 2],
}

impl SshState {
    fn feed(&mut self, d: usize, data: &[u8]) {
        if self.done[d] {
            return;
        }
        let buf = &mut self.buf[d];
        let room = ssh::MAX_BANNER_SEARCH.saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
        match ssh::parse_banner(buf) {
            ssh::BannerParse::Done(b) => {
                self.banner[d] = Some(b);
                self.done[d] = true;
            }
            ssh::BannerParse::NeedMore => {}
            ssh::BannerParse::NotSsh => self.done[d] = true,
        }
        if self.done[d] {
            self.buf[d] = Vec::new();
        }
    }

    fn finished(&self) -> bool {
        self.done[ORIG] && self.done[RESP]
    }

    fn emit(&self, sink: &mut Sink<'_>) {
        if self.banner.iter().any(Option::is_some) {
            sink.records.push(AppRecord::Ssh(SshBanners {
                at: self.at,
                client: self.banner[ORIG].clone(),
                server: self.banner[RESP].clone(),
            }));
        }
    }
}

/// Stratum calls of the client.
#[derive(Debug, Default)]
pub struct StratumState {
    at: At,
    buf: Vec<u8>,
}

impl StratumState {
    fn feed(&mut self, data: &[u8]) {
        let room = MAX_STRATUM_BYTES.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn emit(&self, sink: &mut Sink<'_>) {
        let messages = stratum::parse_lines(&self.buf);
        if !messages.is_empty() {
            sink.records.push(AppRecord::Stratum(StratumSession { at: self.at, messages }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// An mDNS announcement (a response with no question) on 5353 is DNS; the same bytes on a
    /// random port are not taken for DNS without a question.
    #[test]
    fn mdns_announcement_is_dns_on_its_port() {
        let msg = hex("0000840000000001000000040667656d696e69095f736674702d737368045f746370056c6f63616c000021800100000078000f0000000000160667656d696e69c022c039001c8001000000780010fe800000000000000217f2fffed7cf65c039000180010000007800048d8edc32c00c002f8001000000780009c00c00050000800040c039002f8001000000780008c039000440000008");
        assert!(looks_like_dns_datagram(&msg, true), "{:?}", dns::parse_message(&msg));
        assert!(!looks_like_dns_datagram(&msg, false));
    }

    /// The services a UDP flow gets from `datagrams` (originator first) between `ports`.
    fn udp_services(ports: (u16, u16), datagrams: &[&[u8]]) -> Vec<Service> {
        let (mut records, mut limits, mut services) = (Vec::new(), AppLimits::default(), Vec::new());
        let mut sink = Sink { records: &mut records, limits: &mut limits, services: &mut services };
        let mut app = AppState::default();
        for (i, d) in datagrams.iter().enumerate() {
            app.datagram(i % 2 == 0, d, At::default(), &mut sink, UdpPorts::of(ports.0, ports.1));
        }
        app.finish(At::default(), &mut sink);
        services
    }

    #[test]
    fn ntp_is_recognised_on_its_port_only() {
        let (request, reply) = ([0x23u8; 48], [0x24u8; 48]);
        assert_eq!(udp_services((123, 123), &[&request, &reply]), vec![Service::Ntp]);
        assert_eq!(udp_services((40_123, 123), &[&request, &reply]), vec![Service::Ntp]);
        // The same bytes elsewhere, and other bytes on 123 (mode 7: a monlist query), are not.
        assert_eq!(udp_services((40_123, 4_444), &[&request, &reply]), Vec::<Service>::new());
        let mut monlist = [0u8; 48];
        monlist[0] = 0x17;
        assert_eq!(udp_services((40_123, 123), &[&monlist]), Vec::<Service>::new());
        assert_eq!(UdpPorts::of(53, 40_000), UdpPorts { dns: true, ntp: false });
    }
}
