//! Linux audit logs (auditd): one line → [`AuditLine`], a stream of lines → [`AuditEvent`]s.
//!
//! Input: the lines of an audit log as auditd writes them, raw (`log_format=RAW`) or enriched
//! (`log_format=ENRICHED`: the raw line, then `\x1d`, then interpreted `UID="root" SYSCALL=connect`
//! pairs), each with or without a leading `node=NAME ` prefix:
//!
//! ```text
//! node=web1 type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=42 ... comm="curl"
//! ```
//!
//! Output: [`parse_line`] gives the header (node, record type, seconds, milliseconds, serial)
//! and the `name=value` pairs with values decoded the way auparse decodes them (see
//! [`parse_line`]); [`Assembler`] groups records into events by `(node, sec, msec, serial)`;
//! [`execve_args`], [`proctitle_args`] and [`sockaddr`] decode the three encodings a responder
//! needs most: argv, the process title and socket addresses.
//!
//! Imports `util` and `model`. Pure: no I/O, no global state; no input makes any function here panic,
//! and every table an input can grow is bounded by a named constant (see [`AssemblerLimits`]).

use crate::util::escape::bytes_to_text;
use crate::util::time::{from_parts, Timestamp};
use rustc_hash::{FxHashMap, FxHasher};
use std::collections::{BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest line [`parse_line`] reads. The kernel's records are at most 8970 bytes
/// (`MAX_AUDIT_MESSAGE_LENGTH`) before enrichment; anything near this limit is not an audit
/// record.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// Separates the raw part of an enriched line from its interpreted part.
pub const ENRICHED_SEPARATOR: u8 = 0x1d;

/// A building event is complete once a record of the same node arrives whose timestamp is more
/// than this many whole seconds newer (`event.sec + COMPLETE_AFTER_SECS < record.sec`), the rule
/// ausearch applies. The kernel writes the records of one event within microseconds of each
/// other; two seconds leave room for a loaded machine interleaving many events.
pub const COMPLETE_AFTER_SECS: i64 = 2;

/// Most events held by an [`Assembler`], building or complete but waiting behind an older one.
/// Beyond it the oldest is emitted as it is ([`Completion::Evicted`] if it was still building).
pub const MAX_PENDING_EVENTS: usize = 8192;

/// Most records held by an [`Assembler`] over all pending events; beyond it, as for
/// [`MAX_PENDING_EVENTS`].
pub const MAX_PENDING_RECORDS: usize = 65_536;

/// Most records in one event. A maximal execve (2 MiB of arguments, hex-encoded, in records of
/// ~7.5 KiB) needs about 560; an event that reaches this is closed ([`Completion::RecordLimit`])
/// and later records with its key start a new event.
pub const MAX_RECORDS_PER_EVENT: usize = 2048;
/// Records an event's list has room for when it is opened.
const RECORDS_PER_EVENT: usize = 6;

// ---------------------------------------------------------------------------------------------
// One line.
// ---------------------------------------------------------------------------------------------

/// One audit record (one line of the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    /// `node=` prefix, written when auditd runs with `name_format` set or forwards for others.
    pub node: Option<String>,
    /// `SYSCALL`, `EXECVE`, `USER_LOGIN`, `UNKNOWN[1334]`…: kept as written, known or not.
    pub record_type: String,
    pub sec: i64,
    pub msec: u32,
    pub serial: u64,
    /// The raw part's `name=value` pairs in line order, values decoded (see [`parse_line`]).
    /// Values that were `(null)` are left out. A single-quoted value (`msg='op=login acct=…'`)
    /// appears as itself and is followed by its own pairs, flattened.
    pub fields: Fields,
    /// The enriched part's pairs (`AUID="alice"`, `SYSCALL=connect`), quotes removed; empty for
    /// a raw line.
    pub interpreted: Fields,
}

impl AuditLine {
    /// The record's time in UTC nanoseconds since the epoch.
    pub fn ts_ns(&self) -> Timestamp {
        event_time_ns(self.sec, self.msec)
    }

    /// The first value of raw field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name)
    }

    /// The first value of enriched field `name` (`UID`, `SYSCALL`, `SADDR`…).
    pub fn interpreted_field(&self, name: &str) -> Option<&str> {
        self.interpreted.get(name)
    }
}

/// `name=value` pairs in order, duplicates kept, names and values (decoded) stored in one
/// buffer per line: the model's pair store.
pub type Fields = crate::model::Pairs;

/// An audit timestamp (`msg=audit(sec.msec:…)`) in UTC nanoseconds since the epoch, saturating.
pub fn event_time_ns(sec: i64, msec: u32) -> Timestamp {
    from_parts(sec, u64::from(msec), 1000)
}

/// Why a line is not an audit record. `column` is the byte offset in the line (after a trailing
/// `\n`/`\r\n` is removed) where reading failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("empty line")]
    Empty,
    #[error("line of {len} bytes: seam reads at most {column}")]
    TooLong { column: usize, len: usize },
    #[error("binary data: byte {byte:#04x} at column {column}")]
    Binary { column: usize, byte: u8 },
    #[error("not utf-8 at column {column}")]
    NotUtf8 { column: usize },
    #[error("no `type=` at column {column}")]
    NoType { column: usize },
    #[error("no `msg=audit(` at column {column}")]
    NoMsgAudit { column: usize },
    #[error("bad timestamp at column {column}: expected {expected}")]
    BadTimestamp { column: usize, expected: &'static str },
    #[error("line cut in {what} at column {column}")]
    Cut { column: usize, what: &'static str },
}

impl LineError {
    /// Byte offset in the line where reading failed.
    pub fn column(&self) -> usize {
        match *self {
            LineError::Empty => 0,
            LineError::Binary { column, .. }
            | LineError::TooLong { column, .. }
            | LineError::NotUtf8 { column }
            | LineError::NoType { column }
            | LineError::NoMsgAudit { column }
            | LineError::BadTimestamp { column, .. }
            | LineError::Cut { column, .. } => column,
        }
    }
}

/// Parses one line of an audit log (a trailing `\n` or `\r\n` is ignored).
///
/// Values are decoded as auparse does:
/// - a value in double quotes is literal (quotes removed);
/// - `(null)` is absent: the pair is left out of `fields`;
/// - for the fields the kernel and the audit libraries hex-encode when they hold a space, a quote
///   or a control character ([`is_encoded_field`]: `proctitle`, `name`, `cwd`, `exe`, `comm`,
///   `path`, `key`, `acct`, `cmd`, `data`, …, and every argument of an `EXECVE` record), an
///   unquoted value of an even number of hex digits is decoded. The bytes become text lossily
///   ([`bytes_to_text`]: invalid UTF-8 as `\xNN`); NULs are kept, so a `proctitle` still
///   separates its arguments (see [`proctitle_args`]);
/// - every other value is kept as written: `a0`..`a3` of a `SYSCALL` record are syscall
///   arguments in hex, not encoded text.
///
/// Words without `=` (`avc:  denied  { read }`, `PAM: accounting`) are skipped. A single-quoted
/// value is kept as one field and its inner `name=value` list is flattened into `fields` after
/// it, decoded by the same rules; without its closing quote (as some systemd versions write
/// `SERVICE_START`) it runs to the end of the line. An unterminated double-quoted value is a cut
/// line.
pub fn parse_line(line: &[u8]) -> Result<AuditLine, LineError> {
    let line = trim_eol(line);
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::TooLong { column: MAX_LINE_LEN, len: line.len() });
    }
    // One pass without an early exit (it vectorises) finds junk and the enriched separator;
    // positions are looked for only when there is something to find.
    let (junk, enriched) =
        line.iter().fold((false, false), |(junk, sep), &b| (junk | is_binary(b), sep | (b == ENRICHED_SEPARATOR)));
    if junk {
        let column = line.iter().position(|&b| is_binary(b)).unwrap_or_default();
        let byte = line.get(column).copied().unwrap_or_default();
        return Err(LineError::Binary { column, byte });
    }
    let text = std::str::from_utf8(line).map_err(|e| LineError::NotUtf8 { column: e.valid_up_to() })?;
    let mut header = Header { text, pos: 0 };

    let node = if header.rest().starts_with("node=") {
        header.pos += "node=".len();
        let name = header.word();
        if header.at_end() {
            return Err(LineError::Cut { column: header.pos, what: "node" });
        }
        header.skip_spaces();
        Some(name.to_string())
    } else {
        None
    };
    header.expect("type=", LineError::NoType { column: header.pos })?;
    let record_type = header.word();
    if record_type.is_empty() {
        return Err(LineError::NoType { column: header.pos });
    }
    header.skip_spaces();
    header.expect("msg=audit(", LineError::NoMsgAudit { column: header.pos })?;
    let sec = header.number("seconds")?;
    let sec = i64::try_from(sec).map_err(|_| LineError::BadTimestamp { column: header.pos, expected: "seconds" })?;
    header.punct('.', "'.' after the seconds")?;
    let msec_at = header.pos;
    let msec = header.number("milliseconds")?;
    let msec = match u32::try_from(msec) {
        Ok(ms) if header.pos - msec_at <= 3 => ms,
        _ => return Err(LineError::BadTimestamp { column: msec_at, expected: "at most 3 digits of milliseconds" }),
    };
    header.punct(':', "':' before the serial")?;
    let serial = header.number("serial")?;
    header.punct(')', "')' after the serial")?;
    header.punct(':', "':' after the timestamp")?;

    let body_at = header.pos;
    let body = header.rest();
    let separator = if enriched { body.bytes().position(|b| b == ENRICHED_SEPARATOR) } else { None };
    let (raw, interp) = match separator {
        Some(at) => (body.get(..at).unwrap_or_default(), body.get(at + 1..)),
        None => (body, None),
    };
    let fields = Pairs::new(record_type, raw, body_at).parse_all(Mode::Raw)?;
    let interpreted = match interp {
        Some(interp) => Pairs::new(record_type, interp, body_at + raw.len() + 1).parse_all(Mode::Interpreted)?,
        None => Fields::new(),
    };
    Ok(AuditLine { node, record_type: record_type.to_string(), sec, msec, serial, fields, interpreted })
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Control bytes that never occur in a text audit line (tab and the enriched separator do).
fn is_binary(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != ENRICHED_SEPARATOR) || b == 0x7f
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The fixed part of a line: `node=… type=… msg=audit(sec.msec:serial):`.
struct Header<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Header<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Up to the next space or the end of the line.
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.bytes().position(is_space).unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).unwrap_or_default()
    }

    fn skip_spaces(&mut self) {
        self.pos += self.rest().bytes().take_while(|&b| is_space(b)).count();
    }

    /// Consumes `literal`; a line that ends inside it is cut, anything else is `missing`.
    fn expect(&mut self, literal: &str, missing: LineError) -> Result<(), LineError> {
        let rest = self.rest();
        if rest.starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else if literal.starts_with(rest) {
            Err(LineError::Cut { column: self.text.len(), what: "header" })
        } else {
            Err(missing)
        }
    }

    fn punct(&mut self, c: char, expected: &'static str) -> Result<(), LineError> {
        match self.rest().chars().next() {
            Some(got) if got == c => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(LineError::BadTimestamp { column: self.pos, expected }),
            None => Err(LineError::Cut { column: self.pos, what: "timestamp" }),
        }
    }

    fn number(&mut self, expected: &'static str) -> Result<u64, LineError> {
        let rest = self.rest();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(if rest.is_empty() {
                LineError::Cut { column: self.pos, what: "timestamp" }
            } else {
                LineError::BadTimestamp { column: self.pos, expected }
            });
        }
        let value = rest
            .get(..digits)
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or(LineError::BadTimestamp { column: self.pos, expected })?;
        self.pos += digits;
        Ok(value)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The raw part: values decoded, single-quoted lists flattened.
    Raw,
    /// Inside a single-quoted list: decoded, not flattened again.
    Nested,
    /// The enriched part: quotes removed, nothing decoded.
    Interpreted,
}

/// The `name=value` tokenizer over one part of a line (raw or interpreted). Each name and its
/// value (decoded when the field is encoded) are copied into the output's one buffer.
struct Pairs<'a> {
    record_type: &'a str,
    part: &'a str,
    /// Column of `part` in the line.
    base: usize,
    out: Fields,
    /// Reused for hex decoding.
    scratch: Vec<u8>,
}

impl<'a> Pairs<'a> {
    fn new(record_type: &'a str, part: &'a str, base: usize) -> Self {
        // About one pair per 12 bytes in kernel records; a guess, not a bound.
        let pairs = part.len() / 12;
        Pairs { record_type, part, base, out: Fields::with_capacity(pairs, part.len()), scratch: Vec::new() }
    }

    fn parse_all(mut self, mode: Mode) -> Result<Fields, LineError> {
        self.parse(0, self.part.len(), mode)?;
        Ok(self.out)
    }

    /// Parses `part[from..to]`.
    fn parse(&mut self, from: usize, to: usize, mode: Mode) -> Result<(), LineError> {
        let b = self.part.as_bytes().get(..to).unwrap_or_default();
        let mut i = from;
        loop {
            i += b.get(i..).unwrap_or_default().iter().take_while(|&&c| is_space(c)).count();
            if i >= b.len() {
                return Ok(());
            }
            let start = i;
            let token = b.get(start..).unwrap_or_default();
            let name_len = token.iter().position(|&c| c == b'=' || is_space(c)).unwrap_or(token.len());
            let eq = start + name_len;
            if name_len == 0 || b.get(eq) != Some(&b'=') {
                // A word without `=` (or starting with it): skip it.
                i = next_space(b, eq);
                continue;
            }
            let name = [start, eq];
            let v = eq + 1;
            match b.get(v) {
                None => {
                    self.push(name, [v, v], mode, false);
                    i = v;
                }
                Some(&c) if is_space(c) => {
                    self.push(name, [v, v], mode, false);
                    i = v;
                }
                Some(&quote @ (b'"' | b'\'')) => {
                    let close = b.get(v + 1..).and_then(|r| r.iter().position(|&c| c == quote)).map(|p| v + 1 + p);
                    let close = match close {
                        Some(close) => close,
                        // Some systemd versions write `msg='unit=… res=success` without the
                        // closing quote: the list runs to the end of the line.
                        None if quote == b'\'' => b.len(),
                        None => return Err(LineError::Cut { column: self.base + v, what: "quoted value" }),
                    };
                    self.push(name, [v + 1, close], mode, true);
                    if quote == b'\'' && mode == Mode::Raw {
                        self.parse(v + 1, close, Mode::Nested)?;
                    }
                    i = close + 1;
                }
                // The enriched socket address, `SADDR={ saddr_fam=inet laddr=… lport=… }`, is
                // one value, braces included, as `ausearch -i` prints it. It ends at the first
                // " }" (a `}` inside a socket path does not end it); without one, at the next
                // space like any other value.
                Some(b'{') if mode == Mode::Interpreted && b.get(start..eq) == Some(b"SADDR") => {
                    let close = b.get(v..).and_then(|r| r.windows(2).position(|w| w == b" }")).map(|p| v + p + 2);
                    let end = close.unwrap_or_else(|| next_space(b, v));
                    self.push(name, [v, end], mode, false);
                    i = end;
                }
                Some(_) => {
                    let end = next_space(b, v);
                    self.push(name, [v, end], mode, false);
                    i = end;
                }
            }
        }
    }

    fn push(&mut self, [ns, ne]: [usize; 2], [vs, ve]: [usize; 2], mode: Mode, quoted: bool) {
        let name = self.part.get(ns..ne).unwrap_or_default();
        let value = self.part.get(vs..ve).unwrap_or_default();
        if quoted {
            self.out.push(name, value);
        } else if value == "(null)" {
        } else if mode != Mode::Interpreted
            && is_encoded_field(self.record_type, name)
            && decode_hex_into(value, &mut self.scratch)
        {
            match std::str::from_utf8(&self.scratch) {
                Ok(text) => self.out.push(name, text),
                Err(_) => self.out.push(name, &bytes_to_text(&self.scratch)),
            }
        } else {
            self.out.push(name, value);
        }
    }
}

fn next_space(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    from + rest.iter().position(|&c| is_space(c)).unwrap_or(rest.len())
}

/// Whether an unquoted hex value of field `name` in a record of type `record_type` is encoded
/// text: auparse's `AUPARSE_TYPE_ESCAPED*`, `PROCTITLE` and `TTY_DATA` fields, plus its
/// per-record overrides (every `EXECVE` argument, the `msg` of `USER_TTY`).
pub fn is_encoded_field(record_type: &str, name: &str) -> bool {
    if record_type == "EXECVE" {
        return name.starts_with('a') && name != "argc" && !name.contains("_len");
    }
    if record_type == "USER_TTY" && name == "msg" {
        return true;
    }
    // Byte-string patterns compile to length and byte compares, not a call per candidate.
    matches!(
        name.as_bytes(),
        b"path"
            | b"comm"
            | b"exe"
            | b"file"
            | b"name"
            | b"watch"
            | b"cwd"
            | b"cmd"
            | b"acct"
            | b"dir"
            | b"key"
            | b"vm"
            | b"old-chardev"
            | b"new-chardev"
            | b"old-disk"
            | b"new-disk"
            | b"old-fs"
            | b"new-fs"
            | b"old-net"
            | b"new-net"
            | b"device"
            | b"cgroup"
            | b"ocomm"
            | b"old-rng"
            | b"new-rng"
            | b"grp"
            | b"new_group"
            | b"invalid_context"
            | b"sw"
            | b"root_dir"
            | b"proctitle"
            | b"data"
            | b"apparmor"
            | b"operation"
            | b"denied_mask"
            | b"info"
            | b"profile"
            | b"requested_mask"
    )
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Bytes of a non-empty string of an even number of hex digits; `None` for anything else.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_hex_into(s, &mut out).then_some(out)
}

/// [`decode_hex`] into `out` (cleared first); false, `out` unspecified, when `s` is not hex.
fn decode_hex_into(s: &str, out: &mut Vec<u8>) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() % 2 != 0 || !b.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    out.clear();
    out.reserve(b.len() / 2);
    for pair in b.chunks_exact(2) {
        match pair {
            [hi, lo] => out.push(hex_digit(*hi).unwrap_or_default() << 4 | hex_digit(*lo).unwrap_or_default()),
            _ => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Arguments and socket addresses.
// ---------------------------------------------------------------------------------------------

/// The argv of the `EXECVE` records among `records` (one exec may span several records).
///
/// `aN` is argument N; a long argument is written as `aN_len=` followed by pieces
/// `aN[0]=…`, `aN[1]=…` (each hex-decoded on its own by [`parse_line`]), which are joined in
/// index order. Arguments come out in index order; indices at or beyond `argc` (when present)
/// are ignored, and a missing index is skipped rather than filled, so a damaged record never
/// makes the list longer than what it holds.
pub fn execve_args<'a>(records: impl IntoIterator<Item = &'a AuditLine>) -> Vec<String> {
    let mut argc: Option<u64> = None;
    // (argument, piece; None for a whole argument, value)
    let mut parts: Vec<(u64, Option<u64>, &str)> = Vec::new();
    for record in records.into_iter().filter(|r| r.record_type == "EXECVE") {
        for (name, value) in &record.fields {
            if name == "argc" {
                argc = argc.or_else(|| value.parse().ok());
            } else if let Some((index, piece)) = execve_arg_name(name) {
                parts.push((index, piece, value));
            }
        }
    }
    parts.sort_by_key(|&(index, piece, _)| (index, piece));
    let mut args: Vec<String> = Vec::new();
    let mut current: Option<u64> = None;
    let mut whole = false;
    for (index, piece, value) in parts {
        if argc.is_some_and(|n| index >= n) {
            break;
        }
        let same = current == Some(index);
        match (same, piece) {
            (false, _) => {
                args.push(value.to_string());
                current = Some(index);
                whole = piece.is_none();
            }
            // A whole `aN` wins over pieces of the same argument; duplicate wholes are ignored.
            (true, Some(_)) if !whole => {
                if let Some(last) = args.last_mut() {
                    join_piece(last, value);
                }
            }
            (true, _) => {}
        }
    }
    args
}

/// Appends the next piece of a split argument. The kernel cuts arguments at byte boundaries,
/// so a character may start in one piece and end in the next; each piece was decoded on its
/// own, the cut character's bytes `\xNN`-escaped. When the piece before ends with the escaped
/// start of a character (a lead byte and fewer continuation bytes than it needs) and this piece
/// starts with exactly the missing continuation bytes, escaped, the character is put back
/// together. Nothing else is touched: `\xNN` written literally in a command (`printf
/// '\x41'`) is text, and stays as it is.
fn join_piece(arg: &mut String, piece: &str) {
    let tail: Vec<u8> = trailing_escapes(arg.as_bytes());
    let Some(lead_at) = tail.iter().rposition(|&b| !(0x80..=0xbf).contains(&b)) else {
        arg.push_str(piece);
        return;
    };
    let (lead, have) = (tail[lead_at], tail.len() - lead_at);
    let need: usize = match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    };
    let missing = need.saturating_sub(have);
    let head: Vec<u8> = piece.as_bytes().chunks(4).take(missing).map_while(escaped_byte).collect();
    if need > have && head.len() == missing && head.iter().all(|b| (0x80..=0xbf).contains(b)) {
        let mut bytes = tail[lead_at..].to_vec();
        bytes.extend(&head);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            arg.truncate(arg.len() - have * 4);
            arg.push_str(text);
            arg.push_str(&piece[missing * 4..]);
            return;
        }
    }
    arg.push_str(piece);
}

/// The bytes of the `\xNN` escapes that end `text` (at most three: the start of one character).
fn trailing_escapes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in 1..=3 {
        match text.len().checked_sub(n * 4).and_then(|i| text.get(i..i + 4)).and_then(escaped_byte) {
            Some(b) => out.insert(0, b),
            None => break,
        }
    }
    out
}

/// The byte a four-byte `\xNN` escape stands for.
fn escaped_byte(escape: &[u8]) -> Option<u8> {
    match escape {
        [b'\\', b'x', hi, lo] => Some(hex_digit(*hi)? << 4 | hex_digit(*lo)?),
        _ => None,
    }
}

/// `aN` → (N, None); `aN[i]` → (N, Some(i)); anything else (`aN_len`, `argc`) → None.
fn execve_arg_name(name: &str) -> Option<(u64, Option<u64>)> {
    let rest = name.strip_prefix('a')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let index = rest.get(..digits).filter(|d| !d.is_empty())?.parse().ok()?;
    match rest.get(digits..)? {
        "" => Some((index, None)),
        tail => {
            let piece = tail.strip_prefix('[')?.strip_suffix(']')?;
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((index, Some(piece.parse().ok()?)))
        }
    }
}

/// The arguments in a decoded `proctitle` value: NUL-separated, a trailing NUL dropped. The
/// kernel keeps at most 128 bytes of the title, so the last argument may be cut.
pub fn proctitle_args(proctitle: &str) -> Vec<String> {
    let title = proctitle.strip_suffix('\0').unwrap_or(proctitle);
    if title.is_empty() {
        return Vec::new();
    }
    title.split('\0').map(str::to_string).collect()
}

pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: u16 = 16;

/// A decoded `saddr=` (a `struct sockaddr` in hex, as the kernel logs it in `SOCKADDR` records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    /// AF_INET or AF_INET6.
    Inet { ip: IpAddr, port: u16 },
    /// AF_UNIX: the path up to its first NUL; an abstract socket (first byte NUL) as `@name`,
    /// its trailing NULs removed. Bytes that are not UTF-8 are `\xNN`.
    Unix(String),
    /// AF_NETLINK: the port id and multicast groups.
    Netlink { pid: u32, groups: u32 },
    /// Any other family, or a family this machine's byte order does not explain (a log from a
    /// big-endian host has its family bytes swapped: AF_INET reads as 512).
    Other { family: u16 },
}

/// Decodes a `saddr` hex string: the family is little-endian (as written by x86 and ARM
/// kernels), ports are big-endian. `None` when the string is not hex or too short for its
/// family.
pub fn sockaddr(hex: &str) -> Option<SockAddr> {
    let bytes = decode_hex(hex)?;
    let family = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let be16 = |at: usize| Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    let le32 = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    match family {
        AF_INET => {
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SockAddr::Inet { ip: IpAddr::V4(Ipv4Addr::from(ip)), port: be16(2)? })
        }
        AF_INET6 => {
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some(SockAddr::Inet { ip: IpAddr::V6(Ipv6Addr::from(ip)), port: be16(2)? })
        }
        AF_UNIX => {
            let path = bytes.get(2..).unwrap_or_default();
            Some(SockAddr::Unix(match path.split_first() {
                Some((0, name)) => {
                    let len = name.len() - name.iter().rev().take_while(|&&b| b == 0).count();
                    format!("@{}", bytes_to_text(name.get(..len).unwrap_or_default()))
                }
                _ => {
                    let len = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    bytes_to_text(path.get(..len).unwrap_or_default())
                }
            }))
        }
        AF_NETLINK => Some(SockAddr::Netlink { pid: le32(4)?, groups: le32(8)? }),
        family => Some(SockAddr::Other { family }),
    }
}

// ---------------------------------------------------------------------------------------------
// Events.
// ---------------------------------------------------------------------------------------------

/// Why an [`Assembler`] closed an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Completion {
    /// Its `EOE` record arrived.
    EndOfEvent,
    /// A record of the same node, more than [`COMPLETE_AFTER_SECS`] newer, arrived.
    NewerRecord,
    /// It reached the per-event record limit; later records with its key form a new event.
    RecordLimit,
    /// Still building when the pending limits forced it out: it may lack records.
    Evicted,
    /// Still building at [`Assembler::finish`].
    EndOfInput,
}

/// The records sharing one `(node, sec, msec, serial)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub node: Option<String>,
    pub sec: i64,
    pub msec: u32,
    pub serial: u64,
    /// `sec.msec` in UTC nanoseconds since the epoch.
    pub ts_ns: Timestamp,
    /// Line number the caller gave with the event's first record.
    pub first_line: u64,
    /// In arrival order, `EOE` included when present.
    pub records: Vec<AuditLine>,
    pub completion: Completion,
}

impl AuditEvent {
    /// The first record of `record_type`.
    pub fn record(&self, record_type: &str) -> Option<&AuditLine> {
        self.records.iter().find(|r| r.record_type == record_type)
    }

    /// Every record of `record_type`, in order.
    pub fn records_of<'a>(&'a self, record_type: &'a str) -> impl Iterator<Item = &'a AuditLine> + 'a {
        self.records.iter().filter(move |r| r.record_type == record_type)
    }

    /// Field `name` of the first record of `record_type` that has it.
    pub fn field(&self, record_type: &str, name: &str) -> Option<&str> {
        self.records.iter().filter(|r| r.record_type == record_type).find_map(|r| r.field(name))
    }

    /// The argv of the event's `EXECVE` records (see [`execve_args`]).
    pub fn execve_args(&self) -> Vec<String> {
        execve_args(&self.records)
    }

    /// The arguments in the `PROCTITLE` record (see [`proctitle_args`]).
    pub fn proctitle_args(&self) -> Vec<String> {
        self.field("PROCTITLE", "proctitle").map(proctitle_args).unwrap_or_default()
    }

    /// The decoded `saddr` of the `SOCKADDR` record.
    pub fn sockaddr(&self) -> Option<SockAddr> {
        self.field("SOCKADDR", "saddr").and_then(sockaddr)
    }
}

/// The bounds of an [`Assembler`]; [`Default`] gives the named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerLimits {
    pub complete_after_secs: i64,
    pub max_pending_events: usize,
    pub max_pending_records: usize,
    pub max_records_per_event: usize,
}

impl Default for AssemblerLimits {
    fn default() -> Self {
        AssemblerLimits {
            complete_after_secs: COMPLETE_AFTER_SECS,
            max_pending_events: MAX_PENDING_EVENTS,
            max_pending_records: MAX_PENDING_RECORDS,
            max_records_per_event: MAX_RECORDS_PER_EVENT,
        }
    }
}

/// What an [`Assembler`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerStats {
    pub events: u64,
    /// Events forced out while still building ([`Completion::Evicted`]).
    pub evicted: u64,
    /// Events closed at the record limit ([`Completion::RecordLimit`]).
    pub record_limit: u64,
}

/// Event identity. The node is hashed so that a lookup needs no allocation; a collision can
/// only split an event, and is checked against the stored node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct EventKey {
    node: u64,
    sec: i64,
    msec: u32,
    serial: u64,
}

impl EventKey {
    fn of(node: Option<&str>, sec: i64, msec: u32, serial: u64) -> Self {
        let mut h = FxHasher::default();
        node.hash(&mut h);
        EventKey { node: h.finish(), sec, msec, serial }
    }
}

struct Slot {
    key: EventKey,
    event: AuditEvent,
    done: Option<Completion>,
}

/// Groups records into events by `(node, sec, msec, serial)`, for logs whose events interleave
/// and that may lack `EOE` records (on-disk logs usually do).
///
/// An event is complete when its `EOE` arrives, when a record of the same node more than
/// [`COMPLETE_AFTER_SECS`] newer arrives, or when it reaches the per-event record limit; when
/// more than the pending limits are held, the oldest is emitted as it is and counted in
/// [`AssemblerStats::evicted`]. Events are emitted in the order their first records were pushed
/// (the order of `first_line` when line numbers increase): a complete event waits behind an
/// older one still building, within the same limits. The output depends only on the input lines
/// and their order.
pub struct Assembler {
    limits: AssemblerLimits,
    /// Pending events; the front has sequence number `front_seq`, the next ones follow.
    queue: VecDeque<Slot>,
    front_seq: u64,
    /// Building events by key.
    building: FxHashMap<EventKey, u64>,
    /// Building events per node hash, by (sec, seq): the oldest first.
    by_node: FxHashMap<u64, BTreeSet<(i64, u64)>>,
    pending_records: usize,
    stats: AssemblerStats,
}

impl Default for Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    pub fn new() -> Self {
        Self::with_limits(AssemblerLimits::default())
    }

    /// Limits of zero are raised to one.
    pub fn with_limits(limits: AssemblerLimits) -> Self {
        let limits = AssemblerLimits {
            complete_after_secs: limits.complete_after_secs.max(0),
            max_pending_events: limits.max_pending_events.max(1),
            max_pending_records: limits.max_pending_records.max(1),
            max_records_per_event: limits.max_records_per_event.max(1),
        };
        Assembler {
            limits,
            queue: VecDeque::new(),
            front_seq: 0,
            building: FxHashMap::default(),
            by_node: FxHashMap::default(),
            pending_records: 0,
            stats: AssemblerStats::default(),
        }
    }

    pub fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// Events held (building, or complete behind an older building one).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Adds the record read at `line_no`; returns the events that became ready, in order.
    pub fn push(&mut self, line_no: u64, line: AuditLine) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        self.push_into(line_no, line, &mut out);
        out
    }

    /// [`Assembler::push`] appending to `out`.
    pub fn push_into(&mut self, line_no: u64, line: AuditLine, out: &mut Vec<AuditEvent>) {
        let key = EventKey::of(line.node.as_deref(), line.sec, line.msec, line.serial);
        self.complete_older(key.node, line.sec);
        let end = line.record_type == "EOE";
        let found =
            self.building.get(&key).copied().filter(|&seq| self.slot(seq).is_some_and(|s| s.event.node == line.node));
        let max_records = self.limits.max_records_per_event;
        match found {
            Some(seq) => {
                let mut full = false;
                if let Some(slot) = self.slot_mut(seq) {
                    slot.event.records.push(line);
                    full = slot.event.records.len() >= max_records;
                }
                if end {
                    self.complete(seq, Completion::EndOfEvent);
                } else if full {
                    self.complete(seq, Completion::RecordLimit);
                }
            }
            None => {
                let seq = self.front_seq + self.queue.len() as u64;
                let mut event = AuditEvent {
                    node: line.node.clone(),
                    sec: line.sec,
                    msec: line.msec,
                    serial: line.serial,
                    ts_ns: line.ts_ns(),
                    first_line: line_no,
                    // Room for a typical event's records (SYSCALL, EXECVE, CWD, two PATHs,
                    // PROCTITLE) from the start, rather than growing the list twice.
                    records: Vec::with_capacity(RECORDS_PER_EVENT),
                    completion: Completion::EndOfInput,
                };
                event.records.push(line);
                self.queue.push_back(Slot { key, event, done: None });
                self.building.insert(key, seq);
                self.by_node.entry(key.node).or_default().insert((key.sec, seq));
                if end {
                    self.complete(seq, Completion::EndOfEvent);
                } else if max_records <= 1 {
                    self.complete(seq, Completion::RecordLimit);
                }
            }
        }
        self.pending_records += 1;
        self.release(out);
    }

    /// Closes every event still building and returns all pending events, in order.
    pub fn finish(&mut self) -> Vec<AuditEvent> {
        let mut out = Vec::with_capacity(self.queue.len());
        while let Some(slot) = self.queue.pop_front() {
            self.front_seq += 1;
            out.push(self.emit(slot, Completion::EndOfInput));
        }
        self.building.clear();
        self.by_node.clear();
        self.pending_records = 0;
        out
    }

    fn slot(&self, seq: u64) -> Option<&Slot> {
        self.queue.get(usize::try_from(seq.checked_sub(self.front_seq)?).ok()?)
    }

    fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        self.queue.get_mut(usize::try_from(seq.checked_sub(self.front_seq)?).ok()?)
    }

    /// Completes the building events of `node` that a record at `sec` is more than the timeout
    /// newer than.
    fn complete_older(&mut self, node: u64, sec: i64) {
        let after = self.limits.complete_after_secs;
        let mut expired = Vec::new();
        if let Some(set) = self.by_node.get_mut(&node) {
            while let Some(&(event_sec, seq)) = set.first() {
                if event_sec.saturating_add(after) >= sec {
                    break;
                }
                set.pop_first();
                expired.push(seq);
            }
        }
        for seq in expired {
            self.complete(seq, Completion::NewerRecord);
        }
    }

    /// Marks a building event complete and drops it from the indexes.
    fn complete(&mut self, seq: u64, how: Completion) {
        let Some(slot) = self.slot_mut(seq) else { return };
        if slot.done.is_some() {
            return;
        }
        slot.done = Some(how);
        let key = slot.key;
        if self.building.get(&key) == Some(&seq) {
            self.building.remove(&key);
        }
        if let Some(set) = self.by_node.get_mut(&key.node) {
            set.remove(&(key.sec, seq));
            if set.is_empty() {
                self.by_node.remove(&key.node);
            }
        }
    }

    /// Emits complete events from the front; over a limit, the front goes out as it is.
    fn release(&mut self, out: &mut Vec<AuditEvent>) {
        loop {
            let over = self.queue.len() > self.limits.max_pending_events
                || self.pending_records > self.limits.max_pending_records;
            let Some(front) = self.queue.front() else { return };
            let how = match front.done {
                Some(how) => how,
                None if over => {
                    self.complete(self.front_seq, Completion::Evicted);
                    self.stats.evicted += 1;
                    Completion::Evicted
                }
                None => return,
            };
            let Some(slot) = self.queue.pop_front() else { return };
            self.front_seq += 1;
            out.push(self.emit(slot, how));
        }
    }

    fn emit(&mut self, slot: Slot, fallback: Completion) -> AuditEvent {
        let mut event = slot.event;
        event.completion = slot.done.unwrap_or(fallback);
        self.pending_records = self.pending_records.saturating_sub(event.records.len());
        self.stats.events += 1;
        if event.completion == Completion::RecordLimit {
            self.stats.record_limit += 1;
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSCALL: &str = "type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=59 success=yes \
        exit=0 a0=55d0c0a1b2c0 a1=55d0c0a1b300 a2=1 a3=7ffd items=2 ppid=900 pid=901 auid=1000 uid=0 \
        tty=pts0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" key=(null)";

    fn line(text: &str) -> AuditLine {
        match parse_line(text.as_bytes()) {
            Ok(l) => l,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    fn fields(l: &AuditLine) -> Vec<(&str, &str)> {
        l.fields.iter().collect()
    }

    #[test]
    fn raw_line() {
        let l = line(SYSCALL);
        assert_eq!(l.node, None);
        assert_eq!(l.record_type, "SYSCALL");
        assert_eq!((l.sec, l.msec, l.serial), (1_700_000_000, 123, 4567));
        assert_eq!(l.ts_ns(), 1_700_000_000_123_000_000);
        assert_eq!(l.field("syscall"), Some("59"));
        assert_eq!(l.field("comm"), Some("curl"));
        assert_eq!(l.field("exe"), Some("/usr/bin/curl"));
        // Syscall arguments are hex numbers, not encoded text, even when they decode.
        assert_eq!(l.field("a0"), Some("55d0c0a1b2c0"));
        assert_eq!(l.field("a3"), Some("7ffd"));
        assert_eq!(l.field("key"), None, "(null) is absent");
        assert!(l.interpreted.is_empty());
        assert_eq!(l.fields.len(), 17);
    }

    #[test]
    fn enriched_and_node_prefixed() {
        let text = format!("node=web-1.example {SYSCALL}\x1dARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\"\n");
        let l = line(&text);
        assert_eq!(l.node.as_deref(), Some("web-1.example"));
        assert_eq!(l.field("pid"), Some("901"));
        assert_eq!(l.field("key"), None);
        let interp: Vec<(&str, &str)> = l.interpreted.iter().collect();
        assert_eq!(interp, [("ARCH", "x86_64"), ("SYSCALL", "execve"), ("AUID", "alice"), ("UID", "root")]);
        assert_eq!(l.interpreted_field("AUID"), Some("alice"));

        let crlf = line("node=n1 type=EOE msg=audit(1700000000.123:4567): \r\n");
        assert_eq!((crlf.node.as_deref(), crlf.record_type.as_str(), crlf.fields.len()), (Some("n1"), "EOE", 0));
    }

    #[test]
    fn enriched_socket_address_is_one_value() {
        let l = line(
            "type=SOCKADDR msg=audit(1700000000.123:4567): saddr=0200A6AB5917083A0000000000000000\x1dSADDR={ \
             saddr_fam=inet laddr=89.23.8.58 lport=42667 } EXTRA=x",
        );
        let interp: Vec<(&str, &str)> = l.interpreted.iter().collect();
        assert_eq!(interp, [("SADDR", "{ saddr_fam=inet laddr=89.23.8.58 lport=42667 }"), ("EXTRA", "x")]);
        // An unclosed brace runs to the next space, as any other value.
        let cut = line("type=SOCKADDR msg=audit(1700000000.123:4567): saddr=01\x1dSADDR={ fam=netlink");
        let interp: Vec<(&str, &str)> = cut.interpreted.iter().collect();
        assert_eq!(interp, [("SADDR", "{"), ("fam", "netlink")]);
        // A `}` inside a socket path does not end the address early.
        let path = line(
            "type=SOCKADDR msg=audit(1700000000.123:4567): saddr=01\x1dSADDR={ saddr_fam=local path=/tmp/a}b \
             } AUID=\"alice\"",
        );
        let interp: Vec<(&str, &str)> = path.interpreted.iter().collect();
        assert_eq!(interp, [("SADDR", "{ saddr_fam=local path=/tmp/a}b }"), ("AUID", "alice")]);
        // Only SADDR takes braces: another field's value ends at the next space.
        let other = line("type=SOCKADDR msg=audit(1700000000.123:4567): saddr=01\x1dX={ a=1 } AUID=\"bob\"");
        let names: Vec<&str> = other.interpreted.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["X", "a", "AUID"]);
    }

    #[test]
    fn hex_encoded_fields() {
        let l = line(
            "type=PROCTITLE msg=audit(1700000000.123:4567): \
             proctitle=6375726C002D7300687474703A2F2F31302E302E302E352F782079",
        );
        assert_eq!(l.field("proctitle"), Some("curl\0-s\0http://10.0.0.5/x y"));
        assert_eq!(proctitle_args(l.field("proctitle").unwrap_or_default()), ["curl", "-s", "http://10.0.0.5/x y"]);
        assert_eq!(proctitle_args("bash"), ["bash"]);
        assert!(proctitle_args("").is_empty());

        let l = line("type=CWD msg=audit(1700000000.123:4567): cwd=2F746D702F6D7920646972");
        assert_eq!(l.field("cwd"), Some("/tmp/my dir"));
        // Quoted is literal, even when it looks like hex; odd length or non-hex stays as is.
        let l = line("type=PATH msg=audit(1.000:1): item=0 name=\"CAFE\" inode=ABCD dev=fd:01 nametype=NORMAL");
        assert_eq!(l.field("name"), Some("CAFE"));
        assert_eq!(l.field("inode"), Some("ABCD"), "inode is not an encoded field");
        let l = line("type=PATH msg=audit(1.000:1): name=ABC cwd=/x key=6B6579");
        assert_eq!((l.field("name"), l.field("cwd"), l.field("key")), (Some("ABC"), Some("/x"), Some("key")));
        // Invalid UTF-8 after decoding is kept, escaped.
        let l = line("type=PATH msg=audit(1.000:1): name=2FFF2E");
        assert_eq!(l.field("name"), Some("/\\xff."));
    }

    #[test]
    fn execve_records_decode_every_argument() {
        let l = line("type=EXECVE msg=audit(1700000000.123:4567): argc=3 a0=\"sh\" a1=\"-c\" a2=6563686F2022686922");
        assert_eq!(fields(&l), [("argc", "3"), ("a0", "sh"), ("a1", "-c"), ("a2", "echo \"hi\"")]);
        assert_eq!(execve_args([&l]), ["sh", "-c", "echo \"hi\""]);
    }

    #[test]
    fn execve_split_arguments_across_records() {
        let first = line(
            "type=EXECVE msg=audit(1700000000.123:4567): argc=3 a0=\"/bin/echo\" a1_len=22 a1[0]=616C696365 \
             a1[1]=20736D697468",
        );
        let second = line("type=EXECVE msg=audit(1700000000.123:4567): a1[2]=\"-jones\" a2=\"end\"");
        assert_eq!(execve_args([&first, &second]), ["/bin/echo", "alice smith-jones", "end"]);
        // Pieces join in index order whatever the record order; indices ≥ argc are ignored.
        let shuffled = line("type=EXECVE msg=audit(1.000:1): argc=2 a1[1]=\"b\" a0=\"x\" a1[0]=\"a\" a5=\"extra\"");
        assert_eq!(execve_args([&shuffled]), ["x", "ab"]);
        // Records of other types are ignored; missing arguments are skipped, not invented.
        let syscall = line(SYSCALL);
        let gap = line("type=EXECVE msg=audit(1.000:1): argc=4 a0=\"x\" a3=\"z\"");
        assert_eq!(execve_args([&syscall, &gap]), ["x", "z"]);
        assert!(execve_args([&syscall]).is_empty());
        // A character cut between two pieces ("€" is E2 82 AC) comes out whole.
        let cut = line("type=EXECVE msg=audit(1.000:1): argc=1 a0_len=5 a0[0]=3130E282 a0[1]=AC21");
        assert_eq!(execve_args([&cut]), ["10€!"]);
        // Bytes that are not UTF-8 together stay escaped, and an escape-like text is left alone.
        let bad = line("type=EXECVE msg=audit(1.000:1): argc=1 a0_len=3 a0[0]=41FF a0[1]=FE42");
        assert_eq!(execve_args([&bad]), ["A\\xff\\xfeB"]);
        let mut arg = String::from("x\\xe2");
        join_piece(&mut arg, "\\x82\\xacy");
        assert_eq!(arg, "x€y");
        // Escapes written in the command itself are text, whatever they would decode to.
        let literal = line(r#"type=EXECVE msg=audit(1.000:1): argc=1 a0_len=16 a0[0]="ab\x41\x42" a0[1]="\x43\x44cd""#);
        assert_eq!(execve_args([&literal]), [r"ab\x41\x42\x43\x44cd"]);
        // Invalid bytes before a cut character do not stop it being put back together.
        let after_bad = line("type=EXECVE msg=audit(1.000:1): argc=1 a0_len=4 a0[0]=FFE2 a0[1]=82AC");
        assert_eq!(execve_args([&after_bad]), ["\\xff€"]);
        assert_eq!(execve_arg_name("a12[3]"), Some((12, Some(3))));
        assert_eq!(execve_arg_name("a1_len"), None);
        assert_eq!(execve_arg_name("a[1]"), None);
        assert_eq!(execve_arg_name("a1[]"), None);
        assert_eq!(execve_arg_name("argc"), None);
    }

    #[test]
    fn user_message_is_flattened() {
        let l = line(
            "type=USER_LOGIN msg=audit(1700000100.500:880): pid=1200 uid=0 auid=4294967295 ses=4294967295 \
             msg='op=login acct=616C69636520736D697468 exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.9 \
             terminal=sshd res=failed'\x1dUID=\"root\" AUID=\"unset\"",
        );
        let f = fields(&l);
        assert_eq!(f.get(4).map(|p| p.0), Some("msg"));
        assert_eq!(
            f.get(5..),
            Some(
                &[
                    ("op", "login"),
                    ("acct", "alice smith"),
                    ("exe", "/usr/sbin/sshd"),
                    ("hostname", "?"),
                    ("addr", "203.0.113.9"),
                    ("terminal", "sshd"),
                    ("res", "failed"),
                ][..]
            )
        );
        assert_eq!(l.interpreted_field("AUID"), Some("unset"));
        // Old PAM messages mix in words without `=`; those are skipped.
        let l = line(
            "type=USER_ACCT msg=audit(1.000:1): user pid=5 uid=0 msg='PAM: accounting acct=root : exe=\"/usr/sbin/crond\" res=success'",
        );
        assert_eq!(
            (l.field("acct"), l.field("exe"), l.field("res")),
            (Some("root"), Some("/usr/sbin/crond"), Some("success"))
        );
    }

    #[test]
    fn unterminated_single_quote_runs_to_the_end() {
        let l = line("type=SERVICE_START msg=audit(1.000:1): pid=1 msg='unit=cron comm=\"systemd\" res=success");
        assert_eq!(
            fields(&l),
            [
                ("pid", "1"),
                ("msg", "unit=cron comm=\"systemd\" res=success"),
                ("unit", "cron"),
                ("comm", "systemd"),
                ("res", "success"),
            ]
        );
    }

    #[test]
    fn odd_but_valid_lines() {
        // AVC text, values starting with `=`, a bare `=`, an empty value, two spaces after `:`.
        let l = line(
            "type=AVC msg=audit(1.000:1):  avc:  denied  { read } for  pid=7 comm=\"a b\" subj==unconfined = x= y=1",
        );
        assert_eq!(fields(&l), [("pid", "7"), ("comm", "a b"), ("subj", "=unconfined"), ("x", ""), ("y", "1")]);
        let l = line("type=UNKNOWN[1334] msg=audit(1700000000.001:0):");
        assert_eq!((l.record_type.as_str(), l.msec, l.serial), ("UNKNOWN[1334]", 1, 0));
        assert!(l.fields.is_empty());
    }

    #[test]
    fn bad_lines_say_why_and_where() {
        let err = |s: &[u8]| parse_line(s).err();
        assert_eq!(err(b""), Some(LineError::Empty));
        assert_eq!(err(b"\n"), Some(LineError::Empty));
        assert_eq!(err(b"# comment"), Some(LineError::NoType { column: 0 }));
        assert_eq!(err(b"node=x msg=audit(1.000:1): a=1"), Some(LineError::NoType { column: 7 }));
        assert_eq!(err(b"type=SYSCALL audit(1.000:1): a=1"), Some(LineError::NoMsgAudit { column: 13 }));
        assert_eq!(
            err(b"type=SYSCALL msg=audit(x.000:1): a=1"),
            Some(LineError::BadTimestamp { column: 23, expected: "seconds" })
        );
        assert_eq!(
            err(b"type=SYSCALL msg=audit(1.0001:1): a=1"),
            Some(LineError::BadTimestamp { column: 25, expected: "at most 3 digits of milliseconds" })
        );
        assert_eq!(
            err(b"type=SYSCALL msg=audit(99999999999999999999.000:1):"),
            Some(LineError::BadTimestamp { column: 23, expected: "seconds" })
        );
        assert_eq!(
            err(b"type=SYSCALL msg=audit(1.000-1):"),
            Some(LineError::BadTimestamp { column: 28, expected: "':' before the serial" })
        );
        // Cut lines: in the header, in the timestamp, inside a quoted value.
        assert_eq!(err(b"node=x"), Some(LineError::Cut { column: 6, what: "node" }));
        assert_eq!(err(b"type=SYSCALL msg=aud"), Some(LineError::Cut { column: 20, what: "header" }));
        assert_eq!(
            err(b"type=SYSCALL msg=audit(1700000000.12"),
            Some(LineError::Cut { column: 36, what: "timestamp" })
        );
        assert_eq!(
            err(b"type=SYSCALL msg=audit(1.000:1): pid=1 comm=\"bas"),
            Some(LineError::Cut { column: 44, what: "quoted value" })
        );
        assert_eq!(
            err(b"type=USER_END msg=audit(1.000:1): msg='op=x acct=\"ro"),
            Some(LineError::Cut { column: 49, what: "quoted value" })
        );
        // Binary junk and bytes that are not UTF-8.
        assert_eq!(err(b"type=SYSCALL\0msg"), Some(LineError::Binary { column: 12, byte: 0 }));
        assert_eq!(err(b"\x7fELF\x02\x01"), Some(LineError::Binary { column: 0, byte: 0x7f }));
        assert_eq!(err(b"type=SYSCALL msg=audit(1.000:1): comm=\xff"), Some(LineError::NotUtf8 { column: 38 }));
        assert_eq!(LineError::NotUtf8 { column: 38 }.column(), 38);
    }

    #[test]
    fn line_length_limit() {
        let head = "type=EXECVE msg=audit(1.000:1): a0=\"";
        let at_limit = format!("{head}{}\"", "x".repeat(MAX_LINE_LEN - head.len() - 1));
        assert_eq!(at_limit.len(), MAX_LINE_LEN);
        assert_eq!(line(&format!("{at_limit}\n")).field("a0").map(str::len), Some(MAX_LINE_LEN - head.len() - 1));
        let over = format!("{at_limit} ");
        assert_eq!(
            parse_line(over.as_bytes()).err(),
            Some(LineError::TooLong { column: MAX_LINE_LEN, len: MAX_LINE_LEN + 1 })
        );
    }

    #[test]
    fn fields_store() {
        let mut f: Fields = [("a", "1"), ("b", "2")].into_iter().collect();
        f.push("a", "3");
        assert_eq!((f.len(), f.is_empty(), f.get("a"), f.get("c")), (3, false, Some("1"), None));
        assert_eq!(f.to_pairs(), [("a", "1"), ("b", "2"), ("a", "3")].map(|(n, v)| (n.to_string(), v.to_string())));
        assert_eq!(format!("{f:?}"), r#"[("a", "1"), ("b", "2"), ("a", "3")]"#);
        // Equality is by pairs, whatever the buffer layout.
        let parsed = line("type=X msg=audit(1.000:1): a=1 b=\"2\" a=3").fields;
        assert_eq!(parsed, f);
        assert_eq!((&parsed).into_iter().len(), 3);
        assert!(Fields::new().is_empty());
    }

    #[test]
    fn sockaddr_families() {
        let v4 = sockaddr("020001BBC000020A0000000000000000");
        assert_eq!(v4, Some(SockAddr::Inet { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), port: 443 }));
        let v6 = sockaddr("0A001F900000000020010DB800000000000000000000000100000000");
        let ip: Option<IpAddr> = "2001:db8::1".parse().ok();
        assert_eq!(v6, ip.map(|ip| SockAddr::Inet { ip, port: 8080 }));
        assert_eq!(sockaddr("01002F72756E2F7573657220736F636B00FFFF"), Some(SockAddr::Unix("/run/user sock".into())));
        assert_eq!(sockaddr("01000068696464656E0000"), Some(SockAddr::Unix("@hidden".into())));
        assert_eq!(sockaddr("1000000000000000"), None, "netlink too short");
        assert_eq!(sockaddr("10000000D204000001000000"), Some(SockAddr::Netlink { pid: 1234, groups: 1 }));
        // A big-endian host's AF_INET reads as family 512, as ausearch reports it.
        assert_eq!(sockaddr("0002D903000000000000000000000000"), Some(SockAddr::Other { family: 512 }));
        assert_eq!(sockaddr("0200"), None, "inet too short");
        assert_eq!(sockaddr("0A0001BB00000000"), None, "inet6 too short");
        assert_eq!(sockaddr("zz00"), None);
        assert_eq!(sockaddr("020"), None);
        assert_eq!(sockaddr(""), None);
    }

    fn rec(node: Option<&str>, kind: &str, sec: i64, serial: u64) -> AuditLine {
        AuditLine {
            node: node.map(str::to_string),
            record_type: kind.to_string(),
            sec,
            msec: 0,
            serial,
            fields: Fields::new(),
            interpreted: Fields::new(),
        }
    }

    fn summary(events: &[AuditEvent]) -> Vec<(u64, Vec<&str>, Completion)> {
        events
            .iter()
            .map(|e| (e.serial, e.records.iter().map(|r| r.record_type.as_str()).collect(), e.completion))
            .collect()
    }

    #[test]
    fn interleaved_events_without_eoe() {
        let mut a = Assembler::new();
        let mut out = Vec::new();
        let lines = [
            rec(None, "SYSCALL", 100, 1),
            rec(None, "SYSCALL", 100, 2),
            rec(None, "EXECVE", 100, 2),
            rec(None, "PATH", 100, 1),
            rec(None, "PROCTITLE", 101, 3),
            rec(None, "PROCTITLE", 100, 1),
            rec(None, "PROCTITLE", 100, 2),
        ];
        for (n, l) in lines.into_iter().enumerate() {
            out.extend(a.push(n as u64 + 1, l));
        }
        assert!(out.is_empty(), "nothing is known complete yet");
        // Three seconds later: events at 100 are complete; 101 is not yet (101 + 2 ≥ 103).
        out.extend(a.push(8, rec(None, "SYSCALL", 103, 4)));
        assert_eq!(
            summary(&out),
            [
                (1, vec!["SYSCALL", "PATH", "PROCTITLE"], Completion::NewerRecord),
                (2, vec!["SYSCALL", "EXECVE", "PROCTITLE"], Completion::NewerRecord),
            ]
        );
        assert_eq!(out.first().map(|e| e.first_line), Some(1));
        assert_eq!(out.get(1).map(|e| e.first_line), Some(2));
        let rest = a.finish();
        assert_eq!(
            summary(&rest),
            [(3, vec!["PROCTITLE"], Completion::EndOfInput), (4, vec!["SYSCALL"], Completion::EndOfInput)]
        );
        assert_eq!(a.stats(), AssemblerStats { events: 4, evicted: 0, record_limit: 0 });
        assert_eq!(a.pending(), 0);
    }

    #[test]
    fn eoe_completes_and_order_follows_first_lines() {
        let mut a = Assembler::new();
        let mut out = Vec::new();
        out.extend(a.push(1, rec(None, "SYSCALL", 100, 1)));
        out.extend(a.push(2, rec(None, "SYSCALL", 100, 2)));
        // Event 2 ends first but waits behind event 1.
        out.extend(a.push(3, rec(None, "EOE", 100, 2)));
        assert!(out.is_empty());
        out.extend(a.push(4, rec(None, "EOE", 100, 1)));
        assert_eq!(
            summary(&out),
            [(1, vec!["SYSCALL", "EOE"], Completion::EndOfEvent), (2, vec!["SYSCALL", "EOE"], Completion::EndOfEvent),]
        );
        // A lone EOE (its event already gone) is an event of its own, complete at once.
        assert_eq!(summary(&a.push(5, rec(None, "EOE", 100, 1))), [(1, vec!["EOE"], Completion::EndOfEvent)]);
    }

    #[test]
    fn nodes_are_separate_events_and_clocks() {
        let mut a = Assembler::new();
        let mut out = Vec::new();
        out.extend(a.push(1, rec(Some("a"), "SYSCALL", 100, 7)));
        out.extend(a.push(2, rec(Some("b"), "SYSCALL", 100, 7)));
        out.extend(a.push(3, rec(None, "SYSCALL", 100, 7)));
        // Node b's newer record completes node b's event only, which waits behind node a's.
        out.extend(a.push(4, rec(Some("b"), "SYSCALL", 200, 8)));
        assert!(out.is_empty());
        out.extend(a.push(5, rec(Some("a"), "PATH", 100, 7)));
        out.extend(a.push(6, rec(Some("a"), "SYSCALL", 200, 9)));
        let got: Vec<(Option<&str>, u64, usize)> =
            out.iter().map(|e| (e.node.as_deref(), e.first_line, e.records.len())).collect();
        assert_eq!(got, [(Some("a"), 1, 2), (Some("b"), 2, 1)]);
        let rest = a.finish();
        let got: Vec<(Option<&str>, u64)> = rest.iter().map(|e| (e.node.as_deref(), e.first_line)).collect();
        assert_eq!(got, [(None, 3), (Some("b"), 4), (Some("a"), 6)]);
    }

    #[test]
    fn pending_limit_evicts_the_oldest_and_counts_it() {
        let limits = AssemblerLimits { max_pending_events: 3, ..AssemblerLimits::default() };
        let mut a = Assembler::with_limits(limits);
        let mut out = Vec::new();
        for serial in 1..=3 {
            out.extend(a.push(serial, rec(None, "SYSCALL", 100, serial)));
        }
        assert!(out.is_empty(), "at the limit nothing is evicted");
        out.extend(a.push(4, rec(None, "SYSCALL", 100, 4)));
        assert_eq!(summary(&out), [(1, vec!["SYSCALL"], Completion::Evicted)]);
        assert_eq!(a.stats().evicted, 1);
        assert_eq!(a.pending(), 3);
        // A late record of the evicted event starts a new one.
        let late = a.push(5, rec(None, "PATH", 100, 1));
        assert_eq!(summary(&late), [(2, vec!["SYSCALL"], Completion::Evicted)]);

        // The record budget works the same way.
        let limits = AssemblerLimits { max_pending_records: 2, ..AssemblerLimits::default() };
        let mut a = Assembler::with_limits(limits);
        assert!(a.push(1, rec(None, "SYSCALL", 100, 1)).is_empty());
        assert!(a.push(2, rec(None, "PATH", 100, 1)).is_empty());
        assert_eq!(
            summary(&a.push(3, rec(None, "SYSCALL", 100, 2))),
            [(1, vec!["SYSCALL", "PATH"], Completion::Evicted)]
        );
    }

    #[test]
    fn record_limit_closes_an_event() {
        let limits = AssemblerLimits { max_records_per_event: 2, ..AssemblerLimits::default() };
        let mut a = Assembler::with_limits(limits);
        assert!(a.push(1, rec(None, "SYSCALL", 100, 1)).is_empty());
        let out = a.push(2, rec(None, "PATH", 100, 1));
        assert_eq!(summary(&out), [(1, vec!["SYSCALL", "PATH"], Completion::RecordLimit)]);
        assert!(a.push(3, rec(None, "PATH", 100, 1)).is_empty(), "a later record starts a new event");
        assert_eq!(summary(&a.finish()), [(1, vec!["PATH"], Completion::EndOfInput)]);
        assert_eq!(a.stats().record_limit, 1);
    }

    #[test]
    fn event_helpers() {
        let mut a = Assembler::new();
        let text = [
            SYSCALL,
            "type=EXECVE msg=audit(1700000000.123:4567): argc=2 a0=\"curl\" a1=\"http://192.0.2.10/\"",
            "type=SOCKADDR msg=audit(1700000000.123:4567): saddr=020001BBC000020A0000000000000000",
            "type=PROCTITLE msg=audit(1700000000.123:4567): proctitle=6375726C00687474703A2F2F3139322E302E322E31302F",
            "type=EOE msg=audit(1700000000.123:4567): ",
        ];
        let mut out = Vec::new();
        for (n, t) in text.iter().enumerate() {
            out.extend(a.push(n as u64 + 10, line(t)));
        }
        let [event] = out.as_slice() else { panic!("one event, got {}", out.len()) };
        assert_eq!(
            (event.first_line, event.ts_ns, event.completion),
            (10, 1_700_000_000_123_000_000, Completion::EndOfEvent)
        );
        assert_eq!(event.field("SYSCALL", "exe"), Some("/usr/bin/curl"));
        assert_eq!(event.field("SYSCALL", "nope"), None);
        assert_eq!(event.record("EXECVE").map(|r| r.fields.len()), Some(3));
        assert_eq!(event.record("CWD"), None);
        assert_eq!(event.execve_args(), ["curl", "http://192.0.2.10/"]);
        assert_eq!(event.proctitle_args(), ["curl", "http://192.0.2.10/"]);
        assert_eq!(event.sockaddr(), Some(SockAddr::Inet { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), port: 443 }));
    }

    #[test]
    fn time_helper_saturates() {
        assert_eq!(event_time_ns(1, 500), 1_500_000_000);
        assert_eq!(event_time_ns(i64::MAX, 999), i64::MAX);
    }
}
