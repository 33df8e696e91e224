//! Capture files: classic pcap (µs and ns, both byte orders, Kuznetzov's modified format) and
//! pcapng (several sections and interfaces, per-interface link type, `if_tsresol` and
//! `if_tsoffset`, EPB, SPB and the obsolete OPB), read with pcap-parser from a [`StreamBuf`]: the
//! file's memory map, or a buffer refilled from a stream.
//!
//! Output: one [`RawPacket`] per packet record, in file order, with its 1-based index (the frame
//! number Wireshark shows) and the byte offset of its record. Framing faults never stop the
//! file early if a later valid record can be found: impossible lengths trigger a bounded search
//! for the next plausible record ([`RESYNC_WINDOW`]); the bytes skipped are reported.

use super::buffer::StreamBuf;
use crate::diag::{DiagKind, Diagnostics};
use crate::util::time::{from_parts, Timestamp};
use pcap_parser::pcapng::{Block, InterfaceDescriptionBlock};
use pcap_parser::{
    parse_block_be, parse_block_le, parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
};
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Read;

/// Largest packet record accepted (libpcap's MAXIMUM_SNAPLEN). Larger caplens are corruption.
pub const MAX_CAPLEN: u32 = 262_144;
/// Largest pcapng block accepted. Packet blocks stay far below; this bounds hostile lengths of
/// other block types.
pub const MAX_BLOCK_LEN: u32 = 16 << 20;
/// How far past a corrupt record seam searches for the next plausible one.
#[cfg(not(fuzzing))]
pub const RESYNC_WINDOW: usize = 16 << 20;
/// Under the fuzzer, small enough that its inputs span several windows.
#[cfg(fuzzing)]
pub const RESYNC_WINDOW: usize = 4 << 10;
/// Interfaces per pcapng section; more are a corrupt file.
pub const MAX_INTERFACES: usize = 4096;

/// A link-layer header type (LINKTYPE_* value).
pub type LinkType = u32;

/// One packet record, borrowed from the read buffer.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// 1-based position among the file's packet records.
    pub index: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: &'a [u8],
    /// Length on the wire (≥ `data.len()` when the capture was cut by a snaplen).
    pub orig_len: u32,
    /// Byte offset of the record in the (decompressed) file.
    pub offset: u64,
    pub interface: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureFormat {
    Pcap,
    Pcapng,
}

/// What reading a capture found, for the inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaptureSummary {
    pub format: Option<CaptureFormat>,
    pub packets: u64,
    /// Captured bytes of packet data.
    pub captured_bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub link_types: BTreeSet<LinkType>,
    /// Bytes of the (decompressed) stream consumed.
    pub stream_bytes: u64,
}

impl CaptureSummary {
    fn note(&mut self, p: &RawPacket<'_>) {
        self.packets += 1;
        self.captured_bytes += p.data.len() as u64;
        self.first_ts = Some(self.first_ts.map_or(p.ts, |t| t.min(p.ts)));
        self.last_ts = Some(self.last_ts.map_or(p.ts, |t| t.max(p.ts)));
        self.link_types.insert(p.link);
    }
}

/// Reads every packet of a capture stream, calling `on_packet` for each, and returns the
/// summary. Problems go to `diags` under `label`.
pub fn read_capture<R: Read, F: FnMut(&RawPacket<'_>)>(
    reader: R,
    label: &str,
    diags: &mut Diagnostics,
    on_packet: F,
) -> CaptureSummary {
    read_capture_from(&mut StreamBuf::new(reader), label, diags, on_packet)
}

/// [`read_capture`] over a buffer already set up, such as a mapped file's. The caller gives
/// the buffer's last pages back ([`StreamBuf::finish`]) once nothing reads them any more.
pub fn read_capture_from<R: Read, F: FnMut(&RawPacket<'_>)>(
    buf: &mut StreamBuf<R>,
    label: &str,
    diags: &mut Diagnostics,
    mut on_packet: F,
) -> CaptureSummary {
    let mut summary = CaptureSummary::default();
    let mut ctx = Ctx { label, diags, summary: &mut summary };
    match buf.fill(12) {
        Ok(n) if n >= 4 => {}
        Ok(_) => {
            ctx.diags.push(label, Some(0), DiagKind::BadHeader, "file too short to hold a capture header");
            return summary;
        }
        Err(e) => {
            ctx.diags.push(label, Some(0), DiagKind::Unreadable, e.to_string());
            return summary;
        }
    }
    if buf.data().starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        ctx.summary.format = Some(CaptureFormat::Pcapng);
        read_pcapng(buf, &mut ctx, &mut on_packet);
    } else {
        ctx.summary.format = Some(CaptureFormat::Pcap);
        read_pcap(buf, &mut ctx, &mut on_packet);
    }
    summary.stream_bytes = buf.offset();
    summary
}

struct Ctx<'a> {
    label: &'a str,
    diags: &'a mut Diagnostics,
    summary: &'a mut CaptureSummary,
}

impl Ctx<'_> {
    fn diag(&mut self, offset: u64, kind: DiagKind, detail: impl Into<String>) {
        self.diags.push(self.label, Some(offset), kind, detail);
    }

    /// Buffers `want` bytes; a read error is reported at the current offset and gives `None`.
    fn fill<R: Read>(&mut self, buf: &mut StreamBuf<R>, want: usize) -> Option<usize> {
        match buf.fill(want) {
            Ok(n) => Some(n),
            Err(e) => {
                let kind = if e.get_ref().is_some_and(|inner| inner.is::<super::DecompressionError>()) {
                    DiagKind::Decompression
                } else {
                    DiagKind::Unreadable
                };
                self.diag(buf.offset(), kind, e.to_string());
                None
            }
        }
    }

    fn emit<F: FnMut(&RawPacket<'_>)>(&mut self, p: &RawPacket<'_>, on_packet: &mut F) {
        self.summary.note(p);
        on_packet(p);
    }
}

/// Record layout of a classic pcap file, from its header.
#[derive(Clone, Copy)]
struct PcapLayout {
    big_endian: bool,
    modified: bool,
    units_per_sec: u64,
    snaplen: u32,
    link: LinkType,
}

impl PcapLayout {
    fn header_len(self) -> usize {
        if self.modified {
            24
        } else {
            16
        }
    }

    fn field(self, hdr: &[u8], at: usize) -> u32 {
        let b = [hdr[at], hdr[at + 1], hdr[at + 2], hdr[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// (ts_sec, ts_frac, caplen, origlen) of a record header; `hdr` has ≥ 16 bytes.
    fn fields(self, hdr: &[u8]) -> (u32, u32, u32, u32) {
        (self.field(hdr, 0), self.field(hdr, 4), self.field(hdr, 8), self.field(hdr, 12))
    }

    fn max_caplen(self) -> u32 {
        MAX_CAPLEN.max(if self.snaplen <= MAX_CAPLEN * 4 { self.snaplen } else { 0 })
    }

    /// Whether a record header is believable, used when hunting for the next record.
    fn plausible(self, hdr: &[u8], near_sec: Option<u32>) -> bool {
        if hdr.len() < 16 {
            return false;
        }
        let (sec, frac, caplen, origlen) = self.fields(hdr);
        let close_in_time = near_sec.is_none_or(|n| sec.abs_diff(n) <= 7 * 86_400);
        caplen <= self.max_caplen()
            && origlen >= caplen
            && origlen <= MAX_CAPLEN * 4
            && u64::from(frac) < self.units_per_sec
            && close_in_time
    }
}

/// How far past the record being read the reader asks the CPU for the bytes of those after it.
const READ_AHEAD: usize = 2048;

fn read_pcap<R: Read, F: FnMut(&RawPacket<'_>)>(buf: &mut StreamBuf<R>, ctx: &mut Ctx<'_>, on_packet: &mut F) {
    if ctx.fill(buf, 24).is_none() {
        return;
    }
    let header = match parse_pcap_header(buf.data()) {
        Ok((_, h)) => h,
        Err(_) => {
            ctx.diag(0, DiagKind::BadHeader, "not a pcap or pcapng file (bad magic or short header)");
            return;
        }
    };
    let layout = PcapLayout {
        big_endian: header.is_bigendian(),
        modified: header.is_modified_format(),
        units_per_sec: if header.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 },
        snaplen: header.snaplen,
        link: header.network.0 as u32,
    };
    buf.consume(24);
    let mut index = 0u64;
    let mut last_sec: Option<u32> = None;
    loop {
        let offset = buf.offset();
        let hlen = layout.header_len();
        let Some(have) = ctx.fill(buf, hlen) else { return };
        if have == 0 {
            return;
        }
        if have < hlen {
            ctx.diag(offset, DiagKind::Truncated, format!("record header cut short: need {hlen} bytes, have {have}"));
            buf.consume(have);
            return;
        }
        let (sec, frac, caplen, origlen) = layout.fields(buf.data());
        if (sec, frac, caplen, origlen) == (0, 0, 0, 0) {
            // A zero-filled region (a preallocated file a crash left unwritten, a hole in a
            // carved image) is not a run of empty packets from 1970.
            if !skip_zeros(buf, ctx, layout, last_sec) {
                return;
            }
            continue;
        }
        if caplen > layout.max_caplen() {
            ctx.diag(
                offset,
                DiagKind::CorruptRecord,
                format!("record caplen {caplen} exceeds the maximum {}", layout.max_caplen()),
            );
            if !resync_pcap(buf, ctx, layout, last_sec, NotFound::SkipRest) {
                return;
            }
            continue;
        }
        let need = hlen + caplen as usize;
        let Some(have) = ctx.fill(buf, need) else { return };
        if have < need {
            // Either the last record was cut, or its length field is corrupt and valid records
            // follow: only the second leaves plausible records in the remaining bytes.
            if resync_pcap(buf, ctx, layout, last_sec, NotFound::Quiet) {
                ctx.diag(
                    offset,
                    DiagKind::CorruptRecord,
                    format!("record caplen {caplen} runs past the end of the file"),
                );
                continue;
            }
            ctx.diag(offset, DiagKind::Truncated, format!("last record cut short: need {need} bytes, have {have}"));
            buf.consume(have);
            return;
        }
        if layout.snaplen > 0 && caplen > layout.snaplen {
            ctx.diag(
                offset,
                DiagKind::CorruptRecord,
                format!("record caplen {caplen} exceeds the file's snaplen {}", layout.snaplen),
            );
        }
        // The records ahead are read in order, across page boundaries the CPU's own
        // prefetcher does not cross: their first bytes are asked for now.
        crate::util::prefetch(buf.data().get(need + READ_AHEAD..).unwrap_or_default());
        let data = &buf.data()[..need];
        let parsed = if layout.modified {
            parse_pcap_frame_modified(data)
        } else if layout.big_endian {
            parse_pcap_frame_be(data)
        } else {
            parse_pcap_frame(data)
        };
        let Ok((_, frame)) = parsed else {
            ctx.diag(offset, DiagKind::CorruptRecord, "record could not be parsed");
            buf.consume(need);
            continue;
        };
        let mut frac = u64::from(frac);
        if frac >= layout.units_per_sec {
            ctx.diag(offset, DiagKind::BadTimestamp, format!("fractional seconds {frac} out of range; clamped"));
            frac = layout.units_per_sec - 1;
        }
        index += 1;
        last_sec = Some(sec);
        let packet = RawPacket {
            index,
            ts: from_parts(i64::from(sec), frac, layout.units_per_sec),
            link: layout.link,
            data: frame.data,
            orig_len: origlen,
            offset,
            interface: 0,
        };
        ctx.emit(&packet, on_packet);
        buf.consume(need);
    }
}

/// Skips a run of zero bytes at the reader's position, reporting it once, then finds the next
/// record. Returns false when nothing readable follows.
fn skip_zeros<R: Read>(buf: &mut StreamBuf<R>, ctx: &mut Ctx<'_>, layout: PcapLayout, near_sec: Option<u32>) -> bool {
    let start = buf.offset();
    // KEEP zeros stay in the buffer: a record header holds a non-zero byte within its first 16
    // (else it is part of the zero run), so the next record starts within them (p >= 1).
    const KEEP: usize = 16;
    let mut skipped = 0u64;
    loop {
        let Some(have) = ctx.fill(buf, RESYNC_WINDOW) else { return false };
        let run = buf.data().iter().position(|&b| b != 0).unwrap_or(have);
        let step = run.saturating_sub(KEEP);
        buf.consume(step);
        skipped += step as u64;
        if run < have || buf.at_eof() || step == 0 {
            break;
        }
    }
    // Refill after consuming: the window must be the same however the file is read.
    if ctx.fill(buf, RESYNC_WINDOW + 1).is_none() {
        return false;
    }
    let (data, at_eof) = resync_window(buf);
    let lead = data.iter().take_while(|&&b| b == 0).count();
    let tail = lead == data.len() && at_eof;
    // The next record's time is not zero (that would make it part of the zeros), so its
    // header starts at most seven bytes before the first byte that is not zero.
    let found = if tail { None } else { find_record(data, at_eof, layout, near_sec, lead.saturating_sub(7).max(1)) };
    // Zeros up to where the next record starts (its own leading zeros are its own), or up to the
    // first non-zero byte when something else lies between them and the record.
    let zero_end = found.map_or(lead, |p| p.min(lead));
    let zeros = skipped + zero_end as u64;
    let next = match found {
        Some(p) if p > lead => String::new(),
        Some(p) => format!("; the next record starts at offset {}", buf.offset() + p as u64),
        None if tail => "; nothing follows them".to_string(),
        None => "; no plausible record follows them, rest of file skipped".to_string(),
    };
    ctx.diag(
        start,
        DiagKind::CorruptRecord,
        format!("{zeros} zero bytes skipped (a zero-filled region, not records){next}"),
    );
    match found {
        Some(p) => {
            if p > lead {
                let at = buf.offset() + lead as u64;
                ctx.diag(
                    at,
                    DiagKind::Resynced,
                    format!(
                        "skipped {} bytes to the next plausible record at offset {}",
                        p - lead,
                        buf.offset() + p as u64
                    ),
                );
            }
            buf.consume(p);
            true
        }
        None => {
            buf.consume(data.len());
            false
        }
    }
}

/// The first offset from `from` in `data` where two consecutive plausible records start (or one
/// that ends exactly where the stream ends).
fn find_record(data: &[u8], at_eof: bool, layout: PcapLayout, near_sec: Option<u32>, from: usize) -> Option<usize> {
    let hlen = layout.header_len();
    (from..data.len().saturating_sub(hlen - 1)).find(|&p| {
        let Some(hdr) = data.get(p..) else { return false };
        if !layout.plausible(hdr, near_sec) {
            return false;
        }
        let (_, _, caplen, _) = layout.fields(hdr);
        let next = p + hlen + caplen as usize;
        match data.get(next..) {
            Some([]) => at_eof,
            Some(rest) => layout.plausible(rest, near_sec),
            None => false,
        }
    })
}

/// What a resynchronisation does when it finds nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NotFound {
    /// Report it and skip the rest of the window (the bytes are known to be bad).
    SkipRest,
    /// Leave the buffer and diagnostics alone (the caller has another explanation).
    Quiet,
}

/// Skips forward to the next offset where two consecutive plausible records start (or one that
/// ends exactly at the end of the stream). Returns false when none is found in the window.
fn resync_pcap<R: Read>(
    buf: &mut StreamBuf<R>,
    ctx: &mut Ctx<'_>,
    layout: PcapLayout,
    near_sec: Option<u32>,
    not_found: NotFound,
) -> bool {
    let start = buf.offset();
    if ctx.fill(buf, RESYNC_WINDOW + 1).is_none() {
        return false;
    }
    let (data, at_eof) = resync_window(buf);
    let found = find_record(data, at_eof, layout, near_sec, 1);
    match found {
        Some(p) => {
            ctx.diag(
                start,
                DiagKind::Resynced,
                format!("skipped {p} bytes to the next plausible record at offset {}", start + p as u64),
            );
            buf.consume(p);
            true
        }
        None if not_found == NotFound::Quiet => false,
        None => {
            let n = data.len();
            ctx.diag(
                start,
                DiagKind::Resynced,
                format!("no plausible record in the next {n} bytes; rest of file skipped"),
            );
            buf.consume(n);
            false
        }
    }
}

/// The bytes a resync searches and whether they end the stream: exactly [`RESYNC_WINDOW`] of
/// them (or the rest of the stream), however much the buffer holds — a mapped file holds all of
/// it, a read buffer a few MB more than asked — so that where seam picks up again, and how much
/// it searches, does not depend on how the file was read.
fn resync_window<R: Read>(buf: &StreamBuf<R>) -> (&[u8], bool) {
    let data = buf.data();
    match data.get(..RESYNC_WINDOW) {
        Some(window) if data.len() > RESYNC_WINDOW => (window, false),
        _ => (data, buf.at_eof()),
    }
}

/// An interface of the current pcapng section.
#[derive(Clone, Copy)]
struct Interface {
    link: LinkType,
    units_per_sec: u64,
    offset_secs: i64,
    snaplen: u32,
}

impl Interface {
    fn from_idb(idb: &InterfaceDescriptionBlock<'_>) -> Option<Self> {
        let units_per_sec = tsresol_units(idb.if_tsresol)?;
        Some(Interface {
            link: idb.linktype.0 as u32,
            units_per_sec,
            offset_secs: idb.if_tsoffset,
            snaplen: idb.snaplen,
        })
    }

    fn timestamp(self, high: u32, low: u32) -> Timestamp {
        let ticks = (u64::from(high) << 32) | u64::from(low);
        let secs = ticks / self.units_per_sec;
        let frac = ticks % self.units_per_sec;
        from_parts(i64::try_from(secs).unwrap_or(i64::MAX).saturating_add(self.offset_secs), frac, self.units_per_sec)
    }
}

/// A pcapng timestamp past what nanoseconds since 1970 can hold (the year 2262) is kept at
/// that limit, and said so.
fn clamped_diag(ctx: &mut Ctx<'_>, offset: u64, ts: Timestamp) {
    if ts == Timestamp::MAX || ts == Timestamp::MIN {
        ctx.diag(offset, DiagKind::BadTimestamp, "packet timestamp beyond the year 2262; clamped to it");
    }
}

/// Units per second of an `if_tsresol` value: 10^n, or 2^n when the top bit is set.
fn tsresol_units(tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        1u64.checked_shl(n).filter(|_| n < 64)
    } else {
        10u64.checked_pow(n)
    }
}

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const OPB_TYPE: u32 = 0x0000_0002;
const KNOWN_BLOCK_TYPES: [u32; 8] = [SHB_TYPE, 1, OPB_TYPE, 3, 4, 5, 6, 0x0000_000A];

fn read_pcapng<R: Read, F: FnMut(&RawPacket<'_>)>(buf: &mut StreamBuf<R>, ctx: &mut Ctx<'_>, on_packet: &mut F) {
    let mut big_endian = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut index = 0u64;
    let mut last_ts: Timestamp = 0;
    loop {
        let offset = buf.offset();
        let Some(have) = ctx.fill(buf, 12) else { return };
        if have == 0 {
            return;
        }
        if have < 12 {
            ctx.diag(offset, DiagKind::Truncated, format!("block header cut short: need 12 bytes, have {have}"));
            buf.consume(have);
            return;
        }
        let head = buf.data();
        let raw_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if raw_type == SHB_TYPE {
            big_endian = match [head[8], head[9], head[10], head[11]] {
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                _ => {
                    ctx.diag(offset, DiagKind::BadHeader, "section header with an unknown byte-order magic");
                    if !resync_pcapng(buf, ctx, big_endian, NotFound::SkipRest) {
                        return;
                    }
                    continue;
                }
            };
            interfaces.clear();
        }
        let word = |b: &[u8], at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        let block_type = word(head, 0);
        let block_len = word(head, 4);
        if block_len < 12 || block_len % 4 != 0 || block_len > MAX_BLOCK_LEN {
            ctx.diag(
                offset,
                DiagKind::CorruptRecord,
                format!("block type {block_type:#x} has impossible length {block_len}"),
            );
            if !resync_pcapng(buf, ctx, big_endian, NotFound::SkipRest) {
                return;
            }
            continue;
        }
        let need = block_len as usize;
        let Some(have) = ctx.fill(buf, need) else { return };
        if have < need {
            if resync_pcapng(buf, ctx, big_endian, NotFound::Quiet) {
                ctx.diag(
                    offset,
                    DiagKind::CorruptRecord,
                    format!("block length {block_len} runs past the end of the file"),
                );
                continue;
            }
            ctx.diag(offset, DiagKind::Truncated, format!("last block cut short: need {need} bytes, have {have}"));
            buf.consume(have);
            return;
        }
        let block = &buf.data()[..need];
        if word(block, need - 4) != block_len {
            ctx.diag(
                offset,
                DiagKind::CorruptRecord,
                format!(
                    "block type {block_type:#x}: trailing length {} disagrees with leading length {block_len}",
                    word(block, need - 4)
                ),
            );
            if !resync_pcapng(buf, ctx, big_endian, NotFound::SkipRest) {
                return;
            }
            continue;
        }
        let parsed = if big_endian { parse_block_be(block) } else { parse_block_le(block) };
        match parsed {
            Ok((_, Block::SectionHeader(_))) => {}
            Ok((_, Block::InterfaceDescription(idb))) => match Interface::from_idb(&idb) {
                Some(i) if interfaces.len() < MAX_INTERFACES => interfaces.push(i),
                Some(_) => ctx.diag(
                    offset,
                    DiagKind::LimitReached,
                    format!("more than {MAX_INTERFACES} interfaces in a section"),
                ),
                None => {
                    ctx.diag(
                        offset,
                        DiagKind::CorruptRecord,
                        format!(
                            "interface with invalid if_tsresol {:#x}; its packets use microseconds",
                            idb.if_tsresol
                        ),
                    );
                    interfaces.push(Interface {
                        link: idb.linktype.0 as u32,
                        units_per_sec: 1_000_000,
                        offset_secs: idb.if_tsoffset,
                        snaplen: idb.snaplen,
                    });
                }
            },
            Ok((_, Block::EnhancedPacket(epb))) => {
                let Some(iface) = interfaces.get(epb.if_id as usize).copied() else {
                    ctx.diag(
                        offset,
                        DiagKind::CorruptRecord,
                        format!("packet refers to undeclared interface {}", epb.if_id),
                    );
                    buf.consume(need);
                    continue;
                };
                let caplen = (epb.caplen as usize).min(epb.data.len());
                if (epb.caplen as usize) > epb.data.len() {
                    ctx.diag(
                        offset,
                        DiagKind::CorruptRecord,
                        format!("packet caplen {} exceeds its block", epb.caplen),
                    );
                }
                index += 1;
                last_ts = iface.timestamp(epb.ts_high, epb.ts_low);
                clamped_diag(ctx, offset, last_ts);
                let packet = RawPacket {
                    index,
                    ts: last_ts,
                    link: iface.link,
                    data: &epb.data[..caplen],
                    orig_len: epb.origlen,
                    offset,
                    interface: epb.if_id,
                };
                ctx.emit(&packet, on_packet);
            }
            Ok((_, Block::SimplePacket(spb))) => {
                let Some(iface) = interfaces.first().copied() else {
                    ctx.diag(offset, DiagKind::CorruptRecord, "simple packet block before any interface");
                    buf.consume(need);
                    continue;
                };
                let mut caplen = (spb.origlen as usize).min(spb.data.len());
                if iface.snaplen > 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                index += 1;
                // Simple packet blocks carry no time; the previous packet's time keeps order.
                let packet = RawPacket {
                    index,
                    ts: last_ts,
                    link: iface.link,
                    data: &spb.data[..caplen],
                    orig_len: spb.origlen,
                    offset,
                    interface: 0,
                };
                ctx.emit(&packet, on_packet);
            }
            Ok((_, Block::Unknown(ub))) if block_type == OPB_TYPE => match parse_opb(ub.data, big_endian) {
                Some(opb) => {
                    let Some(iface) = interfaces.get(usize::from(opb.if_id)).copied() else {
                        ctx.diag(
                            offset,
                            DiagKind::CorruptRecord,
                            format!("packet refers to undeclared interface {}", opb.if_id),
                        );
                        buf.consume(need);
                        continue;
                    };
                    index += 1;
                    last_ts = iface.timestamp(opb.ts_high, opb.ts_low);
                    clamped_diag(ctx, offset, last_ts);
                    let packet = RawPacket {
                        index,
                        ts: last_ts,
                        link: iface.link,
                        data: opb.data,
                        orig_len: opb.origlen,
                        offset,
                        interface: u32::from(opb.if_id),
                    };
                    ctx.emit(&packet, on_packet);
                }
                None => ctx.diag(offset, DiagKind::CorruptRecord, "obsolete packet block with inconsistent lengths"),
            },
            Ok(_) => {}
            Err(_) => ctx.diag(
                offset,
                DiagKind::CorruptRecord,
                format!("block type {block_type:#x} could not be parsed; skipped"),
            ),
        }
        buf.consume(need);
    }
}

struct Opb<'a> {
    if_id: u16,
    ts_high: u32,
    ts_low: u32,
    origlen: u32,
    data: &'a [u8],
}

/// Obsolete Packet Block body (after type and length): if_id u16, drops u16, ts high/low,
/// caplen, origlen, data.
fn parse_opb(body: &[u8], big_endian: bool) -> Option<Opb<'_>> {
    let u32_at = |at: usize| {
        let b = body.get(at..at + 4)?;
        let w = [b[0], b[1], b[2], b[3]];
        Some(if big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) })
    };
    let id = body.get(0..2)?;
    let if_id = if big_endian { u16::from_be_bytes([id[0], id[1]]) } else { u16::from_le_bytes([id[0], id[1]]) };
    let caplen = u32_at(12)? as usize;
    let data = body.get(20..20usize.checked_add(caplen)?)?;
    Some(Opb { if_id, ts_high: u32_at(4)?, ts_low: u32_at(8)?, origlen: u32_at(16)?, data })
}

/// Skips to the next 4-byte-aligned offset that starts a block of a known type whose leading
/// and trailing lengths agree.
fn resync_pcapng<R: Read>(buf: &mut StreamBuf<R>, ctx: &mut Ctx<'_>, big_endian: bool, not_found: NotFound) -> bool {
    let start = buf.offset();
    if ctx.fill(buf, RESYNC_WINDOW).is_none() {
        return false;
    }
    let (data, _) = resync_window(buf);
    let word = |at: usize| -> Option<u32> {
        let b = data.get(at..at.checked_add(4)?)?;
        let w = [b[0], b[1], b[2], b[3]];
        Some(if big_endian { u32::from_be_bytes(w) } else { u32::from_le_bytes(w) })
    };
    let found = (4..data.len()).step_by(4).find(|&p| {
        let (Some(t), Some(len)) = (word(p), word(p + 4)) else { return false };
        let t_known = KNOWN_BLOCK_TYPES.contains(&t) || u32::from_le_bytes(t.to_be_bytes()) == SHB_TYPE;
        t_known && len >= 12 && len % 4 == 0 && len <= MAX_BLOCK_LEN && word(p + len as usize - 4) == Some(len)
    });
    match found {
        Some(p) => {
            ctx.diag(
                start,
                DiagKind::Resynced,
                format!("skipped {p} bytes to the next valid block at offset {}", start + p as u64),
            );
            buf.consume(p);
            true
        }
        None if not_found == NotFound::Quiet => false,
        None => {
            let n = data.len();
            ctx.diag(start, DiagKind::Resynced, format!("no valid block in the next {n} bytes; rest of file skipped"));
            buf.consume(n);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_units_decimal_and_binary() {
        assert_eq!(tsresol_units(6), Some(1_000_000));
        assert_eq!(tsresol_units(9), Some(1_000_000_000));
        assert_eq!(tsresol_units(0x80 | 10), Some(1024));
        assert_eq!(tsresol_units(0x80 | 70), None);
        assert_eq!(tsresol_units(30), None);
    }

    #[test]
    fn interface_timestamps_apply_resolution_and_offset() {
        let i = Interface { link: 1, units_per_sec: 1_000_000_000, offset_secs: 10, snaplen: 0 };
        assert_eq!(i.timestamp(0, 1_500_000_000), 11_500_000_000);
    }
}
