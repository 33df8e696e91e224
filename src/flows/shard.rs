//! Splitting one capture across threads without changing the answer.
//!
//! Packets are routed to shards by a hash of their unordered IP address pair and protocol, so
//! every packet of a flow — and every fragment of a datagram, whose ports are unknown until it
//! is reassembled — lands in the same shard, in file order. Each shard runs its own
//! [`FlowTable`](super::FlowTable); flows never span shards, and every decision a table makes
//! (timeouts, closes, pairing) depends only on the packets of the flow at hand. Merging the
//! shards' outputs and sorting with the same total order as a single table gives byte-identical
//! results whatever the shard count.

use super::table::{FlowOutput, FlowStats, PacketIn, TablePeaks};
use crate::decode::packet::{LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW};
use crate::util::cursor::be32;
use crate::util::{concat, Timestamp};

/// Packet bytes buffered per batch before it is handed to a shard.
pub const BATCH_BYTES: usize = 1 << 20;
/// Packets per batch at most.
pub const BATCH_PACKETS: usize = 4096;
/// How many packets ahead of the one being decoded a shard asks for the next headers.
const PREFETCH_AHEAD: usize = 8;

/// Packets for one shard: copied out of the read buffer, or, for a mapped file, where they lie
/// in the map.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    meta: Vec<Meta>,
    /// Packet bytes in the batch, copied or not.
    bytes: usize,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    /// The reader's clock (latest time in the capture so far) at this packet.
    clock: Timestamp,
    ts: Timestamp,
    index: u64,
    link: u32,
    offset: u64,
    /// Where the packet's bytes start: in `data`, or in the map when `in_map`.
    start: usize,
    len: usize,
    in_map: bool,
}

impl Batch {
    pub fn with_capacity() -> Self {
        Batch { data: Vec::with_capacity(BATCH_BYTES + 65_536), meta: Vec::with_capacity(BATCH_PACKETS), bytes: 0 }
    }

    /// A batch that only refers to packets in a map: no copy buffer.
    pub fn for_map() -> Self {
        Batch { data: Vec::new(), meta: Vec::with_capacity(BATCH_PACKETS), bytes: 0 }
    }

    /// Adds a packet with the reader's clock at that packet (see
    /// [`FlowTable::advance_clock`](super::FlowTable::advance_clock)).
    pub fn push(&mut self, clock: Timestamp, p: PacketIn<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.add(clock, p, start, false);
    }

    /// Adds a packet whose bytes are at `start` in the map the batch's reader will be given.
    pub fn push_mapped(&mut self, clock: Timestamp, p: PacketIn<'_>, start: usize) {
        self.add(clock, p, start, true);
    }

    fn add(&mut self, clock: Timestamp, p: PacketIn<'_>, start: usize, in_map: bool) {
        let len = p.data.len();
        self.bytes = self.bytes.saturating_add(len);
        self.meta.push(Meta { clock, ts: p.ts, index: p.index, link: p.link, offset: p.offset, start, len, in_map });
    }

    pub fn is_full(&self) -> bool {
        self.bytes >= BATCH_BYTES || self.meta.len() >= BATCH_PACKETS
    }

    /// Stream offset of the first packet's record.
    pub fn first_offset(&self) -> Option<u64> {
        self.meta.first().map(|m| m.offset)
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// The packets with the reader's clock, in the order they were pushed; `map` is the mapped
    /// file packets were pushed from with [`Batch::push_mapped`] (empty when none were).
    ///
    /// The reader touched each packet's first bytes long before a shard gets to it, so they are
    /// no longer in cache: the headers of the packet [`PREFETCH_AHEAD`] places on are asked for
    /// while this one is decoded, rather than waited for when its turn comes.
    pub fn packets<'a>(&'a self, map: &'a [u8]) -> impl Iterator<Item = (Timestamp, PacketIn<'a>)> {
        let bytes = move |m: &Meta| {
            let from = if m.in_map { map } else { self.data.as_slice() };
            from.get(m.start..m.start.saturating_add(m.len)).unwrap_or_default()
        };
        self.meta.iter().enumerate().map(move |(i, m)| {
            if let Some(ahead) = self.meta.get(i + PREFETCH_AHEAD) {
                crate::util::prefetch(bytes(ahead));
            }
            (m.clock, PacketIn { ts: m.ts, index: m.index, link: m.link, data: bytes(m), offset: m.offset })
        })
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.meta.clear();
        self.bytes = 0;
    }
}

/// Which of `shards` a packet belongs to. Frames that are not IPv4/IPv6 on the common link
/// types (ARP, other link types) go to shard 0, where they are counted as usual.
pub fn shard_of(link: u32, data: &[u8], shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let ip = match link {
        LINKTYPE_ETHERNET => ethernet_payload(data),
        LINKTYPE_RAW | 12 | 14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Some(data),
        _ => None,
    };
    match ip.and_then(pair_hash) {
        Some(h) => (h % shards as u64) as usize,
        None => 0,
    }
}

/// The IP packet inside an Ethernet frame, through any number of 802.1Q/QinQ tags.
fn ethernet_payload(frame: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    loop {
        let t = frame.get(at..at + 2)?;
        match u16::from_be_bytes([t[0], t[1]]) {
            0x8100 | 0x88a8 | 0x9100 => at += 4,
            0x0800 | 0x86dd => return frame.get(at + 2..),
            _ => return None,
        }
    }
}

/// A hash of the two addresses in canonical order: the pair alone decides, so every packet of
/// a flow, whatever its direction, ports or extension headers, lands on the same shard. The
/// reader thread runs it on every packet, so the addresses are read as integers and mixed with
/// two multiplications, not hashed byte by byte.
fn pair_hash(ip: &[u8]) -> Option<u64> {
    let version = ip.first()? >> 4;
    let (a, b) = match version {
        4 => (u128::from(be32(ip, 12)?), u128::from(be32(ip, 16)?)),
        6 => (
            u128::from_be_bytes(ip.get(8..24)?.try_into().ok()?),
            u128::from_be_bytes(ip.get(24..40)?.try_into().ok()?),
        ),
        _ => return None,
    };
    let (lo, hi) = (a.min(b), a.max(b));
    let fold = |x: u128| (x as u64) ^ ((x >> 64) as u64).rotate_left(29);
    let h = (fold(lo) ^ fold(hi).wrapping_mul(0xff51_afd7_ed55_8ccd)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    Some(h ^ (h >> 32))
}

/// Joins shard outputs into what one table would have produced.
pub fn merge(parts: Vec<FlowOutput>) -> FlowOutput {
    let mut stats = FlowStats::default();
    let mut peaks = TablePeaks::default();
    let (mut flows, mut app) = (Vec::with_capacity(parts.len()), Vec::with_capacity(parts.len()));
    for part in parts {
        stats.add(&part.stats);
        peaks = peaks.max(part.peaks);
        flows.push(part.flows);
        app.push(part.app);
    }
    let mut out = FlowOutput { flows: concat(flows), app: concat(app), stats, peaks };
    // The key is unique (a flow's first packet is its own), so an in-place unstable sort gives
    // the one order, without the stable sort's buffer of half the flows.
    out.flows.sort_unstable_by(|a, b| (a.start, a.first_packet, &a.id).cmp(&(b.start, b.first_packet, &b.id)));
    out.app.sort_by(|a, b| (a.at.ts, a.at.packet, &a.flow.id).cmp(&(b.at.ts, b.at.packet, &b.flow.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).udp(sport, dport).write(&mut out, b"x").unwrap();
        out
    }

    #[test]
    fn both_directions_and_all_ports_of_a_pair_share_a_shard() {
        let a = shard_of(LINKTYPE_ETHERNET, &frame([10, 0, 0, 1], [10, 0, 0, 2], 1000, 53), 7);
        let b = shard_of(LINKTYPE_ETHERNET, &frame([10, 0, 0, 2], [10, 0, 0, 1], 53, 1000), 7);
        let c = shard_of(LINKTYPE_ETHERNET, &frame([10, 0, 0, 1], [10, 0, 0, 2], 5555, 80), 7);
        assert_eq!(a, b);
        assert_eq!(a, c);
        let spread: std::collections::BTreeSet<usize> =
            (0..64u8).map(|i| shard_of(LINKTYPE_ETHERNET, &frame([10, 0, 1, i], [8, 8, 8, 8], 1, 2), 4)).collect();
        assert_eq!(spread.len(), 4, "pairs spread over every shard");
        assert_eq!(shard_of(LINKTYPE_ETHERNET, &[0u8; 10], 4), 0);
    }

    #[test]
    fn batches_round_trip_packets() {
        let mut b = Batch::with_capacity();
        b.push(5, PacketIn { ts: 5, index: 1, link: 1, data: b"abc", offset: 24 });
        b.push(7, PacketIn { ts: 6, index: 2, link: 1, data: b"de", offset: 43 });
        let got: Vec<(i64, i64, u64, Vec<u8>)> =
            b.packets(&[]).map(|(c, p)| (c, p.ts, p.index, p.data.to_vec())).collect();
        assert_eq!(got, vec![(5, 5, 1, b"abc".to_vec()), (7, 6, 2, b"de".to_vec())]);
    }
}
