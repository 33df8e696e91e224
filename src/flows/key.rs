//! Flow keys, Community ID v1 and deterministic flow ids.

use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// Direction-free key of a flow: the two endpoints in canonical order plus the protocol.
/// ICMP uses the (canonical) message type as its "port" so that a request and its reply share
/// a key, as Zeek does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo_ip: IpAddr,
    pub lo_port: u16,
    pub hi_ip: IpAddr,
    pub hi_port: u16,
    pub proto: u8,
}

impl FlowKey {
    /// Builds the key and tells whether `src` is the `lo` side.
    pub fn new(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16, proto: u8) -> (FlowKey, bool) {
        if (src, src_port) <= (dst, dst_port) {
            (FlowKey { lo_ip: src, lo_port: src_port, hi_ip: dst, hi_port: dst_port, proto }, true)
        } else {
            (FlowKey { lo_ip: dst, lo_port: dst_port, hi_ip: src, hi_port: src_port, proto }, false)
        }
    }
}

/// The request/reply counterpart of an ICMP type, per the Community ID spec.
pub fn icmp_counterpart(icmp_type: u8, v6: bool) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[(128, 129), (133, 134), (135, 136), (130, 131), (144, 145)]
    } else {
        &[(8, 0), (13, 14), (15, 16), (17, 18), (10, 9)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if icmp_type == a {
            Some(b)
        } else if icmp_type == b {
            Some(a)
        } else {
            None
        }
    })
}

/// Community ID v1 (https://github.com/corelight/community-id-spec) with seed 0:
/// `1:` + base64(SHA-1(seed ‖ ordered addresses ‖ proto ‖ pad ‖ ordered ports)).
/// For ICMP the "ports" are the type and the counterpart type (or the code for one-way types).
pub fn community_id(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16, proto: u8, seed: u16) -> String {
    let (mut sp, mut dp) = (src_port, dst_port);
    let mut one_way = false;
    if proto == 1 || proto == 58 {
        let icmp_type = src_port as u8;
        match icmp_counterpart(icmp_type, proto == 58) {
            Some(c) => dp = u16::from(c),
            None => one_way = true,
        }
        sp = u16::from(icmp_type);
    }
    let src_first = one_way || (src, sp) < (dst, dp) || (src == dst && sp <= dp);
    let ((a, ap), (b, bp)) = if src_first { ((src, sp), (dst, dp)) } else { ((dst, dp), (src, sp)) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    push_ip(&mut h, a);
    push_ip(&mut h, b);
    h.update([proto, 0]);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(ap.to_be_bytes());
        h.update(bp.to_be_bytes());
    }
    format!("1:{}", base64::engine::general_purpose::STANDARD.encode(h.finalize()))
}

fn push_ip(h: &mut Sha1, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => h.update(v4.octets()),
        IpAddr::V6(v6) => h.update(v6.octets()),
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Deterministic flow id: `C` + 17 base62 digits of a SHA-1 over the capture's tag, the flow's
/// start time and its community id — stable across runs, thread counts and whatever other
/// files the bundle holds.
pub fn flow_id(tag: u64, start: i64, community_id: &str, ordinal: u32) -> String {
    let mut h = Sha1::new();
    h.update(tag.to_be_bytes());
    h.update(start.to_be_bytes());
    h.update(community_id.as_bytes());
    h.update(ordinal.to_be_bytes());
    let digest = h.finalize();
    let mut n = u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16])) >> 28;
    let mut out = String::with_capacity(18);
    out.push('C');
    for _ in 0..17 {
        out.push(BASE62[(n % 62) as usize] as char);
        n /= 62;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // Vectors from the Community ID spec's baseline (community-id-spec/baseline/baseline_deflt.json).
    #[test]
    fn spec_vectors_tcp_udp() {
        assert_eq!(
            community_id(ip("128.232.110.120"), 34855, ip("66.35.250.204"), 80, 6, 0),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(ip("66.35.250.204"), 80, ip("128.232.110.120"), 34855, 6, 0),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(community_id(ip("192.168.1.52"), 54585, ip("8.8.8.8"), 53, 17, 0), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
        assert_eq!(
            community_id(ip("fe80::200:86ff:fe05:80da"), 0, ip("fe80::260:97ff:fe07:69ea"), 0, 6, 0),
            community_id(ip("fe80::260:97ff:fe07:69ea"), 0, ip("fe80::200:86ff:fe05:80da"), 0, 6, 0)
        );
    }

    #[test]
    fn spec_vectors_icmp() {
        // ICMP echo request and its reply share an id.
        let req = community_id(ip("192.168.0.89"), 8, ip("192.168.0.1"), 0, 1, 0);
        let rep = community_id(ip("192.168.0.1"), 0, ip("192.168.0.89"), 0, 1, 0);
        assert_eq!(req, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
        assert_eq!(req, rep);
    }

    #[test]
    fn seed_changes_the_id() {
        let a = community_id(ip("10.0.0.1"), 1, ip("10.0.0.2"), 2, 6, 0);
        let b = community_id(ip("10.0.0.1"), 1, ip("10.0.0.2"), 2, 6, 1);
        assert_ne!(a, b);
    }

    #[test]
    fn flow_ids_are_stable_and_distinct() {
        let a = flow_id(0, 1, "1:x", 0);
        assert_eq!(a, flow_id(0, 1, "1:x", 0));
        assert_ne!(a, flow_id(0, 2, "1:x", 0));
        assert_eq!(a.len(), 18);
        assert!(a.starts_with('C'));
    }

    #[test]
    fn key_is_direction_free() {
        let (k1, lo1) = FlowKey::new(ip("10.0.0.2"), 80, ip("10.0.0.1"), 5000, 6);
        let (k2, lo2) = FlowKey::new(ip("10.0.0.1"), 5000, ip("10.0.0.2"), 80, 6);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
    }
}
