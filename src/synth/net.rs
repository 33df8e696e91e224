//! Frames for whole conversations: TCP sessions with handshake, MSS-sized segments, ACKs and a
//! FIN or RST close; UDP datagrams; ICMP echo. Sequence numbers, flags and timing are what a
//! real stack would produce, so flow accounting on the result has a known answer.

use super::pcap::{PcapWriter, LINKTYPE_ETHERNET};
use etherparse::PacketBuilder;
use std::io::{self, Write};
use std::net::IpAddr;

/// Segment size of generated TCP data.
pub const MSS: usize = 1448;

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port }
    }
}

/// The MAC of the network's router, which every frame from or to the internet carries.
pub const ROUTER_MAC: [u8; 6] = [0x02, 0x53, 0xFE, 0x00, 0x00, 0x01];

/// A locally administered MAC derived from the address, so hosts keep one MAC; external
/// addresses are reached through the router and carry its MAC.
pub fn mac_of(ip: IpAddr) -> [u8; 6] {
    if !crate::util::net::is_internal(ip) {
        return ROUTER_MAC;
    }
    let b = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets()[12..].to_vec(),
    };
    [0x02, 0x53, b[0], b[1], b[2], b[3]]
}

/// Application bytes sent by one side after `delay` nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub from_client: bool,
    pub delay: i64,
    pub data: Vec<u8>,
}

impl Exchange {
    pub fn client(delay: i64, data: impl Into<Vec<u8>>) -> Self {
        Exchange { from_client: true, delay, data: data.into() }
    }
    pub fn server(delay: i64, data: impl Into<Vec<u8>>) -> Self {
        Exchange { from_client: false, delay, data: data.into() }
    }
}

/// How a TCP session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// FIN from the client, FIN from the server, final ACK.
    Fin,
    /// The client aborts with RST.
    Rst,
    /// No close seen (the capture ends first).
    Open,
}

#[derive(Debug, Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    PshAck,
    FinAck,
    Rst,
    RstAck,
}

/// A growing set of frames; written in time order.
#[derive(Debug, Default)]
pub struct Traffic {
    frames: Vec<(i64, u64, Vec<u8>)>,
    serial: u64,
}

impl Traffic {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn push(&mut self, ts: i64, frame: Vec<u8>) {
        self.serial += 1;
        self.frames.push((ts, self.serial, frame));
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp_frame(&mut self, ts: i64, src: Endpoint, dst: Endpoint, seq: u32, ack: u32, flags: Flags, payload: &[u8]) {
        let eth = PacketBuilder::ethernet2(mac_of(src.ip), mac_of(dst.ip));
        let mut out = Vec::with_capacity(payload.len() + 80);
        macro_rules! finish {
            ($ip:expr) => {{
                let t = $ip.tcp(src.port, dst.port, seq, 64240);
                let t = match flags {
                    Flags::Syn => t.syn(),
                    Flags::SynAck => t.syn().ack(ack),
                    Flags::Ack => t.ack(ack),
                    Flags::PshAck => t.psh().ack(ack),
                    Flags::FinAck => t.fin().ack(ack),
                    Flags::Rst => t.rst(),
                    Flags::RstAck => t.rst().ack(ack),
                };
                let _ = t.write(&mut out, payload);
            }};
        }
        match (src.ip, dst.ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => finish!(eth.ipv4(s.octets(), d.octets(), 64)),
            (IpAddr::V6(s), IpAddr::V6(d)) => finish!(eth.ipv6(s.octets(), d.octets(), 64)),
            _ => return,
        }
        self.push(ts, out);
    }

    /// A UDP datagram.
    pub fn udp(&mut self, ts: i64, src: Endpoint, dst: Endpoint, payload: &[u8]) {
        let eth = PacketBuilder::ethernet2(mac_of(src.ip), mac_of(dst.ip));
        let mut out = Vec::with_capacity(payload.len() + 64);
        match (src.ip, dst.ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let _ = eth.ipv4(s.octets(), d.octets(), 64).udp(src.port, dst.port).write(&mut out, payload);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let _ = eth.ipv6(s.octets(), d.octets(), 64).udp(src.port, dst.port).write(&mut out, payload);
            }
            _ => return,
        }
        self.push(ts, out);
    }

    /// A full TCP session; returns the time of its last packet.
    pub fn tcp_session(
        &mut self,
        t0: i64,
        client: Endpoint,
        server: Endpoint,
        rtt: i64,
        exchanges: &[Exchange],
        close: Close,
    ) -> i64 {
        let half = (rtt / 2).max(1);
        let isn_c: u32 = seq_seed(client, server, 1);
        let isn_s: u32 = seq_seed(client, server, 2);
        let (mut cs, mut ss) = (isn_c.wrapping_add(1), isn_s.wrapping_add(1));
        let mut t = t0;
        self.tcp_frame(t, client, server, isn_c, 0, Flags::Syn, &[]);
        t += half;
        self.tcp_frame(t, server, client, isn_s, cs, Flags::SynAck, &[]);
        t += half;
        self.tcp_frame(t, client, server, cs, ss, Flags::Ack, &[]);
        for ex in exchanges {
            t += ex.delay.max(1);
            let (from, to) = if ex.from_client { (client, server) } else { (server, client) };
            for chunk in ex.data.chunks(MSS) {
                let (seq, ack) = if ex.from_client { (cs, ss) } else { (ss, cs) };
                self.tcp_frame(t, from, to, seq, ack, Flags::PshAck, chunk);
                if ex.from_client {
                    cs = cs.wrapping_add(chunk.len() as u32);
                } else {
                    ss = ss.wrapping_add(chunk.len() as u32);
                }
                t += 20_000;
            }
            t += half;
            let (seq, ack) = if ex.from_client { (ss, cs) } else { (cs, ss) };
            self.tcp_frame(t, to, from, seq, ack, Flags::Ack, &[]);
        }
        match close {
            Close::Fin => {
                t += 1_000_000;
                self.tcp_frame(t, client, server, cs, ss, Flags::FinAck, &[]);
                cs = cs.wrapping_add(1);
                t += half;
                self.tcp_frame(t, server, client, ss, cs, Flags::FinAck, &[]);
                ss = ss.wrapping_add(1);
                t += half;
                self.tcp_frame(t, client, server, cs, ss, Flags::Ack, &[]);
            }
            Close::Rst => {
                t += 1_000_000;
                self.tcp_frame(t, client, server, cs, 0, Flags::Rst, &[]);
            }
            Close::Open => {}
        }
        t
    }

    /// A SYN answered by RST (closed port).
    pub fn tcp_rejected(&mut self, ts: i64, client: Endpoint, server: Endpoint, rtt: i64) {
        let isn = seq_seed(client, server, 1);
        self.tcp_frame(ts, client, server, isn, 0, Flags::Syn, &[]);
        self.tcp_frame(ts + rtt, server, client, 0, isn.wrapping_add(1), Flags::RstAck, &[]);
    }

    /// A SYN nobody answers (filtered port or absent host).
    pub fn tcp_unanswered(&mut self, ts: i64, client: Endpoint, server: Endpoint) {
        let isn = seq_seed(client, server, 1);
        self.tcp_frame(ts, client, server, isn, 0, Flags::Syn, &[]);
    }

    /// Frames in time order (stable for equal times).
    pub fn into_sorted(mut self) -> Vec<(i64, Vec<u8>)> {
        self.frames.sort_by_key(|(ts, serial, _)| (*ts, *serial));
        self.frames.into_iter().map(|(ts, _, f)| (ts, f)).collect()
    }

    /// Writes the frames as a classic Ethernet pcap.
    pub fn write_pcap<W: Write>(self, out: W) -> io::Result<W> {
        let mut w = PcapWriter::new(out, LINKTYPE_ETHERNET, false)?;
        for (ts, frame) in self.into_sorted() {
            w.packet(ts, &frame)?;
        }
        Ok(w.into_inner())
    }
}

/// Deterministic initial sequence numbers per connection and side.
fn seq_seed(a: Endpoint, b: Endpoint, side: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let text = format!("{}:{}-{}:{}-{side}", a.ip, a.port, b.ip, b.port);
    for byte in text.bytes() {
        h ^= u32::from(byte);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_frames_are_time_ordered_and_segmented() {
        let mut t = Traffic::new();
        let c = Endpoint::new("10.0.0.1".parse().unwrap(), 40000);
        let s = Endpoint::new("10.0.0.2".parse().unwrap(), 80);
        t.tcp_session(0, c, s, 1_000_000, &[Exchange::client(1, vec![1u8; 3000])], Close::Fin);
        let frames = t.into_sorted();
        // SYN, SYN-ACK, ACK, 3 data segments, their ACK, FIN, FIN, ACK.
        assert_eq!(frames.len(), 10);
        assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
