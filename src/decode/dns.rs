//! DNS message decoder (RFC 1035 wire format, with RFC 6891 extended rcodes).
//!
//! Role: turn one DNS message into a [`DnsMessage`] whose names and answer data are rendered the
//! way Zeek's `dns.log` renders them, so seam's DNS events can be compared with Zeek's.
//!
//! Input: one message as `&[u8]`: a UDP payload, or one TCP message without its 2-byte length
//! prefix ([`tcp_frame`] splits a TCP stream). Every byte, count, length and pointer in it is
//! attacker-controlled evidence.
//!
//! Output: the header fields, the questions, the answer records with their rdata rendered as text,
//! the authority and additional counts, and a set of [`DnsAnomalies`]. Only a header shorter than
//! [`DNS_HEADER_LEN`] is an error. Damage after the header is flagged in `anomalies` and whatever
//! was decoded before it is kept, so a partly broken message still yields evidence.
//!
//! Zeek differences kept on purpose: names keep their case, where Zeek lowercases them. A '.' or
//! '\' inside a label is written `\x2e`/`\x5c`, where Zeek leaves it raw. `rcode` includes the OPT
//! bits, where Zeek logs [`DnsMessage::header_rcode`]. A comparison must allow for all three.
//!
//! Limits: a name stops at [`MAX_NAME_LEN`] wire bytes and after [`MAX_POINTER_HOPS`] compression
//! pointers. At most [`MAX_RECORDS_PER_SECTION`] questions and answers are decoded and the rest are
//! skipped. Authority and additional records are stepped over without being decoded. The one
//! exception is the OPT pseudo-record, whose upper rcode bits complete the header rcode.
//!
//! Invariants: no panics, no `unsafe`, no I/O, no global state. Work and memory grow with the
//! length of the input, never with what a count field claims. Every output string is printable
//! ASCII because any other byte is written as `\xNN`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::ops::Range;

/// Wire-format limit on a name (RFC 1035 2.3.4); longer names are truncated and flagged.
pub const MAX_NAME_LEN: usize = 255;
/// Compression pointers followed per name before declaring a loop.
pub const MAX_POINTER_HOPS: usize = 32;
/// Records decoded per section; more are skipped and flagged.
pub const MAX_RECORDS_PER_SECTION: usize = 256;
/// Fixed DNS header: id, flags and four section counts.
pub const DNS_HEADER_LEN: usize = 12;

/// DNS over TCP puts a big-endian message length in front of every message (RFC 1035 4.2.2).
const TCP_LENGTH_PREFIX_LEN: usize = 2;
/// Type and class after a question's name.
const QUESTION_FIXED_LEN: usize = 4;
/// Type, class, TTL and rdlength after a record's owner name.
const RECORD_FIXED_LEN: usize = 10;
/// The terminating zero byte of a name counts toward [`MAX_NAME_LEN`].
const ROOT_LABEL_LEN: usize = 1;
/// The smallest question and record on the wire (root name). Allocations are sized by what the
/// remaining bytes could hold, not by what a count claims.
const MIN_QUESTION_LEN: usize = ROOT_LABEL_LEN + QUESTION_FIXED_LEN;
const MIN_RECORD_LEN: usize = ROOT_LABEL_LEN + RECORD_FIXED_LEN;

/// The top two bits of a label's length byte select its type (RFC 1035 4.1.4, RFC 6891 5).
const LABEL_TYPE_MASK: u8 = 0xc0;
const LABEL_TYPE_NORMAL: u8 = 0x00;
const LABEL_TYPE_POINTER: u8 = 0xc0;
/// Each normal label is preceded by its length byte.
const LENGTH_BYTE_LEN: usize = 1;
const POINTER_LEN: usize = 2;
const POINTER_OFFSET_MASK: u16 = 0x3fff;

// Header flag bits, split by header byte so they can be read without shifting a u16.
const FLAG_QR: u8 = 0x80;
const FLAG_AA: u8 = 0x04;
const FLAG_TC: u8 = 0x02;
const FLAG_RD: u8 = 0x01;
const FLAG_RA: u8 = 0x80;
const OPCODE_SHIFT: u8 = 3;
const OPCODE_MASK: u8 = 0x0f;
const HEADER_RCODE_MASK: u8 = 0x0f;
/// The OPT record carries the upper 8 bits of a 12-bit rcode above the header's 4 (RFC 6891 6.1.3).
const HEADER_RCODE_BITS: u16 = 4;

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_PTR: u16 = 12;
const TYPE_MX: u16 = 15;
const TYPE_TXT: u16 = 16;
const TYPE_AAAA: u16 = 28;
const TYPE_SRV: u16 = 33;
const TYPE_DNAME: u16 = 39;
const TYPE_OPT: u16 = 41;
/// NetBIOS Name Service's NB record (RFC 1002): two flag bytes then an IPv4 address, repeated.
/// DNS's own type 32 (NIMLOC) is obsolete; an rdata of whole 6-byte entries is read as NB.
const TYPE_NB: u16 = 32;

/// Bytes of fixed rdata in front of the name these types render.
const MX_PREFERENCE_LEN: usize = 2;
const SRV_FIXED_LEN: usize = 6;
/// Serial, refresh, retry, expire and minimum after SOA's two names.
const SOA_FIXED_LEN: usize = 20;

/// One decoded DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub id: u16,
    pub is_response: bool,
    pub opcode: u8,
    /// Header rcode, extended with the OPT record's upper bits when present.
    pub rcode: u16,
    pub authoritative: bool,
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub questions: Vec<DnsQuestion>,
    pub answers: Vec<DnsRecord>,
    pub authority_count: u16,
    pub additional_count: u16,
    pub anomalies: DnsAnomalies,
}

impl DnsMessage {
    /// The 4-bit rcode from the header alone. Zeek's `dns.log` logs only this value, so a
    /// comparison with Zeek needs it rather than the extended `rcode`.
    pub fn header_rcode(&self) -> u16 {
        self.rcode & u16::from(HEADER_RCODE_MASK)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuestion {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// An answer record. `data` is rendered as Zeek renders it (see [`parse_message`]). It is empty
/// when the rdata could not be decoded, which is flagged [`DnsAnomalies::BAD_RDATA`]. It is also
/// empty when a name in the rdata is the root. Zeek logs neither case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: String,
    /// The address an A, AAAA or NetBIOS NB record carries, as read from its rdata.
    pub address: Option<IpAddr>,
}

/// Bit set of protocol anomalies worth keeping as event fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DnsAnomalies(pub u16);

impl DnsAnomalies {
    /// A compression pointer did not point strictly backwards, or a name took more than
    /// [`MAX_POINTER_HOPS`] pointers.
    pub const POINTER_LOOP: u16 = 1 << 0;
    /// A name had more than [`MAX_NAME_LEN`] wire bytes and was cut at the last whole label that fit.
    pub const NAME_TOO_LONG: u16 = 1 << 1;
    /// A label length byte used the reserved 0x40 or 0x80 label types.
    pub const BAD_LABEL_TYPE: u16 = 1 << 2;
    /// A count or length field promised more bytes than the message holds.
    pub const TRUNCATED_MESSAGE: u16 = 1 << 3;
    /// Bytes remain after every section the header announced.
    pub const TRAILING_BYTES: u16 = 1 << 4;
    /// The question or answer section held more than [`MAX_RECORDS_PER_SECTION`] entries. The
    /// excess was skipped, not decoded.
    pub const TOO_MANY_RECORDS: u16 = 1 << 5;
    /// A name contained a byte outside printable ASCII.
    pub const NON_PRINTABLE_NAME: u16 = 1 << 6;
    /// A query with qdcount 0.
    pub const ZERO_QUESTIONS_QUERY: u16 = 1 << 7;
    /// qdcount above 1. Servers reject it (RFC 9619), so it points at tooling or smuggling.
    pub const MULTIPLE_QUESTIONS: u16 = 1 << 8;
    /// An answer's rdata does not fit its type's layout (wrong address length, name overrunning
    /// rdlength, character-string past the end).
    pub const BAD_RDATA: u16 = 1 << 9;

    /// Output names, in bit order so that rendering is stable.
    const NAMES: [(u16, &'static str); 10] = [
        (Self::POINTER_LOOP, "pointer_loop"),
        (Self::NAME_TOO_LONG, "name_too_long"),
        (Self::BAD_LABEL_TYPE, "bad_label_type"),
        (Self::TRUNCATED_MESSAGE, "truncated_message"),
        (Self::TRAILING_BYTES, "trailing_bytes"),
        (Self::TOO_MANY_RECORDS, "too_many_records"),
        (Self::NON_PRINTABLE_NAME, "non_printable_name"),
        (Self::ZERO_QUESTIONS_QUERY, "zero_questions_query"),
        (Self::MULTIPLE_QUESTIONS, "multiple_questions"),
        (Self::BAD_RDATA, "bad_rdata"),
    ];

    /// True when every bit of `flag` is set.
    pub fn contains(self, flag: u16) -> bool {
        self.0 & flag == flag
    }

    pub fn insert(&mut self, flag: u16) {
        self.0 |= flag;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Stable snake_case names of the set flags, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(flag, _)| self.contains(*flag)).map(|(_, name)| *name).collect()
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    #[error("dns message too short: need {need} bytes, have {have}")]
    TooShort { need: usize, have: usize },
}

/// DNS over TCP framing: 2-byte big-endian length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpFrame {
    /// `buf[msg_start..msg_start + msg_len]` is one message; drop `consumed` bytes to reach the
    /// next prefix. `msg_len` may be 0, which [`parse_message`] rejects as too short.
    Complete { msg_start: usize, msg_len: usize, consumed: usize },
    /// At least `needed` more bytes beyond `buf.len()` must arrive before the frame completes.
    NeedMore { needed: usize },
}

/// Find the first length-prefixed DNS message at the start of a reassembled TCP stream.
pub fn tcp_frame(buf: &[u8]) -> TcpFrame {
    let Some(msg_len) = read_u16(buf, 0).map(usize::from) else {
        return TcpFrame::NeedMore { needed: TCP_LENGTH_PREFIX_LEN.saturating_sub(buf.len()) };
    };
    let consumed = TCP_LENGTH_PREFIX_LEN.saturating_add(msg_len);
    match consumed.checked_sub(buf.len()) {
        Some(needed) if needed > 0 => TcpFrame::NeedMore { needed },
        _ => TcpFrame::Complete { msg_start: TCP_LENGTH_PREFIX_LEN, msg_len, consumed },
    }
}

/// Parse one DNS message (UDP payload, or one TCP-framed message without its length prefix).
///
/// A message whose header parses is returned even when later sections are damaged: what was
/// decoded is kept and the damage is flagged in `anomalies`. Only a header that cannot be read is
/// an error.
///
/// Names are dot-joined labels without the trailing dot, root is `""`, and case is preserved.
/// Answer `data` follows Zeek's `dns.log`: A/AAAA as the address, NS/CNAME/PTR/DNAME/MX/SRV as the
/// target name, SOA as its mname, TXT as Zeek's `TXT <len> <text>` per string, and any other type
/// as `<unknown type=N>`.
pub fn parse_message(buf: &[u8]) -> Result<DnsMessage, DnsError> {
    let header = Header::parse(buf)?;
    let mut msg = header.message();
    let mut opt_ttl = None;
    let end = decode_sections(buf, &header, &mut msg, &mut opt_ttl);
    if let Some(ttl) = opt_ttl {
        msg.rcode = extended_rcode(msg.rcode, ttl);
    }
    // Trailing bytes are only meaningful when every announced section was walked to its end.
    if end.is_some_and(|end| end < buf.len()) {
        msg.anomalies.insert(DnsAnomalies::TRAILING_BYTES);
    }
    Ok(msg)
}

/// Name of a TYPE/QTYPE value (IANA registry; Zeek's spelling except `ANY`).
pub fn qtype_name(qtype: u16) -> Cow<'static, str> {
    let name = match qtype {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        32768 => "TA",
        32769 => "DLV",
        other => return Cow::Owned(format!("TYPE{other}")),
    };
    Cow::Borrowed(name)
}

/// Name of an (extended) rcode, as in the IANA registry.
pub fn rcode_name(rcode: u16) -> Cow<'static, str> {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        other => return Cow::Owned(format!("RCODE{other}")),
    };
    Cow::Borrowed(name)
}

/// The fixed 12-byte header.
struct Header {
    id: u16,
    flags: [u8; 2],
    qdcount: u16,
    ancount: u16,
    nscount: u16,
    arcount: u16,
}

impl Header {
    fn parse(buf: &[u8]) -> Result<Self, DnsError> {
        let too_short = DnsError::TooShort { need: DNS_HEADER_LEN, have: buf.len() };
        let bytes: [u8; DNS_HEADER_LEN] =
            buf.get(..DNS_HEADER_LEN).and_then(|bytes| bytes.try_into().ok()).ok_or(too_short)?;
        let [id0, id1, flags0, flags1, qd0, qd1, an0, an1, ns0, ns1, ar0, ar1] = bytes;
        Ok(Header {
            id: u16::from_be_bytes([id0, id1]),
            flags: [flags0, flags1],
            qdcount: u16::from_be_bytes([qd0, qd1]),
            ancount: u16::from_be_bytes([an0, an1]),
            nscount: u16::from_be_bytes([ns0, ns1]),
            arcount: u16::from_be_bytes([ar0, ar1]),
        })
    }

    /// The message as far as the header alone describes it.
    fn message(&self) -> DnsMessage {
        let [high, low] = self.flags;
        let is_response = high & FLAG_QR != 0;
        let mut anomalies = DnsAnomalies::default();
        if !is_response && self.qdcount == 0 {
            anomalies.insert(DnsAnomalies::ZERO_QUESTIONS_QUERY);
        }
        if self.qdcount > 1 {
            anomalies.insert(DnsAnomalies::MULTIPLE_QUESTIONS);
        }
        DnsMessage {
            id: self.id,
            is_response,
            opcode: (high >> OPCODE_SHIFT) & OPCODE_MASK,
            rcode: u16::from(low & HEADER_RCODE_MASK),
            authoritative: high & FLAG_AA != 0,
            truncated: high & FLAG_TC != 0,
            recursion_desired: high & FLAG_RD != 0,
            recursion_available: low & FLAG_RA != 0,
            questions: Vec::new(),
            answers: Vec::new(),
            authority_count: self.nscount,
            additional_count: self.arcount,
            anomalies,
        }
    }
}

/// Combine the header rcode with the extended bits in the first byte of an OPT record's TTL.
fn extended_rcode(header_rcode: u16, opt_ttl: u32) -> u16 {
    let [extended, ..] = opt_ttl.to_be_bytes();
    (u16::from(extended) << HEADER_RCODE_BITS) | header_rcode
}

/// Walk all four sections. Returns the offset after the last one, or `None` when damage stopped
/// the walk (the cause is already flagged). The OPT record's TTL is reported through `opt_ttl`
/// even if a later record stops the walk.
fn decode_sections(buf: &[u8], header: &Header, msg: &mut DnsMessage, opt_ttl: &mut Option<u32>) -> Option<usize> {
    let pos =
        decode_section(buf, DNS_HEADER_LEN, header.qdcount, &QUESTION_CODEC, &mut msg.questions, &mut msg.anomalies)?;
    let pos = decode_section(buf, pos, header.ancount, &ANSWER_CODEC, &mut msg.answers, &mut msg.anomalies)?;
    let pos = walk_records(buf, pos, header.nscount, &mut msg.anomalies, |_| {})?;
    walk_records(buf, pos, header.arcount, &mut msg.anomalies, |frame| {
        // RFC 6891 6.1.1: only one OPT is allowed; the first is the one a resolver would honour.
        if frame.rtype == TYPE_OPT && opt_ttl.is_none() {
            *opt_ttl = Some(frame.ttl);
        }
    })
}

/// Decodes the entry at an offset, returning it and the offset after it; `None` once damage makes
/// the rest of the message unreadable (the cause is flagged).
type ReadEntry<T> = fn(&[u8], usize, &mut DnsAnomalies) -> Option<(T, usize)>;
/// Steps over the entry at an offset without decoding it.
type SkipEntry = fn(&[u8], usize, &mut DnsAnomalies) -> Option<usize>;

/// How to decode one entry of a decoded section, and how to step over one past the limit.
struct EntryCodec<T> {
    /// Smallest wire size of an entry, to size allocations by the bytes actually present.
    min_wire_len: usize,
    read: ReadEntry<T>,
    skip: SkipEntry,
}

const QUESTION_CODEC: EntryCodec<DnsQuestion> =
    EntryCodec { min_wire_len: MIN_QUESTION_LEN, read: read_question, skip: skip_question };

const ANSWER_CODEC: EntryCodec<DnsRecord> =
    EntryCodec { min_wire_len: MIN_RECORD_LEN, read: read_answer, skip: skip_record };

/// Decode up to [`MAX_RECORDS_PER_SECTION`] entries of a section into `out` and skip the rest.
fn decode_section<T>(
    buf: &[u8],
    mut pos: usize,
    count: u16,
    codec: &EntryCodec<T>,
    out: &mut Vec<T>,
    anomalies: &mut DnsAnomalies,
) -> Option<usize> {
    let count = usize::from(count);
    let fits = buf.len().saturating_sub(pos) / codec.min_wire_len;
    out.reserve(count.min(fits).min(MAX_RECORDS_PER_SECTION));
    for index in 0..count {
        if index < MAX_RECORDS_PER_SECTION {
            let (entry, next) = (codec.read)(buf, pos, anomalies)?;
            out.push(entry);
            pos = next;
        } else {
            anomalies.insert(DnsAnomalies::TOO_MANY_RECORDS);
            pos = (codec.skip)(buf, pos, anomalies)?;
        }
    }
    Some(pos)
}

/// Step over `count` records without decoding them, showing each frame to `visit`. Each record
/// consumes at least [`MIN_RECORD_LEN`] bytes, so the walk is bounded by the input whatever
/// `count` says.
fn walk_records(
    buf: &[u8],
    mut pos: usize,
    count: u16,
    anomalies: &mut DnsAnomalies,
    mut visit: impl FnMut(&RecordFrame),
) -> Option<usize> {
    for _ in 0..count {
        let (frame, next) = read_skipped_record(buf, pos, anomalies)?;
        visit(&frame);
        pos = next;
    }
    Some(pos)
}

fn read_question(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<(DnsQuestion, usize)> {
    let name = section_name(buf, at, anomalies)?;
    let (qtype, qclass, next) = question_fixed(buf, name.end, anomalies)?;
    let question = DnsQuestion { name: name.text, qtype, qclass };
    Some((question, next))
}

fn skip_question(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<usize> {
    let name_end = skip_name(buf, at, anomalies)?;
    let (_, _, next) = question_fixed(buf, name_end, anomalies)?;
    Some(next)
}

/// QTYPE and QCLASS after a question's name, and the offset past them.
fn question_fixed(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<(u16, u16, usize)> {
    let Some((fixed, next)) = take(buf, at, QUESTION_FIXED_LEN) else {
        anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
        return None;
    };
    Some((read_u16(fixed, 0)?, read_u16(fixed, 2)?, next))
}

fn read_answer(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<(DnsRecord, usize)> {
    let owner = section_name(buf, at, anomalies)?;
    let frame = record_frame(buf, owner.end, anomalies)?;
    let address = rdata_address(buf, &frame);
    let data = render_rdata(buf, &frame, address, anomalies).unwrap_or_else(|| {
        anomalies.insert(DnsAnomalies::BAD_RDATA);
        String::new()
    });
    let record = DnsRecord { name: owner.text, rtype: frame.rtype, class: frame.class, ttl: frame.ttl, data, address };
    Some((record, frame.rdata.end))
}

fn skip_record(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<usize> {
    read_skipped_record(buf, at, anomalies).map(|(_, next)| next)
}

fn read_skipped_record(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<(RecordFrame, usize)> {
    let name_end = skip_name(buf, at, anomalies)?;
    let frame = record_frame(buf, name_end, anomalies)?;
    let next = frame.rdata.end;
    Some((frame, next))
}

/// A record's fixed fields and where its rdata lies in the message.
struct RecordFrame {
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Range<usize>,
}

fn record_frame(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<RecordFrame> {
    let frame = read_record_frame(buf, at);
    if frame.is_none() {
        anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
    }
    frame
}

fn read_record_frame(buf: &[u8], at: usize) -> Option<RecordFrame> {
    let (fixed, rdata_start) = take(buf, at, RECORD_FIXED_LEN)?;
    let rdlength = usize::from(read_u16(fixed, 8)?);
    let (_, rdata_end) = take(buf, rdata_start, rdlength)?;
    Some(RecordFrame {
        rtype: read_u16(fixed, 0)?,
        class: read_u16(fixed, 2)?,
        ttl: read_u32(fixed, 4)?,
        rdata: rdata_start..rdata_end,
    })
}

/// Render rdata as Zeek's `dns.log` does, `address` being what [`rdata_address`] read from
/// it; `None` when the rdata does not fit its type.
fn render_rdata(
    buf: &[u8],
    frame: &RecordFrame,
    address: Option<IpAddr>,
    anomalies: &mut DnsAnomalies,
) -> Option<String> {
    if let Some(a) = address {
        return Some(a.to_string());
    }
    let rdata = buf.get(frame.rdata.clone())?;
    match frame.rtype {
        // An address record whose rdata held an address has it in `address`.
        TYPE_A | TYPE_AAAA => None,
        TYPE_NS | TYPE_CNAME | TYPE_PTR | TYPE_DNAME => render_rdata_name(buf, &frame.rdata, 0, anomalies),
        TYPE_MX => render_rdata_name(buf, &frame.rdata, MX_PREFERENCE_LEN, anomalies),
        TYPE_SRV => render_rdata_name(buf, &frame.rdata, SRV_FIXED_LEN, anomalies),
        TYPE_SOA => render_soa_mname(buf, &frame.rdata, anomalies),
        TYPE_TXT => render_txt(rdata, anomalies),
        other => Some(format!("<unknown type={other}>")),
    }
}

/// A NetBIOS name in RFC 1001's first-level encoding (the first label: 32 letters `A`–`P`, two
/// per byte): the 15-byte name with trailing spaces and NULs trimmed, as sent (NetBIOS names
/// are upper case), and its type suffix (0x00 workstation, 0x20 file server, 0x1c domain
/// controllers, …).
pub fn netbios_name(name: &str) -> Option<(String, u8)> {
    let label = name.split('.').next()?.as_bytes();
    if label.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, pair) in label.chunks_exact(2).enumerate() {
        let nibble = |c: u8| c.to_ascii_uppercase().checked_sub(b'A').filter(|n| *n < 16);
        bytes[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    let decoded = String::from_utf8_lossy(&bytes[..15]).trim_end_matches([' ', '\0']).to_string();
    Some((decoded, bytes[15]))
}

/// The address in an A, AAAA or NB record's rdata (NB: the first name's).
fn rdata_address(buf: &[u8], frame: &RecordFrame) -> Option<IpAddr> {
    let rdata = buf.get(frame.rdata.clone())?;
    match frame.rtype {
        TYPE_A => <[u8; 4]>::try_from(rdata).ok().map(IpAddr::from),
        TYPE_AAAA => <[u8; 16]>::try_from(rdata).ok().map(IpAddr::from),
        TYPE_NB if !rdata.is_empty() && rdata.len() % 6 == 0 => {
            rdata.get(2..6).and_then(|a| <[u8; 4]>::try_from(a).ok()).map(IpAddr::from)
        }
        _ => None,
    }
}

/// A name that ends the rdata, after `offset` bytes of fixed fields. Bytes left over after the
/// name are flagged but the name is kept: they may be a covert payload, but the name is still
/// what the resolver used.
fn render_rdata_name(buf: &[u8], rdata: &Range<usize>, offset: usize, anomalies: &mut DnsAnomalies) -> Option<String> {
    let start = rdata.start.checked_add(offset)?;
    let name = read_name(buf, start, rdata.end, anomalies).ok()?;
    if name.end != rdata.end {
        anomalies.insert(DnsAnomalies::BAD_RDATA);
    }
    Some(name.text)
}

/// Zeek logs an SOA answer as its mname. The rname and the five counters must still fit exactly,
/// otherwise the record is flagged (the mname is kept).
fn render_soa_mname(buf: &[u8], rdata: &Range<usize>, anomalies: &mut DnsAnomalies) -> Option<String> {
    let mname = read_name(buf, rdata.start, rdata.end, anomalies).ok()?;
    let rest_fits = read_name(buf, mname.end, rdata.end, anomalies)
        .ok()
        .and_then(|rname| rname.end.checked_add(SOA_FIXED_LEN))
        .is_some_and(|end| end == rdata.end);
    if !rest_fits {
        anomalies.insert(DnsAnomalies::BAD_RDATA);
    }
    Some(mname.text)
}

/// Zeek's rendering, from `dns_TXT_reply` in `base/protocols/dns/main.zeek`: each
/// character-string becomes `TXT <len> <text>`, and the pieces are joined with one space. `<len>`
/// is the string's length on the wire, before escaping. For one printable string this is the
/// familiar `TXT 26 v=spf1 include:_spf.x ~all`. A string running past the rdata ends the
/// rendering and the strings before it are kept. That overrun is flagged, and so is an empty
/// rdata, because RFC 1035 requires at least one whole string.
fn render_txt(rdata: &[u8], anomalies: &mut DnsAnomalies) -> Option<String> {
    if rdata.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let Some((text, after)) = tail.split_at_checked(usize::from(len)) else {
            anomalies.insert(DnsAnomalies::BAD_RDATA);
            break;
        };
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "TXT {} ", text.len());
        push_escaped_text(&mut out, text);
        rest = after;
    }
    Some(out)
}

/// Zeek's log writer keeps printable ASCII including the space and writes everything else, and
/// the backslash, as `\xNN`.
fn push_escaped_text(out: &mut String, text: &[u8]) {
    for &byte in text {
        match byte {
            b'\\' => push_hex_escape(out, byte),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => push_hex_escape(out, byte),
        }
    }
}

fn push_hex_escape(out: &mut String, byte: u8) {
    let _ = write!(out, "\\x{byte:02x}");
}

/// A decoded name and the offset just past its in-place encoding (after the first pointer, if
/// any), which is where the enclosing record continues.
struct WireName {
    text: String,
    end: usize,
}

/// Why a name's in-place encoding could not be delimited. The caller can no longer find what
/// follows the name.
#[derive(Debug, PartialEq, Eq)]
enum NameFault {
    /// The name runs past the bytes it may use.
    Truncated,
    /// A reserved label type, whose length cannot be known (already flagged).
    BadLabelType,
}

/// A name in the question, answer, authority or additional section: it may use the whole message.
fn section_name(buf: &[u8], at: usize, anomalies: &mut DnsAnomalies) -> Option<WireName> {
    match read_name(buf, at, buf.len(), anomalies) {
        Ok(name) => Some(name),
        Err(NameFault::Truncated) => {
            anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
            None
        }
        Err(NameFault::BadLabelType) => None,
    }
}

/// Decode the name at `start`. Its in-place labels must end before `limit` (the end of the rdata
/// that holds it, or of the message). Labels reached through a pointer may lie anywhere earlier in
/// the message.
///
/// Damage that leaves the in-place end known does not fail the name. This covers loops, forward
/// pointers, excess length, and a reserved label type or an overrun after a pointer. The name is
/// cut at the damage and flagged, and the record around it stays readable.
fn read_name(buf: &[u8], start: usize, limit: usize, anomalies: &mut DnsAnomalies) -> Result<WireName, NameFault> {
    let in_place = buf.get(..limit).unwrap_or(buf);
    let mut text = NameText::default();
    let mut pos = start;
    // Where the in-place encoding ends: known once the first pointer has been read.
    let mut end: Option<usize> = None;
    let mut hops = 0;
    loop {
        let view = if end.is_some() { buf } else { in_place };
        let Some(&len_byte) = view.get(pos) else {
            return cut_short(text, end, anomalies);
        };
        match len_byte & LABEL_TYPE_MASK {
            LABEL_TYPE_NORMAL if len_byte == 0 => {
                return Ok(text.finish(end.unwrap_or(pos.saturating_add(ROOT_LABEL_LEN))));
            }
            LABEL_TYPE_NORMAL => {
                let Some((with_len, next)) = take(view, pos, LENGTH_BYTE_LEN + usize::from(len_byte)) else {
                    return cut_short(text, end, anomalies);
                };
                let label = with_len.split_first().map_or(&[][..], |(_, label)| label);
                if !text.push_label(label, anomalies) {
                    if let Some(end) = end {
                        return Ok(text.finish(end));
                    }
                    // Still in place: keep walking to find where the record continues.
                }
                pos = next;
            }
            LABEL_TYPE_POINTER => {
                let Some((pointer, next)) = take(view, pos, POINTER_LEN) else {
                    return cut_short(text, end, anomalies);
                };
                let in_place_end = *end.get_or_insert(next);
                if text.full {
                    return Ok(text.finish(in_place_end));
                }
                let target = pointer_target(pointer);
                // Strictly backwards relative to the pointer itself: a pointer to itself or
                // further on can only loop or read bytes not yet seen.
                if target >= pos || hops >= MAX_POINTER_HOPS {
                    anomalies.insert(DnsAnomalies::POINTER_LOOP);
                    return Ok(text.finish(in_place_end));
                }
                hops += 1;
                pos = target;
            }
            _ => {
                anomalies.insert(DnsAnomalies::BAD_LABEL_TYPE);
                return match end {
                    Some(end) => Ok(text.finish(end)),
                    None => Err(NameFault::BadLabelType),
                };
            }
        }
    }
}

/// The name ran out of bytes. In place this loses the record. After a pointer the record is
/// intact and only the pointed-to name is broken.
fn cut_short(text: NameText, end: Option<usize>, anomalies: &mut DnsAnomalies) -> Result<WireName, NameFault> {
    match end {
        Some(end) => {
            anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
            Ok(text.finish(end))
        }
        None => Err(NameFault::Truncated),
    }
}

fn pointer_target(pointer: &[u8]) -> usize {
    let raw = read_u16(pointer, 0).unwrap_or(u16::MAX);
    usize::from(raw & POINTER_OFFSET_MASK)
}

/// Find the end of a name without decoding it: the skipped sections only need record boundaries.
fn skip_name(buf: &[u8], start: usize, anomalies: &mut DnsAnomalies) -> Option<usize> {
    let mut pos = start;
    loop {
        let Some(&len_byte) = buf.get(pos) else {
            anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
            return None;
        };
        match len_byte & LABEL_TYPE_MASK {
            LABEL_TYPE_NORMAL if len_byte == 0 => return pos.checked_add(ROOT_LABEL_LEN),
            LABEL_TYPE_NORMAL => pos = step_over(buf, pos, LENGTH_BYTE_LEN + usize::from(len_byte), anomalies)?,
            LABEL_TYPE_POINTER => return step_over(buf, pos, POINTER_LEN, anomalies),
            _ => {
                anomalies.insert(DnsAnomalies::BAD_LABEL_TYPE);
                return None;
            }
        }
    }
}

fn step_over(buf: &[u8], pos: usize, n: usize, anomalies: &mut DnsAnomalies) -> Option<usize> {
    let next = take(buf, pos, n).map(|(_, next)| next);
    if next.is_none() {
        anomalies.insert(DnsAnomalies::TRUNCATED_MESSAGE);
    }
    next
}

/// Presentation text of a name under construction, with its wire length for [`MAX_NAME_LEN`].
struct NameText {
    text: String,
    wire_len: usize,
    /// The next label did not fit: no more labels are appended.
    full: bool,
}

impl Default for NameText {
    fn default() -> Self {
        NameText { text: String::new(), wire_len: ROOT_LABEL_LEN, full: false }
    }
}

impl NameText {
    /// Append a label unless the name would pass [`MAX_NAME_LEN`]. Returns whether it was appended.
    fn push_label(&mut self, label: &[u8], anomalies: &mut DnsAnomalies) -> bool {
        if self.full {
            return false;
        }
        let wire_len = self.wire_len.saturating_add(LENGTH_BYTE_LEN).saturating_add(label.len());
        if wire_len > MAX_NAME_LEN {
            self.full = true;
            anomalies.insert(DnsAnomalies::NAME_TOO_LONG);
            return false;
        }
        self.wire_len = wire_len;
        if !self.text.is_empty() {
            self.text.push('.');
        }
        push_escaped_label(&mut self.text, label, anomalies);
        true
    }

    fn finish(self, end: usize) -> WireName {
        WireName { text: self.text, end }
    }
}

/// A literal '.' or '\' inside a label would make the dotted form ambiguous, so both are escaped
/// like unprintable bytes. They are legal in labels, so only truly unprintable bytes are flagged.
fn push_escaped_label(out: &mut String, label: &[u8], anomalies: &mut DnsAnomalies) {
    for &byte in label {
        match byte {
            b'.' | b'\\' => push_hex_escape(out, byte),
            0x21..=0x7e => out.push(char::from(byte)),
            _ => {
                anomalies.insert(DnsAnomalies::NON_PRINTABLE_NAME);
                push_hex_escape(out, byte);
            }
        }
    }
}

/// `n` bytes at `at`, and the offset just past them; `None` if the buffer ends first.
fn take(buf: &[u8], at: usize, n: usize) -> Option<(&[u8], usize)> {
    let end = at.checked_add(n)?;
    Some((buf.get(at..end)?, end))
}

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    let (bytes, _) = take(buf, at, 2)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let (bytes, _) = take(buf, at, 4)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN: u16 = 1;
    const QUERY_RD: u16 = 0x0100;
    const RESPONSE_RD_RA: u16 = 0x8180;
    const TYPE_NULL: u16 = 10;
    /// Offset of the first question's name, where the common compression pointer points.
    const FIRST_NAME: usize = DNS_HEADER_LEN;

    fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&flags.to_be_bytes());
        for count in counts {
            buf.extend_from_slice(&count.to_be_bytes());
        }
        buf
    }

    fn name(labels: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for label in labels {
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
        out
    }

    fn ptr(offset: usize) -> Vec<u8> {
        vec![0xc0 | (offset >> 8) as u8, offset as u8]
    }

    fn push_question(buf: &mut Vec<u8>, owner: &[u8], qtype: u16) {
        buf.extend_from_slice(owner);
        buf.extend_from_slice(&qtype.to_be_bytes());
        buf.extend_from_slice(&IN.to_be_bytes());
    }

    /// Appends a record and returns the offset of its rdata.
    fn push_record(buf: &mut Vec<u8>, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> usize {
        buf.extend_from_slice(owner);
        buf.extend_from_slice(&rtype.to_be_bytes());
        buf.extend_from_slice(&IN.to_be_bytes());
        buf.extend_from_slice(&ttl.to_be_bytes());
        buf.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        let at = buf.len();
        buf.extend_from_slice(rdata);
        at
    }

    /// An EDNS OPT pseudo-record: root owner, class = UDP size, TTL = extended rcode/version/flags.
    fn push_opt(buf: &mut Vec<u8>, ttl: u32) {
        buf.push(0);
        buf.extend_from_slice(&TYPE_OPT.to_be_bytes());
        buf.extend_from_slice(&4096u16.to_be_bytes());
        buf.extend_from_slice(&ttl.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
    }

    fn question(name: &str, qtype: u16) -> DnsQuestion {
        DnsQuestion { name: name.to_string(), qtype, qclass: IN }
    }

    fn record(name: &str, rtype: u16, ttl: u32, data: &str) -> DnsRecord {
        let address = matches!(rtype, TYPE_A | TYPE_AAAA | TYPE_NB).then(|| data.parse().ok()).flatten();
        DnsRecord { name: name.to_string(), rtype, class: IN, ttl, data: data.to_string(), address }
    }

    fn anomalies(flags: &[u16]) -> DnsAnomalies {
        let mut set = DnsAnomalies::default();
        for &flag in flags {
            set.insert(flag);
        }
        set
    }

    fn www_example_com() -> Vec<u8> {
        name(&[b"www", b"example", b"com"])
    }

    /// A response to `www.example.com A` with the given answer-count and flags, question included.
    fn response_prefix(flags: u16, counts: [u16; 4], qname: &[u8], qtype: u16) -> Vec<u8> {
        let mut buf = header(0xbeef, flags, counts);
        push_question(&mut buf, qname, qtype);
        buf
    }

    fn parse(buf: &[u8]) -> DnsMessage {
        match parse_message(buf) {
            Ok(msg) => msg,
            Err(err) => panic!("header should parse: {err}"),
        }
    }

    /// RFC 1001 first-level encoding of a 15-character name and its suffix.
    fn netbios_encode(name: &str, suffix: u8) -> String {
        let mut raw = format!("{name:<15}").into_bytes();
        raw.truncate(15);
        raw.push(suffix);
        raw.iter().flat_map(|b| [char::from(b'A' + (b >> 4)), char::from(b'A' + (b & 0x0f))]).collect()
    }

    #[test]
    fn netbios_names_decode() {
        assert_eq!(netbios_name(&netbios_encode("FS01", 0x20)), Some(("FS01".into(), 0x20)));
        assert_eq!(netbios_name(&netbios_encode("WS-104", 0x00)), Some(("WS-104".into(), 0x00)));
        assert_eq!(netbios_name(&netbios_encode("CORP", 0x1c)), Some(("CORP".into(), 0x1c)));
        assert_eq!(netbios_name("ENEBFCFEEJEOCACACACACACACACACAAD"), Some(("MARTIN".into(), 0x03)));
        assert_eq!(
            netbios_name(&format!("{}.corp.example", netbios_encode("FS01", 0x20))),
            Some(("FS01".into(), 0x20))
        );
        // Not first-level encoded, or the wrong length.
        assert_eq!(netbios_name("www.example.com"), None);
        assert_eq!(netbios_name(&"Z".repeat(32)), None);
    }

    #[test]
    fn netbios_answers_give_their_address() {
        // A NetBIOS name-service positive answer: no question, one NB record for FS01<20>.
        let mut buf = header(0x1234, 0x8500, [0, 1, 0, 0]);
        let owner = name(&[b"EGFDDADBCACACACACACACACACACACACA"]);
        push_record(&mut buf, &owner, 32, 300_000, &[0x00, 0x00, 10, 0, 0, 50]);
        let msg = parse_message(&buf).expect("parses");
        assert_eq!(msg.answers[0].data, "10.0.0.50");
        assert_eq!(msg.answers[0].name, "EGFDDADBCACACACACACACACACACACACA");
        // Type 32 that is not whole NB entries stays unknown.
        let mut buf = header(0x1234, 0x8500, [0, 1, 0, 0]);
        push_record(&mut buf, &owner, 32, 300, &[1, 2, 3]);
        assert_eq!(parse_message(&buf).expect("parses").answers[0].data, "<unknown type=32>");
    }

    #[test]
    fn a_query_with_edns_decodes_every_header_field() {
        let mut buf = header(0x1a2b, QUERY_RD, [1, 0, 0, 1]);
        push_question(&mut buf, &www_example_com(), TYPE_A);
        push_opt(&mut buf, 0);
        let expected = DnsMessage {
            id: 0x1a2b,
            is_response: false,
            opcode: 0,
            rcode: 0,
            authoritative: false,
            truncated: false,
            recursion_desired: true,
            recursion_available: false,
            questions: vec![question("www.example.com", TYPE_A)],
            answers: vec![],
            authority_count: 0,
            additional_count: 1,
            anomalies: DnsAnomalies::default(),
        };
        assert_eq!(parse(&buf), expected);
    }

    #[test]
    fn a_response_resolves_compressed_owner_names() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_A);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 3600, &[93, 184, 216, 34]);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 59, &[93, 184, 216, 35]);
        let msg = parse(&buf);
        assert!(msg.is_response);
        assert!(msg.recursion_desired && msg.recursion_available);
        assert!(!msg.authoritative && !msg.truncated);
        assert_eq!(msg.id, 0xbeef);
        assert_eq!(msg.questions, vec![question("www.example.com", TYPE_A)]);
        assert_eq!(
            msg.answers,
            vec![
                record("www.example.com", TYPE_A, 3600, "93.184.216.34"),
                record("www.example.com", TYPE_A, 59, "93.184.216.35"),
            ]
        );
        assert_eq!(msg.anomalies, DnsAnomalies::default());
    }

    #[test]
    fn header_bits_are_read_from_their_own_positions() {
        // QR, opcode 5 (UPDATE), AA, TC, no RD; RA, Z bits set, rcode 9.
        let buf = header(7, 0x8000 | (5 << 11) | 0x0400 | 0x0200 | 0x0080 | 0x0070 | 9, [0; 4]);
        let msg = parse(&buf);
        assert!(msg.is_response && msg.authoritative && msg.truncated);
        assert!(!msg.recursion_desired && msg.recursion_available);
        assert_eq!((msg.opcode, msg.rcode), (5, 9));
        assert_eq!(rcode_name(msg.rcode), "NOTAUTH");
    }

    #[test]
    fn aaaa_answers_render_compressed_lowercase() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_AAAA);
        let full = [0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01, 0x02, 0x48, 0x18, 0x93, 0x25, 0xC8, 0x19, 0x46];
        let mut short = [0u8; 16];
        short[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        short[15] = 1;
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_AAAA, 300, &full);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_AAAA, 300, &short);
        let data: Vec<String> = parse(&buf).answers.into_iter().map(|r| r.data).collect();
        assert_eq!(data, ["2606:2800:220:1:248:1893:25c8:1946", "2001:db8::1"]);
    }

    #[test]
    fn cname_chain_follows_pointers_into_earlier_rdata() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 3, 0, 0], &www_example_com(), TYPE_A);
        let example_com = FIRST_NAME + 4; // skip "\x03www"
        let edge = [&[4u8][..], b"edge", &ptr(example_com)].concat();
        let edge_at = push_record(&mut buf, &ptr(FIRST_NAME), TYPE_CNAME, 30, &edge);
        let cdn = name(&[b"cdn", b"Example", b"net"]);
        let cdn_at = push_record(&mut buf, &ptr(edge_at), TYPE_CNAME, 20, &cdn);
        push_record(&mut buf, &ptr(cdn_at), TYPE_A, 10, &[192, 0, 2, 7]);
        let msg = parse(&buf);
        assert_eq!(
            msg.answers,
            vec![
                record("www.example.com", TYPE_CNAME, 30, "edge.example.com"),
                record("edge.example.com", TYPE_CNAME, 20, "cdn.Example.net"),
                record("cdn.Example.net", TYPE_A, 10, "192.0.2.7"),
            ]
        );
        assert!(msg.anomalies.is_empty());
    }

    #[test]
    fn mx_renders_the_exchange_name() {
        let example_com = name(&[b"example", b"com"]);
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 1, 0, 0], &example_com, TYPE_MX);
        let rdata = [&10u16.to_be_bytes()[..], &[4], b"mail", &ptr(FIRST_NAME)].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_MX, 3600, &rdata);
        let msg = parse(&buf);
        assert_eq!(msg.answers, vec![record("example.com", TYPE_MX, 3600, "mail.example.com")]);
        assert!(msg.anomalies.is_empty());
    }

    #[test]
    fn txt_with_two_strings_renders_each_as_zeek_does() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 1, 0, 0], &www_example_com(), TYPE_TXT);
        let rdata = [&[5u8][..], b"hello", &[11], b"world again"].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_TXT, 60, &rdata);
        let msg = parse(&buf);
        assert_eq!(msg.answers[0].data, "TXT 5 hello TXT 11 world again");
        assert!(msg.anomalies.is_empty());
    }

    #[test]
    fn txt_escapes_unprintable_bytes_but_counts_wire_bytes() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_TXT);
        let rdata = [&[6u8][..], b"a\x01b\\c\xff"].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_TXT, 60, &rdata);
        // The second string claims 9 bytes but only 2 follow: the first string is kept.
        let overrun = [&[2u8][..], b"ok", &[9], b"no"].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_TXT, 60, &overrun);
        let msg = parse(&buf);
        assert_eq!(msg.answers[0].data, "TXT 6 a\\x01b\\x5cc\\xff");
        assert_eq!(msg.answers[1].data, "TXT 2 ok");
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::BAD_RDATA]));
    }

    #[test]
    fn nxdomain_with_soa_in_authority() {
        let qname = name(&[b"nonexistent", b"example", b"com"]);
        let mut buf = response_prefix(0x8183, [1, 0, 1, 0], &qname, TYPE_A);
        let example_com = FIRST_NAME + 12;
        let soa =
            [&[3u8][..], b"ns1", &ptr(example_com), &[10], b"hostmaster", &ptr(example_com), &[0u8; SOA_FIXED_LEN]]
                .concat();
        push_record(&mut buf, &ptr(example_com), TYPE_SOA, 900, &soa);
        let msg = parse(&buf);
        assert_eq!(msg.rcode, 3);
        assert_eq!(rcode_name(msg.rcode), "NXDOMAIN");
        assert_eq!(msg.questions, vec![question("nonexistent.example.com", TYPE_A)]);
        assert_eq!(msg.answers, vec![]);
        assert_eq!(msg.authority_count, 1);
        assert!(msg.anomalies.is_empty(), "{:?}", msg.anomalies.names());
    }

    #[test]
    fn soa_srv_ptr_dname_and_unknown_answers() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 5, 0, 0], &www_example_com(), TYPE_A);
        let soa = [name(&[b"ns1", b"example", b"com"]), ptr(FIRST_NAME), vec![0; 20]].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_SOA, 1, &soa);
        let srv = [&[0u8, 1, 0, 5, 0x01, 0xbb][..], &name(&[b"sip", b"example", b"org"])].concat();
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_SRV, 2, &srv);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_PTR, 3, &ptr(FIRST_NAME));
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_DNAME, 4, &name(&[b"example", b"net"]));
        push_record(&mut buf, &ptr(FIRST_NAME), 65, 5, &[0, 1, 0]);
        let msg = parse(&buf);
        let data: Vec<&str> = msg.answers.iter().map(|r| r.data.as_str()).collect();
        assert_eq!(data, ["ns1.example.com", "sip.example.org", "www.example.com", "example.net", "<unknown type=65>"]);
        assert!(msg.anomalies.is_empty(), "{:?}", msg.anomalies.names());
    }

    #[test]
    fn self_pointing_name_is_flagged_and_the_question_survives() {
        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &ptr(FIRST_NAME), TYPE_A);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("", TYPE_A)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::POINTER_LOOP]));
    }

    #[test]
    fn two_pointer_cycle_is_flagged_and_the_record_survives() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_A);
        // The first record's rdata ends with a pointer to the second record's owner, which
        // points back at it: A -> B -> A.
        let first_rdata_at = buf.len() + 2 + RECORD_FIXED_LEN;
        let second_owner_at = first_rdata_at + 2;
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_NULL, 1, &ptr(second_owner_at));
        push_record(&mut buf, &ptr(first_rdata_at), TYPE_A, 2, &[10, 0, 0, 1]);
        let msg = parse(&buf);
        assert_eq!(
            msg.answers,
            vec![record("www.example.com", TYPE_NULL, 1, "<unknown type=10>"), record("", TYPE_A, 2, "10.0.0.1"),]
        );
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::POINTER_LOOP]));
    }

    #[test]
    fn backward_pointer_loop_stops_after_max_hops() {
        // "a" followed by a pointer back to itself: every hop is backwards, only the hop
        // limit ends it.
        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        let looping = [&[1u8, b'a'][..], &ptr(FIRST_NAME)].concat();
        push_question(&mut buf, &looping, TYPE_TXT);
        let msg = parse(&buf);
        let expected = vec!["a"; MAX_POINTER_HOPS + 1].join(".");
        assert_eq!(msg.questions, vec![question(&expected, TYPE_TXT)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::POINTER_LOOP]));
    }

    #[test]
    fn forward_pointer_is_flagged() {
        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &ptr(0x20), TYPE_MX);
        buf.extend_from_slice(&[0; 32]);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("", TYPE_MX)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::POINTER_LOOP, DnsAnomalies::TRAILING_BYTES]));
    }

    #[test]
    fn name_of_300_wire_bytes_is_cut_at_a_label_boundary() {
        let label = [b'a'; 59];
        let labels: Vec<&[u8]> = vec![&label; 5];
        let long = name(&labels);
        assert_eq!(long.len(), 301);
        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &long, TYPE_A);
        let msg = parse(&buf);
        // 4 labels are 241 wire bytes with the root; a 5th would make 301.
        let kept = vec!["a".repeat(59); 4].join(".");
        assert_eq!(msg.questions, vec![question(&kept, TYPE_A)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::NAME_TOO_LONG]));
    }

    #[test]
    fn name_made_too_long_through_a_pointer_keeps_its_record() {
        let label = [b'b'; 59];
        let labels: Vec<&[u8]> = vec![&label; 4];
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 1, 0, 0], &name(&labels), TYPE_A);
        let owner = [&[59u8][..], &[b'c'; 59], &ptr(FIRST_NAME)].concat();
        push_record(&mut buf, &owner, TYPE_A, 5, &[1, 2, 3, 4]);
        let msg = parse(&buf);
        let kept = [vec!["c".repeat(59)], vec!["b".repeat(59); 3]].concat().join(".");
        assert_eq!(msg.answers, vec![record(&kept, TYPE_A, 5, "1.2.3.4")]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::NAME_TOO_LONG]));
    }

    #[test]
    fn reserved_label_types_stop_the_section() {
        for len_byte in [0x41u8, 0x80] {
            let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
            push_question(&mut buf, &[len_byte, b'x', 0], TYPE_A);
            let msg = parse(&buf);
            assert_eq!(msg.questions, vec![], "label byte {len_byte:#x}");
            assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::BAD_LABEL_TYPE]));
        }
    }

    #[test]
    fn reserved_label_type_behind_a_pointer_keeps_the_record() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_A);
        let junk_at = push_record(&mut buf, &ptr(FIRST_NAME), TYPE_NULL, 1, &[0x40, 0x00]);
        push_record(&mut buf, &ptr(junk_at), TYPE_A, 2, &[10, 0, 0, 2]);
        let msg = parse(&buf);
        assert_eq!(msg.answers[1], record("", TYPE_A, 2, "10.0.0.2"));
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::BAD_LABEL_TYPE]));
    }

    #[test]
    fn counts_larger_than_the_data_keep_what_was_decoded() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 5, 0, 0], &www_example_com(), TYPE_A);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 60, &[192, 0, 2, 1]);
        // Half of a second record.
        buf.extend_from_slice(&[0xc0, 0x0c, 0x00, 0x01, 0x00]);
        let msg = parse(&buf);
        assert_eq!(msg.answers, vec![record("www.example.com", TYPE_A, 60, "192.0.2.1")]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TRUNCATED_MESSAGE]));
    }

    #[test]
    fn rdlength_past_the_end_drops_the_record() {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 1, 0, 0], &www_example_com(), TYPE_A);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 60, &[192, 0, 2, 1]);
        buf.truncate(buf.len() - 1);
        let msg = parse(&buf);
        assert_eq!(msg.answers, vec![]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TRUNCATED_MESSAGE]));
    }

    #[test]
    fn hostile_qdcount_allocates_by_the_bytes_present() {
        let mut buf = header(1, QUERY_RD, [u16::MAX, 0, 0, 0]);
        push_question(&mut buf, &name(&[b"a"]), TYPE_A);
        buf.push(7);
        assert_eq!(buf.len(), 20);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("a", TYPE_A)]);
        assert!(msg.questions.capacity() < 16, "capacity {}", msg.questions.capacity());
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TRUNCATED_MESSAGE, DnsAnomalies::MULTIPLE_QUESTIONS]));
    }

    #[test]
    fn trailing_bytes_are_flagged() {
        let mut buf = header(9, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &www_example_com(), TYPE_A);
        buf.extend_from_slice(&[0xde, 0xad, 0xbe]);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("www.example.com", TYPE_A)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TRAILING_BYTES]));
    }

    #[test]
    fn opt_record_extends_the_rcode() {
        let mut buf = response_prefix(0x8180, [1, 0, 0, 1], &www_example_com(), TYPE_A);
        push_opt(&mut buf, 0x0100_0000);
        let msg = parse(&buf);
        assert_eq!(msg.rcode, 16);
        assert_eq!(msg.header_rcode(), 0);
        assert_eq!(rcode_name(msg.rcode), "BADVERS");
        assert!(msg.anomalies.is_empty());

        // A second OPT is illegal; the first one decides.
        buf[DNS_HEADER_LEN - 1] = 2;
        push_opt(&mut buf, 0x0500_0000);
        assert_eq!(parse(&buf).rcode, 16);
    }

    #[test]
    fn opt_is_found_behind_authority_records_and_a_truncated_tail() {
        let mut buf = response_prefix(0x8183, [1, 0, 1, 3], &www_example_com(), TYPE_A);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_NULL, 1, &[1, 2, 3]);
        push_record(&mut buf, &name(&[b"x"]), TYPE_A, 1, &[1, 2, 3, 4]);
        push_opt(&mut buf, 0x0200_0000);
        // The third additional record is missing entirely.
        let msg = parse(&buf);
        assert_eq!(msg.rcode, (2 << 4) | 3);
        assert_eq!(msg.header_rcode(), 3);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TRUNCATED_MESSAGE]));
    }

    #[test]
    fn unprintable_and_ambiguous_label_bytes_are_escaped() {
        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &name(&[b"a.b\\c", b"ok"]), TYPE_A);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("a\\x2eb\\x5cc.ok", TYPE_A)]);
        // '.' and '\' are legal label bytes: escaped, but not flagged as unprintable.
        assert!(msg.anomalies.is_empty());

        let mut buf = header(1, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut buf, &name(&[b"a\x00b c\x7f\xe9"]), TYPE_A);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("a\\x00b\\x20c\\x7f\\xe9", TYPE_A)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::NON_PRINTABLE_NAME]));
    }

    #[test]
    fn question_count_anomalies() {
        let msg = parse(&header(1, QUERY_RD, [0, 0, 0, 0]));
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::ZERO_QUESTIONS_QUERY]));
        // A response with no question is unusual but legal (e.g. some NOTIFY replies).
        let msg = parse(&header(1, 0x8000, [0, 0, 0, 0]));
        assert!(msg.anomalies.is_empty());

        let mut buf = header(1, QUERY_RD, [2, 0, 0, 0]);
        push_question(&mut buf, &name(&[b"a"]), TYPE_A);
        push_question(&mut buf, &ptr(FIRST_NAME), TYPE_AAAA);
        let msg = parse(&buf);
        assert_eq!(msg.questions, vec![question("a", TYPE_A), question("a", TYPE_AAAA)]);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::MULTIPLE_QUESTIONS]));
    }

    #[test]
    fn answers_past_the_limit_are_skipped_and_flagged() {
        let total = MAX_RECORDS_PER_SECTION + 44;
        let mut buf = response_prefix(0x8180, [1, total as u16, 0, 1], &name(&[b"a"]), TYPE_A);
        for index in 0..total {
            let octets = (index as u16).to_be_bytes();
            push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 1, &[10, 0, octets[0], octets[1]]);
        }
        push_opt(&mut buf, 0x0100_0000);
        let msg = parse(&buf);
        assert_eq!(msg.answers.len(), MAX_RECORDS_PER_SECTION);
        assert_eq!(msg.answers[255], record("a", TYPE_A, 1, "10.0.0.255"));
        // The skipped answers were still walked: the OPT behind them was found.
        assert_eq!(msg.rcode, 16);
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::TOO_MANY_RECORDS]));
    }

    /// A response whose only answer has the given type and rdata, followed by one good A record
    /// so that each case also shows the walk resumed at the rdata's end.
    fn answer_then_a(rtype: u16, rdata: &[u8]) -> DnsMessage {
        let mut buf = response_prefix(RESPONSE_RD_RA, [1, 2, 0, 0], &www_example_com(), TYPE_A);
        push_record(&mut buf, &ptr(FIRST_NAME), rtype, 1, rdata);
        push_record(&mut buf, &ptr(FIRST_NAME), TYPE_A, 2, &[4, 3, 2, 1]);
        parse(&buf)
    }

    #[test]
    fn malformed_rdata_is_flagged_and_the_next_record_is_read() {
        let padded_cname = [ptr(FIRST_NAME), vec![0xaa]].concat();
        let cases: [(u16, &[u8], &str); 6] = [
            (TYPE_A, &[1, 2, 3], ""),
            (TYPE_AAAA, &[0; 15], ""),
            // A stray byte after the target: the name is kept.
            (TYPE_CNAME, &padded_cname, "www.example.com"),
            // The in-place name runs past rdlength into the next record.
            (TYPE_CNAME, &[5, b'a', b'b'], ""),
            (TYPE_MX, &[0], ""),
            (TYPE_TXT, &[], ""),
        ];
        for (rtype, rdata, data) in cases {
            let msg = answer_then_a(rtype, rdata);
            let context = format!("type {rtype} rdata {rdata:?}");
            assert_eq!(
                msg.answers,
                vec![record("www.example.com", rtype, 1, data), record("www.example.com", TYPE_A, 2, "4.3.2.1"),],
                "{context}"
            );
            assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::BAD_RDATA]), "{context}");
        }
    }

    #[test]
    fn soa_with_missing_counters_keeps_its_mname() {
        let soa = [name(&[b"ns"]), ptr(FIRST_NAME), vec![0; SOA_FIXED_LEN - 1]].concat();
        let msg = answer_then_a(TYPE_SOA, &soa);
        assert_eq!(msg.answers[0].data, "ns");
        assert_eq!(msg.anomalies, anomalies(&[DnsAnomalies::BAD_RDATA]));
    }

    #[test]
    fn tcp_frame_complete_partial_and_empty() {
        assert_eq!(tcp_frame(&[0, 3, 1, 2, 3]), TcpFrame::Complete { msg_start: 2, msg_len: 3, consumed: 5 });
        assert_eq!(tcp_frame(&[0, 5, 1]), TcpFrame::NeedMore { needed: 4 });
        assert_eq!(tcp_frame(&[1]), TcpFrame::NeedMore { needed: 1 });
        assert_eq!(tcp_frame(&[]), TcpFrame::NeedMore { needed: 2 });
        assert_eq!(tcp_frame(&[0xff, 0xff]), TcpFrame::NeedMore { needed: 0xffff });
        assert_eq!(tcp_frame(&[0, 0, 9]), TcpFrame::Complete { msg_start: 2, msg_len: 0, consumed: 2 });
    }

    #[test]
    fn tcp_frame_splits_two_messages_back_to_back() {
        let mut first = header(0x0101, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut first, &www_example_com(), TYPE_A);
        let mut second = header(0x0202, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut second, &name(&[b"example", b"org"]), TYPE_AAAA);
        let mut stream = Vec::new();
        for msg in [&first, &second] {
            stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
            stream.extend_from_slice(msg);
        }

        let mut rest = &stream[..];
        let mut seen = Vec::new();
        while let TcpFrame::Complete { msg_start, msg_len, consumed } = tcp_frame(rest) {
            let msg = parse(&rest[msg_start..msg_start + msg_len]);
            seen.push((msg.id, msg.questions[0].name.clone(), msg.anomalies));
            rest = &rest[consumed..];
        }
        assert_eq!(
            seen,
            vec![
                (0x0101, "www.example.com".to_string(), DnsAnomalies::default()),
                (0x0202, "example.org".to_string(), DnsAnomalies::default()),
            ]
        );
        assert_eq!(rest, &[] as &[u8]);
    }

    #[test]
    fn input_shorter_than_a_header_is_an_error() {
        assert_eq!(parse_message(&[]), Err(DnsError::TooShort { need: 12, have: 0 }));
        let err = parse_message(&[0; 11]).err();
        assert_eq!(err, Some(DnsError::TooShort { need: 12, have: 11 }));
        assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("dns message too short: need 12 bytes, have 11"));
    }

    #[test]
    fn type_and_rcode_names() {
        let names: Vec<_> = [1, 5, 28, 33, 41, 46, 65, 99, 255, 257, 1234].into_iter().map(qtype_name).collect();
        assert_eq!(names, ["A", "CNAME", "AAAA", "SRV", "OPT", "RRSIG", "HTTPS", "SPF", "ANY", "CAA", "TYPE1234"]);
        let names: Vec<_> = [0, 2, 3, 5, 8, 10, 11, 16, 4095].into_iter().map(rcode_name).collect();
        assert_eq!(
            names,
            ["NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", "NXRRSET", "NOTZONE", "RCODE11", "BADVERS", "RCODE4095"]
        );
    }

    #[test]
    fn anomaly_set_operations_and_names() {
        let mut set = DnsAnomalies::default();
        assert!(set.is_empty());
        assert_eq!(set.names(), Vec::<&str>::new());
        set.insert(DnsAnomalies::TRAILING_BYTES);
        set.insert(DnsAnomalies::POINTER_LOOP);
        assert!(!set.is_empty());
        assert!(set.contains(DnsAnomalies::POINTER_LOOP));
        assert!(!set.contains(DnsAnomalies::BAD_RDATA));
        assert!(!set.contains(DnsAnomalies::POINTER_LOOP | DnsAnomalies::BAD_RDATA));
        assert_eq!(set.names(), ["pointer_loop", "trailing_bytes"]);
        assert_eq!(DnsAnomalies(u16::MAX).names().len(), DnsAnomalies::NAMES.len());
        let mut bits: Vec<u16> = DnsAnomalies::NAMES.iter().map(|(bit, _)| *bit).collect();
        bits.dedup();
        assert_eq!(bits.len(), DnsAnomalies::NAMES.len(), "each flag has its own bit");
    }

    /// Deterministic xorshift64, so a failing input can be reproduced from its iteration.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    fn fuzz_corpus() -> Vec<Vec<u8>> {
        let mut response = response_prefix(RESPONSE_RD_RA, [1, 5, 1, 1], &www_example_com(), TYPE_A);
        let edge = [&[4u8][..], b"edge", &ptr(FIRST_NAME + 4)].concat();
        let edge_at = push_record(&mut response, &ptr(FIRST_NAME), TYPE_CNAME, 30, &edge);
        push_record(&mut response, &ptr(edge_at), TYPE_A, 10, &[192, 0, 2, 7]);
        push_record(&mut response, &ptr(edge_at), TYPE_TXT, 10, &[3, b'a', b'b', b'c', 1, 0]);
        push_record(&mut response, &ptr(edge_at), TYPE_MX, 10, &[0, 1, 0xc0, 12]);
        push_record(&mut response, &ptr(edge_at), TYPE_AAAA, 10, &[0x20; 16]);
        let soa = [ptr(edge_at), ptr(FIRST_NAME), vec![0; 20]].concat();
        push_record(&mut response, &ptr(FIRST_NAME), TYPE_SOA, 10, &soa);
        push_opt(&mut response, 0);
        let mut query = header(2, QUERY_RD, [1, 0, 0, 0]);
        push_question(&mut query, &www_example_com(), TYPE_A);
        vec![response, query]
    }

    fn assert_invariants(msg: &DnsMessage, input: &[u8]) {
        assert!(msg.questions.len() <= MAX_RECORDS_PER_SECTION);
        assert!(msg.answers.len() <= MAX_RECORDS_PER_SECTION);
        assert!(msg.questions.len() + msg.answers.len() <= input.len(), "more entries than bytes");
        let known = DnsAnomalies::NAMES.iter().fold(0, |bits, (bit, _)| bits | bit);
        assert_eq!(msg.anomalies.0 & !known, 0);
        let names = msg.questions.iter().map(|q| &q.name).chain(msg.answers.iter().map(|r| &r.name));
        for name in names {
            // Each of at most 254 label bytes becomes at most 4 characters.
            assert!(name.len() <= 4 * MAX_NAME_LEN, "name too long: {}", name.len());
            assert!(name.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{name:?}");
        }
        for answer in &msg.answers {
            assert!(answer.data.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{:?}", answer.data);
        }
    }

    #[test]
    fn fuzz_random_and_mutated_messages_never_panic() {
        let corpus = fuzz_corpus();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let input = if rng.below(4) == 0 {
                let len = rng.below(300);
                (0..len).map(|_| rng.byte()).collect::<Vec<u8>>()
            } else {
                let mut input = corpus[rng.below(corpus.len())].clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(input.len());
                    match rng.below(6) {
                        0 => input[at] = rng.byte(),
                        1 => input[at] = 0xc0 | (rng.byte() & 0x01),
                        2 => input[at] = [0x00, 0x3f, 0x40, 0x80, 0xff][rng.below(5)],
                        3 => input.truncate(at),
                        4 if at + 1 < input.len() => {
                            input[at] = 0xc0;
                            input[at + 1] = rng.byte();
                        }
                        _ => input.insert(at, rng.byte()),
                    }
                    if input.is_empty() {
                        break;
                    }
                }
                input
            };
            if let Ok(msg) = parse_message(&input) {
                assert_invariants(&msg, &input);
                parsed += 1;
            }
            match tcp_frame(&input) {
                TcpFrame::Complete { msg_start, msg_len, consumed } => {
                    assert_eq!(msg_start + msg_len, consumed);
                    assert!(consumed <= input.len());
                }
                TcpFrame::NeedMore { needed } => assert!(needed > 0),
            }
        }
        // Most inputs are mutated full messages, so most headers must parse.
        assert!(parsed > 10_000, "only {parsed} inputs parsed");
    }
}
