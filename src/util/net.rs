//! Address classes.

use std::net::IpAddr;

/// Whether an address is internal: RFC 1918, RFC 6598 shared, loopback, link-local, ULA.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// An address written as text, as `str::parse::<IpAddr>` reads it: dotted-quad IPv4 is read
/// here without the general parser (DNS answers are mostly that, and are read by the hundred
/// thousand), anything with a colon by the standard library.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let bytes = s.as_bytes();
    if bytes.len() > 15 || !bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return if bytes.contains(&b':') { s.parse().ok() } else { None };
    }
    // Four parts of one to three digits, no leading zero (as the standard parser insists),
    // each at most 255.
    let mut octets = [0u8; 4];
    let mut parts = bytes.split(|&b| b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p[0] == b'0') {
            return None;
        }
        let v = p.iter().fold(0u16, |v, &d| v * 10 + u16::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(IpAddr::from(octets))
}

/// `10.0.0.5:443`, or `[2001:db8::1]:443`.
pub fn endpoint_text(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
        IpAddr::V4(_) => format!("{ip}:{port}"),
    }
}

/// ECS spelling of a MAC address: upper-case hex pairs joined by hyphens (`00-1A-2B-3C-4D-5E`).
pub fn mac_text(m: [u8; 6]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(17);
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// An address block (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Which addresses are internal: the analyst's blocks (`--internal`), or [`is_internal`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InternalNets(pub Vec<Cidr>);

impl InternalNets {
    pub fn contains(&self, ip: IpAddr) -> bool {
        if self.0.is_empty() {
            is_internal(ip)
        } else {
            self.0.iter().any(|c| c.contains(ip))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ip_reads_what_the_standard_parser_reads() {
        let cases = [
            "10.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "",
            ".",
            "a.b.c.d",
            "1.2.3.-4",
            "+1.2.3.4",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "fe80::1%eth0",
            "example.com",
            "1.2.3.0004",
            "99.999.9.9",
            "1.2.3.4.",
        ];
        for c in cases {
            assert_eq!(parse_ip(c), c.parse::<IpAddr>().ok(), "{c:?}");
        }
        // Every IPv4 octet spelling, against the standard parser.
        for v in 0..1000 {
            for text in [format!("{v}"), format!("0{v}"), format!("00{v}")] {
                let addr = format!("10.{text}.0.1");
                assert_eq!(parse_ip(&addr), addr.parse::<IpAddr>().ok(), "{addr:?}");
            }
        }
    }

    #[test]
    fn mac_addresses_are_written_as_ecs_spells_them() {
        assert_eq!(mac_text([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]), "00-1A-2B-3C-4D-5E");
        assert_eq!(mac_text([0xff; 6]), "FF-FF-FF-FF-FF-FF");
    }

    #[test]
    fn blocks() {
        let c = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(c.contains("192.0.2.77".parse().unwrap()));
        assert!(!c.contains("192.0.3.1".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("2001:db8::/32").unwrap().contains("2001:db8:1::5".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1").map(|c| c.prefix), Some(32));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("nonsense"), None);
        let nets = InternalNets(vec![c]);
        assert!(!nets.contains("10.0.0.1".parse().unwrap()), "the analyst's blocks replace RFC 1918");
        assert!(InternalNets::default().contains("10.0.0.1".parse().unwrap()));
    }
}
