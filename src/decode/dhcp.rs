//! DHCPv4 messages (RFC 2131 over BOOTP, options RFC 2132): what names and addresses a host
//! asked for and was given. Read are the fixed header (op, transaction id, `ciaddr`, `yiaddr`,
//! `chaddr`) and the options that say who a host is: message type (53), host name (12),
//! client FQDN (81), requested address (50), server identifier (54), lease time (51) and
//! vendor class (60). Options are read until the end option or the end of the datagram;
//! overloaded `sname`/`file` fields are not.

use crate::util::cursor::{Cursor, CursorError};
use std::net::Ipv4Addr;

/// The BOOTP header up to the magic cookie.
pub const HEADER_LEN: usize = 236;
pub const MAGIC: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
/// Longest host name or vendor class kept (option lengths are one byte anyway).
pub const MAX_TEXT: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMessage {
    /// 1 request (client → server), 2 reply.
    pub op: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    /// The client's hardware address when it is an Ethernet MAC (htype 1, hlen 6).
    pub chaddr: Option<[u8; 6]>,
    /// Option 53: 1 DISCOVER, 2 OFFER, 3 REQUEST, 4 DECLINE, 5 ACK, 6 NAK, 7 RELEASE, 8 INFORM.
    pub message_type: Option<u8>,
    pub host_name: Option<String>,
    /// Option 81's domain name (ASCII form).
    pub fqdn: Option<String>,
    pub requested_ip: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    pub lease_secs: Option<u32>,
    pub vendor_class: Option<String>,
}

impl DhcpMessage {
    pub fn type_name(&self) -> &'static str {
        match self.message_type {
            Some(1) => "DISCOVER",
            Some(2) => "OFFER",
            Some(3) => "REQUEST",
            Some(4) => "DECLINE",
            Some(5) => "ACK",
            Some(6) => "NAK",
            Some(7) => "RELEASE",
            Some(8) => "INFORM",
            Some(_) => "OTHER",
            None => "BOOTP",
        }
    }
}

/// Cheap content check: a BOOTP header of the right size with the DHCP magic cookie.
pub fn looks_like_dhcp(payload: &[u8]) -> bool {
    payload.len() >= HEADER_LEN + 4
        && matches!(payload[0], 1 | 2)
        && payload[1] == 1
        && payload[2] == 6
        && payload[HEADER_LEN..HEADER_LEN + 4] == MAGIC
}

fn text(bytes: &[u8]) -> Option<String> {
    let bytes = &bytes[..bytes.len().min(MAX_TEXT)];
    let s = String::from_utf8_lossy(bytes).trim_end_matches('\0').trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn addr(bytes: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// Parses one DHCP message.
pub fn parse(payload: &[u8]) -> Result<DhcpMessage, CursorError> {
    let mut c = Cursor::new(payload);
    let op = c.u8("op")?;
    let htype = c.u8("htype")?;
    let hlen = c.u8("hlen")?;
    c.skip(1, "hops")?;
    let xid = c.u32_be("xid")?;
    c.skip(4, "secs and flags")?;
    let ciaddr = Ipv4Addr::from(c.array::<4>("ciaddr")?);
    let yiaddr = Ipv4Addr::from(c.array::<4>("yiaddr")?);
    c.skip(8, "siaddr and giaddr")?;
    let hw = c.array::<16>("chaddr")?;
    c.skip(64 + 128, "sname and file")?;
    let magic = c.array::<4>("magic cookie")?;
    let chaddr = (htype == 1 && hlen == 6).then(|| [hw[0], hw[1], hw[2], hw[3], hw[4], hw[5]]);
    let mut m = DhcpMessage {
        op,
        xid,
        ciaddr,
        yiaddr,
        chaddr,
        message_type: None,
        host_name: None,
        fqdn: None,
        requested_ip: None,
        server_id: None,
        lease_secs: None,
        vendor_class: None,
    };
    if magic != MAGIC {
        return Ok(m);
    }
    while c.remaining() > 0 {
        let code = c.u8("option code")?;
        match code {
            0 => continue,
            255 => break,
            _ => {}
        }
        let len = usize::from(c.u8("option length")?);
        let value = c.take(len, "option value")?;
        match code {
            53 => m.message_type = value.first().copied(),
            12 => m.host_name = text(value),
            81 => m.fqdn = value.get(3..).and_then(text),
            50 => m.requested_ip = addr(value),
            54 => m.server_id = addr(value),
            51 => m.lease_secs = value.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes),
            60 => m.vendor_class = text(value),
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A DHCP message built by hand: header, cookie, the given options, end.
    pub fn message(op: u8, xid: u32, yiaddr: [u8; 4], mac: [u8; 6], options: &[(u8, &[u8])]) -> Vec<u8> {
        let mut m = vec![op, 1, 6, 0];
        m.extend(xid.to_be_bytes());
        m.extend([0; 4]);
        m.extend([0; 4]);
        m.extend(yiaddr);
        m.extend([0; 8]);
        m.extend(mac);
        m.extend([0; 10]);
        m.extend([0; 192]);
        m.extend(MAGIC);
        for (code, value) in options {
            m.push(*code);
            m.push(value.len() as u8);
            m.extend(*value);
        }
        m.push(255);
        m
    }

    #[test]
    fn request_and_ack() {
        let mac = [0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e];
        let req = message(1, 7, [0; 4], mac, &[(53, &[3]), (50, &[10, 0, 0, 42]), (12, b"WS-042"), (0, &[])]);
        assert!(looks_like_dhcp(&req));
        let m = parse(&req).unwrap();
        assert_eq!((m.op, m.xid, m.type_name()), (1, 7, "REQUEST"));
        assert_eq!(m.host_name.as_deref(), Some("WS-042"));
        assert_eq!(m.requested_ip, Some(Ipv4Addr::new(10, 0, 0, 42)));
        assert_eq!(m.chaddr, Some(mac));
        let ack = message(2, 7, [10, 0, 0, 42], mac, &[(53, &[5]), (54, &[10, 0, 0, 1]), (51, &[0, 0, 0x0e, 0x10])]);
        let m = parse(&ack).unwrap();
        assert_eq!(m.type_name(), "ACK");
        assert_eq!(m.yiaddr, Ipv4Addr::new(10, 0, 0, 42));
        assert_eq!(m.server_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(m.lease_secs, Some(3600));
    }

    #[test]
    fn fqdn_option_and_damage() {
        let mut fq = vec![0u8, 0, 0];
        fq.extend(b"laptop7.corp.example");
        let m = parse(&message(1, 1, [0; 4], [1; 6], &[(53, &[1]), (81, &fq)])).unwrap();
        assert_eq!(m.fqdn.as_deref(), Some("laptop7.corp.example"));
        // An option running past the datagram is an error, not a panic.
        let mut cut = message(1, 1, [0; 4], [1; 6], &[(12, b"name")]);
        cut.truncate(cut.len() - 3);
        assert!(parse(&cut).is_err());
        assert!(parse(&[1, 1, 6]).is_err());
        assert!(!looks_like_dhcp(&[0; 100]));
    }
}
