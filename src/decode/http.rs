//! Streaming HTTP/1.x message parser for one direction of one TCP connection.
//!
//! Role: turn the reassembled byte stream of a client (requests) or server
//! (responses) into [`HttpMessage`] records whose fields line up with Zeek's
//! `http.log` (method, host, uri, status code, request/response body length),
//! plus a sniffed body type and a list of protocol anomalies.
//!
//! Input: in-order bytes of the direction via [`HttpStream::feed`], split at
//! arbitrary boundaries; capture losses via [`HttpStream::gap`]; end of
//! stream via [`HttpStream::finish`]. For responses, the methods of the
//! requests still waiting for an answer via
//! [`HttpStream::expect_response_to`]. All bytes are attacker-controlled
//! evidence.
//!
//! Output: completed messages appended to the caller's `Vec`, in stream
//! order. Strings are lossy UTF-8 of the bytes as sent (no URI decoding);
//! terminal escaping is the caller's job.
//!
//! Framing follows RFC 9112 §6: `Transfer-Encoding: chunked` (de-chunked
//! length counted, trailers consumed), else `Content-Length`, else no body
//! for requests and read-until-close for responses. Responses to HEAD and
//! 1xx/204/304 responses have no body; interim 1xx responses are messages of
//! their own; 101 and 2xx-to-CONNECT end HTTP on the connection.
//!
//! Limits: a message head is buffered up to [`MAX_HEADER_BLOCK`] bytes;
//! bodies are never stored beyond their first [`SNIFF_LEN`] bytes. Kept
//! method/URI/header values are cut to [`MAX_FIELD_LEN`] input bytes and
//! flagged. Memory per stream is therefore bounded by the head buffer plus a
//! small fixed state (the outstanding-request queue is capped too).
//!
//! Invariants: results do not depend on how the input was split across
//! `feed` calls; no input makes the parser panic, loop or grow without bound.
//! Input that is not HTTP at a message boundary, an unrecoverable framing
//! error, or a gap outside a body of known length makes the stream *dead*:
//! it then ignores further input and emits nothing more. Problems are
//! recorded as [`anomaly`] names on the message, never returned as errors.

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem;

use super::filetype::{self, FileKind, SNIFF_LEN};

/// Bytes of a request/response head buffered; larger heads are an anomaly,
/// the stream stops being parsed.
pub const MAX_HEADER_BLOCK: usize = 16 * 1024;
/// Header fields interpreted per head; later informational fields are
/// ignored (framing fields are still honoured, see [`HeadFields::apply`]).
pub const MAX_HEADERS: usize = 128;
/// Method/URI/header value bytes kept; longer values are cut and flagged.
pub const MAX_FIELD_LEN: usize = 2048;
/// Longest method token accepted. Registered methods are at most 17 bytes
/// (`BASELINE-CONTROL`), so a longer first token means "not HTTP" and we can
/// say so after a few bytes instead of buffering a whole head.
pub const MAX_METHOD_LEN: usize = 32;
/// Longest chunk-size line (size, extensions, CRLF). Real ones are tiny; a
/// long one is an evasion attempt or garbage.
pub const MAX_CHUNK_LINE: usize = 1024;
/// Runs of outstanding request kinds remembered for the response direction
/// (consecutive ordinary requests share one run), so a client that
/// pipelines without answers cannot grow the queue without bound.
pub const MAX_PENDING_RUNS: usize = 256;
/// Head buffer capacity kept between messages; a larger allocation left by
/// one big head is released rather than held for the connection's life.
const HEAD_RETAINED_CAPACITY: usize = 4 * 1024;
/// The response start line must begin with this (only HTTP/1.x is parsed).
const RESPONSE_PREFIX: &[u8] = b"HTTP/1.";
/// Version token prefix on both start lines.
const VERSION_PREFIX: &[u8] = b"HTTP/";

/// Methods accepted by [`HttpStream::looks_like_http`] (case-sensitive, as
/// methods are). Mid-stream the parser accepts any token as a method.
pub const KNOWN_METHODS: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "HEAD",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKCALENDAR",
    "MKACTIVITY",
    "MKWORKSPACE",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "MERGE",
    "LABEL",
    "UPDATE",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
    "ACL",
    "BIND",
    "UNBIND",
    "REBIND",
    "ORDERPATCH",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "NOTIFY",
    "POLL",
    "PURGE",
    "LINK",
    "UNLINK",
    "QUERY",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

/// Anomaly names attached to messages. Stable strings: they end up in
/// reports and are matched by rules.
pub mod anomaly {
    /// The stream ended (or lost bytes) inside the head.
    pub const INCOMPLETE_HEAD: &str = "incomplete_head";
    /// The stream ended before the framed body was complete.
    pub const INCOMPLETE_BODY: &str = "incomplete_body";
    /// The head exceeded `MAX_HEADER_BLOCK`; parsing stopped.
    pub const OVERSIZED_HEAD: &str = "oversized_head";
    /// Chunked trailers exceeded `MAX_HEADER_BLOCK`; parsing stopped.
    pub const OVERSIZED_TRAILER: &str = "oversized_trailer";
    /// A kept value was longer than `MAX_FIELD_LEN` and was cut.
    pub const FIELD_TRUNCATED: &str = "field_truncated";
    /// More than `MAX_HEADERS` header fields.
    pub const TOO_MANY_HEADERS: &str = "too_many_headers";
    /// A header line without a colon, with a bad name, or a fold with
    /// nothing to continue.
    pub const MALFORMED_HEADER: &str = "malformed_header";
    /// Whitespace between a header name and its colon (a smuggling trick).
    pub const HEADER_NAME_WHITESPACE: &str = "header_name_whitespace";
    /// Obsolete line folding was used.
    pub const OBS_FOLD: &str = "obs_fold";
    /// Content-Length not a plain decimal number.
    pub const INVALID_CONTENT_LENGTH: &str = "invalid_content_length";
    /// Several Content-Length values that disagree; the first is used.
    pub const CONFLICTING_CONTENT_LENGTH: &str = "conflicting_content_length";
    /// Both Transfer-Encoding and Content-Length (a smuggling indicator).
    pub const TE_AND_CL: &str = "te_and_cl";
    /// Transfer-Encoding whose final coding is not chunked.
    pub const UNSUPPORTED_TRANSFER_ENCODING: &str = "unsupported_transfer_encoding";
    /// A chunk-size line that is not hexadecimal or overflows 64 bits.
    pub const INVALID_CHUNK_SIZE: &str = "invalid_chunk_size";
    /// A chunk-size line longer than `MAX_CHUNK_LINE`.
    pub const CHUNK_LINE_TOO_LONG: &str = "chunk_line_too_long";
    /// Chunk data not followed by CRLF.
    pub const BAD_CHUNK_TERMINATOR: &str = "bad_chunk_terminator";
    /// Capture loss inside this message.
    pub const GAP: &str = "gap";
    /// Whitespace inside the request target.
    pub const URI_WHITESPACE: &str = "uri_whitespace";
    /// More than one Host header.
    pub const DUPLICATE_HOST: &str = "duplicate_host";
    /// HTTP/1.1 request without Host (required by RFC 9112 §3.2).
    pub const MISSING_HOST: &str = "missing_host";
    /// HTTP/1.x with a minor version other than 0 or 1.
    pub const UNKNOWN_VERSION: &str = "unknown_version";
}

/// Which side of the connection a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// One client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Request target exactly as sent (no percent-decoding).
    pub uri: String,
    /// `"1.1"`, `"1.0"` (the part after `HTTP/`), or `"0.9"` for a simple
    /// request line without version.
    pub version: String,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub referrer: Option<String>,
    pub content_length: Option<u64>,
    /// Decoded body bytes (de-chunked), including bytes lost in gaps.
    pub body_len: u64,
    pub body_kind: Option<FileKind>,
    /// First bytes of the decoded body, at most [`SNIFF_LEN`].
    pub body_prefix: Vec<u8>,
    pub anomalies: Vec<&'static str>,
    /// Stream offset of the first byte of this message.
    pub offset: u64,
}

/// One server response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// `"1.1"` or `"1.0"` (the part after `HTTP/`).
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub server: Option<String>,
    pub location: Option<String>,
    /// Decoded body bytes (de-chunked), including bytes lost in gaps.
    pub body_len: u64,
    pub body_kind: Option<FileKind>,
    /// First bytes of the decoded body, at most [`SNIFF_LEN`].
    pub body_prefix: Vec<u8>,
    pub anomalies: Vec<&'static str>,
    /// Stream offset of the first byte of this message.
    pub offset: u64,
}

/// A completed request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpMessage {
    Request(HttpRequest),
    Response(HttpResponse),
}

impl HttpMessage {
    pub fn as_request(&self) -> Option<&HttpRequest> {
        match self {
            HttpMessage::Request(r) => Some(r),
            HttpMessage::Response(_) => None,
        }
    }

    pub fn as_response(&self) -> Option<&HttpResponse> {
        match self {
            HttpMessage::Response(r) => Some(r),
            HttpMessage::Request(_) => None,
        }
    }

    pub fn offset(&self) -> u64 {
        match self {
            HttpMessage::Request(r) => r.offset,
            HttpMessage::Response(r) => r.offset,
        }
    }

    pub fn body_len(&self) -> u64 {
        match self {
            HttpMessage::Request(r) => r.body_len,
            HttpMessage::Response(r) => r.body_len,
        }
    }

    pub fn body_kind(&self) -> Option<FileKind> {
        match self {
            HttpMessage::Request(r) => r.body_kind,
            HttpMessage::Response(r) => r.body_kind,
        }
    }

    pub fn anomalies(&self) -> &[&'static str] {
        match self {
            HttpMessage::Request(r) => &r.anomalies,
            HttpMessage::Response(r) => &r.anomalies,
        }
    }

    fn add_anomaly(&mut self, name: &'static str) {
        let list = match self {
            HttpMessage::Request(r) => &mut r.anomalies,
            HttpMessage::Response(r) => &mut r.anomalies,
        };
        push_unique(list, name);
    }

    fn body_mut(&mut self) -> (&mut u64, &mut Vec<u8>, &mut Option<FileKind>) {
        match self {
            HttpMessage::Request(r) => (&mut r.body_len, &mut r.body_prefix, &mut r.body_kind),
            HttpMessage::Response(r) => (&mut r.body_len, &mut r.body_prefix, &mut r.body_kind),
        }
    }
}

/// Parser state for one direction of one connection.
#[derive(Debug)]
pub struct HttpStream {
    dir: Direction,
    state: State,
    /// Stream offset of the next byte (fed or lost).
    pos: u64,
    head: Head,
    pending: PendingRequests,
}

#[derive(Debug)]
enum State {
    /// Between messages or inside a head (bytes go to `HttpStream::head`).
    Head,
    /// Head done, counting the body of this message.
    Body(Box<Body>),
    /// Not HTTP, unrecoverable, or finished: input is ignored.
    Dead,
}

impl HttpStream {
    pub fn new(dir: Direction) -> Self {
        HttpStream { dir, state: State::Head, pos: 0, head: Head::default(), pending: PendingRequests::default() }
    }

    pub fn direction(&self) -> Direction {
        self.dir
    }

    /// Feed the next in-order bytes of this direction. Completed messages
    /// are pushed to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<HttpMessage>) {
        let mut rest = data;
        while !rest.is_empty() {
            let used = match self.state {
                State::Dead => return,
                State::Head => self.feed_head(rest, out),
                State::Body(_) => match mem::replace(&mut self.state, State::Dead) {
                    State::Body(body) => self.feed_body(body, rest, out),
                    _ => return,
                },
            };
            // Each step consumes at least one byte unless it killed the
            // stream; the guard keeps a future bug from looping forever.
            if used == 0 && !self.is_dead() {
                debug_assert!(false, "parser step made no progress");
                self.kill();
            }
            self.pos = self.pos.saturating_add(len_u64(used));
            rest = rest.get(used..).unwrap_or_default();
        }
    }

    /// `len` bytes of this direction were lost (capture gap). A gap inside a
    /// body of known length counts toward `body_len` (the body prefix stops
    /// growing, since what follows is no longer contiguous); a gap anywhere
    /// else emits the message in progress, if any, flagged [`anomaly::GAP`],
    /// and makes the stream dead.
    pub fn gap(&mut self, len: u64, out: &mut Vec<HttpMessage>) {
        if len == 0 {
            return;
        }
        self.pos = self.pos.saturating_add(len);
        match mem::replace(&mut self.state, State::Dead) {
            State::Dead => {}
            State::Head => {
                if !self.head.bytes.is_empty() {
                    self.abandon_head(&[anomaly::GAP, anomaly::INCOMPLETE_HEAD], out);
                }
                self.kill();
            }
            State::Body(mut body) => {
                body.msg.add_anomaly(anomaly::GAP);
                match body.skip(len) {
                    Progress::More => self.state = State::Body(body),
                    Progress::Done => {
                        emit(body.msg, out);
                        self.state = State::Head;
                    }
                    Progress::Failed(_) => {
                        emit(body.msg, out);
                        self.kill();
                    }
                }
            }
        }
    }

    /// End of stream (FIN/RST/end of capture). A body delimited by the
    /// connection close ends here; a body cut short is emitted flagged
    /// [`anomaly::INCOMPLETE_BODY`]; a head cut mid-way is emitted, flagged
    /// [`anomaly::INCOMPLETE_HEAD`], only if its start line parses. The
    /// stream is dead afterwards.
    pub fn finish(&mut self, out: &mut Vec<HttpMessage>) {
        match mem::replace(&mut self.state, State::Dead) {
            State::Dead => {}
            State::Head => {
                if !self.head.bytes.is_empty() {
                    self.abandon_head(&[anomaly::INCOMPLETE_HEAD], out);
                }
            }
            State::Body(mut body) => {
                if !matches!(body.decoder, Decoder::UntilClose) {
                    body.msg.add_anomaly(anomaly::INCOMPLETE_BODY);
                }
                emit(body.msg, out);
            }
        }
        self.kill();
    }

    /// For the response direction: the next request, in order, used
    /// `method`, so its response is framed accordingly (HEAD: no body;
    /// CONNECT with 2xx: the tunnel starts). Ignored on the request direction
    /// and once the stream is dead. Call it before the response's head is
    /// fed (in capture order a request precedes its response, so a caller
    /// feeding both directions in time order gets this for free). At most
    /// [`MAX_PENDING_RUNS`] runs are
    /// remembered; beyond that, methods are dropped and their responses are
    /// framed as ordinary ones.
    pub fn expect_response_to(&mut self, method: &str) {
        if self.dir == Direction::Response && !self.is_dead() {
            self.pending.push(RequestKind::of(method));
        }
    }

    /// Not HTTP, unrecoverable, or finished: the caller may stop feeding.
    pub fn is_dead(&self) -> bool {
        matches!(self.state, State::Dead)
    }

    /// Bytes currently buffered for an unfinished head; never above
    /// [`MAX_HEADER_BLOCK`].
    pub fn buffered_len(&self) -> usize {
        self.head.bytes.len()
    }

    /// Cheap content-based service detection on the first bytes of a
    /// direction: a known method followed by a space and a visible character
    /// (requests), or `HTTP/1.` (responses). Leading empty lines are skipped.
    /// Too few bytes to see the whole method and space answer `false`.
    pub fn looks_like_http(prefix: &[u8], dir: Direction) -> bool {
        let start = prefix.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        let p = prefix.get(start..).unwrap_or_default();
        match dir {
            Direction::Response => p.starts_with(RESPONSE_PREFIX),
            // A method followed by a space: no method holds one, so the first space ends the
            // word to look up, and a payload with none early on is rejected without a compare.
            Direction::Request => {
                let window = p.get(..=MAX_METHOD_LEN).unwrap_or(p);
                let Some(space) = window.iter().position(|&b| b == b' ') else { return false };
                let word = p.get(..space).unwrap_or_default();
                KNOWN_METHODS.iter().any(|m| m.as_bytes() == word) && p.get(space + 1).is_none_or(u8::is_ascii_graphic)
            }
        }
    }

    /// Stop parsing for good and release the buffers.
    fn kill(&mut self) {
        self.state = State::Dead;
        self.head = Head::default();
        self.pending = PendingRequests::default();
    }

    /// Buffer head bytes until the empty line that ends the head. Returns
    /// the bytes consumed.
    fn feed_head(&mut self, data: &[u8], out: &mut Vec<HttpMessage>) -> usize {
        let mut used = 0;
        if self.head.bytes.is_empty() {
            // RFC 9112 §2.2: empty lines before a start line are ignored
            // (clients send a stray CRLF after a POST body).
            used = data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            if used == data.len() {
                return used;
            }
            self.head.offset = self.pos.saturating_add(len_u64(used));
        }
        for &b in data.get(used..).unwrap_or_default() {
            if self.head.bytes.len() >= MAX_HEADER_BLOCK {
                self.abandon_head(&[anomaly::OVERSIZED_HEAD], out);
                return used;
            }
            self.head.bytes.push(b);
            used += 1;
            match self.head.advance(b, self.dir) {
                Advance::More => {}
                Advance::NotHttp => {
                    self.kill();
                    return used;
                }
                Advance::StartLineEnd => {
                    if !self.start_line_done(out) {
                        return used;
                    }
                }
                Advance::HeadEnd => {
                    self.head_done(out);
                    return used;
                }
            }
        }
        used
    }

    /// The first LF of a head arrived: parse the start line now, so junk
    /// dies early and an HTTP/0.9 simple request (which has no headers)
    /// completes. Returns whether to keep buffering this head.
    fn start_line_done(&mut self, out: &mut Vec<HttpMessage>) -> bool {
        let mut anomalies = mem::take(&mut self.head.anomalies);
        let line = strip_line_end(&self.head.bytes);
        match parse_start_line(line, self.dir, &mut anomalies) {
            None => {
                self.kill();
                false
            }
            Some(start @ StartLine::Request { simple: true, .. }) => {
                let offset = self.head.offset;
                self.head.reset();
                self.dispatch(start, HeadFields::new(anomalies), offset, out);
                false
            }
            Some(start) => {
                self.head.anomalies = anomalies;
                self.head.headers_from = self.head.bytes.len();
                self.head.start = Some(start);
                true
            }
        }
    }

    /// The empty line ending the head arrived: build the message and frame
    /// its body.
    fn head_done(&mut self, out: &mut Vec<HttpMessage>) {
        let mut head = mem::take(&mut self.head);
        let Some(start) = head.start.take() else {
            // Unreachable: the head only ends after a parsed start line.
            self.kill();
            return;
        };
        let mut fields = HeadFields::new(mem::take(&mut head.anomalies));
        parse_headers(head.bytes.get(head.headers_from..).unwrap_or_default(), &mut fields);
        let offset = head.offset;
        head.reset();
        self.head = head;
        self.dispatch(start, fields, offset, out);
    }

    /// Give up on the head being buffered (oversize, gap, end of stream):
    /// emit what its complete lines say if the start line parses, without a
    /// body, flagged with `why`. The stream is dead afterwards.
    fn abandon_head(&mut self, why: &[&'static str], out: &mut Vec<HttpMessage>) {
        let head = mem::take(&mut self.head);
        self.kill();
        let mut anomalies = head.anomalies;
        let (start, block) = match head.start {
            Some(start) => {
                let end = head.bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i.saturating_add(1));
                let block = head.bytes.get(head.headers_from..end).unwrap_or_default();
                (start, block)
            }
            None => {
                // An unterminated start line: accept it only with a version,
                // since a cut 1.x line would otherwise pass for HTTP/0.9.
                match parse_start_line(strip_line_end(&head.bytes), self.dir, &mut anomalies) {
                    Some(StartLine::Request { simple: true, .. }) | None => return,
                    Some(start) => (start, &[][..]),
                }
            }
        };
        let mut fields = HeadFields::new(anomalies);
        parse_headers(block, &mut fields);
        for &name in why {
            fields.flag(name);
        }
        emit(build_message(start, fields, head.offset), out);
    }

    /// Decide the body framing of a parsed head and either emit the message
    /// (no body) or start counting its body.
    fn dispatch(&mut self, start: StartLine, mut fields: HeadFields, offset: u64, out: &mut Vec<HttpMessage>) {
        let (framing, after) = match &start {
            StartLine::Request { .. } => (fields.body_framing(Direction::Request), After::Continue),
            StartLine::Response { status, .. } => {
                let status = *status;
                // An interim 1xx answers nothing yet: the request it belongs
                // to still waits for its final response.
                let kind = if is_interim(status) { self.pending.front() } else { self.pending.pop() };
                response_framing(status, kind, &mut fields)
            }
        };
        let msg = build_message(start, fields, offset);
        let decoder = match framing {
            Framing::None => {
                emit(msg, out);
                if after == After::Dead {
                    self.kill();
                }
                return;
            }
            Framing::Length(n) => Decoder::Length(n),
            Framing::Chunked => Decoder::Chunked(Chunk::start()),
            Framing::UntilClose => Decoder::UntilClose,
        };
        self.state = State::Body(Box::new(Body { msg, decoder, prefix_open: true }));
    }

    fn feed_body(&mut self, mut body: Box<Body>, data: &[u8], out: &mut Vec<HttpMessage>) -> usize {
        let (used, progress) = body.feed(data);
        match progress {
            Progress::More => self.state = State::Body(body),
            Progress::Done => {
                emit(body.msg, out);
                self.state = State::Head;
            }
            Progress::Failed(why) => {
                body.msg.add_anomaly(why);
                emit(body.msg, out);
                self.kill();
            }
        }
        used
    }
}

/// Finalise a message: identify the body from its kept prefix.
fn emit(mut msg: HttpMessage, out: &mut Vec<HttpMessage>) {
    let (_, prefix, kind) = msg.body_mut();
    *kind = filetype::sniff(prefix);
    out.push(msg);
}

// ---------------------------------------------------------------------------
// Head buffering and start line

/// Where the head scanner is relative to line starts, to spot the empty
/// line (`\n\n` or `\n\r\n`) that ends a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum LinePos {
    #[default]
    Mid,
    Start,
    StartCr,
}

#[derive(Debug, Default)]
struct Head {
    /// Raw head bytes, at most `MAX_HEADER_BLOCK`.
    bytes: Vec<u8>,
    line: LinePos,
    /// Parsed once the first line is complete.
    start: Option<StartLine>,
    /// Index in `bytes` where the header lines begin.
    headers_from: usize,
    /// Start-line anomalies, carried over to the message.
    anomalies: Vec<&'static str>,
    /// Stream offset of `bytes[0]`.
    offset: u64,
}

enum Advance {
    More,
    NotHttp,
    StartLineEnd,
    HeadEnd,
}

impl Head {
    fn reset(&mut self) {
        if self.bytes.capacity() > HEAD_RETAINED_CAPACITY {
            self.bytes = Vec::new();
        } else {
            self.bytes.clear();
        }
        self.line = LinePos::Mid;
        self.start = None;
        self.headers_from = 0;
        self.anomalies.clear();
        self.offset = 0;
    }

    /// Account for byte `b`, already appended to `bytes`.
    fn advance(&mut self, b: u8, dir: Direction) -> Advance {
        let empty_line_end = b == b'\n' && self.line != LinePos::Mid;
        self.line = match (b, self.line) {
            (b'\n', _) => LinePos::Start,
            (b'\r', LinePos::Start) => LinePos::StartCr,
            _ => LinePos::Mid,
        };
        if self.start.is_none() {
            if b == b'\n' {
                Advance::StartLineEnd
            } else if self.bytes.len() > PLAUSIBILITY_WINDOW || start_prefix_plausible(&self.bytes, dir) {
                Advance::More
            } else {
                Advance::NotHttp
            }
        } else if empty_line_end {
            Advance::HeadEnd
        } else {
            Advance::More
        }
    }
}

/// Bytes of a first line after which [`start_prefix_plausible`] cannot
/// change its answer: a method and its space, or `HTTP/1.`.
const PLAUSIBILITY_WINDOW: usize = MAX_METHOD_LEN + 1;

/// Whether an unfinished first line can still become a start line. Only
/// the first [`PLAUSIBILITY_WINDOW`] bytes decide; a line that passed at that
/// length passes at any longer one, so callers stop asking then.
fn start_prefix_plausible(line: &[u8], dir: Direction) -> bool {
    match dir {
        Direction::Response => {
            let n = line.len().min(RESPONSE_PREFIX.len());
            line.get(..n) == RESPONSE_PREFIX.get(..n)
        }
        Direction::Request => {
            for (i, &b) in line.iter().take(MAX_METHOD_LEN.saturating_add(1)).enumerate() {
                if b == b' ' {
                    return i > 0;
                }
                if !is_tchar(b) {
                    return false;
                }
            }
            line.len() <= MAX_METHOD_LEN
        }
    }
}

#[derive(Debug)]
enum StartLine {
    Request {
        method: String,
        uri: String,
        version: String,
        /// HTTP/0.9 simple request: no version, no headers, no body.
        simple: bool,
    },
    Response {
        version: String,
        status: u16,
        reason: String,
    },
}

fn parse_start_line(line: &[u8], dir: Direction, anomalies: &mut Vec<&'static str>) -> Option<StartLine> {
    match dir {
        Direction::Request => parse_request_line(line, anomalies),
        Direction::Response => parse_status_line(line, anomalies),
    }
}

/// `method SP request-target SP HTTP-version`. The target is everything
/// between the first and the last space, so targets with raw spaces (seen
/// from broken or hostile clients) survive, flagged. A GET line without a
/// version is an HTTP/0.9 simple request.
fn parse_request_line(line: &[u8], anomalies: &mut Vec<&'static str>) -> Option<StartLine> {
    let sp = line.iter().position(|&b| b == b' ')?;
    let (method, rest) = line.split_at_checked(sp)?;
    if method.len() > MAX_METHOD_LEN || !is_token(method) {
        return None;
    }
    let rest = trim_ows(rest);
    let (target, version_tok) = match rest.iter().rposition(|&b| b == b' ' || b == b'\t') {
        Some(i) => (trim_ows(rest.get(..i)?), rest.get(i.saturating_add(1)..)?),
        None => (rest, &[][..]),
    };
    let (uri, version, simple) = if version_tok.starts_with(VERSION_PREFIX) {
        (target, parse_version(version_tok, anomalies)?, false)
    } else if method == b"GET" {
        (rest, "0.9".to_owned(), true)
    } else {
        return None;
    };
    if uri.is_empty() {
        return None;
    }
    if uri.iter().any(|&b| b == b' ' || b == b'\t') {
        push_unique(anomalies, anomaly::URI_WHITESPACE);
    }
    Some(StartLine::Request { method: lossy(method), uri: field(uri, anomalies), version, simple })
}

/// `HTTP-version SP 3DIGIT [SP reason]`; a missing reason is accepted.
fn parse_status_line(line: &[u8], anomalies: &mut Vec<&'static str>) -> Option<StartLine> {
    let sp = line.iter().position(|&b| b == b' ')?;
    let (version_tok, rest) = line.split_at_checked(sp)?;
    let version = parse_version(version_tok, anomalies)?;
    let [a, b, c, tail @ ..] = trim_ows(rest) else {
        return None;
    };
    let status = digit(*a)?.checked_mul(100)?.checked_add(digit(*b)?.checked_mul(10)?)?.checked_add(digit(*c)?)?;
    if status < 100 || tail.first().is_some_and(|&t| t != b' ' && t != b'\t') {
        return None;
    }
    Some(StartLine::Response { version, status, reason: field(trim_ows(tail), anomalies) })
}

/// `HTTP/1.<digit>` → `"1.<digit>"`. Other majors are not HTTP/1.x (an h2
/// preface, for instance) and are rejected.
fn parse_version(tok: &[u8], anomalies: &mut Vec<&'static str>) -> Option<String> {
    match tok.strip_prefix(VERSION_PREFIX)? {
        [b'1', b'.', minor] if minor.is_ascii_digit() => {
            if !matches!(minor, b'0' | b'1') {
                push_unique(anomalies, anomaly::UNKNOWN_VERSION);
            }
            Some(format!("1.{}", char::from(*minor)))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Header fields

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Host,
    UserAgent,
    ContentType,
    Referrer,
    Server,
    Location,
}

/// Header names we keep, matched case-insensitively.
const SLOTS: &[(&[u8], Slot)] = &[
    (b"host", Slot::Host),
    (b"user-agent", Slot::UserAgent),
    (b"content-type", Slot::ContentType),
    (b"referer", Slot::Referrer),
    (b"server", Slot::Server),
    (b"location", Slot::Location),
];

/// Final transfer coding of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Coding {
    /// No Transfer-Encoding (or only `identity`).
    #[default]
    Identity,
    Chunked,
    Other,
}

/// What the header lines of one head say.
#[derive(Debug, Default)]
struct HeadFields {
    host: Option<String>,
    user_agent: Option<String>,
    content_type: Option<String>,
    referrer: Option<String>,
    server: Option<String>,
    location: Option<String>,
    /// First valid Content-Length.
    content_length: Option<u64>,
    content_length_seen: bool,
    coding: Coding,
    count: usize,
    anomalies: Vec<&'static str>,
}

impl HeadFields {
    fn new(anomalies: Vec<&'static str>) -> Self {
        HeadFields { anomalies, ..HeadFields::default() }
    }

    fn flag(&mut self, name: &'static str) {
        push_unique(&mut self.anomalies, name);
    }

    /// Interpret one (unfolded) header field. Framing fields are honoured
    /// even past `MAX_HEADERS`, because ignoring them would misplace every
    /// later message; informational ones past it are dropped. For kept
    /// fields the last occurrence wins, as in Zeek's http.log.
    fn apply(&mut self, name: &[u8], value: &[u8]) {
        self.count = self.count.saturating_add(1);
        let within_limit = self.count <= MAX_HEADERS;
        if !within_limit {
            self.flag(anomaly::TOO_MANY_HEADERS);
        }
        let value = trim_ows(value);
        if name.eq_ignore_ascii_case(b"content-length") {
            self.content_length(value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding(value);
        } else if within_limit {
            if let Some(slot) = slot_of(name) {
                if slot == Slot::Host && self.host.is_some() {
                    self.flag(anomaly::DUPLICATE_HOST);
                }
                let kept = field(value, &mut self.anomalies);
                *self.slot_mut(slot) = Some(kept);
            }
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut Option<String> {
        match slot {
            Slot::Host => &mut self.host,
            Slot::UserAgent => &mut self.user_agent,
            Slot::ContentType => &mut self.content_type,
            Slot::Referrer => &mut self.referrer,
            Slot::Server => &mut self.server,
            Slot::Location => &mut self.location,
        }
    }

    /// RFC 9110 §8.6: a decimal number, or a list of identical ones. The
    /// first valid value frames the body; disagreement is flagged.
    fn content_length(&mut self, value: &[u8]) {
        self.content_length_seen = true;
        let Some(n) = parse_content_length(value) else {
            self.flag(anomaly::INVALID_CONTENT_LENGTH);
            return;
        };
        match self.content_length {
            None => self.content_length = Some(n),
            Some(first) if first != n => self.flag(anomaly::CONFLICTING_CONTENT_LENGTH),
            Some(_) => {}
        }
    }

    /// Codings accumulate across lines; only the final one decides framing.
    fn transfer_encoding(&mut self, value: &[u8]) {
        for coding in value.split(|&b| b == b',').map(trim_ows) {
            if coding.is_empty() || coding.eq_ignore_ascii_case(b"identity") {
                continue;
            }
            self.coding = if coding.eq_ignore_ascii_case(b"chunked") { Coding::Chunked } else { Coding::Other };
        }
    }

    /// RFC 9112 §6.3 for requests and for responses that may have a body.
    fn body_framing(&mut self, dir: Direction) -> Framing {
        if self.coding != Coding::Identity && self.content_length_seen {
            self.flag(anomaly::TE_AND_CL);
        }
        match (self.coding, self.content_length, dir) {
            (Coding::Chunked, _, _) => Framing::Chunked,
            (Coding::Other, _, _) => {
                // Neither side can find the end: the server answers 400 and
                // closes, so whatever follows belongs to this message.
                self.flag(anomaly::UNSUPPORTED_TRANSFER_ENCODING);
                Framing::UntilClose
            }
            (Coding::Identity, Some(0), _) => Framing::None,
            (Coding::Identity, Some(n), _) => Framing::Length(n),
            (Coding::Identity, None, Direction::Request) => Framing::None,
            (Coding::Identity, None, Direction::Response) => Framing::UntilClose,
        }
    }
}

fn slot_of(name: &[u8]) -> Option<Slot> {
    SLOTS.iter().find(|(known, _)| name.eq_ignore_ascii_case(known)).map(|&(_, slot)| slot)
}

/// Longest decimal Content-Length accepted; 20 digits cover `u64::MAX`.
const MAX_CONTENT_LENGTH_DIGITS: usize = 20;

fn parse_content_length(value: &[u8]) -> Option<u64> {
    let mut result = None;
    for part in value.split(|&b| b == b',').map(trim_ows) {
        if part.is_empty() || part.len() > MAX_CONTENT_LENGTH_DIGITS || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = part.iter().try_fold(0u64, |acc, &d| acc.checked_mul(10)?.checked_add(u64::from(digit(d)?)))?;
        match result {
            None => result = Some(n),
            Some(prev) if prev != n => return None,
            Some(_) => {}
        }
    }
    result
}

/// Split the header lines of `block` (which may end with the empty line),
/// join obs-fold continuations with one space, and apply each field.
fn parse_headers(block: &[u8], fields: &mut HeadFields) {
    let mut current: Option<(&[u8], Cow<'_, [u8]>)> = None;
    for raw in block.split(|&b| b == b'\n') {
        let line = strip_cr(raw);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            match current.as_mut() {
                Some((_, value)) => {
                    fields.flag(anomaly::OBS_FOLD);
                    let value = value.to_mut();
                    value.push(b' ');
                    value.extend_from_slice(trim_ows(line));
                }
                None => fields.flag(anomaly::MALFORMED_HEADER),
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            fields.apply(name, &value);
        }
        current = split_header(line, fields);
    }
    if let Some((name, value)) = current {
        fields.apply(name, &value);
    }
}

/// `name ":" value`. Whitespace before the colon is tolerated but flagged
/// (RFC 9112 §5.1 says reject: servers disagree, which is the point).
fn split_header<'a>(line: &'a [u8], fields: &mut HeadFields) -> Option<(&'a [u8], Cow<'a, [u8]>)> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        fields.flag(anomaly::MALFORMED_HEADER);
        return None;
    };
    let (raw_name, rest) = line.split_at_checked(colon)?;
    let name = trim_ows(raw_name);
    if name.len() != raw_name.len() {
        fields.flag(anomaly::HEADER_NAME_WHITESPACE);
    }
    if !is_token(name) {
        fields.flag(anomaly::MALFORMED_HEADER);
        return None;
    }
    let value = rest.get(1..).unwrap_or_default();
    Some((name, Cow::Borrowed(value)))
}

/// The body framing decided by a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// What the stream does after a message without body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Continue,
    /// The connection stops speaking HTTP (101, tunnel).
    Dead,
}

fn is_interim(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// RFC 9112 §6.3 rules 1–2 for responses, then the generic ones.
fn response_framing(status: u16, kind: RequestKind, fields: &mut HeadFields) -> (Framing, After) {
    if status == 101 || (kind == RequestKind::Connect && (200..300).contains(&status)) {
        return (Framing::None, After::Dead);
    }
    if (100..200).contains(&status) || status == 204 || status == 304 || kind == RequestKind::Head {
        return (Framing::None, After::Continue);
    }
    (fields.body_framing(Direction::Response), After::Continue)
}

fn build_message(start: StartLine, mut fields: HeadFields, offset: u64) -> HttpMessage {
    match start {
        StartLine::Request { method, uri, version, simple: _ } => {
            if version == "1.1" && fields.host.is_none() {
                fields.flag(anomaly::MISSING_HOST);
            }
            HttpMessage::Request(HttpRequest {
                method,
                uri,
                version,
                host: fields.host,
                user_agent: fields.user_agent,
                content_type: fields.content_type,
                referrer: fields.referrer,
                content_length: fields.content_length,
                body_len: 0,
                body_kind: None,
                body_prefix: Vec::new(),
                anomalies: fields.anomalies,
                offset,
            })
        }
        StartLine::Response { version, status, reason } => HttpMessage::Response(HttpResponse {
            version,
            status,
            reason,
            content_type: fields.content_type,
            content_length: fields.content_length,
            server: fields.server,
            location: fields.location,
            body_len: 0,
            body_kind: None,
            body_prefix: Vec::new(),
            anomalies: fields.anomalies,
            offset,
        }),
    }
}

// ---------------------------------------------------------------------------
// Outstanding requests (response direction)

/// What a request's method implies for the framing of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestKind {
    Head,
    Connect,
    Other,
}

impl RequestKind {
    fn of(method: &str) -> Self {
        match method {
            "HEAD" => RequestKind::Head,
            "CONNECT" => RequestKind::Connect,
            _ => RequestKind::Other,
        }
    }
}

/// FIFO of outstanding request kinds, run-length encoded because nearly all
/// requests are `Other`.
#[derive(Debug, Default)]
struct PendingRequests {
    runs: VecDeque<(RequestKind, u32)>,
}

impl PendingRequests {
    fn push(&mut self, kind: RequestKind) {
        if let Some((last, count)) = self.runs.back_mut() {
            if *last == kind && *count < u32::MAX {
                *count += 1;
                return;
            }
        }
        if self.runs.len() < MAX_PENDING_RUNS {
            self.runs.push_back((kind, 1));
        }
    }

    /// Kind of the oldest outstanding request; `Other` when none is known.
    fn front(&self) -> RequestKind {
        self.runs.front().map_or(RequestKind::Other, |&(kind, _)| kind)
    }

    fn pop(&mut self) -> RequestKind {
        let Some((kind, count)) = self.runs.front_mut() else {
            return RequestKind::Other;
        };
        let kind = *kind;
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.runs.pop_front();
        }
        kind
    }
}

// ---------------------------------------------------------------------------
// Bodies

#[derive(Debug)]
struct Body {
    msg: HttpMessage,
    decoder: Decoder,
    /// Still appending to `body_prefix`; closed by a gap, since bytes after
    /// it are not the body's next bytes.
    prefix_open: bool,
}

#[derive(Debug)]
enum Decoder {
    /// Bytes left (never 0: such a message completes at once).
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    More,
    Done,
    Failed(&'static str),
}

impl Body {
    /// Consume body bytes from `data`; returns the bytes used (at least one
    /// when `data` is non-empty) and whether the body ended.
    fn feed(&mut self, data: &[u8]) -> (usize, Progress) {
        let open = self.prefix_open;
        let msg = &mut self.msg;
        match &mut self.decoder {
            Decoder::Length(remaining) => {
                let take = take_len(*remaining, data.len());
                record(msg, open, data.get(..take).unwrap_or_default());
                *remaining = remaining.saturating_sub(len_u64(take));
                let progress = if *remaining == 0 { Progress::Done } else { Progress::More };
                (take, progress)
            }
            Decoder::UntilClose => {
                record(msg, open, data);
                (data.len(), Progress::More)
            }
            Decoder::Chunked(chunk) => chunk.feed(data, &mut |payload| record(msg, open, payload)),
        }
    }

    /// `len` body bytes were lost. Countable only where the framing says how
    /// many payload bytes remain; anything else cannot be resynchronised.
    fn skip(&mut self, len: u64) -> Progress {
        self.prefix_open = false;
        let remaining = match &mut self.decoder {
            Decoder::Length(remaining) => remaining,
            Decoder::Chunked(Chunk::Data(remaining)) => remaining,
            Decoder::Chunked(_) | Decoder::UntilClose => return Progress::Failed(anomaly::GAP),
        };
        let counted = len.min(*remaining);
        *remaining -= counted;
        let (body_len, _, _) = self.msg.body_mut();
        *body_len = body_len.saturating_add(counted);
        if len > counted {
            // The loss ran past the body into the next message.
            return Progress::Failed(anomaly::GAP);
        }
        match &mut self.decoder {
            Decoder::Length(0) => Progress::Done,
            Decoder::Chunked(chunk @ Chunk::Data(0)) => {
                *chunk = Chunk::DataEnd { seen_cr: false };
                Progress::More
            }
            _ => Progress::More,
        }
    }
}

/// Count body bytes and keep the first `SNIFF_LEN` of them.
fn record(msg: &mut HttpMessage, prefix_open: bool, bytes: &[u8]) {
    let (len, prefix, _) = msg.body_mut();
    *len = len.saturating_add(len_u64(bytes.len()));
    if prefix_open {
        let room = SNIFF_LEN.saturating_sub(prefix.len()).min(bytes.len());
        prefix.extend_from_slice(bytes.get(..room).unwrap_or_default());
    }
}

/// Chunked transfer coding decoder (RFC 9112 §7.1), byte-driven except for
/// chunk data, so it needs no buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size {
        value: u64,
        digits: usize,
        line_len: usize,
        /// Past the hex digits: extensions or whitespace until LF.
        in_ext: bool,
    },
    /// Payload bytes left in the current chunk (never 0).
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd { seen_cr: bool },
    /// After the last chunk: trailer lines until an empty one.
    Trailer { line_len: usize, total: usize },
}

impl Chunk {
    fn start() -> Self {
        Chunk::Size { value: 0, digits: 0, line_len: 0, in_ext: false }
    }

    /// Consume from `data`, handing payload to `sink`. Returns bytes used
    /// (at least one when `data` is non-empty) and progress.
    fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) -> (usize, Progress) {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            if let Chunk::Data(remaining) = self {
                let take = take_len(*remaining, rest.len());
                sink(rest.get(..take).unwrap_or_default());
                *remaining = remaining.saturating_sub(len_u64(take));
                used += take;
                if *remaining == 0 {
                    *self = Chunk::DataEnd { seen_cr: false };
                }
                continue;
            }
            let Some(&b) = rest.first() else { break };
            used += 1;
            match self.byte(b) {
                Progress::More => {}
                done => return (used, done),
            }
        }
        (used, Progress::More)
    }

    /// One byte of framing (any state but `Data`).
    fn byte(&mut self, b: u8) -> Progress {
        match self {
            Chunk::Size { value, digits, line_len, in_ext } => {
                *line_len = line_len.saturating_add(1);
                if *line_len > MAX_CHUNK_LINE {
                    return Progress::Failed(anomaly::CHUNK_LINE_TOO_LONG);
                }
                if b == b'\n' {
                    if *digits == 0 {
                        return Progress::Failed(anomaly::INVALID_CHUNK_SIZE);
                    }
                    *self = if *value == 0 { Chunk::Trailer { line_len: 0, total: 0 } } else { Chunk::Data(*value) };
                    return Progress::More;
                }
                if *in_ext {
                    return Progress::More;
                }
                if let Some(d) = hex_digit(b) {
                    match value.checked_mul(16).and_then(|v| v.checked_add(d)) {
                        Some(v) => *value = v,
                        None => return Progress::Failed(anomaly::INVALID_CHUNK_SIZE),
                    }
                    *digits = digits.saturating_add(1);
                    Progress::More
                } else if *digits > 0 && matches!(b, b';' | b' ' | b'\t' | b'\r') {
                    // Extensions are ignored; so is whitespace some senders
                    // put before them.
                    *in_ext = true;
                    Progress::More
                } else {
                    Progress::Failed(anomaly::INVALID_CHUNK_SIZE)
                }
            }
            Chunk::DataEnd { seen_cr } => match b {
                b'\r' if !*seen_cr => {
                    *seen_cr = true;
                    Progress::More
                }
                b'\n' => {
                    *self = Chunk::start();
                    Progress::More
                }
                _ => Progress::Failed(anomaly::BAD_CHUNK_TERMINATOR),
            },
            Chunk::Trailer { line_len, total } => {
                match b {
                    b'\n' if *line_len == 0 => return Progress::Done,
                    b'\n' => *line_len = 0,
                    b'\r' => {}
                    _ => *line_len = line_len.saturating_add(1),
                }
                *total = total.saturating_add(1);
                if *total > MAX_HEADER_BLOCK {
                    return Progress::Failed(anomaly::OVERSIZED_TRAILER);
                }
                Progress::More
            }
            // Payload is handled in `feed`; never reached with a byte.
            Chunk::Data(_) => Progress::More,
        }
    }
}

// ---------------------------------------------------------------------------
// Byte helpers

/// RFC 9110 §5.6.2 token character.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn hex_digit(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

fn digit(b: u8) -> Option<u16> {
    char::from(b).to_digit(10).and_then(|d| u16::try_from(d).ok())
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trim optional whitespace (SP / HTAB) on both sides.
fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().take_while(|&&b| is_ows(b)).count();
    let s = s.get(start..).unwrap_or_default();
    let end = s.len().saturating_sub(s.iter().rev().take_while(|&&b| is_ows(b)).count());
    s.get(..end).unwrap_or_default()
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A line without its LF and the CR before it.
fn strip_line_end(line: &[u8]) -> &[u8] {
    strip_cr(line.strip_suffix(b"\n").unwrap_or(line))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A kept value: at most `MAX_FIELD_LEN` input bytes, flagged when cut.
fn field(bytes: &[u8], anomalies: &mut Vec<&'static str>) -> String {
    match bytes.get(..MAX_FIELD_LEN) {
        Some(cut) if cut.len() < bytes.len() => {
            push_unique(anomalies, anomaly::FIELD_TRUNCATED);
            lossy(cut)
        }
        _ => lossy(bytes),
    }
}

fn push_unique(list: &mut Vec<&'static str>, name: &'static str) {
    if !list.contains(&name) {
        list.push(name);
    }
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `min(remaining, available)` without a lossy cast.
fn take_len(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Feed `chunks` in order (after announcing `pending` requests), then
    /// finish.
    fn run(dir: Direction, pending: &[&str], chunks: &[&[u8]]) -> Vec<HttpMessage> {
        let mut stream = HttpStream::new(dir);
        for method in pending {
            stream.expect_response_to(method);
        }
        let mut out = Vec::new();
        for chunk in chunks {
            stream.feed(chunk, &mut out);
        }
        stream.finish(&mut out);
        out
    }

    fn requests(data: &[u8]) -> Vec<HttpRequest> {
        run(Direction::Request, &[], &[data]).into_iter().map(|m| m.as_request().cloned().expect("request")).collect()
    }

    fn responses(pending: &[&str], data: &[u8]) -> Vec<HttpResponse> {
        run(Direction::Response, pending, &[data])
            .into_iter()
            .map(|m| m.as_response().cloned().expect("response"))
            .collect()
    }

    const GET: &[u8] = b"GET /index.html?q=%41 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5\r\nReferer: http://a/\r\nAccept: */*\r\n\r\n";
    const OK_HTML: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\r\n<!doctype html><p>hi</p>";

    #[test]
    fn simple_get_and_200_with_content_length() {
        let reqs = requests(GET);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, "GET");
        assert_eq!(r.uri, "/index.html?q=%41");
        assert_eq!(r.version, "1.1");
        assert_eq!(r.host.as_deref(), Some("example.com"));
        assert_eq!(r.user_agent.as_deref(), Some("curl/8.5"));
        assert_eq!(r.referrer.as_deref(), Some("http://a/"));
        assert_eq!((r.body_len, r.body_kind, r.offset), (0, None, 0));
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);

        // Content-Length 22 of a 24-byte tail: the last 2 bytes start the
        // next (junk) message, which kills the stream but not this one.
        let resps = responses(&["GET"], OK_HTML);
        assert_eq!(resps.len(), 1);
        let s = &resps[0];
        assert_eq!((s.status, s.reason.as_str(), s.version.as_str()), (200, "OK", "1.1"));
        assert_eq!(s.server.as_deref(), Some("nginx"));
        assert_eq!(s.content_type.as_deref(), Some("text/html"));
        assert_eq!((s.content_length, s.body_len), (Some(22), 22));
        assert_eq!(s.body_prefix, b"<!doctype html><");
        assert_eq!(s.body_kind, Some(FileKind::Html));
    }

    #[test]
    fn post_body_is_sniffed_as_elf() {
        let mut data =
            b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: application/octet-stream\r\nContent-Length: 40\r\n\r\n"
                .to_vec();
        data.extend_from_slice(b"\x7fELF\x02\x01\x01");
        data.resize(data.len() + 33, 0xAA);
        let reqs = requests(&data);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!((r.method.as_str(), r.content_length, r.body_len), ("POST", Some(40), 40));
        assert_eq!(r.body_kind, Some(FileKind::Elf));
        assert_eq!(r.body_prefix.len(), SNIFF_LEN);
        assert_eq!(&r.body_prefix[..4], b"\x7fELF");
        assert_eq!(r.content_type.as_deref(), Some("application/octet-stream"));
        assert!(r.anomalies.is_empty());
    }

    const CHUNKED_PE: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-msdownload\r\n\r\n1\r\nM\r\n5;name=val\r\nZ\x90\x00\x03\x00\r\na \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";

    #[test]
    fn chunked_pe_body_split_across_chunks() {
        let resps = responses(&[], CHUNKED_PE);
        assert_eq!(resps.len(), 2);
        let s = &resps[0];
        assert_eq!(s.body_len, 16);
        assert_eq!(s.body_prefix, b"MZ\x90\x00\x03\x000123456789");
        assert_eq!(s.body_kind, Some(FileKind::Pe));
        assert_eq!(s.content_length, None);
        assert!(s.anomalies.is_empty(), "{:?}", s.anomalies);
        assert_eq!((resps[1].status, resps[1].body_len), (204, 0));
        assert_eq!(resps[1].offset, u64::try_from(CHUNKED_PE.len() - 27).unwrap());
    }

    #[test]
    fn head_response_has_no_body() {
        let data = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let resps = responses(&["HEAD", "GET"], data);
        assert_eq!(resps.len(), 2);
        assert_eq!((resps[0].content_length, resps[0].body_len), (Some(1234), 0));
        assert_eq!(resps[1].body_len, 2);
        assert!(resps.iter().all(|r| r.anomalies.is_empty()));
        // Without knowing about the HEAD, the second response is body.
        let resps = responses(&[], data);
        assert_eq!((resps.len(), resps[0].body_len), (1, u64::try_from(data.len() - 41).unwrap()));
        assert_eq!(resps[0].anomalies, [anomaly::INCOMPLETE_BODY]);
    }

    #[test]
    fn continue_then_final_response() {
        let data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        // The 100 must not use up the POST: the HEAD still applies to the
        // third message.
        let resps = responses(&["POST", "HEAD"], data);
        let got: Vec<_> = resps.iter().map(|r| (r.status, r.body_len)).collect();
        assert_eq!(got, [(100, 0), (200, 2), (200, 0)]);
        assert!(resps.iter().all(|r| r.anomalies.is_empty()));
    }

    #[test]
    fn no_body_statuses() {
        let data = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx";
        let got: Vec<_> = responses(&[], data).iter().map(|r| (r.status, r.body_len)).collect();
        assert_eq!(got, [(204, 0), (304, 0), (404, 1)]);
    }

    #[test]
    fn response_until_close_ends_at_finish() {
        let mut stream = HttpStream::new(Direction::Response);
        let mut out = Vec::new();
        stream.feed(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ", &mut out);
        stream.feed(b"world", &mut out);
        assert!(out.is_empty());
        stream.finish(&mut out);
        assert!(stream.is_dead());
        let s = out[0].as_response().unwrap();
        assert_eq!((s.version.as_str(), s.body_len, s.body_kind), ("1.0", 11, Some(FileKind::Text)));
        assert!(s.anomalies.is_empty());
        // Finishing twice, or feeding after finish, adds nothing.
        stream.finish(&mut out);
        stream.feed(b"HTTP/1.1 200 OK\r\n\r\n", &mut out);
        assert_eq!(out.len(), 1);
    }

    const PIPELINE: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd\r\nGET /c HTTP/1.0\n\n";

    #[test]
    fn pipelined_requests_in_one_feed() {
        let reqs = requests(PIPELINE);
        let got: Vec<_> = reqs.iter().map(|r| (r.method.as_str(), r.uri.as_str(), r.body_len, r.offset)).collect();
        // The stray CRLF after the POST body is skipped, and the message
        // offset points at the method.
        assert_eq!(got, [("GET", "/a", 0, 0), ("POST", "/b", 4, 28), ("GET", "/c", 0, 82)]);
        assert_eq!(&PIPELINE[82..85], b"GET");
        assert_eq!(reqs[2].version, "1.0");
        assert!(reqs.iter().all(|r| r.anomalies.is_empty()));
    }

    /// Results for every way of cutting `data` into one, two, three pieces
    /// and into single bytes are identical.
    fn assert_split_invariant(dir: Direction, pending: &[&str], data: &[u8]) {
        let whole = run(dir, pending, &[data]);
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(run(dir, pending, &bytes), whole, "byte by byte");
        for i in 0..=data.len() {
            let (a, rest) = data.split_at(i);
            assert_eq!(run(dir, pending, &[a, rest]), whole, "split at {i}");
            for j in 0..=rest.len() {
                let (b, c) = rest.split_at(j);
                assert_eq!(run(dir, pending, &[a, b, c]), whole, "split at {i}+{j}");
            }
        }
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let two_requests = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nMZabcGET /y HTTP/1.1\r\nHost: b\r\n X-Folded: yes\r\n\r\n";
        assert_eq!(requests(two_requests).len(), 2);
        assert_split_invariant(Direction::Request, &[], two_requests);
        assert_split_invariant(Direction::Request, &[], PIPELINE);
        assert_split_invariant(Direction::Response, &[], CHUNKED_PE);
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        assert_split_invariant(Direction::Response, &["POST", "HEAD"], interim);
    }

    #[test]
    fn gap_inside_content_length_body() {
        let mut stream = HttpStream::new(Direction::Request);
        let mut out = Vec::new();
        stream.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nMZ0123", &mut out);
        stream.gap(90, &mut out);
        assert!(out.is_empty() && !stream.is_dead());
        stream.feed(b"0123GET /next HTTP/1.1\r\nHost: h\r\n\r\n", &mut out);
        assert_eq!(out.len(), 2);
        let first = out[0].as_request().unwrap();
        assert_eq!((first.body_len, first.body_kind), (100, Some(FileKind::Pe)));
        // Bytes after the gap are not contiguous with the prefix.
        assert_eq!(first.body_prefix, b"MZ0123");
        assert_eq!(first.anomalies, [anomaly::GAP]);
        let second = out[1].as_request().unwrap();
        assert_eq!((second.uri.as_str(), second.offset), ("/next", 149));
        assert!(second.anomalies.is_empty());
    }

    #[test]
    fn gap_inside_chunk_data_counts() {
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Response);
        stream.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", &mut out);
        stream.gap(13, &mut out);
        stream.feed(b"\r\n2\r\nzz\r\n0\r\n\r\n", &mut out);
        let s = out[0].as_response().unwrap();
        assert_eq!((s.body_len, s.anomalies.as_slice()), (18, &[anomaly::GAP][..]));
        assert!(!stream.is_dead());
    }

    #[test]
    fn gap_elsewhere_kills_the_stream() {
        // At a message boundary: nothing to emit.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Request);
        stream.feed(GET, &mut out);
        stream.gap(10, &mut out);
        assert!(stream.is_dead());
        stream.feed(GET, &mut out);
        assert_eq!(out.len(), 1);

        // Past the end of a body: the message is complete, the next is lost.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Response);
        stream.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", &mut out);
        stream.gap(50, &mut out);
        assert!(stream.is_dead());
        let s = out[0].as_response().unwrap();
        assert_eq!((s.body_len, s.anomalies.as_slice()), (10, &[anomaly::GAP][..]));

        // In a read-until-close body: emitted as far as seen.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Response);
        stream.feed(b"HTTP/1.0 200 OK\r\n\r\nabc", &mut out);
        stream.gap(5, &mut out);
        assert!(stream.is_dead());
        assert_eq!(out[0].body_len(), 3);

        // Inside a head: emitted if the start line parsed.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Request);
        stream.feed(b"GET /p HTTP/1.1\r\nHost: h\r\nUser-Ag", &mut out);
        stream.gap(5, &mut out);
        assert!(stream.is_dead());
        let r = out[0].as_request().unwrap();
        assert_eq!((r.uri.as_str(), r.host.as_deref(), r.user_agent.as_deref()), ("/p", Some("h"), None));
        assert_eq!(r.anomalies, [anomaly::GAP, anomaly::INCOMPLETE_HEAD]);
    }

    #[test]
    fn oversize_head_kills_without_panic() {
        let mut data = b"GET /big HTTP/1.1\r\nHost: h\r\n".to_vec();
        while data.len() <= MAX_HEADER_BLOCK {
            data.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        data.extend_from_slice(b"\r\n");
        let mut stream = HttpStream::new(Direction::Request);
        let mut out = Vec::new();
        for chunk in data.chunks(1000) {
            stream.feed(chunk, &mut out);
            assert!(stream.buffered_len() <= MAX_HEADER_BLOCK);
        }
        assert!(stream.is_dead());
        assert_eq!(stream.buffered_len(), 0);
        let r = out[0].as_request().unwrap();
        assert_eq!((r.uri.as_str(), r.host.as_deref()), ("/big", Some("h")));
        assert!(r.anomalies.contains(&anomaly::OVERSIZED_HEAD));
        assert!(r.anomalies.contains(&anomaly::TOO_MANY_HEADERS));

        // A head of exactly MAX_HEADER_BLOCK bytes is still fine.
        let mut exact = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
        exact.resize(MAX_HEADER_BLOCK - 4, b'a');
        exact.extend_from_slice(b"\r\n\r\n");
        let reqs = requests(&exact);
        assert_eq!(reqs.len(), 1);
        assert!(reqs[0].anomalies.is_empty());

        // A start line that never ends: nothing to report.
        let mut long = b"GET /".to_vec();
        long.resize(MAX_HEADER_BLOCK + 10, b'a');
        assert!(requests(&long).is_empty());
    }

    #[test]
    fn non_http_is_recognised() {
        let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        for (bytes, dir) in [
            (&tls[..], Direction::Request),
            (&tls[..], Direction::Response),
            (b"SSH-2.0-OpenSSH_9.6\r\n", Direction::Request),
            (b"SSH-2.0-OpenSSH_9.6\r\n", Direction::Response),
            (b"get / HTTP/1.1\r\n", Direction::Request),
            (b"GETS / HTTP/1.1\r\n", Direction::Request),
            (b"GET", Direction::Request),
            (b"GET  /", Direction::Request),
            (b"HTTP/2 200\r\n", Direction::Response),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Direction::Request),
            (b"", Direction::Request),
        ] {
            assert!(!HttpStream::looks_like_http(bytes, dir), "{bytes:x?}");
        }
        for (bytes, dir) in [
            (&b"GET / HTTP/1.1\r\n"[..], Direction::Request),
            (b"PROPFIND /dav HTTP/1.1", Direction::Request),
            (b"RPC_IN_DATA /rpc/rpcproxy.dll", Direction::Request),
            (b"\r\nPOST ", Direction::Request),
            (b"HTTP/1.1 200 OK\r\n", Direction::Response),
            (b"HTTP/1.0 404", Direction::Response),
        ] {
            assert!(HttpStream::looks_like_http(bytes, dir), "{bytes:x?}");
        }
        // Every method, the longest included, is found; without its space it is not.
        for m in KNOWN_METHODS {
            assert!(HttpStream::looks_like_http(format!("{m} /").as_bytes(), Direction::Request), "{m}");
            assert!(HttpStream::looks_like_http(format!("{m} ").as_bytes(), Direction::Request), "{m}");
            assert!(!HttpStream::looks_like_http(m.as_bytes(), Direction::Request), "{m}");
            assert!(!HttpStream::looks_like_http(format!(" {m} /").as_bytes(), Direction::Request), "{m}");
        }

        // The stream itself gives up at the first impossible byte instead
        // of buffering a head's worth of junk.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Request);
        stream.feed(tls, &mut out);
        assert!(stream.is_dead() && out.is_empty());
        let mut stream = HttpStream::new(Direction::Response);
        stream.feed(b"HTTP/2.0 200 OK\r\n\r\n", &mut out);
        assert!(stream.is_dead() && out.is_empty());
        assert!(requests(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").is_empty());
        assert!(requests(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n\r\n").is_empty());
    }

    #[test]
    fn junk_after_a_message_kills_but_keeps_earlier_messages() {
        let mut data = GET.to_vec();
        data.extend_from_slice(b"\x16\x03\x01\x00\x10");
        data.extend_from_slice(GET);
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Request);
        stream.feed(&data, &mut out);
        assert_eq!(out.len(), 1);
        assert!(stream.is_dead());
    }

    #[test]
    fn connect_tunnel_and_protocol_switch_end_http() {
        let data = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x40";
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Response);
        stream.expect_response_to("CONNECT");
        stream.expect_response_to("CONNECT");
        stream.feed(data, &mut out);
        assert!(stream.is_dead());
        let got: Vec<_> = out.iter().map(|m| m.as_response().unwrap().status).collect();
        assert_eq!(got, [407, 200]);

        // The request side keeps parsing until the tunnel bytes arrive.
        let reqs = requests(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01");
        assert_eq!((reqs[0].method.as_str(), reqs[0].uri.as_str()), ("CONNECT", "example.com:443"));

        let resps = responses(&["GET"], b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
        assert_eq!((resps.len(), resps[0].status, resps[0].body_len), (1, 101, 0));
    }

    #[test]
    fn header_syntax_variants() {
        let data = b"GET /a b HTTP/1.1\nhOsT: first\nhost:  second  \nUser-Agent: Mozilla/5.0\n (folded)\nBad Name: x\nnocolon\nReferer : r\n\n";
        let reqs = requests(data);
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.uri, "/a b");
        // Last occurrence wins, as in Zeek's http.log.
        assert_eq!(r.host.as_deref(), Some("second"));
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 (folded)"));
        assert_eq!(r.referrer.as_deref(), Some("r"));
        for a in [
            anomaly::URI_WHITESPACE,
            anomaly::DUPLICATE_HOST,
            anomaly::OBS_FOLD,
            anomaly::MALFORMED_HEADER,
            anomaly::HEADER_NAME_WHITESPACE,
        ] {
            assert!(r.anomalies.contains(&a), "{a} missing from {:?}", r.anomalies);
        }
    }

    #[test]
    fn long_values_are_cut_and_invalid_utf8_is_lossy() {
        let mut data = b"GET /".to_vec();
        data.resize(5000, b'u');
        data.extend_from_slice(b" HTTP/1.1\r\nHost: \xff\xfeevil\r\n\r\n");
        let r = &requests(&data)[0];
        assert_eq!(r.uri.len(), MAX_FIELD_LEN);
        assert_eq!(r.host.as_deref(), Some("\u{fffd}\u{fffd}evil"));
        assert_eq!(r.anomalies, [anomaly::FIELD_TRUNCATED]);
    }

    #[test]
    fn framing_anomalies() {
        // TE wins over CL (smuggling indicator).
        let r = &requests(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")[0];
        assert_eq!((r.body_len, r.content_length), (2, Some(3)));
        assert_eq!(r.anomalies, [anomaly::TE_AND_CL]);

        // Bad chunk size: the message is reported, the stream stops.
        let mut out = Vec::new();
        let mut stream = HttpStream::new(Direction::Response);
        stream.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n", &mut out);
        assert!(stream.is_dead());
        assert_eq!(out[0].body_len(), 3);
        assert_eq!(out[0].anomalies(), [anomaly::INVALID_CHUNK_SIZE]);

        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX")[0];
        assert_eq!(s.anomalies, [anomaly::BAD_CHUNK_TERMINATOR]);
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n")[0];
        assert_eq!(s.anomalies, [anomaly::INVALID_CHUNK_SIZE]);

        // Invalid CL on a response: read until close.
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabcdef")[0];
        assert_eq!((s.content_length, s.body_len), (None, 6));
        assert_eq!(s.anomalies, [anomaly::INVALID_CONTENT_LENGTH]);

        // Conflicting CLs: the first frames the body; equal lists are fine.
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nab")[0];
        assert_eq!((s.content_length, s.body_len), (Some(2), 2));
        assert_eq!(s.anomalies, [anomaly::CONFLICTING_CONTENT_LENGTH]);
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab")[0];
        assert_eq!((s.content_length, s.anomalies.len()), (Some(2), 0));

        // A final coding other than chunked: the body runs to the close.
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\x1f\x8b\x08\x00")[0];
        assert_eq!((s.body_len, s.body_kind), (4, Some(FileKind::Gzip)));
        assert_eq!(s.anomalies, [anomaly::UNSUPPORTED_TRANSFER_ENCODING]);

        // A body cut short by the end of the stream.
        let s = &responses(&[], b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")[0];
        assert_eq!((s.body_len, s.anomalies.as_slice()), (3, &[anomaly::INCOMPLETE_BODY][..]));
    }

    #[test]
    fn finish_inside_a_head() {
        let r = &requests(b"GET /x HTTP/1.1\r\nHost: h\r\nAccept: */")[0];
        assert_eq!((r.uri.as_str(), r.host.as_deref()), ("/x", Some("h")));
        assert_eq!(r.anomalies, [anomaly::INCOMPLETE_HEAD]);
        // An unterminated but complete start line still counts...
        let s = &responses(&[], b"HTTP/1.1 503 Busy")[0];
        assert_eq!((s.status, s.anomalies.as_slice()), (503, &[anomaly::INCOMPLETE_HEAD][..]));
        // ...a cut one does not (it would pass for HTTP/0.9).
        assert!(requests(b"GET /x HTT").is_empty());
        assert!(requests(b"GET").is_empty());
    }

    #[test]
    fn http09_simple_request() {
        let reqs = requests(b"GET /old\r\nGET /new HTTP/1.0\r\n\r\n");
        let got: Vec<_> = reqs.iter().map(|r| (r.uri.as_str(), r.version.as_str())).collect();
        assert_eq!(got, [("/old", "0.9"), ("/new", "1.0")]);
        assert!(requests(b"POST /x\r\n\r\n").is_empty());
    }

    #[test]
    fn missing_host_and_unknown_version() {
        let r = &requests(b"GET / HTTP/1.1\r\n\r\n")[0];
        assert_eq!(r.anomalies, [anomaly::MISSING_HOST]);
        let r = &requests(b"GET / HTTP/1.0\r\n\r\n")[0];
        assert!(r.anomalies.is_empty());
        let r = &requests(b"GET / HTTP/1.7\r\nHost: h\r\n\r\n")[0];
        assert_eq!((r.version.as_str(), r.anomalies.as_slice()), ("1.7", &[anomaly::UNKNOWN_VERSION][..]));
    }

    #[test]
    fn pending_queue_is_bounded() {
        let mut stream = HttpStream::new(Direction::Response);
        for i in 0..10_000 {
            stream.expect_response_to(if i % 2 == 0 { "HEAD" } else { "GET" });
        }
        assert_eq!(stream.pending.runs.len(), MAX_PENDING_RUNS);
        let mut stream = HttpStream::new(Direction::Response);
        for _ in 0..10_000 {
            stream.expect_response_to("GET");
        }
        assert_eq!(stream.pending.runs.len(), 1);
        // The request direction keeps no queue.
        let mut stream = HttpStream::new(Direction::Request);
        stream.expect_response_to("HEAD");
        assert!(stream.pending.runs.is_empty());
    }

    // -- fuzzing -----------------------------------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
        }

        fn byte(&mut self) -> u8 {
            self.next().to_le_bytes()[0]
        }
    }

    const REQUEST_SEEDS: &[&[u8]] = &[
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
        b"HEAD / HTTP/1.0\nUser-Agent: a\n b\n\n",
        b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
        b"GET /old\r\n",
    ];

    const RESPONSE_SEEDS: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nMZ\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nbody until close",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ];

    fn fuzz_input(rng: &mut XorShift, dir: Direction) -> Vec<u8> {
        let mut data = Vec::new();
        if rng.below(10) == 0 {
            let len = rng.below(300);
            data.extend((0..len).map(|_| rng.byte()));
            return data;
        }
        let seeds = match dir {
            Direction::Request => REQUEST_SEEDS,
            Direction::Response => RESPONSE_SEEDS,
        };
        for _ in 0..=rng.below(4) {
            data.extend_from_slice(seeds[rng.below(seeds.len())]);
        }
        if rng.below(300) == 0 {
            // A head just past the limit, to exercise the oversize path.
            let at = data.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
            let filler = vec![b'a'; MAX_HEADER_BLOCK];
            data.splice(at..at, b"X-Big: ".iter().chain(&filler).chain(b"\r\n").copied());
        }
        for _ in 0..rng.below(5) {
            let at = rng.below(data.len() + 1);
            match rng.below(6) {
                0 if at < data.len() => data[at] ^= 1 << rng.below(8),
                1 => data.insert(at, rng.byte()),
                2 if at < data.len() => {
                    let end = (at + rng.below(8)).min(data.len());
                    data.drain(at..end);
                }
                3 => {
                    data.splice(at..at, *b"\r\n");
                }
                4 if at < data.len() && data[at].is_ascii_digit() => {
                    data[at] = b'0' + u8::try_from(rng.below(10)).unwrap();
                }
                5 => {
                    let end = (at + rng.below(40)).min(data.len());
                    let copy = data[at..end].to_vec();
                    data.splice(at..at, copy);
                }
                _ => {}
            }
        }
        data
    }

    fn check_invariants(stream: &HttpStream, out: &[HttpMessage]) {
        assert!(stream.buffered_len() <= MAX_HEADER_BLOCK);
        assert!(stream.pending.runs.len() <= MAX_PENDING_RUNS);
        for msg in out {
            let (prefix, uri_len) = match msg {
                HttpMessage::Request(r) => (&r.body_prefix, r.uri.len()),
                HttpMessage::Response(r) => (&r.body_prefix, r.reason.len()),
            };
            assert!(prefix.len() <= SNIFF_LEN);
            assert!(u64::try_from(prefix.len()).unwrap() <= msg.body_len());
            // Lossy UTF-8 turns one bad byte into at most three.
            assert!(uri_len <= 3 * MAX_FIELD_LEN);
        }
    }

    /// Feed `data` in random pieces, optionally with gaps between them.
    fn fuzz_feed(rng: &mut XorShift, dir: Direction, pending: &[&str], data: &[u8], gaps: bool) -> Vec<HttpMessage> {
        let mut stream = HttpStream::new(dir);
        let mut out = Vec::new();
        for method in pending {
            stream.expect_response_to(method);
        }
        let mut rest = data;
        while !rest.is_empty() {
            let limit = if rng.below(2) == 0 { 8 } else { rest.len() };
            let (piece, tail) = rest.split_at(1 + rng.below(limit.min(rest.len())));
            stream.feed(piece, &mut out);
            check_invariants(&stream, &out);
            if gaps && rng.below(8) == 0 {
                stream.gap(u64::try_from(rng.below(64)).unwrap(), &mut out);
                check_invariants(&stream, &out);
            }
            rest = tail;
        }
        stream.finish(&mut out);
        check_invariants(&stream, &out);
        assert!(stream.is_dead() && stream.buffered_len() == 0);
        out
    }

    #[test]
    fn fuzz_random_and_mutated_inputs_in_random_splits() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let methods = ["GET", "HEAD", "CONNECT", "POST"];
        for _ in 0..20_000 {
            let dir = if rng.below(2) == 0 { Direction::Request } else { Direction::Response };
            let data = fuzz_input(&mut rng, dir);
            let pending: Vec<&str> = (0..rng.below(4)).map(|_| methods[rng.below(4)]).collect();
            let whole = run(dir, &pending, &[&data]);
            let split = fuzz_feed(&mut rng, dir, &pending, &data, false);
            assert_eq!(split, whole, "split changed the result for {data:x?}");
            fuzz_feed(&mut rng, dir, &pending, &data, true);
        }
    }
}
