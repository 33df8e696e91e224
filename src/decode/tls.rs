//! TLS ClientHello / ServerHello decoding and JA3, JA3S, JA4, JA4S fingerprints.
//!
//! # Role
//! Content-level TLS decoder for `seam`: given the first in-order bytes of one
//! direction of a reassembled TCP stream, find the first handshake message,
//! decode the hello it must be, and compute the fingerprints analysts pivot on.
//! Pure code over bytes: no I/O, no globals, no `unsafe`.
//!
//! # Input
//! `buf` always starts at stream offset 0 of its direction and may end anywhere.
//! The hello may be fragmented over several TLS records, and the last record may
//! be cut short by the end of `buf`. Callers that receive
//! [`HelloParse::NeedMore`] call again with a longer prefix of the same stream.
//!
//! # Output
//! [`HelloParse`]:
//! - `Done(hello)`: the hello is complete. Bytes after it (further records, or the
//!   rest of a record that also carries a Certificate) are never needed.
//! - `NeedMore`: everything seen so far is consistent, but the hello isn't complete.
//! - `NotTls`: the direction doesn't start with a TLS handshake record.
//! - `Invalid(reason)`: it starts like TLS, but the framing is broken or lies.
//!
//! Lists on the hello structs are kept exactly as on the wire, GREASE included,
//! because they're evidence. The fingerprints apply their own filtering.
//!
//! # Limits
//! - [`MAX_HELLO_LEN`] bounds the handshake message (4-byte header plus body)
//!   that gets reassembled. A hello that declares more is `Invalid` right away,
//!   so a lying length can't make us buffer or wait forever.
//! - A record longer than `MAX_RECORD_LEN` (2^14 + 2048, the largest record any
//!   TLS version allows on the wire) or shorter than one byte is `Invalid`.
//! - Strings are lossy UTF-8 and bounded by the hello size.
//!
//! # Invariants
//! - Input bytes are read only through `get`, `split_at_checked`, slice patterns
//!   and checked arithmetic. No `unwrap`, `expect`, `panic` or indexing
//!   (enforced by the module-level clippy lints below). A fuzz test checks this.
//! - Outer framing (records, handshake header, the hello's own vectors, the
//!   extension block and each extension's length) must be consistent, or the
//!   result is `Invalid`. The insides of the extensions we interpret (SNI, ALPN,
//!   supported_versions, groups, point formats, signature algorithms) are looser.
//!   If one of those is malformed, its type goes into `malformed_extensions`,
//!   its derived field stays empty, and the fingerprints are still computed.
//!   A broken SNI is itself worth reporting, and it shouldn't cost us the JA3.
//! - When an extension appears more than once, the first copy supplies the
//!   decoded field. Every copy still counts in the extension lists and the
//!   fingerprints.
//!
//! # Fingerprint specifications implemented
//! - JA3 / JA3S: <https://github.com/salesforce/ja3> (README; reference code
//!   `python/ja3.py`, `python/ja3s.py`, `zeek/ja3.zeek`, `zeek/ja3s.zeek`).
//!   GREASE (RFC 8701) is removed from every JA3 list. JA3S doesn't filter
//!   GREASE, because neither reference JA3S implementation does, and a
//!   ServerHello can't legally echo GREASE anyway.
//! - JA4 / JA4S: <https://github.com/FoxIO-LLC/ja4>, `technical_details/JA4.md`
//!   and `technical_details/JA4S.md`. Only the TCP transport (`t`) applies here.
//!   Where the prose spec and the FoxIO reference tools differ, we follow the
//!   spec. Specifically: a one-character ALPN is used as both first and last
//!   character; an ALPN whose first or last byte isn't ASCII alphanumeric uses
//!   the first and last hex digits of the value; GREASE is dropped from the
//!   signature algorithms as well ("ignore GREASE values anywhere"). An empty
//!   list hashes to `000000000000`.
//!
//! Name tables follow Zeek's `base/protocols/ssl/consts.zeek`, so output lines
//! up with `ssl.log`.
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::borrow::Cow;

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Maximum handshake message (header + body) reassembled across records
/// before giving up. Real hellos are under 2 KiB. Post-quantum key shares and
/// padding push that to a few KiB. 64 KiB leaves room for extremes and still
/// bounds memory for every direction.
pub const MAX_HELLO_LEN: usize = 64 * 1024;

/// Largest record length accepted: TLS 1.2's `TLSCiphertext` bound
/// (2^14 + 2048). Plaintext handshake records should be at most 2^14. The
/// extra room is for sloppy stacks, and anything above it isn't TLS.
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
const RECORD_HEADER_LEN: usize = 5;
const HANDSHAKE_HEADER_LEN: usize = 4;
const CONTENT_TYPE_HANDSHAKE: u8 = 0x16;
const RECORD_MAJOR_VERSION: u8 = 3;
/// Highest record minor version we accept (0x0304). Real stacks never put more
/// than 0x0303 in the record layer, but the bound is cheap and future-proof.
const RECORD_MAX_MINOR_VERSION: u8 = 4;

const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;

const RANDOM_LEN: usize = 32;
const MAX_SESSION_ID_LEN: usize = 32;

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_EC_POINT_FORMATS: u16 = 0x000b;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
/// RFC 6066 `NameType.host_name`, the only SNI name type ever defined.
const SNI_HOST_NAME: u8 = 0;

/// SSLv2 `CLIENT-HELLO` / `SERVER-HELLO` message types (draft-hickman-netscape-ssl).
const SSLV2_CLIENT_HELLO: u8 = 1;
const SSLV2_SERVER_HELLO: u8 = 4;

/// JA4 counts are two decimal digits. Larger counts print as 99.
const JA4_MAX_COUNT: usize = 99;
/// JA4 hash parts are the first 12 hex characters (6 bytes) of SHA-256.
const JA4_HASH_BYTES: usize = 6;
/// JA4 value for a hash over an empty list. Makes "no values" visible.
const JA4_EMPTY_HASH: &str = "000000000000";
/// JA4 transport marker: this decoder only sees TCP streams.
const JA4_TRANSPORT_TCP: char = 't';

/// Result of trying to decode a hello from a stream prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloParse<T> {
    /// The hello is complete and decoded.
    Done(T),
    /// Consistent so far. Call again with a longer prefix.
    NeedMore,
    /// The direction doesn't start with a TLS handshake record.
    NotTls,
    /// It starts like TLS, but the framing is broken. The reason is a fixed label.
    Invalid(&'static str),
}

/// A decoded ClientHello and its fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Version in the header of the first record (often 0x0301 for compatibility).
    pub record_version: u16,
    /// `ClientHello.legacy_version` (the JA3 `SSLVersion`).
    pub legacy_version: u16,
    /// Cipher suites in wire order, GREASE included.
    pub cipher_suites: Vec<u16>,
    /// Extension types in wire order, GREASE and duplicates included.
    pub extensions: Vec<u16>,
    /// First SNI `host_name`, lossy UTF-8.
    pub server_name: Option<String>,
    /// ALPN protocol names in offered order, lossy UTF-8.
    pub alpn: Vec<String>,
    /// `supported_versions` list in wire order, GREASE included.
    pub supported_versions: Vec<u16>,
    /// `supported_groups` (formerly elliptic_curves) in wire order.
    pub groups: Vec<u16>,
    /// `ec_point_formats` in wire order.
    pub ec_point_formats: Vec<u8>,
    /// `signature_algorithms` in wire order.
    pub signature_algorithms: Vec<u16>,
    /// Extension types whose contents we interpret but couldn't decode.
    pub malformed_extensions: Vec<u16>,
    /// JA3 string, e.g. `771,4865-4866,0-23-65281,29-23,0`.
    pub ja3: String,
    /// Lowercase hex MD5 of `ja3`.
    pub ja3_hash: String,
    /// JA4 fingerprint, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub ja4: String,
}

/// A decoded ServerHello (or HelloRetryRequest) and its fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// `ServerHello.legacy_version` (the JA3S `SSLVersion`).
    pub legacy_version: u16,
    /// Negotiated version: the `supported_versions` selection if present,
    /// otherwise `legacy_version`.
    pub version: u16,
    /// The selected cipher suite.
    pub cipher_suite: u16,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// The selected ALPN protocol, lossy UTF-8.
    pub alpn: Option<String>,
    /// Extension types whose contents we interpret but couldn't decode.
    pub malformed_extensions: Vec<u16>,
    /// JA3S string, e.g. `771,49199,65281-0-11-35-16`.
    pub ja3s: String,
    /// Lowercase hex MD5 of `ja3s`.
    pub ja3s_hash: String,
    /// JA4S fingerprint, e.g. `t120400_c030_4e8089b08790`.
    pub ja4s: String,
}

/// Decodes the ClientHello at the start of the client-to-server direction.
///
/// `buf` holds the first bytes of that direction, from stream offset 0. A
/// hello split over several records, or records cut off by the end of `buf`,
/// gives `NeedMore` until the whole handshake message is present. An SSLv2
/// (or SSLv2-compatible) hello gives `Invalid("sslv2")`: JA3/JA4 aren't
/// defined for it.
pub fn parse_client_hello(buf: &[u8]) -> HelloParse<ClientHello> {
    match first_handshake_message(buf, HANDSHAKE_CLIENT_HELLO) {
        HelloParse::Done(msg) => match decode_client_hello(msg.record_version, &msg.body) {
            Ok(hello) => HelloParse::Done(hello),
            Err(reason) => HelloParse::Invalid(reason),
        },
        HelloParse::NeedMore => HelloParse::NeedMore,
        HelloParse::NotTls => HelloParse::NotTls,
        HelloParse::Invalid(reason) => HelloParse::Invalid(reason),
    }
}

/// Decodes the ServerHello at the start of the server-to-client direction.
///
/// Same framing rules as [`parse_client_hello`]. A ServerHello that shares a
/// record with a Certificate is `Done` as soon as the ServerHello bytes are
/// present, even if the rest of that record hasn't arrived.
pub fn parse_server_hello(buf: &[u8]) -> HelloParse<ServerHello> {
    match first_handshake_message(buf, HANDSHAKE_SERVER_HELLO) {
        HelloParse::Done(msg) => match decode_server_hello(&msg.body) {
            Ok(hello) => HelloParse::Done(hello),
            Err(reason) => HelloParse::Invalid(reason),
        },
        HelloParse::NeedMore => HelloParse::NeedMore,
        HelloParse::NotTls => HelloParse::NotTls,
        HelloParse::Invalid(reason) => HelloParse::Invalid(reason),
    }
}

/// Cheap content check: does this prefix start with a TLS handshake record?
///
/// Needs at least 3 bytes: content type 0x16 and record version
/// 0x0300..=0x0304. When more bytes are present, it also requires a plausible
/// record length (1..=2^14+2048) and a hello handshake type (1 or 2), which
/// costs nothing and rules out most false positives.
pub fn looks_like_tls(prefix: &[u8]) -> bool {
    if record_start(prefix) != Some(true) {
        return false;
    }
    let length_ok = match (prefix.get(3), prefix.get(4)) {
        (Some(&hi), Some(&lo)) => record_len_ok(usize::from(u16::from_be_bytes([hi, lo]))),
        _ => true,
    };
    let type_ok =
        prefix.get(RECORD_HEADER_LEN).is_none_or(|&t| t == HANDSHAKE_CLIENT_HELLO || t == HANDSHAKE_SERVER_HELLO);
    length_ok && type_ok
}

/// Version name as Zeek writes it in `ssl.log` (`SSL::version_strings`).
///
/// TLS 1.3 drafts (0x7fNN) are `TLSv13-draft<N>`. Anything else unknown is
/// `unknown-<decimal>`, e.g. 0x0305 is `unknown-773`. That's Zeek's `&default`,
/// not `unknown-0x...`.
pub fn version_name(v: u16) -> Cow<'static, str> {
    let name = match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv10",
        0x0302 => "TLSv11",
        0x0303 => "TLSv12",
        0x0304 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        // Zeek's draft test is `i / 0xFF == 0x7F` with draft number `i % 0x7F`.
        // Copied literally (odd divisor and all) so our names match Zeek's.
        _ if v / 0xff == 0x7f => return Cow::Owned(format!("TLSv13-draft{}", v % 0x7f)),
        _ => return Cow::Owned(format!("unknown-{v}")),
    };
    Cow::Borrowed(name)
}

/// IANA cipher suite name as Zeek writes it in `ssl.log` (`SSL::cipher_desc`).
///
/// GREASE values are `grease_0xNANA`, as in Zeek. Anything unknown is
/// `unknown-<decimal>`, e.g. 0x1306 (not in this table) is `unknown-4870`.
/// That's Zeek's `&default` for `cipher_desc`.
pub fn cipher_name(c: u16) -> Cow<'static, str> {
    match known_cipher_name(c) {
        Some(name) => Cow::Borrowed(name),
        None if is_grease(c) => Cow::Owned(format!("grease_0x{c:04X}")),
        None => Cow::Owned(format!("unknown-{c}")),
    }
}

/// RFC 8701 GREASE value: both bytes equal and of the form 0x?A (0x0A0A ... 0xFAFA).
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

// ---------------------------------------------------------------------------
// Record layer: find and reassemble the first handshake message.
// ---------------------------------------------------------------------------

/// The first handshake message of a direction, reassembled.
struct HandshakeMessage {
    record_version: u16,
    /// Message body without the 4-byte handshake header.
    body: Vec<u8>,
}

/// Reassembles the first handshake message, which must be of `expected_type`.
///
/// Reads records only until the message is complete, and copies at most
/// [`MAX_HELLO_LEN`] bytes.
fn first_handshake_message(buf: &[u8], expected_type: u8) -> HelloParse<HandshakeMessage> {
    match record_start(buf) {
        None => return HelloParse::NeedMore,
        Some(false) => return not_tls_or_sslv2(buf, expected_type),
        Some(true) => {}
    }
    let mut handshake: Vec<u8> = Vec::new();
    let mut record_version = None;
    let mut pos = 0usize;
    loop {
        let record = match next_record(buf, pos) {
            Ok(Some(record)) => record,
            Ok(None) => return HelloParse::NeedMore,
            Err(reason) => return HelloParse::Invalid(reason),
        };
        let version = *record_version.get_or_insert(record.version);
        let room = MAX_HELLO_LEN.saturating_sub(handshake.len());
        let take = record.available.get(..room).unwrap_or(record.available);
        handshake.extend_from_slice(take);
        match message_status(&handshake, expected_type) {
            MessageStatus::Complete(body) => {
                return HelloParse::Done(HandshakeMessage { record_version: version, body: body.to_vec() })
            }
            MessageStatus::Invalid(reason) => return HelloParse::Invalid(reason),
            MessageStatus::Incomplete => {}
        }
        match record.next_pos {
            Some(next) => pos = next,
            // The record is cut off by the end of `buf` and the message still
            // needs more of it.
            None => return HelloParse::NeedMore,
        }
    }
}

/// Does `buf` start with a TLS handshake record header? `None` if too short to tell.
fn record_start(buf: &[u8]) -> Option<bool> {
    let content_type = *buf.first()?;
    if content_type != CONTENT_TYPE_HANDSHAKE {
        return Some(false);
    }
    let major = *buf.get(1)?;
    if major != RECORD_MAJOR_VERSION {
        return Some(false);
    }
    let minor = *buf.get(2)?;
    Some(minor <= RECORD_MAX_MINOR_VERSION)
}

/// Tells an SSLv2-framed hello (which gets `Invalid("sslv2")`, since it's TLS
/// history but not fingerprintable) apart from plain non-TLS bytes.
fn not_tls_or_sslv2<T>(buf: &[u8], expected_type: u8) -> HelloParse<T> {
    // SSLv2 2-byte record header: high bit set, 15-bit length. Then the
    // message type. The version's position depends on the message.
    let Some(&first) = buf.first() else {
        return HelloParse::NeedMore;
    };
    if first & 0x80 == 0 {
        return HelloParse::NotTls;
    }
    let (sslv2_type, version_at) = if expected_type == HANDSHAKE_CLIENT_HELLO {
        (SSLV2_CLIENT_HELLO, 3)
    } else {
        // SERVER-HELLO: type, session_id_hit, certificate_type, version.
        (SSLV2_SERVER_HELLO, 5)
    };
    let Some(&msg_type) = buf.get(2) else {
        return HelloParse::NeedMore;
    };
    if msg_type != sslv2_type {
        return HelloParse::NotTls;
    }
    // SSLv2 itself (0x0002) or an SSLv3/TLS client using the v2-compatible
    // framing (0x03xx).
    match buf.get(version_at) {
        None => HelloParse::NeedMore,
        Some(0x00 | 0x03) => HelloParse::Invalid("sslv2"),
        Some(_) => HelloParse::NotTls,
    }
}

/// One record header plus whatever part of its fragment `buf` holds.
struct Record<'a> {
    version: u16,
    /// Fragment bytes present in `buf`. May be shorter than the record.
    available: &'a [u8],
    /// Start of the next record, or `None` if this one runs past `buf`.
    next_pos: Option<usize>,
}

/// Reads the record header at `pos`. `Ok(None)` means the header itself isn't
/// complete yet.
fn next_record(buf: &[u8], pos: usize) -> Result<Option<Record<'_>>, &'static str> {
    let header_end = pos.checked_add(RECORD_HEADER_LEN).ok_or("record offset overflow")?;
    let Some(header) = buf.get(pos..header_end) else {
        return Ok(None);
    };
    let &[content_type, major, minor, len_hi, len_lo] = header else {
        return Ok(None);
    };
    // The hello must be complete before any other record type is legal.
    if content_type != CONTENT_TYPE_HANDSHAKE {
        return Err("non-handshake record inside hello");
    }
    if major != RECORD_MAJOR_VERSION || minor > RECORD_MAX_MINOR_VERSION {
        return Err("bad record version");
    }
    let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if len == 0 {
        // RFC 5246 6.2.1 / RFC 8446 5.1: zero-length handshake fragments are forbidden.
        return Err("empty handshake record");
    }
    if !record_len_ok(len) {
        return Err("record too long");
    }
    let end = header_end.checked_add(len).ok_or("record length overflow")?;
    let available = buf.get(header_end..end.min(buf.len())).ok_or("record offset out of range")?;
    let next_pos = (end <= buf.len()).then_some(end);
    Ok(Some(Record { version: u16::from_be_bytes([major, minor]), available, next_pos }))
}

fn record_len_ok(len: usize) -> bool {
    (1..=MAX_RECORD_LEN).contains(&len)
}

enum MessageStatus<'a> {
    Complete(&'a [u8]),
    Incomplete,
    Invalid(&'static str),
}

/// Checks whether the reassembled handshake bytes hold a full message of `expected_type`.
fn message_status(handshake: &[u8], expected_type: u8) -> MessageStatus<'_> {
    match handshake.first() {
        Some(&t) if t != expected_type => {
            return MessageStatus::Invalid(if expected_type == HANDSHAKE_CLIENT_HELLO {
                "first handshake message is not a ClientHello"
            } else {
                "first handshake message is not a ServerHello"
            })
        }
        Some(_) => {}
        None => return MessageStatus::Incomplete,
    }
    let mut header = Reader::new(handshake);
    let (Some(_), Some(body_len)) = (header.u8(), header.u24()) else {
        return MessageStatus::Incomplete;
    };
    // Checked before any body bytes arrive, so a lying length is rejected at once.
    let Some(total) = body_len.checked_add(HANDSHAKE_HEADER_LEN) else {
        return MessageStatus::Invalid("hello exceeds MAX_HELLO_LEN");
    };
    if total > MAX_HELLO_LEN {
        return MessageStatus::Invalid("hello exceeds MAX_HELLO_LEN");
    }
    match handshake.get(HANDSHAKE_HEADER_LEN..total) {
        Some(body) => MessageStatus::Complete(body),
        None => MessageStatus::Incomplete,
    }
}

// ---------------------------------------------------------------------------
// Hello bodies (RFC 8446 4.1.2 / 4.1.3, RFC 5246 7.4.1.2 / 7.4.1.3).
// ---------------------------------------------------------------------------

fn decode_client_hello(record_version: u16, body: &[u8]) -> Result<ClientHello, &'static str> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16().ok_or("truncated client version")?;
    r.take(RANDOM_LEN).ok_or("truncated client random")?;
    session_id(&mut r)?;
    let cipher_bytes = r.vec16().ok_or("truncated cipher suites")?;
    let cipher_suites = u16_list(cipher_bytes).ok_or("odd cipher suites length")?;
    r.vec8().ok_or("truncated compression methods")?;
    let raw_extensions = extension_block(&mut r)?;
    let ext = ClientExtensions::decode(&raw_extensions);
    let extensions: Vec<u16> = raw_extensions.iter().map(|&(t, _)| t).collect();

    let ja3 = ja3_string(legacy_version, &cipher_suites, &extensions, &ext.groups, &ext.ec_point_formats);
    let ja4 = ja4_client(&Ja4ClientInput {
        legacy_version,
        supported_versions: &ext.supported_versions,
        cipher_suites: &cipher_suites,
        extensions: &extensions,
        first_alpn: ext.alpn.first().copied(),
        signature_algorithms: &ext.signature_algorithms,
    });
    Ok(ClientHello {
        record_version,
        legacy_version,
        cipher_suites,
        server_name: ext.server_name.map(lossy),
        alpn: ext.alpn.iter().map(|name| lossy(name)).collect(),
        supported_versions: ext.supported_versions,
        groups: ext.groups,
        ec_point_formats: ext.ec_point_formats,
        signature_algorithms: ext.signature_algorithms,
        malformed_extensions: ext.malformed,
        extensions,
        ja3_hash: md5_hex(&ja3),
        ja3,
        ja4,
    })
}

fn decode_server_hello(body: &[u8]) -> Result<ServerHello, &'static str> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16().ok_or("truncated server version")?;
    r.take(RANDOM_LEN).ok_or("truncated server random")?;
    session_id(&mut r)?;
    let cipher_suite = r.u16().ok_or("truncated cipher suite")?;
    r.u8().ok_or("truncated compression method")?;
    let raw_extensions = extension_block(&mut r)?;
    let ext = ServerExtensions::decode(&raw_extensions);
    let extensions: Vec<u16> = raw_extensions.iter().map(|&(t, _)| t).collect();
    let version = ext.selected_version.unwrap_or(legacy_version);

    let mut ja3s = String::with_capacity(extensions.len().saturating_mul(6).saturating_add(12));
    push_decimal(&mut ja3s, legacy_version);
    ja3s.push(',');
    push_decimal(&mut ja3s, cipher_suite);
    ja3s.push(',');
    push_joined_decimal(&mut ja3s, extensions.iter().copied());
    let ja4s = ja4_server(version, cipher_suite, &extensions, ext.alpn);
    Ok(ServerHello {
        legacy_version,
        version,
        cipher_suite,
        alpn: ext.alpn.map(lossy),
        malformed_extensions: ext.malformed,
        extensions,
        ja3s_hash: md5_hex(&ja3s),
        ja3s,
        ja4s,
    })
}

fn session_id(r: &mut Reader<'_>) -> Result<(), &'static str> {
    let id = r.vec8().ok_or("truncated session id")?;
    if id.len() > MAX_SESSION_ID_LEN {
        return Err("session id longer than 32 bytes");
    }
    Ok(())
}

/// Splits the optional extension block into `(type, data)` pairs in wire order.
/// Pre-extension hellos (SSLv3, old TLS) simply end before the block.
fn extension_block<'a>(r: &mut Reader<'a>) -> Result<Vec<(u16, &'a [u8])>, &'static str> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let block = r.vec16().ok_or("truncated extensions block")?;
    if !r.is_empty() {
        return Err("trailing bytes after extensions");
    }
    let mut entries = Reader::new(block);
    let mut out = Vec::new();
    while !entries.is_empty() {
        let ext_type = entries.u16().ok_or("truncated extension header")?;
        let data = entries.vec16().ok_or("truncated extension data")?;
        out.push((ext_type, data));
    }
    Ok(out)
}

/// Decoded contents of the ClientHello extensions we interpret.
#[derive(Default)]
struct ClientExtensions<'a> {
    server_name: Option<&'a [u8]>,
    alpn: Vec<&'a [u8]>,
    supported_versions: Vec<u16>,
    groups: Vec<u16>,
    ec_point_formats: Vec<u8>,
    signature_algorithms: Vec<u16>,
    malformed: Vec<u16>,
}

impl<'a> ClientExtensions<'a> {
    fn decode(raw: &[(u16, &'a [u8])]) -> Self {
        let mut out = Self::default();
        let mut malformed = Vec::new();
        if let Some(name) = decode_first(raw, EXT_SERVER_NAME, &mut malformed, sni_host_name) {
            out.server_name = name;
        }
        if let Some(names) = decode_first(raw, EXT_ALPN, &mut malformed, alpn_names) {
            out.alpn = names;
        }
        if let Some(versions) = decode_first(raw, EXT_SUPPORTED_VERSIONS, &mut malformed, |r| u16_list(r.vec8()?)) {
            out.supported_versions = versions;
        }
        if let Some(groups) = decode_first(raw, EXT_SUPPORTED_GROUPS, &mut malformed, |r| u16_list(r.vec16()?)) {
            out.groups = groups;
        }
        if let Some(formats) = decode_first(raw, EXT_EC_POINT_FORMATS, &mut malformed, |r| r.vec8().map(<[u8]>::to_vec))
        {
            out.ec_point_formats = formats;
        }
        if let Some(algs) = decode_first(raw, EXT_SIGNATURE_ALGORITHMS, &mut malformed, |r| u16_list(r.vec16()?)) {
            out.signature_algorithms = algs;
        }
        out.malformed = malformed;
        out
    }
}

/// Decoded contents of the ServerHello extensions we interpret.
#[derive(Default)]
struct ServerExtensions<'a> {
    selected_version: Option<u16>,
    alpn: Option<&'a [u8]>,
    malformed: Vec<u16>,
}

impl<'a> ServerExtensions<'a> {
    fn decode(raw: &[(u16, &'a [u8])]) -> Self {
        let mut malformed = Vec::new();
        // RFC 8446 4.2.1: the server's supported_versions is a single version.
        let selected_version = decode_first(raw, EXT_SUPPORTED_VERSIONS, &mut malformed, Reader::u16);
        // RFC 7301 3.1: the server's list holds exactly one protocol. We
        // tolerate more and keep the first, but an empty list is malformed.
        let alpn = decode_first(raw, EXT_ALPN, &mut malformed, |r| alpn_names(r)?.first().copied());
        Self { selected_version, alpn, malformed }
    }
}

/// Decodes the first extension of `ext_type` with `decode`, which must consume
/// all of its data. Failures are recorded in `malformed`.
fn decode_first<'a, T>(
    raw: &[(u16, &'a [u8])],
    ext_type: u16,
    malformed: &mut Vec<u16>,
    decode: impl FnOnce(&mut Reader<'a>) -> Option<T>,
) -> Option<T> {
    let &(_, data) = raw.iter().find(|&&(t, _)| t == ext_type)?;
    let mut r = Reader::new(data);
    let value = decode(&mut r).filter(|_| r.is_empty());
    if value.is_none() {
        malformed.push(ext_type);
    }
    value
}

/// RFC 6066 3: `ServerNameList`. Returns the first `host_name` entry.
fn sni_host_name<'a>(r: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    let mut list = Reader::new(r.vec16()?);
    let mut host = None;
    while !list.is_empty() {
        let name_type = list.u8()?;
        let name = list.vec16()?;
        if name_type == SNI_HOST_NAME && host.is_none() {
            host = Some(name);
        }
    }
    Some(host)
}

/// RFC 7301 3.1: `ProtocolNameList`. Empty names are kept, because JA4 defines
/// what they fingerprint as.
fn alpn_names<'a>(r: &mut Reader<'a>) -> Option<Vec<&'a [u8]>> {
    let mut list = Reader::new(r.vec16()?);
    let mut names = Vec::new();
    while !list.is_empty() {
        names.push(list.vec8()?);
    }
    Some(names)
}

// ---------------------------------------------------------------------------
// Fingerprints.
// ---------------------------------------------------------------------------

/// JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`,
/// decimal values joined by '-', GREASE removed, empty fields left empty.
fn ja3_string(
    legacy_version: u16,
    ciphers: &[u16],
    extensions: &[u16],
    groups: &[u16],
    point_formats: &[u8],
) -> String {
    let no_grease = |v: &&u16| !is_grease(**v);
    // At most six characters per value ("65535-"); one allocation, no formatting machinery.
    let mut out = String::with_capacity(
        [ciphers.len(), extensions.len(), groups.len(), point_formats.len(), 1]
            .iter()
            .fold(0usize, |n, &l| n.saturating_add(l.saturating_mul(6))),
    );
    push_decimal(&mut out, legacy_version);
    out.push(',');
    push_joined_decimal(&mut out, ciphers.iter().filter(no_grease).copied());
    out.push(',');
    push_joined_decimal(&mut out, extensions.iter().filter(no_grease).copied());
    out.push(',');
    push_joined_decimal(&mut out, groups.iter().filter(no_grease).copied());
    out.push(',');
    push_joined_decimal(&mut out, point_formats.iter().map(|&p| u16::from(p)));
    out
}

/// What JA4 reads from a ClientHello. Raw ALPN bytes are needed (not the
/// lossy string) because the non-alphanumeric rule looks at bytes.
struct Ja4ClientInput<'a> {
    legacy_version: u16,
    supported_versions: &'a [u16],
    cipher_suites: &'a [u16],
    extensions: &'a [u16],
    first_alpn: Option<&'a [u8]>,
    signature_algorithms: &'a [u16],
}

/// JA4 = `JA4_a _ JA4_b _ JA4_c` (FoxIO technical_details/JA4.md).
fn ja4_client(input: &Ja4ClientInput<'_>) -> String {
    // Version: highest non-GREASE supported_versions entry, else legacy_version.
    let version =
        input.supported_versions.iter().copied().filter(|&v| !is_grease(v)).max().unwrap_or(input.legacy_version);
    let ciphers: Vec<u16> = without_grease(input.cipher_suites);
    let extensions: Vec<u16> = without_grease(input.extensions);
    // "d" means the SNI extension is present (a domain was requested), even if
    // its contents didn't decode.
    let sni_marker = if extensions.contains(&EXT_SERVER_NAME) { 'd' } else { 'i' };
    let [alpn_first, alpn_last] = ja4_alpn_chars(input.first_alpn);

    let mut sorted_ciphers = ciphers.clone();
    sorted_ciphers.sort_unstable();
    // SNI and ALPN are already in JA4_a. Dropping them here keeps JA4_c stable
    // across destinations and ALPN choices.
    let mut sorted_exts: Vec<u16> =
        extensions.iter().copied().filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN).collect();
    sorted_exts.sort_unstable();
    let sig_algs = without_grease(input.signature_algorithms);

    let cipher_hash = ja4_hash(&sorted_ciphers, &[]);
    let ext_hash = ja4_hash(&sorted_exts, &sig_algs);
    format!(
        "{JA4_TRANSPORT_TCP}{}{sni_marker}{:02}{:02}{alpn_first}{alpn_last}_{cipher_hash}_{ext_hash}",
        ja4_version(version),
        ciphers.len().min(JA4_MAX_COUNT),
        extensions.len().min(JA4_MAX_COUNT),
    )
}

/// JA4S = `t` version ext-count alpn `_` cipher `_` hash(extensions in wire order).
/// The reference implementations neither filter GREASE nor sort here.
fn ja4_server(version: u16, cipher: u16, extensions: &[u16], alpn: Option<&[u8]>) -> String {
    let [alpn_first, alpn_last] = ja4_alpn_chars(alpn);
    format!(
        "{JA4_TRANSPORT_TCP}{}{:02}{alpn_first}{alpn_last}_{cipher:04x}_{}",
        ja4_version(version),
        extensions.len().min(JA4_MAX_COUNT),
        ja4_hash(extensions, &[]),
    )
}

/// JA4 two-character version code. Unknown versions are "00".
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// First and last character of the first ALPN value, per JA4.md:
/// "00" if absent or empty; the characters themselves if both end bytes are
/// ASCII alphanumeric; otherwise the first and last hex digits of the value.
fn ja4_alpn_chars(value: Option<&[u8]>) -> [char; 2] {
    let Some((&first, &last)) = value.and_then(|v| v.first().zip(v.last())) else {
        return ['0', '0'];
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        [char::from(first), char::from(last)]
    } else {
        [hex_digit(first >> 4), hex_digit(last & 0x0f)]
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// Truncated SHA-256 of `values` as comma-separated 4-digit hex, followed by
/// `_` and `suffix` when `suffix` isn't empty. `000000000000` if `values` is empty.
fn ja4_hash(values: &[u16], suffix: &[u16]) -> String {
    if values.is_empty() {
        return JA4_EMPTY_HASH.to_owned();
    }
    let mut text = join_hex(values);
    if !suffix.is_empty() {
        text.push('_');
        text.push_str(&join_hex(suffix));
    }
    hex_prefix(&Sha256::digest(text.as_bytes()), JA4_HASH_BYTES)
}

fn without_grease(values: &[u16]) -> Vec<u16> {
    values.iter().copied().filter(|&v| !is_grease(v)).collect()
}

/// `values` in decimal, joined by '-'.
fn push_joined_decimal(out: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(out, v);
    }
}

fn push_decimal(out: &mut String, v: u16) {
    let mut started = false;
    for div in [10_000u16, 1_000, 100, 10, 1] {
        let digit = v.checked_div(div).and_then(|q| q.checked_rem(10)).unwrap_or(0);
        if digit != 0 || started || div == 1 {
            started = true;
            out.push(hex_digit(digit as u8));
        }
    }
}

/// Four lowercase hex digits of each value, joined by ','.
fn join_hex(values: &[u16]) -> String {
    let mut out = String::with_capacity(values.len().saturating_mul(5));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for b in v.to_be_bytes() {
            push_hex_byte(&mut out, b);
        }
    }
    out
}

fn push_hex_byte(out: &mut String, b: u8) {
    out.push(hex_digit(b >> 4));
    out.push(hex_digit(b & 0x0f));
}

fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    hex_prefix(&digest, digest.len())
}

/// Lowercase hex of the first `n` bytes of `bytes`.
fn hex_prefix(bytes: &[u8], n: usize) -> String {
    let mut out = String::with_capacity(n.min(bytes.len()).saturating_mul(2));
    for &b in bytes.iter().take(n) {
        push_hex_byte(&mut out, b);
    }
    out
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Big-endian `u16` list. `None` for an odd byte count.
fn u16_list(bytes: &[u8]) -> Option<Vec<u16>> {
    let pairs = bytes.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    Some(
        pairs
            .filter_map(|pair| match *pair {
                [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
                _ => None,
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Bounds-checked cursor.
// ---------------------------------------------------------------------------

/// Cursor over untrusted bytes. Every read is bounds-checked and returns `None`
/// when the input runs out.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        self.rest = tail;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        match *self.take(2)? {
            [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
            _ => None,
        }
    }

    fn u24(&mut self) -> Option<usize> {
        match *self.take(3)? {
            [a, b, c] => usize::try_from(u32::from_be_bytes([0, a, b, c])).ok(),
            _ => None,
        }
    }

    /// Vector with a 1-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// Vector with a 2-byte length prefix.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

// ---------------------------------------------------------------------------
// Names.
// ---------------------------------------------------------------------------

/// Cipher suites in common use, with the names from Zeek's `SSL::cipher_desc`
/// (IANA names, with `anon` upper-cased as Zeek does).
fn known_cipher_name(c: u16) -> Option<&'static str> {
    let name = match c {
        0x0000 => "TLS_NULL_WITH_NULL_NULL",
        0x0001 => "TLS_RSA_WITH_NULL_MD5",
        0x0002 => "TLS_RSA_WITH_NULL_SHA",
        0x0003 => "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0006 => "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
        0x0007 => "TLS_RSA_WITH_IDEA_CBC_SHA",
        0x0008 => "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
        0x0009 => "TLS_RSA_WITH_DES_CBC_SHA",
        0x000A => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x000D => "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA",
        0x0010 => "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0011 => "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA",
        0x0012 => "TLS_DHE_DSS_WITH_DES_CBC_SHA",
        0x0013 => "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
        0x0014 => "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
        0x0015 => "TLS_DHE_RSA_WITH_DES_CBC_SHA",
        0x0016 => "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0017 => "TLS_DH_ANON_EXPORT_WITH_RC4_40_MD5",
        0x0018 => "TLS_DH_ANON_WITH_RC4_128_MD5",
        0x001B => "TLS_DH_ANON_WITH_3DES_EDE_CBC_SHA",
        0x002F => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0030 => "TLS_DH_DSS_WITH_AES_128_CBC_SHA",
        0x0031 => "TLS_DH_RSA_WITH_AES_128_CBC_SHA",
        0x0032 => "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0034 => "TLS_DH_ANON_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x0036 => "TLS_DH_DSS_WITH_AES_256_CBC_SHA",
        0x0037 => "TLS_DH_RSA_WITH_AES_256_CBC_SHA",
        0x0038 => "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x003A => "TLS_DH_ANON_WITH_AES_256_CBC_SHA",
        0x003B => "TLS_RSA_WITH_NULL_SHA256",
        0x003C => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003D => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x0040 => "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
        0x0041 => "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
        0x0045 => "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
        0x0067 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x006A => "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
        0x006B => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0x0084 => "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
        0x0088 => "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
        0x008A => "TLS_PSK_WITH_RC4_128_SHA",
        0x008B => "TLS_PSK_WITH_3DES_EDE_CBC_SHA",
        0x008C => "TLS_PSK_WITH_AES_128_CBC_SHA",
        0x008D => "TLS_PSK_WITH_AES_256_CBC_SHA",
        0x0096 => "TLS_RSA_WITH_SEED_CBC_SHA",
        0x009C => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009E => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009F => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x00A2 => "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
        0x00A3 => "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
        0x00A8 => "TLS_PSK_WITH_AES_128_GCM_SHA256",
        0x00A9 => "TLS_PSK_WITH_AES_256_GCM_SHA384",
        0x00BA => "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256",
        0x00BE => "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
        0x00C0 => "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256",
        0x00C4 => "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
        0x00FF => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        0x5600 => "TLS_FALLBACK_SCSV",
        0xC001 => "TLS_ECDH_ECDSA_WITH_NULL_SHA",
        0xC002 => "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
        0xC003 => "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
        0xC004 => "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
        0xC005 => "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
        0xC006 => "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
        0xC007 => "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        0xC008 => "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        0xC009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC00B => "TLS_ECDH_RSA_WITH_NULL_SHA",
        0xC00C => "TLS_ECDH_RSA_WITH_RC4_128_SHA",
        0xC00D => "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
        0xC00E => "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
        0xC00F => "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
        0xC010 => "TLS_ECDHE_RSA_WITH_NULL_SHA",
        0xC011 => "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        0xC012 => "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0xC013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xC015 => "TLS_ECDH_ANON_WITH_NULL_SHA",
        0xC016 => "TLS_ECDH_ANON_WITH_RC4_128_SHA",
        0xC017 => "TLS_ECDH_ANON_WITH_3DES_EDE_CBC_SHA",
        0xC018 => "TLS_ECDH_ANON_WITH_AES_128_CBC_SHA",
        0xC019 => "TLS_ECDH_ANON_WITH_AES_256_CBC_SHA",
        0xC023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xC024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xC025 => "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
        0xC026 => "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
        0xC027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xC028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xC029 => "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
        0xC02A => "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
        0xC02B => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02D => "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02E => "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xC031 => "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
        0xC032 => "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
        0xC035 => "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA",
        0xC036 => "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA",
        0xC072 => "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256",
        0xC073 => "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384",
        0xC076 => "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
        0xC077 => "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384",
        0xC09C => "TLS_RSA_WITH_AES_128_CCM",
        0xC09D => "TLS_RSA_WITH_AES_256_CCM",
        0xC09E => "TLS_DHE_RSA_WITH_AES_128_CCM",
        0xC09F => "TLS_DHE_RSA_WITH_AES_256_CCM",
        0xC0A0 => "TLS_RSA_WITH_AES_128_CCM_8",
        0xC0A1 => "TLS_RSA_WITH_AES_256_CCM_8",
        0xC0A2 => "TLS_DHE_RSA_WITH_AES_128_CCM_8",
        0xC0A3 => "TLS_DHE_RSA_WITH_AES_256_CCM_8",
        0xC0AC => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
        0xC0AD => "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
        0xC0AE => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        0xC0AF => "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
        0xCC13 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD",
        0xCC14 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD",
        0xCC15 => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD",
        0xCCA8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAA => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAB => "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAC => "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAD => "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xCCAE => "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xD001 => "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256",
        0xD002 => "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384",
        0xD005 => "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    // ---- builders for wire-format hellos ----------------------------------

    fn u16_bytes(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn vec8(data: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from(data.len()).unwrap()];
        out.extend_from_slice(data);
        out
    }

    fn vec16(data: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(data);
        out
    }

    fn ext(ext_type: u16, data: &[u8]) -> (u16, Vec<u8>) {
        (ext_type, data.to_vec())
    }

    fn ext_sni(host: &str) -> (u16, Vec<u8>) {
        let mut entry = vec![SNI_HOST_NAME];
        entry.extend(vec16(host.as_bytes()));
        ext(EXT_SERVER_NAME, &vec16(&entry))
    }

    fn ext_alpn(names: &[&[u8]]) -> (u16, Vec<u8>) {
        let list: Vec<u8> = names.iter().flat_map(|n| vec8(n)).collect();
        ext(EXT_ALPN, &vec16(&list))
    }

    fn ext_client_versions(versions: &[u16]) -> (u16, Vec<u8>) {
        ext(EXT_SUPPORTED_VERSIONS, &vec8(&u16_bytes(versions)))
    }

    fn ext_u16_list(ext_type: u16, values: &[u16]) -> (u16, Vec<u8>) {
        ext(ext_type, &vec16(&u16_bytes(values)))
    }

    fn ext_point_formats(formats: &[u8]) -> (u16, Vec<u8>) {
        ext(EXT_EC_POINT_FORMATS, &vec8(formats))
    }

    fn extension_block(exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut block = Vec::new();
        for (t, data) in exts {
            block.extend(t.to_be_bytes());
            block.extend(vec16(data));
        }
        vec16(&block)
    }

    /// ClientHello body. `exts == None` omits the extension block entirely.
    fn client_body(version: u16, ciphers: &[u16], exts: Option<&[(u16, Vec<u8>)]>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([0x42; RANDOM_LEN]);
        body.extend(vec8(&[0x07; 32])); // session id
        body.extend(vec16(&u16_bytes(ciphers)));
        body.extend(vec8(&[0])); // null compression
        if let Some(exts) = exts {
            body.extend(extension_block(exts));
        }
        body
    }

    fn server_body(version: u16, cipher: u16, exts: Option<&[(u16, Vec<u8>)]>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend([0x24; RANDOM_LEN]);
        body.extend(vec8(&[0x09; 32]));
        body.extend(cipher.to_be_bytes());
        body.push(0);
        if let Some(exts) = exts {
            body.extend(extension_block(exts));
        }
        body
    }

    fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        let mut out = vec![msg_type, len[1], len[2], len[3]];
        out.extend_from_slice(body);
        out
    }

    /// Wraps handshake bytes in records of at most `chunk` fragment bytes.
    fn records(handshake: &[u8], record_version: u16, chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in handshake.chunks(chunk) {
            out.push(CONTENT_TYPE_HANDSHAKE);
            out.extend(record_version.to_be_bytes());
            out.extend(vec16(piece));
        }
        out
    }

    fn client_stream(body: &[u8]) -> Vec<u8> {
        records(&handshake(HANDSHAKE_CLIENT_HELLO, body), 0x0301, 1 << 14)
    }

    fn server_stream(body: &[u8]) -> Vec<u8> {
        records(&handshake(HANDSHAKE_SERVER_HELLO, body), 0x0303, 1 << 14)
    }

    fn done<T: std::fmt::Debug>(result: HelloParse<T>) -> T {
        match result {
            HelloParse::Done(v) => v,
            other => panic!("expected Done, got {other:?}"),
        }
    }

    // ---- published vectors -------------------------------------------------

    /// JA4.md example ciphers, in wire order.
    const FOXIO_CIPHERS: [u16; 15] = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
        0x0035,
    ];
    /// JA4.md example signature algorithms, in wire order.
    const FOXIO_SIGALGS: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

    /// Chrome-like hello carrying exactly the lists of the JA4.md example
    /// (extensions 001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,
    /// 002b,ff01,000b,000a,0015), with GREASE added the way Chrome adds it.
    fn foxio_example_body() -> Vec<u8> {
        let mut ciphers = vec![0x3a3a];
        ciphers.extend(FOXIO_CIPHERS);
        let exts = vec![
            ext(0xdada, &[]),
            ext(0x001b, &[0x02, 0x00, 0x02]),
            ext_sni("www.example.com"),
            ext(0x0033, &[0x00, 0x00]),
            ext_alpn(&[b"h2", b"http/1.1"]),
            ext(0x4469, &[0x00, 0x03, 0x02, b'h', b'2']),
            ext(0x0017, &[]),
            ext(0x002d, &[0x01, 0x01]),
            ext_u16_list(EXT_SIGNATURE_ALGORITHMS, &FOXIO_SIGALGS),
            ext(0x0005, &[0x01, 0x00, 0x00, 0x00, 0x00]),
            ext(0x0023, &[]),
            ext(0x0012, &[]),
            ext_client_versions(&[0x6a6a, 0x0304, 0x0303]),
            ext(0xff01, &[0x00]),
            ext_point_formats(&[0]),
            ext_u16_list(EXT_SUPPORTED_GROUPS, &[0x8a8a, 0x001d, 0x0017, 0x0018]),
            ext(0x0015, &[0; 20]),
            ext(0x1a1a, &[0x00]),
        ];
        client_body(0x0303, &ciphers, Some(&exts))
    }

    #[test]
    fn ja4_reproduces_foxio_technical_details_example() {
        let hello = done(parse_client_hello(&client_stream(&foxio_example_body())));
        assert_eq!(hello.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_hash_parts_match_published_strings() {
        let mut ciphers = FOXIO_CIPHERS.to_vec();
        ciphers.sort_unstable();
        assert_eq!(ja4_hash(&ciphers, &[]), "8daaf6152771");
        let exts = [
            0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b, 0x002d, 0x0033, 0x4469,
            0xff01,
        ];
        assert_eq!(ja4_hash(&exts, &FOXIO_SIGALGS), "e5627efa2ab1");
        // JA4.md: "If there are no signature algorithms ... ends without an underscore".
        assert_eq!(ja4_hash(&exts, &[]), "6d807ffa2a79");
        assert_eq!(ja4_hash(&[], &FOXIO_SIGALGS), JA4_EMPTY_HASH);
    }

    /// FoxIO test capture `sigalg-grease.pcapng`: JA4 and JA4S as published in
    /// python/test/testdata/sigalg-grease.pcapng.json (lists from its JA4_ro / JA4S_r).
    #[test]
    fn ja4_and_ja4s_reproduce_foxio_sigalg_grease_capture() {
        let exts = vec![
            ext(0x2a2a, &[]),
            ext(0xfe0d, &[0x00; 8]),
            ext_alpn(&[b"h2", b"http/1.1"]),
            ext(0x0017, &[]),
            ext(0x0033, &[0x00, 0x00]),
            ext(0x44cd, &[0x00, 0x03, 0x02, b'h', b'2']),
            ext(0xff01, &[0x00]),
            ext_u16_list(EXT_SUPPORTED_GROUPS, &[0x4a4a, 0x11ec, 0x001d, 0x0017, 0x0018]),
            ext_u16_list(
                EXT_SIGNATURE_ALGORITHMS,
                &[0x0904, 0x0905, 0x0906, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
            ),
            ext(0x0023, &[]),
            ext_client_versions(&[0x9a9a, 0x0304, 0x0303]),
            ext_point_formats(&[0]),
            ext(0xca34, &[0x01]),
            ext(0x002d, &[0x01, 0x01]),
            ext_sni("optimizationguide-pa.googleapis.com"),
            ext(0x0005, &[0x01, 0x00, 0x00, 0x00, 0x00]),
            ext(0x001b, &[0x02, 0x00, 0x02]),
            ext(0x0012, &[]),
            ext(0xfafa, &[0x00]),
        ];
        let mut ciphers = vec![0xbaba];
        ciphers.extend(FOXIO_CIPHERS);
        let hello = done(parse_client_hello(&client_stream(&client_body(0x0303, &ciphers, Some(&exts)))));
        assert_eq!(hello.ja4, "t13d1517h2_8daaf6152771_cb7bf5808d99");
        assert_eq!(hello.server_name.as_deref(), Some("optimizationguide-pa.googleapis.com"));

        let server_exts =
            vec![ext(0x0033, &[0x00, 0x1d, 0x00, 0x01, 0x00]), ext(EXT_SUPPORTED_VERSIONS, &[0x03, 0x04])];
        let server = done(parse_server_hello(&server_stream(&server_body(0x0303, 0x1302, Some(&server_exts)))));
        assert_eq!(server.ja4s, "t130200_1302_234ea6891581");
        assert_eq!(server.version, 0x0304);
        assert_eq!(server.legacy_version, 0x0303);
    }

    /// JA4S.md example: TLS 1.2, cipher c030, extensions 0005,0017,ff01,0000.
    #[test]
    fn ja4s_reproduces_foxio_technical_details_example() {
        let exts = vec![ext(0x0005, &[]), ext(0x0017, &[]), ext(0xff01, &[0x00]), ext(0x0000, &[])];
        let server = done(parse_server_hello(&server_stream(&server_body(0x0303, 0xc030, Some(&exts)))));
        assert_eq!(server.ja4s, "t120400_c030_4e8089b08790");
        assert_eq!(server.ja3s, "771,49200,5-23-65281-0");
        assert_eq!(server.ja3s_hash, md5_hex("771,49200,5-23-65281-0"));
        assert_eq!(server.version, 0x0303);
        assert_eq!(server.alpn, None);
    }

    /// salesforce/ja3 README: the TLS 1.0 example string and hash.
    #[test]
    fn ja3_reproduces_salesforce_readme_example() {
        let ciphers = [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4];
        let exts =
            vec![ext_sni("example.org"), ext_u16_list(EXT_SUPPORTED_GROUPS, &[23, 24, 25]), ext_point_formats(&[0])];
        let hello = done(parse_client_hello(&client_stream(&client_body(769, &ciphers, Some(&exts)))));
        assert_eq!(hello.ja3, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
        assert_eq!(hello.ja3_hash, "ada70206e40642a3e4461f35503241d5");
    }

    /// salesforce/ja3 README: a hello without extensions leaves the fields empty.
    #[test]
    fn ja3_reproduces_salesforce_readme_example_without_extensions() {
        let ciphers = [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99];
        let hello = done(parse_client_hello(&client_stream(&client_body(769, &ciphers, None))));
        assert_eq!(hello.ja3, "769,4-5-10-9-100-98-3-6-19-18-99,,,");
        assert_eq!(hello.ja3_hash, "de350869b8c85de67a350c8d186f11e6");
        // Cipher part cross-checked with `sha256sum` over the sorted hex list
        // "0003,0004,0005,0006,0009,000a,0012,0013,0062,0063,0064".
        assert_eq!(hello.ja4, "t10i110000_3609b414f052_000000000000");
        assert!(hello.extensions.is_empty());
    }

    // ---- ClientHello content -----------------------------------------------

    #[test]
    fn client_hello_fields_keep_wire_values_and_fingerprints_drop_grease() {
        let hello = done(parse_client_hello(&client_stream(&foxio_example_body())));
        assert_eq!(hello.record_version, 0x0301);
        assert_eq!(hello.legacy_version, 0x0303);
        assert_eq!(hello.server_name.as_deref(), Some("www.example.com"));
        assert_eq!(hello.alpn, vec!["h2".to_owned(), "http/1.1".to_owned()]);
        assert_eq!(hello.supported_versions, vec![0x6a6a, 0x0304, 0x0303]);
        assert_eq!(hello.groups, vec![0x8a8a, 0x001d, 0x0017, 0x0018]);
        assert_eq!(hello.ec_point_formats, vec![0]);
        assert_eq!(hello.signature_algorithms, FOXIO_SIGALGS.to_vec());
        assert_eq!(hello.cipher_suites.first(), Some(&0x3a3a));
        assert_eq!(hello.cipher_suites.len(), 16);
        assert_eq!(hello.extensions.len(), 18);
        assert!(hello.malformed_extensions.is_empty());
        assert_eq!(
            hello.ja3,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
        );
        assert_eq!(hello.ja3_hash, md5_hex(&hello.ja3));
    }

    #[test]
    fn ja4_version_falls_back_to_legacy_without_supported_versions() {
        let exts = vec![ext_alpn(&[b"http/1.1"])];
        let hello = done(parse_client_hello(&client_stream(&client_body(0x0303, &[0xc02f], Some(&exts)))));
        assert!(hello.ja4.starts_with("t12i0101h1_"), "{}", hello.ja4);
    }

    #[test]
    fn ja4_alpn_characters_follow_spec_rules() {
        assert_eq!(ja4_alpn_chars(None), ['0', '0']);
        assert_eq!(ja4_alpn_chars(Some(b"")), ['0', '0']);
        assert_eq!(ja4_alpn_chars(Some(b"h2")), ['h', '2']);
        assert_eq!(ja4_alpn_chars(Some(b"http/1.1")), ['h', '1']);
        assert_eq!(ja4_alpn_chars(Some(b"x")), ['x', 'x']);
        // The JA4.md examples for non-alphanumeric values.
        assert_eq!(ja4_alpn_chars(Some(&[0xab])), ['a', 'b']);
        assert_eq!(ja4_alpn_chars(Some(&[0xab, 0xcd])), ['a', 'd']);
        assert_eq!(ja4_alpn_chars(Some(&[0x30, 0xab])), ['3', 'b']);
        assert_eq!(ja4_alpn_chars(Some(&[0x30, 0x31, 0xab, 0xcd])), ['3', 'd']);
        assert_eq!(ja4_alpn_chars(Some(&[0x30, 0xab, 0xcd, 0x31])), ['0', '1']);
    }

    #[test]
    fn ja4_counts_cap_at_99() {
        let ciphers: Vec<u16> = (1..=150).collect();
        let exts: Vec<(u16, Vec<u8>)> = (0x0100..0x0100 + 120).map(|t| ext(t, &[])).collect();
        let hello = done(parse_client_hello(&client_stream(&client_body(0x0303, &ciphers, Some(&exts)))));
        assert!(hello.ja4.starts_with("t12i999900_"), "{}", hello.ja4);
    }

    #[test]
    fn malformed_inner_extension_is_recorded_not_fatal() {
        // SNI whose inner list length lies (claims 0x20 bytes, has 3).
        let exts = vec![ext(EXT_SERVER_NAME, &[0x00, 0x20, 0x00, 0x00, 0x01]), ext_alpn(&[b"h2"])];
        let hello = done(parse_client_hello(&client_stream(&client_body(0x0303, &[0x1301], Some(&exts)))));
        assert_eq!(hello.server_name, None);
        assert_eq!(hello.malformed_extensions, vec![EXT_SERVER_NAME]);
        // The extension is still present, so JA4 still says "domain".
        assert!(hello.ja4.starts_with("t12d0102h2_"), "{}", hello.ja4);
    }

    // ---- ServerHello -------------------------------------------------------

    #[test]
    fn server_hello_tls12_with_alpn() {
        let exts = vec![ext(0xff01, &[0x00]), ext(0x000b, &[0x01, 0x00]), ext_alpn(&[b"h2"])];
        let server = done(parse_server_hello(&server_stream(&server_body(0x0303, 0xc02f, Some(&exts)))));
        assert_eq!(server.version, 0x0303);
        assert_eq!(server.cipher_suite, 0xc02f);
        assert_eq!(server.alpn.as_deref(), Some("h2"));
        assert_eq!(server.extensions, vec![0xff01, 0x000b, 0x0010]);
        assert_eq!(server.ja3s, "771,49199,65281-11-16");
        assert!(server.ja4s.starts_with("t1203h2_c02f_"), "{}", server.ja4s);
        assert_eq!(version_name(server.version), "TLSv12");
        assert_eq!(cipher_name(server.cipher_suite), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }

    #[test]
    fn server_hello_tls13_version_comes_from_supported_versions() {
        let exts = vec![ext(EXT_SUPPORTED_VERSIONS, &[0x03, 0x04]), ext(0x0033, &[0x00, 0x1d, 0x00, 0x00])];
        let server = done(parse_server_hello(&server_stream(&server_body(0x0303, 0x1301, Some(&exts)))));
        assert_eq!(server.legacy_version, 0x0303);
        assert_eq!(server.version, 0x0304);
        assert_eq!(version_name(server.version), "TLSv13");
        assert!(server.ja4s.starts_with("t130200_1301_"), "{}", server.ja4s);
        // JA3S keeps the legacy version, as the reference implementations do.
        assert!(server.ja3s.starts_with("771,4865,"), "{}", server.ja3s);
    }

    #[test]
    fn server_hello_sharing_a_record_with_truncated_certificate_is_done() {
        let mut hs = handshake(HANDSHAKE_SERVER_HELLO, &server_body(0x0303, 0xc030, None));
        let hello_end = hs.len();
        hs.extend(handshake(11, &[0x55; 3000])); // Certificate
        let stream = records(&hs, 0x0303, 1 << 14);
        // Only the record header plus the ServerHello plus a bit of Certificate.
        let cut = RECORD_HEADER_LEN + hello_end + 10;
        let server = done(parse_server_hello(&stream[..cut]));
        assert_eq!(server.cipher_suite, 0xc030);
        assert_eq!(server.ja3s, "771,49200,");
        assert!(server.ja4s.ends_with("_c030_000000000000"), "{}", server.ja4s);
    }

    // ---- framing -----------------------------------------------------------

    #[test]
    fn hello_split_across_records_parses_identically() {
        let body = foxio_example_body();
        let single = done(parse_client_hello(&client_stream(&body)));
        for chunk in [1, 2, 3, 4, 5, 100, 255] {
            let split = records(&handshake(HANDSHAKE_CLIENT_HELLO, &body), 0x0301, chunk);
            assert_eq!(done(parse_client_hello(&split)), single, "chunk {chunk}");
        }
    }

    #[test]
    fn every_strict_prefix_needs_more_then_done() {
        let body = foxio_example_body();
        for chunk in [1 << 14, 100] {
            let stream = records(&handshake(HANDSHAKE_CLIENT_HELLO, &body), 0x0301, chunk);
            for len in 0..stream.len() {
                assert_eq!(parse_client_hello(&stream[..len]), HelloParse::NeedMore, "chunk {chunk}, prefix {len}");
            }
            let mut longer = stream.clone();
            longer.extend([0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3]); // trailing app data
            assert!(matches!(parse_client_hello(&stream), HelloParse::Done(_)));
            assert_eq!(parse_client_hello(&stream), parse_client_hello(&longer));
        }
    }

    #[test]
    fn non_tls_bytes_are_not_tls() {
        let samples: [&[u8]; 7] = [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"SSH-2.0-OpenSSH_9.6\r\n",
            &[0x17, 0x03, 0x03, 0x00, 0x10],
            &[0x16, 0x02, 0x00],
            &[0x16, 0x03, 0x05],
            &[0x16, 0xfe, 0xfd], // DTLS framing has no place in a TCP stream
            &[0x00; 16],
        ];
        for s in samples {
            assert_eq!(parse_client_hello(s), HelloParse::NotTls, "{s:02x?}");
            assert_eq!(parse_server_hello(s), HelloParse::NotTls, "{s:02x?}");
            assert!(!looks_like_tls(s), "{s:02x?}");
        }
        assert_eq!(parse_client_hello(&[]), HelloParse::NeedMore);
        assert_eq!(parse_client_hello(&[0x16]), HelloParse::NeedMore);
        assert_eq!(parse_client_hello(&[0x16, 0x03]), HelloParse::NeedMore);
    }

    #[test]
    fn looks_like_tls_checks_what_the_prefix_holds() {
        let stream = client_stream(&foxio_example_body());
        assert!(looks_like_tls(&stream));
        assert!(looks_like_tls(&stream[..3]));
        assert!(looks_like_tls(&server_stream(&server_body(0x0303, 0x1301, None))));
        assert!(!looks_like_tls(&stream[..2]));
        assert!(!looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0x00])); // empty record
        assert!(!looks_like_tls(&[0x16, 0x03, 0x01, 0xff, 0xff])); // oversized record
        assert!(!looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x0b])); // not a hello
    }

    #[test]
    fn sslv2_hellos_are_reported_as_such() {
        // SSLv2-compatible ClientHello: len 0x2e, CLIENT-HELLO, version 3.1.
        let v2_client = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10];
        assert_eq!(parse_client_hello(&v2_client), HelloParse::Invalid("sslv2"));
        assert_eq!(parse_client_hello(&v2_client[..2]), HelloParse::NeedMore);
        let v2_server = [0x84, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x01, 0x00];
        assert_eq!(parse_server_hello(&v2_server), HelloParse::Invalid("sslv2"));
        assert!(!looks_like_tls(&v2_client));
    }

    fn invalid_client(stream: &[u8]) -> &'static str {
        match parse_client_hello(stream) {
            HelloParse::Invalid(reason) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn broken_framing_is_invalid() {
        let good = client_stream(&client_body(0x0303, &[0x1301], Some(&[ext_sni("a.b")])));

        // Wrong first handshake message.
        let mut wrong_type = good.clone();
        wrong_type[RECORD_HEADER_LEN] = HANDSHAKE_SERVER_HELLO;
        assert_eq!(invalid_client(&wrong_type), "first handshake message is not a ClientHello");
        assert!(matches!(parse_server_hello(&good), HelloParse::Invalid(_)));

        // Zero-length and oversized records.
        assert_eq!(invalid_client(&[0x16, 0x03, 0x01, 0x00, 0x00]), "empty handshake record");
        assert_eq!(invalid_client(&[0x16, 0x03, 0x01, 0xff, 0xff, 0x01]), "record too long");

        // An alert in the middle of a fragmented hello.
        let hs = handshake(HANDSHAKE_CLIENT_HELLO, &client_body(0x0303, &[0x1301], None));
        let mut interleaved = records(&hs[..10], 0x0301, 1 << 14);
        interleaved.extend([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]);
        assert_eq!(invalid_client(&interleaved), "non-handshake record inside hello");
        let mut bad_version = records(&hs[..10], 0x0301, 1 << 14);
        bad_version.extend([0x16, 0x07, 0x01, 0x00, 0x02, 0x00, 0x00]);
        assert_eq!(invalid_client(&bad_version), "bad record version");
    }

    #[test]
    fn lying_lengths_inside_the_hello_are_invalid() {
        let mut long_session = client_body(0x0303, &[0x1301], None);
        long_session[2 + RANDOM_LEN] = 33;
        assert_eq!(invalid_client(&client_stream(&long_session)), "session id longer than 32 bytes");

        let mut odd_ciphers = 0x0303u16.to_be_bytes().to_vec();
        odd_ciphers.extend([0; RANDOM_LEN]);
        odd_ciphers.extend([0, 0, 3, 0x13, 0x01, 0x13, 1, 0]);
        assert_eq!(invalid_client(&client_stream(&odd_ciphers)), "odd cipher suites length");

        // Extension block length claims more than the body holds.
        let mut body = client_body(0x0303, &[0x1301], Some(&[ext(0x0017, &[])]));
        let at = body.len() - 6;
        body[at..at + 2].copy_from_slice(&0x0100u16.to_be_bytes());
        assert_eq!(invalid_client(&client_stream(&body)), "truncated extensions block");

        // One extension's length runs past the block.
        let mut body = client_body(0x0303, &[0x1301], Some(&[ext(0x0017, &[1, 2])]));
        let at = body.len() - 4;
        body[at..at + 2].copy_from_slice(&0x0009u16.to_be_bytes());
        assert_eq!(invalid_client(&client_stream(&body)), "truncated extension data");

        // Trailing garbage after the extension block.
        let mut body = client_body(0x0303, &[0x1301], Some(&[ext(0x0017, &[])]));
        body.push(0);
        assert_eq!(invalid_client(&client_stream(&body)), "trailing bytes after extensions");

        // Handshake length shorter than the real body cuts the cipher list.
        let body = client_body(0x0303, &[0x1301, 0x1302], None);
        let mut hs = handshake(HANDSHAKE_CLIENT_HELLO, &body);
        hs[3] = u8::try_from(2 + RANDOM_LEN + 33 + 3).unwrap();
        assert_eq!(invalid_client(&records(&hs, 0x0301, 1 << 14)), "truncated cipher suites");
    }

    #[test]
    fn handshake_length_longer_than_stream_needs_more() {
        let body = client_body(0x0303, &[0x1301], None);
        let mut hs = handshake(HANDSHAKE_CLIENT_HELLO, &body);
        hs[3] = hs[3].wrapping_add(50);
        assert_eq!(parse_client_hello(&records(&hs, 0x0301, 1 << 14)), HelloParse::NeedMore);
    }

    #[test]
    fn max_hello_len_is_enforced() {
        // Padding sized so the handshake message is exactly MAX_HELLO_LEN.
        let base = client_body(0x0303, &[0x1301], Some(&[]));
        let pad = MAX_HELLO_LEN - HANDSHAKE_HEADER_LEN - base.len() - 4;
        let body = client_body(0x0303, &[0x1301], Some(&[ext(0x0015, &vec![0; pad])]));
        let hs = handshake(HANDSHAKE_CLIENT_HELLO, &body);
        assert_eq!(hs.len(), MAX_HELLO_LEN);
        let stream = records(&hs, 0x0301, 1 << 14);
        let hello = done(parse_client_hello(&stream));
        assert_eq!(hello.extensions, vec![0x0015]);

        // One byte more is refused.
        let body = client_body(0x0303, &[0x1301], Some(&[ext(0x0015, &vec![0; pad + 1])]));
        let stream = records(&handshake(HANDSHAKE_CLIENT_HELLO, &body), 0x0301, 1 << 14);
        assert_eq!(invalid_client(&stream), "hello exceeds MAX_HELLO_LEN");

        // A huge declared length is refused from the header alone, without waiting.
        let header_only = [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff];
        assert_eq!(invalid_client(&header_only), "hello exceeds MAX_HELLO_LEN");
    }

    // ---- names -------------------------------------------------------------

    #[test]
    fn names_match_zeek() {
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x0301), "TLSv10");
        assert_eq!(version_name(0x0302), "TLSv11");
        assert_eq!(version_name(0x0303), "TLSv12");
        assert_eq!(version_name(0x0304), "TLSv13");
        assert_eq!(version_name(0xfefd), "DTLSv12");
        assert_eq!(version_name(0x7f12), "TLSv13-draft18");
        assert_eq!(version_name(0x0305), "unknown-773");
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0xcca9), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        assert_eq!(cipher_name(0x000a), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        assert_eq!(cipher_name(0x0005), "TLS_RSA_WITH_RC4_128_SHA");
        assert_eq!(cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        assert_eq!(cipher_name(0x5600), "TLS_FALLBACK_SCSV");
        assert_eq!(cipher_name(0x0a0a), "grease_0x0A0A");
        assert_eq!(cipher_name(0x1306), "unknown-4870");
        assert!((0..=u16::MAX).filter(|&c| known_cipher_name(c).is_some()).count() >= 70);
    }

    #[test]
    fn grease_values_are_exactly_the_rfc8701_set() {
        let grease: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        let expected: Vec<u16> = (0..16u16).map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a).collect();
        assert_eq!(grease, expected);
    }

    #[test]
    fn md5_and_truncated_sha256_helpers() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        // FoxIO rust/ja4 lib.rs hash12 test vector.
        assert_eq!(hex_prefix(&Sha256::digest(b"551d0f,551d25,551d11"), 6), "aae71e8db6d7");
    }

    // ---- fuzz ----------------------------------------------------------------

    /// xorshift64: deterministic, dependency-free randomness.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
        }

        fn byte(&mut self) -> u8 {
            self.next().to_le_bytes()[0]
        }
    }

    fn mutate(rng: &mut XorShift, input: &mut Vec<u8>) {
        const INTERESTING: [u8; 8] = [0x00, 0x01, 0x02, 0x16, 0x20, 0x7f, 0x80, 0xff];
        for _ in 0..=rng.below(6) {
            if input.is_empty() {
                input.push(rng.byte());
                continue;
            }
            let at = rng.below(input.len());
            match rng.below(6) {
                0 => input[at] ^= 1 << rng.below(8),
                1 => input[at] = INTERESTING[rng.below(INTERESTING.len())],
                2 => input[at] = rng.byte(),
                3 => input.truncate(at),
                4 => {
                    let n = rng.below(8);
                    input.splice(at..at, (0..n).map(|_| rng.byte()));
                }
                _ => {
                    let end = (at + rng.below(16)).min(input.len());
                    input.drain(at..end);
                }
            }
        }
    }

    fn check_invariants(input: &[u8]) {
        let _ = looks_like_tls(input);
        if let HelloParse::Done(hello) = parse_client_hello(input) {
            assert_eq!(hello.ja3_hash.len(), 32);
            assert_eq!(hello.ja4.len(), 36, "{}", hello.ja4);
            assert!(hello.ja4.is_ascii());
        }
        if let HelloParse::Done(hello) = parse_server_hello(input) {
            assert_eq!(hello.ja3s_hash.len(), 32);
            assert_eq!(hello.ja4s.len(), 25, "{}", hello.ja4s);
            let _ = cipher_name(hello.cipher_suite);
            let _ = version_name(hello.version);
        }
    }

    #[test]
    fn fuzz_random_and_mutated_hellos_never_panic() {
        let corpus: Vec<Vec<u8>> = vec![
            client_stream(&foxio_example_body()),
            records(&handshake(HANDSHAKE_CLIENT_HELLO, &foxio_example_body()), 0x0301, 37),
            client_stream(&client_body(769, &[4, 5, 10], None)),
            server_stream(&server_body(
                0x0303,
                0x1301,
                Some(&[ext(EXT_SUPPORTED_VERSIONS, &[3, 4]), ext_alpn(&[b"h2"])]),
            )),
            records(&handshake(HANDSHAKE_SERVER_HELLO, &server_body(0x0303, 0xc030, None)), 0x0303, 9),
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for i in 0..20_000 {
            let input = if i % 4 == 0 {
                let len = rng.below(600);
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                if rng.below(2) == 0 && bytes.len() >= 6 {
                    bytes[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
                    bytes[5] = 1 + u8::try_from(rng.below(2)).unwrap();
                }
                bytes
            } else {
                let mut bytes = corpus[rng.below(corpus.len())].clone();
                mutate(&mut rng, &mut bytes);
                bytes
            };
            check_invariants(&input);
        }
    }
}
