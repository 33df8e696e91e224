//! Packet slicing: link layer → VLANs → IPv4/IPv6 (with extension headers) → TCP/UDP/ICMP, with
//! etherparse doing the header work.
//!
//! Supported link types: Ethernet (1, including PPPoE sessions and MPLS label stacks), raw IP (101, and 12/14 as some systems write it), IPv4
//! (228), IPv6 (229), Linux cooked v1 (113) and v2 (276), BSD NULL (0, host byte order) and LOOP
//! (108). 802.1Q and QinQ tags are followed. Truncated packets (snaplen) still yield their
//! headers: lengths come from the IP header, payload is what was captured.

use crate::util::cursor::be16;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Whether seam decodes packets of this link type.
pub fn link_type_supported(link: u32) -> bool {
    matches!(
        link,
        LINKTYPE_NULL
            | LINKTYPE_ETHERNET
            | LINKTYPE_RAW
            | 12
            | 14
            | LINKTYPE_LOOP
            | LINKTYPE_LINUX_SLL
            | LINKTYPE_IPV4
            | LINKTYPE_IPV6
            | LINKTYPE_LINUX_SLL2
    )
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

/// The transport part of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportView<'a> {
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        payload: &'a [u8],
    },
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    Icmp {
        icmp_type: u8,
        code: u8,
        v6: bool,
        payload: &'a [u8],
    },
    /// A protocol seam does not model, or a transport header that did not fit.
    Other {
        payload: &'a [u8],
    },
    /// A non-initial or initial IP fragment: the payload is the fragment's bytes.
    Fragment {
        payload: &'a [u8],
    },
}

/// IP fragment identity and position, for reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    pub id: u32,
    /// Offset of this fragment's payload in bytes.
    pub offset: u32,
    pub more: bool,
}

/// An IP packet as seam needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the payload (after extension headers).
    pub proto: u8,
    /// Length of the IP packet according to its header (what Zeek counts as ip_bytes).
    pub ip_len: u32,
    /// Transport payload length (after the TCP/UDP/ICMP header) according to the headers;
    /// ≥ the captured payload when the packet was cut by a snaplen.
    pub payload_len: u32,
    pub vlan: Option<u16>,
    pub src_mac: Option<[u8; 6]>,
    pub fragment: Option<Fragment>,
    pub transport: TransportView<'a>,
}

/// Result of slicing one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Ip(IpPacket<'a>),
    /// A frame that carries no IP (ARP, LLDP, STP…): counted, not an error.
    NotIp,
    UnsupportedLink,
    Malformed(&'static str),
}

/// Slices one packet of the given link type.
pub fn decode(link: u32, data: &[u8]) -> Decoded<'_> {
    if link == LINKTYPE_ETHERNET {
        if let Some(ip) = fast_ethernet(data) {
            return Decoded::Ip(ip);
        }
    }
    slow_decode(link, data)
}

/// The general path: etherparse's lax slicer for every link type and header combination.
fn slow_decode(link: u32, data: &[u8]) -> Decoded<'_> {
    let sliced = match link {
        LINKTYPE_ETHERNET => match LaxSlicedPacket::from_ethernet(data) {
            Ok(s) if s.net.is_none() => match tunnelled_ip(data).map(LaxSlicedPacket::from_ip) {
                Some(Ok(inner)) => inner,
                Some(Err(_)) => return Decoded::Malformed("ip header invalid"),
                None => s,
            },
            Ok(s) => s,
            Err(_) => return Decoded::Malformed("ethernet header cut short"),
        },
        LINKTYPE_RAW | 12 | 14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => match LaxSlicedPacket::from_ip(data) {
            Ok(s) => s,
            Err(_) => return Decoded::Malformed("ip header invalid"),
        },
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let Some(family) = data.get(..4) else { return Decoded::Malformed("loopback header cut short") };
            let family = if link == LINKTYPE_LOOP {
                u32::from_be_bytes([family[0], family[1], family[2], family[3]])
            } else {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes([family[0], family[1], family[2], family[3]]);
                if le < 256 {
                    le
                } else {
                    le.swap_bytes()
                }
            };
            let ether_type = match family {
                2 => EtherType::IPV4,
                10 | 24 | 28 | 30 => EtherType::IPV6,
                _ => return Decoded::NotIp,
            };
            LaxSlicedPacket::from_ether_type(ether_type, &data[4..])
        }
        LINKTYPE_LINUX_SLL => {
            let (Some(proto), Some(rest)) = (data.get(14..16), data.get(16..)) else {
                return Decoded::Malformed("linux cooked header cut short");
            };
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([proto[0], proto[1]])), rest)
        }
        LINKTYPE_LINUX_SLL2 => {
            let (Some(proto), Some(rest)) = (data.get(0..2), data.get(20..)) else {
                return Decoded::Malformed("linux cooked v2 header cut short");
            };
            LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([proto[0], proto[1]])), rest)
        }
        _ => return Decoded::UnsupportedLink,
    };
    from_sliced(&sliced)
}

/// The common case by fixed offsets — Ethernet, up to two VLAN tags, IPv4 without fragmentation
/// or IPv6 without extension headers, then TCP or UDP with its header captured in full — giving
/// exactly what the general path gives (a test compares them). Anything else returns `None`
/// and takes the general path; most packets of a capture never need it.
fn fast_ethernet(frame: &[u8]) -> Option<IpPacket<'_>> {
    let src_mac: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    let mut at = 12;
    let mut ether_type = be16(frame, at)?;
    let mut vlan = None;
    for _ in 0..2 {
        if !matches!(ether_type, 0x8100 | 0x88a8) {
            break;
        }
        let tci = be16(frame, at + 2)?;
        vlan.get_or_insert(tci & 0x0fff);
        ether_type = be16(frame, at + 4)?;
        at += 4;
    }
    let ip = frame.get(at + 2..)?;
    let (src, dst, proto, ip_len, payload) = match ether_type {
        0x0800 => {
            let ihl = usize::from(*ip.first()? & 0x0f) * 4;
            if ip.first()? >> 4 != 4 || ihl < 20 {
                return None;
            }
            let total = usize::from(be16(ip, 2)?);
            let flags_frag = be16(ip, 6)?;
            // More-fragments or a fragment offset: the general path reassembles.
            if flags_frag & 0x3fff != 0 || total < ihl || ip.len() < ihl {
                return None;
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            let payload = ip.get(ihl..end)?;
            (IpAddr::from(src), IpAddr::from(dst), *ip.get(9)?, total as u32, (payload, total - ihl))
        }
        0x86dd => {
            if ip.first()? >> 4 != 6 {
                return None;
            }
            let plen = usize::from(be16(ip, 4)?);
            let next = *ip.get(6)?;
            if plen == 0 || !matches!(next, 6 | 17) {
                return None;
            }
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            let payload = ip.get(40..end)?;
            (IpAddr::from(src), IpAddr::from(dst), next, (plen + 40) as u32, (payload, plen))
        }
        _ => return None,
    };
    let (ip_payload, ip_payload_len) = payload;
    let (transport, header_len) = match proto {
        6 => {
            let tcp = etherparse::TcpSlice::from_slice(ip_payload).ok()?;
            let header_len = tcp.header_slice().len();
            (view_of(&TransportSlice::Tcp(tcp)), header_len)
        }
        17 => {
            let udp = etherparse::UdpSlice::from_slice_lax(ip_payload).ok()?;
            (view_of(&TransportSlice::Udp(udp)), 8)
        }
        _ => return None,
    };
    Some(IpPacket {
        src,
        dst,
        proto,
        ip_len,
        payload_len: (ip_payload_len.saturating_sub(header_len)) as u32,
        vlan,
        src_mac: Some(src_mac),
        fragment: None,
        transport,
    })
}

/// The IP packet inside a PPPoE session frame (ether type 0x8864, PPP protocol 0x0021 IPv4 or
/// 0x0057 IPv6) or behind an MPLS label stack (0x8847/0x8848), after any VLAN tags. At most
/// [`MAX_MPLS_LABELS`] labels are followed.
fn tunnelled_ip(frame: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    let mut ether_type = be16(frame, at)?;
    at += 2;
    while matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
        ether_type = be16(frame, at + 2)?;
        at += 4;
    }
    match ether_type {
        0x8864 => {
            let ppp = be16(frame, at + 6)?;
            matches!(ppp, 0x0021 | 0x0057).then(|| frame.get(at + 8..)).flatten()
        }
        0x8847 | 0x8848 => {
            for _ in 0..MAX_MPLS_LABELS {
                let label = frame.get(at..at + 4)?;
                at += 4;
                if label[2] & 1 != 0 {
                    return frame.get(at..).filter(|ip| matches!(ip.first().map(|b| b >> 4), Some(4 | 6)));
                }
            }
            None
        }
        _ => None,
    }
}

/// MPLS labels followed before giving up on a stack.
pub const MAX_MPLS_LABELS: usize = 16;

fn from_sliced<'a>(s: &LaxSlicedPacket<'a>) -> Decoded<'a> {
    let vlan = s.vlan_ids().first().map(|v| v.value());
    let src_mac = match &s.link {
        Some(etherparse::LinkSlice::Ethernet2(e)) => Some(e.source()),
        _ => None,
    };
    let (src, dst, ip_len, fragment, payload) = match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let fragment = v4.is_payload_fragmented().then(|| Fragment {
                id: u32::from(h.identification()),
                offset: u32::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
            });
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                u32::from(h.total_len()),
                fragment,
                v4.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let fragment = v6.is_payload_fragmented().then(|| {
                v6.extensions()
                    .clone()
                    .into_iter()
                    .find_map(|e| match e {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(Fragment {
                            id: f.identification(),
                            offset: u32::from(f.fragment_offset().value()) * 8,
                            more: f.more_fragments(),
                        }),
                        _ => None,
                    })
                    .unwrap_or(Fragment { id: 0, offset: 0, more: false })
            });
            (
                IpAddr::V6(Ipv6Addr::from(h.source())),
                IpAddr::V6(Ipv6Addr::from(h.destination())),
                u32::from(h.payload_length()) + 40,
                fragment,
                v6.payload(),
            )
        }
        Some(LaxNetSlice::Arp(_)) | None => {
            return match s.stop_err {
                Some(_) if s.net.is_none() && is_ip_ether_type(s) => Decoded::Malformed("ip header invalid"),
                _ => Decoded::NotIp,
            }
        }
    };
    let proto = payload.ip_number.0;
    let ip_payload_len = if payload.incomplete {
        ip_len.saturating_sub(u32::try_from(header_overhead(s)).unwrap_or(u32::MAX))
    } else {
        payload.payload.len() as u32
    };
    let transport = if fragment.is_some() {
        TransportView::Fragment { payload: payload.payload }
    } else {
        match &s.transport {
            Some(t) => view_of(t),
            None => transport_from(proto, payload.payload),
        }
    };
    let payload_len = ip_payload_len.saturating_sub(transport_header_len(&transport, payload.payload));
    Decoded::Ip(IpPacket { src, dst, proto, ip_len, payload_len, vlan, src_mac, fragment, transport })
}

fn is_ip_ether_type(s: &LaxSlicedPacket<'_>) -> bool {
    s.ether_payload().is_some_and(|p| p.ether_type == EtherType::IPV4 || p.ether_type == EtherType::IPV6)
}

/// IP header plus extension bytes, to derive the payload length of a cut packet.
fn header_overhead(s: &LaxSlicedPacket<'_>) -> usize {
    match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => v4.header().slice().len() + v4.extensions().auth.map_or(0, |a| a.slice().len()),
        Some(LaxNetSlice::Ipv6(v6)) => 40 + v6.extensions().slice().len(),
        _ => 0,
    }
}

fn view_of<'a>(t: &TransportSlice<'a>) -> TransportView<'a> {
    match t {
        TransportSlice::Tcp(tcp) => TransportView::Tcp {
            src_port: tcp.source_port(),
            dst_port: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: tcp.header_slice().get(13).copied().unwrap_or(0),
            window: tcp.window_size(),
            payload: tcp.payload(),
        },
        TransportSlice::Udp(udp) => {
            TransportView::Udp { src_port: udp.source_port(), dst_port: udp.destination_port(), payload: udp.payload() }
        }
        TransportSlice::Icmpv4(i) => {
            TransportView::Icmp { icmp_type: i.type_u8(), code: i.code_u8(), v6: false, payload: i.payload() }
        }
        TransportSlice::Icmpv6(i) => {
            TransportView::Icmp { icmp_type: i.type_u8(), code: i.code_u8(), v6: true, payload: i.payload() }
        }
        TransportSlice::Igmp(_) => TransportView::Other { payload: &[] },
    }
}

/// Length of the transport header in front of the view's payload.
fn transport_header_len(t: &TransportView<'_>, ip_payload: &[u8]) -> u32 {
    match t {
        TransportView::Tcp { payload, .. }
        | TransportView::Udp { payload, .. }
        | TransportView::Icmp { payload, .. } => {
            // The transport payload is a suffix of the IP payload when captured in full, and a
            // prefix-cut suffix otherwise; the header is what precedes it.
            let start = (payload.as_ptr() as usize).wrapping_sub(ip_payload.as_ptr() as usize);
            start.min(ip_payload.len()) as u32
        }
        TransportView::Other { .. } | TransportView::Fragment { .. } => 0,
    }
}

/// Slices a transport header from a (reassembled) IP payload.
pub fn transport_from(proto: u8, payload: &[u8]) -> TransportView<'_> {
    match proto {
        6 => match etherparse::TcpSlice::from_slice(payload) {
            Ok(tcp) => view_of(&TransportSlice::Tcp(tcp)),
            Err(_) => TransportView::Other { payload },
        },
        17 => match etherparse::UdpSlice::from_slice_lax(payload) {
            Ok(udp) => view_of(&TransportSlice::Udp(udp)),
            Err(_) => TransportView::Other { payload },
        },
        1 | 58 => match (payload.first(), payload.get(1), payload.get(8..)) {
            (Some(&t), Some(&c), Some(rest)) => {
                TransportView::Icmp { icmp_type: t, code: c, v6: proto == 58, payload: rest }
            }
            _ => TransportView::Other { payload },
        },
        _ => TransportView::Other { payload },
    }
}

/// The unspecified address, for records that must carry some address.
pub const UNSPECIFIED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn eth_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 65535)
            .syn();
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let pkt = eth_tcp(b"hello");
        let Decoded::Ip(ip) = decode(LINKTYPE_ETHERNET, &pkt) else { panic!("not ip") };
        assert_eq!(ip.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(ip.proto, 6);
        assert_eq!(ip.ip_len, 20 + 20 + 5);
        assert_eq!(ip.src_mac, Some([1, 2, 3, 4, 5, 6]));
        match ip.transport {
            TransportView::Tcp { src_port, dst_port, seq, flags, payload, .. } => {
                assert_eq!((src_port, dst_port, seq, flags), (40000, 80, 1000, TCP_SYN));
                assert_eq!(payload, b"hello");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn snaplen_cut_packet_keeps_header_lengths() {
        let pkt = eth_tcp(&[0u8; 100]);
        let cut = &pkt[..14 + 20 + 20 + 10];
        let Decoded::Ip(ip) = decode(LINKTYPE_ETHERNET, cut) else { panic!("not ip") };
        assert_eq!(ip.ip_len, 140);
        assert_eq!(ip.payload_len, 100);
        assert!(matches!(ip.transport, TransportView::Tcp { payload, .. } if payload.len() == 10));
    }

    #[test]
    fn qinq_vlan_is_followed() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(etherparse::VlanId::try_new(100).unwrap(), etherparse::VlanId::try_new(200).unwrap())
            .ipv6([1; 16], [2; 16], 64)
            .udp(5353, 53);
        let mut pkt = Vec::new();
        b.write(&mut pkt, b"q").unwrap();
        let Decoded::Ip(ip) = decode(LINKTYPE_ETHERNET, &pkt) else { panic!("not ip") };
        assert_eq!(ip.vlan, Some(100));
        assert!(matches!(ip.transport, TransportView::Udp { src_port: 5353, dst_port: 53, payload: b"q" }));
    }

    #[test]
    fn other_link_types() {
        let pkt = eth_tcp(b"");
        let ip = &pkt[14..];
        assert!(matches!(decode(LINKTYPE_RAW, ip), Decoded::Ip(_)));
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(ip);
        assert!(matches!(decode(LINKTYPE_NULL, &null), Decoded::Ip(_)));
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        assert!(matches!(decode(LINKTYPE_LINUX_SLL, &sll), Decoded::Ip(_)));
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        assert!(matches!(decode(LINKTYPE_LINUX_SLL2, &sll2), Decoded::Ip(_)));
        assert_eq!(decode(147, ip), Decoded::UnsupportedLink);
    }

    /// The fixed-offset path and the general path agree on every packet the fast path takes,
    /// over well-formed packets of every shape it handles and random mutations of them.
    #[test]
    fn fast_path_matches_the_general_path() {
        let mut samples: Vec<Vec<u8>> = Vec::new();
        for payload_len in [0usize, 1, 17, 600] {
            let payload = vec![0xabu8; payload_len];
            let mut v4 = Vec::new();
            PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(1234, 80, 7, 100)
                .ack(9)
                .write(&mut v4, &payload)
                .unwrap();
            samples.push(v4);
            let mut v6 = Vec::new();
            PacketBuilder::ethernet2([1; 6], [2; 6])
                .single_vlan(etherparse::VlanId::try_new(42).unwrap())
                .ipv6([1; 16], [2; 16], 64)
                .udp(53, 5353)
                .write(&mut v6, &payload)
                .unwrap();
            samples.push(v6);
            let mut qinq = Vec::new();
            PacketBuilder::ethernet2([1; 6], [2; 6])
                .double_vlan(etherparse::VlanId::try_new(1).unwrap(), etherparse::VlanId::try_new(2).unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(1, 2)
                .write(&mut qinq, &payload)
                .unwrap();
            samples.push(qinq);
        }
        // Padded to the Ethernet minimum, and cut short by a snaplen.
        let mut padded = samples[0].clone();
        padded.resize(60, 0);
        samples.push(padded);
        let cut = samples[9][..samples[9].len() - 100].to_vec();
        samples.push(cut);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut mutated = Vec::new();
        for s in &samples {
            for _ in 0..2000 {
                let mut m = s.clone();
                for _ in 0..3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x as usize) % m.len();
                    m[i] = (x >> 32) as u8;
                }
                if x % 5 == 0 {
                    m.truncate((x as usize >> 8) % m.len());
                }
                mutated.push(m);
            }
        }
        let mut compared = 0;
        for frame in samples.iter().chain(&mutated) {
            if let Some(fast) = fast_ethernet(frame) {
                compared += 1;
                assert_eq!(Decoded::Ip(fast), slow_decode(LINKTYPE_ETHERNET, frame), "frame {frame:02x?}");
            }
        }
        assert!(compared > 10_000, "the fast path was exercised ({compared})");
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u32 = 0x9e37_79b9;
        let mut buf = [0u8; 96];
        for i in 0..20_000 {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            let len = (x as usize) % buf.len();
            for link in [0, 1, 101, 108, 113, 228, 229, 276] {
                let _ = decode(link, &buf[..len]);
            }
            if i % 2 == 0 {
                buf[12] = 0x08;
                buf[13] = 0x00;
                buf[14] = 0x45;
                let _ = decode(LINKTYPE_ETHERNET, &buf[..len]);
            }
        }
    }
}
