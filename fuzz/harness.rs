//! The code paths the fuzz targets drive, one function per target.
//!
//! Shared by the cargo-fuzz targets (`fuzz_targets/*.rs` include this file by path) and by the
//! regression tests in `tests/bad_input.rs` (which include it the same way), so that a minimised
//! crasher in `testdata/fuzz-regressions/<target>/` is replayed through exactly the code that
//! found it. Only `seam` and `std` may be used here: the test binary has no fuzzing crates.
//!
//! Every function takes arbitrary bytes and must return without panicking. Besides "no panic",
//! each checks contracts that seam documents (slices stay inside their input, counts agree, the
//! result does not depend on how a stream is split into reads or segments); a failed check is a
//! finding like a crash is.
#![allow(dead_code)]

use seam::app::read_and_decode;
use seam::decode::auditd::{self, Assembler, AssemblerLimits, AuditEvent, AuditLine};
use seam::decode::dns::{self, TcpFrame};
use seam::decode::http::{self, Direction, HttpMessage, HttpStream};
use seam::decode::packet::{self, Decoded, TransportView};
use seam::decode::tls::{self, HelloParse};
use seam::diag::Diagnostics;
use seam::evidence::{EvidenceFile, EvidenceKind};
use seam::flows::{FlowConfig, FlowTable, PacketIn};
use seam::sources::{read_capture, CaptureSummary};
use std::io::Read;

/// Link types the `packet` target picks from with its first byte: every type seam decodes and
/// one it does not (147, LINKTYPE_USER0).
pub const PACKET_LINK_TYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];

/// Whether `inner` lies within `outer` (both slices of the same input).
fn is_within(inner: &[u8], outer: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    inner.is_empty() || (o.start as usize <= i.start as usize && i.end as usize <= o.end as usize)
}

/// `packet`: byte 0 chooses the link type, the rest is the frame. Also runs `transport_from`
/// with byte 0 as the IP protocol number over the same bytes.
pub fn packet(data: &[u8]) {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = PACKET_LINK_TYPES[usize::from(selector) % PACKET_LINK_TYPES.len()];
    let decoded = packet::decode(link, frame);
    assert_eq!(
        matches!(decoded, Decoded::UnsupportedLink),
        !packet::link_type_supported(link),
        "UnsupportedLink exactly for the link types seam does not decode"
    );
    if let Decoded::Ip(ip) = decoded {
        let payload = match ip.transport {
            TransportView::Tcp { payload, .. }
            | TransportView::Udp { payload, .. }
            | TransportView::Icmp { payload, .. }
            | TransportView::Other { payload }
            | TransportView::Fragment { payload } => payload,
        };
        assert!(is_within(payload, frame), "the transport payload is a slice of the frame");
    }
    let _ = packet::transport_from(selector, frame);
}

/// Most DNS-over-TCP frames walked per input; the walk always advances, this only bounds time.
const MAX_TCP_FRAMES: usize = 256;

/// `dns`: the whole input as one message, then as a DNS-over-TCP stream of length-prefixed
/// messages, each parsed.
pub fn dns(data: &[u8]) {
    touch_dns(dns::parse_message(data));
    let mut rest = data;
    for _ in 0..MAX_TCP_FRAMES {
        match dns::tcp_frame(rest) {
            TcpFrame::Complete { msg_start, msg_len, consumed } => {
                let end = msg_start.checked_add(msg_len).expect("message end fits usize");
                assert!(end <= consumed && consumed <= rest.len(), "frame inside the buffer: {end} {consumed}");
                assert!(consumed > 0, "a complete frame consumes bytes");
                touch_dns(dns::parse_message(&rest[msg_start..end]));
                rest = &rest[consumed..];
            }
            TcpFrame::NeedMore { needed } => {
                assert!(needed > 0, "NeedMore asks for at least one byte");
                break;
            }
        }
    }
}

fn touch_dns(parsed: Result<dns::DnsMessage, dns::DnsError>) {
    let Ok(msg) = parsed else { return };
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    for q in &msg.questions {
        assert!(q.name.len() <= 4 * dns::MAX_NAME_LEN, "names are bounded (escaped bytes at most 4×)");
        assert!(printable(&q.name), "question names are printable ASCII: {:?}", q.name);
        let _ = dns::qtype_name(q.qtype);
    }
    for a in &msg.answers {
        assert!(a.name.len() <= 4 * dns::MAX_NAME_LEN, "names are bounded (escaped bytes at most 4×)");
        assert!(printable(&a.name) && printable(&a.data), "answers are printable ASCII: {a:?}");
    }
    let _ = dns::rcode_name(msg.rcode);
    let _ = msg.header_rcode();
    let _ = msg.anomalies.names();
}

/// Splits a stream into chunks of pseudo-random sizes up to a maximum picked by the seed's low
/// nibble (0 and 9: the whole stream in one chunk).
struct Chunks<'a> {
    rest: &'a [u8],
    state: u32,
    max: usize,
}

impl<'a> Chunks<'a> {
    fn new(data: &'a [u8], seed: u8) -> Self {
        let max = [usize::MAX, 1, 2, 3, 7, 16, 64, 300, 1460][usize::from(seed & 0x0f) % 9];
        Chunks { rest: data, state: 0x9e37_79b9 ^ u32::from(seed), max }
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = if self.max == usize::MAX { self.rest.len() } else { 1 + self.state as usize % self.max };
        let (chunk, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        Some(chunk)
    }
}

/// HTTP control header: 4 bytes before the streams.
pub const HTTP_HEADER_LEN: usize = 4;
/// Control flag: interleave the two directions chunk by chunk (as the flow layer does).
pub const HTTP_INTERLEAVE: u8 = 0x01;
/// Control flag: replace one chunk of each direction by a gap of its length.
pub const HTTP_GAP: u8 = 0x02;
/// Control flag: do not call `finish` at the end.
pub const HTTP_NO_FINISH: u8 = 0x04;

/// `http`: byte 0 seeds the chunk sizes, bytes 1–2 (big-endian) split the rest into the request
/// stream and the response stream, byte 3 holds the flags above (its high nibble picks the chunk
/// that becomes a gap). Requests announce their methods to the response stream, as the flow
/// layer does. Without interleaving or gaps, the messages must be exactly those of feeding each
/// direction in one piece: segmentation must never change what is decoded.
pub fn http(data: &[u8]) {
    let Some((head, streams)) = data.split_at_checked(HTTP_HEADER_LEN) else { return };
    let (seed, flags) = (head[0], head[3]);
    let split = usize::from(u16::from_be_bytes([head[1], head[2]])) % (streams.len() + 1);
    let (request, response) = streams.split_at(split);
    for dir in [Direction::Request, Direction::Response] {
        let _ = HttpStream::looks_like_http(request, dir);
        let _ = HttpStream::looks_like_http(response, dir);
    }
    let chunked = http_session(request, response, seed, flags);
    if flags & (HTTP_INTERLEAVE | HTTP_GAP) == 0 {
        let whole = http_session(request, response, 0, flags);
        assert_eq!(chunked, whole, "HTTP messages depend on how the stream was split (seed {seed})");
    }
}

/// Messages of both directions, in the order they completed.
fn http_session(request: &[u8], response: &[u8], seed: u8, flags: u8) -> Vec<HttpMessage> {
    let mut streams = [HttpStream::new(Direction::Request), HttpStream::new(Direction::Response)];
    let mut chunks = [Chunks::new(request, seed), Chunks::new(response, seed.rotate_left(4))];
    let gap_at = usize::from(flags >> 4);
    let mut out = Vec::new();
    let mut round = 0usize;
    let order: &[usize] = if flags & HTTP_INTERLEAVE != 0 { &[0, 1] } else { &[0] };
    loop {
        let mut progressed = false;
        for &d in order {
            progressed |= feed_chunk(&mut streams, &mut chunks, d, round == gap_at && flags & HTTP_GAP != 0, &mut out);
        }
        if !progressed {
            break;
        }
        round += 1;
    }
    if flags & HTTP_INTERLEAVE == 0 {
        // Every request is known before the first response byte.
        round = 0;
        while feed_chunk(&mut streams, &mut chunks, 1, round == gap_at && flags & HTTP_GAP != 0, &mut out) {
            round += 1;
        }
    }
    if flags & HTTP_NO_FINISH == 0 {
        let before = out.len();
        streams[0].finish(&mut out);
        announce_requests(&mut streams, &out[before..]);
        streams[1].finish(&mut out);
        assert!(streams.iter().all(HttpStream::is_dead), "finish leaves both streams dead");
    }
    for m in &out {
        let _ = (m.offset(), m.body_len(), m.body_kind(), m.anomalies());
        if let Some(req) = m.as_request() {
            assert!(req.method.len() <= http::MAX_METHOD_LEN, "method within MAX_METHOD_LEN");
        }
    }
    out
}

/// Feeds the next chunk of direction `d` (or a gap of its length); false when it has no more.
fn feed_chunk(
    streams: &mut [HttpStream; 2],
    chunks: &mut [Chunks<'_>; 2],
    d: usize,
    as_gap: bool,
    out: &mut Vec<HttpMessage>,
) -> bool {
    let Some(chunk) = chunks[d].next() else { return false };
    let before = out.len();
    if as_gap {
        streams[d].gap(chunk.len() as u64, out);
    } else {
        streams[d].feed(chunk, out);
    }
    assert!(streams[d].buffered_len() <= http::MAX_HEADER_BLOCK, "head buffer stays within MAX_HEADER_BLOCK");
    if d == 0 {
        let new: Vec<HttpMessage> = out[before..].to_vec();
        announce_requests(streams, &new);
    }
    true
}

fn announce_requests(streams: &mut [HttpStream; 2], msgs: &[HttpMessage]) {
    for m in msgs {
        if let Some(req) = m.as_request() {
            streams[1].expect_response_to(&req.method);
        }
    }
}

/// `tls`: the input as the first bytes of a client and of a server direction. A hello found in
/// a prefix must be the hello found in the whole input (more bytes never change a `Done`).
pub fn tls(data: &[u8]) {
    let _ = tls::looks_like_tls(data);
    let client = tls::parse_client_hello(data);
    let server = tls::parse_server_hello(data);
    for cut in [data.len() / 2, data.len().saturating_sub(1)] {
        let prefix = &data[..cut];
        if let HelloParse::Done(h) = tls::parse_client_hello(prefix) {
            assert_eq!(HelloParse::Done(h), client, "ClientHello of a {cut}-byte prefix differs from the whole");
        }
        if let HelloParse::Done(h) = tls::parse_server_hello(prefix) {
            assert_eq!(HelloParse::Done(h), server, "ServerHello of a {cut}-byte prefix differs from the whole");
        }
    }
    if let HelloParse::Done(h) = &client {
        let _ = tls::version_name(h.legacy_version);
        for &c in &h.cipher_suites {
            let _ = tls::cipher_name(c);
        }
    }
}

/// Shards the `capture` target compares against a single flow table.
pub const CAPTURE_SHARDS: usize = 3;

/// A reader that hands out at most 7 bytes per call, to move every refill boundary.
struct Dribble<'a>(&'a [u8]);

impl Read for Dribble<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(7).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// What a capture read produced, for comparing two reads of the same bytes.
#[derive(Debug, PartialEq)]
struct CaptureRead {
    summary: CaptureSummary,
    packets: Vec<(u64, i64, u32, u64, Vec<u8>)>,
    diags: Diagnostics,
}

/// `capture`: the input as a whole capture file, through `read_capture` and one flow table
/// exactly as `app::read_and_decode` wires them for one shard; then
/// - the same bytes through a reader returning 7 bytes per call, which must give the same
///   packets, summary and diagnostics (reads are never aligned with records in real files,
///   least of all through gzip);
/// - `app::read_and_decode` with [`CAPTURE_SHARDS`] shards, which must give the same flows,
///   application events, counters and diagnostics as one table (the contract of `flows::shard`).
pub fn capture(data: &[u8]) {
    let label = "fuzz.pcap";
    let mut diags = Diagnostics::new();
    let mut packet_diags = Diagnostics::new();
    let mut table = FlowTable::new(0, FlowConfig::default());
    let mut packets = Vec::new();
    let mut last_offset: Option<u64> = None;
    let summary = read_capture(data, label, &mut diags, |p| {
        assert_eq!(p.index, packets.len() as u64 + 1, "packet indexes count from 1 without gaps");
        assert!(last_offset.is_none_or(|o| p.offset > o), "record offsets increase");
        assert!(p.offset < data.len() as u64, "a record starts inside the file");
        last_offset = Some(p.offset);
        packets.push((p.index, p.ts, p.link, p.offset, p.data.to_vec()));
        let packet = PacketIn { ts: p.ts, index: p.index, link: p.link, data: p.data, offset: p.offset };
        table.process(packet, label, &mut packet_diags);
    });
    let source_diags = diags.clone();
    diags.merge(packet_diags);
    let flows = table.finish();
    flows.report(label, &mut diags);
    assert_eq!(summary.packets, packets.len() as u64, "summary counts every packet handed out");
    assert_eq!(flows.stats.packets, summary.packets, "the flow table saw every packet");
    assert!(summary.stream_bytes <= data.len() as u64, "no more bytes consumed than exist");

    let mut dribble_diags = Diagnostics::new();
    let mut dribble_packets = Vec::new();
    let dribble_summary = read_capture(Dribble(data), label, &mut dribble_diags, |p| {
        dribble_packets.push((p.index, p.ts, p.link, p.offset, p.data.to_vec()));
    });
    assert_eq!(
        CaptureRead { summary: summary.clone(), packets, diags: source_diags },
        CaptureRead { summary: dribble_summary, packets: dribble_packets, diags: dribble_diags },
        "reading in 7-byte pieces changed the result"
    );

    let file = EvidenceFile {
        id: 0,
        path: label.into(),
        display: label.into(),
        kind: EvidenceKind::Pcap,
        gzip: false,
        size: data.len() as u64,
        tag: 0,
    };
    let mut shard_diags = Diagnostics::new();
    let (shard_summary, shard_flows) =
        read_and_decode(data, &file, label, Some(FlowConfig::default()), CAPTURE_SHARDS, &mut shard_diags);
    let shard_flows = shard_flows.expect("flows are decoded when a flow config is given");
    shard_flows.report(label, &mut shard_diags);
    assert_eq!(shard_summary, summary, "sharding changed the capture summary");
    assert_eq!(shard_flows.flows, flows.flows, "sharding changed the flows");
    assert_eq!(shard_flows.app, flows.app, "sharding changed the application events");
    assert_eq!(shard_flows.stats, flows.stats, "sharding changed the flow counters");
    assert_eq!(shard_diags, diags, "sharding changed the diagnostics");

    // A mapped file is walked in place, not read into a buffer: the same records, flows and
    // diagnostics (a resync's search window must not depend on how the bytes arrive).
    if let Some(map) = anonymous_map(data) {
        let buf = seam::sources::buffer::StreamBuf::mapped(std::sync::Arc::new(map), Box::new(|_: &[u8]| {}));
        let mut map_diags = Diagnostics::new();
        let (map_summary, map_flows) =
            seam::app::decode_capture(buf, &file, label, Some(FlowConfig::default()), 1, &mut map_diags);
        let map_flows = map_flows.expect("flows are decoded when a flow config is given");
        map_flows.report(label, &mut map_diags);
        assert_eq!(map_summary, summary, "mapping changed the capture summary");
        assert_eq!(map_flows.flows, flows.flows, "mapping changed the flows");
        assert_eq!(map_diags, diags, "mapping changed the diagnostics");
    }
}

/// `data` in an anonymous read-only map, as a mapped file would be (none for no bytes).
fn anonymous_map(data: &[u8]) -> Option<memmap2::Mmap> {
    let mut map = memmap2::MmapMut::map_anon(data.len()).ok()?;
    map.copy_from_slice(data);
    map.make_read_only().ok()
}

/// `winevt`: the EVTX mapping layer. The bytes are tried as one record's JSON (as the evtx
/// crate renders it) and, when they start with the EVTX magic, as a whole event log; every
/// record read is mapped to an event and rendered into every timeline column.
pub fn winevt(data: &[u8]) {
    use seam::decode::winevt::parse_record_json;
    use seam::normalize::winevt::{map_record, RecordMeta};
    use seam::timeline::schema::{message, row_json, EVENT_COLUMNS};
    use seam::timeline::RowCtx;
    let ctx = RowCtx { files: vec!["fuzz.evtx".into()] };
    let meta = RecordMeta { file: 0, record_id: 1, written: 0, carved: false };
    if let Ok(record) = parse_record_json(data) {
        let event = map_record(record, meta);
        let _ = message(&event);
        let _ = row_json(&event, EVENT_COLUMNS, &ctx);
    }
    if data.starts_with(b"ElfFile\0") {
        let mut diags = Diagnostics::new();
        let mut events = Vec::new();
        let summary = seam::sources::evtx::read_evtx(
            Box::new(std::io::Cursor::new(data.to_vec())),
            "fuzz.evtx",
            1,
            false,
            &mut diags,
            move |raw| {
                let meta =
                    RecordMeta { file: 0, record_id: raw.record_id, written: raw.written, carved: raw.recovered };
                parse_record_json(raw.json).ok().map(|r| map_record(r, meta))
            },
            |event| events.extend(event),
        );
        assert!(events.len() as u64 <= summary.records + summary.carved, "more events than records");
        for event in &events {
            let _ = row_json(event, EVENT_COLUMNS, &ctx);
        }
    }
}

/// Tight limits for the second assembler of the `auditd` target, so that short inputs reach
/// eviction and the record limit.
pub const AUDITD_TIGHT_LIMITS: AssemblerLimits =
    AssemblerLimits { complete_after_secs: 2, max_pending_events: 3, max_pending_records: 8, max_records_per_event: 4 };

/// `auditd`: the input split into lines, each through `auditd::parse_line`; every record into
/// an `Assembler` with default limits and one with [`AUDITD_TIGHT_LIMITS`]; each event's argv,
/// proctitle and socket address decoded, and `sockaddr`/`proctitle_args` tried on every value.
/// Checks: an error's column lies within its line; a trailing `\n`/`\r\n` never changes a
/// parse; every record comes out of each assembler exactly once, in events whose records share
/// the event's key, in increasing first-line order, within the limits.
pub fn auditd(data: &[u8]) {
    let mut records: Vec<(u64, AuditLine)> = Vec::new();
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let parsed = auditd::parse_line(line);
        match &parsed {
            Ok(record) => {
                let _ = record.ts_ns();
                for (name, value) in &record.fields {
                    let _ = (auditd::is_encoded_field(&record.record_type, name), auditd::sockaddr(value));
                    let _ = auditd::proctitle_args(value);
                }
                let _ = auditd::execve_args([record]);
                let _ = record.interpreted.iter().count();
                records.push((n as u64 + 1, record.clone()));
            }
            Err(e) => assert!(e.column() <= line.len(), "error column {} past the line ({})", e.column(), line.len()),
        }
        if line.last() != Some(&b'\r') {
            let mut crlf = line.to_vec();
            crlf.extend_from_slice(b"\r\n");
            assert_eq!(auditd::parse_line(&crlf), parsed, "a trailing CR LF changed the parse");
        }
    }
    for limits in [AssemblerLimits::default(), AUDITD_TIGHT_LIMITS] {
        let mut assembler = Assembler::with_limits(limits);
        let mut events: Vec<AuditEvent> = Vec::new();
        for (n, record) in &records {
            assembler.push_into(*n, record.clone(), &mut events);
            assert!(assembler.pending() <= limits.max_pending_events, "pending events within the limit");
        }
        events.extend(assembler.finish());
        assert_eq!(assembler.pending(), 0, "finish leaves nothing pending");
        assert_eq!(assembler.stats().events, events.len() as u64, "every event counted");
        let total: usize = events.iter().map(|e| e.records.len()).sum();
        assert_eq!(total, records.len(), "every record comes out exactly once");
        assert!(events.windows(2).all(|w| w[0].first_line < w[1].first_line), "events in first-line order");
        for e in &events {
            assert!(!e.records.is_empty() && e.records.len() <= limits.max_records_per_event, "event size");
            assert!(
                e.records.iter().all(|r| (&r.node, r.sec, r.msec, r.serial) == (&e.node, e.sec, e.msec, e.serial)),
                "an event's records share its key"
            );
            assert_eq!(e.ts_ns, auditd::event_time_ns(e.sec, e.msec));
            let _ = (e.execve_args(), e.proctitle_args(), e.sockaddr(), e.field("SYSCALL", "exe"));
        }
    }
}
