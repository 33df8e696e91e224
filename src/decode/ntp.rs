//! NTP (RFC 5905; version 3 of RFC 1305 is what many clients, Windows' time service among
//! them, still send): enough of the 48-byte header to tell a time-keeping message from other
//! UDP.
//!
//! The header has little that random bytes get wrong: the first byte's version and mode, and
//! a length of 48 bytes plus whole 32-bit words (extension fields and a MAC). Content alone
//! therefore does not make a datagram NTP: `flows` asks only on flows with the NTP port at one
//! end, as Zeek's NTP analyzer is registered on 123/udp only.

/// The NTP port (IANA), client and server alike.
pub const NTP_PORT: u16 = 123;
/// The fixed header every NTP message starts with.
pub const HEADER_LEN: usize = 48;

/// The first bytes of an NTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpHeader {
    /// Leap indicator (0–3).
    pub leap: u8,
    /// Version (1–7 on the wire; 3 and 4 in use).
    pub version: u8,
    /// 1 symmetric active, 2 symmetric passive, 3 client, 4 server, 5 broadcast, 6 control
    /// (ntpq), 7 private (ntpdc, monlist).
    pub mode: u8,
    /// 0 unspecified (and kiss-o'-death), 1 primary, 2–15 secondary, 16 unsynchronised.
    pub stratum: u8,
}

/// The header of a datagram long enough to hold one: 48 bytes plus whole 32-bit words.
pub fn parse_header(payload: &[u8]) -> Option<NtpHeader> {
    if payload.len() < HEADER_LEN || payload.len() % 4 != 0 {
        return None;
    }
    let first = *payload.first()?;
    let stratum = *payload.get(1)?;
    Some(NtpHeader { leap: first >> 6, version: (first >> 3) & 0x7, mode: first & 0x7, stratum })
}

/// A time-keeping message: version 1 to 4 and a mode from symmetric active to broadcast.
/// Control and private messages (modes 6 and 7: ntpq, ntpdc, the monlist query amplification
/// abuses) are NTP but not time-keeping, and are not matched.
pub fn looks_like_ntp(payload: &[u8]) -> bool {
    parse_header(payload).is_some_and(|h| (1..=4).contains(&h.version) && (1..=5).contains(&h.mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client request as ntpdate and chrony send it: LI 0, version 4, mode 3, the rest zero
    /// but the transmit timestamp.
    fn request(first: u8, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        if let Some(b) = p.first_mut() {
            *b = first;
        }
        if let Some(b) = p.get_mut(40) {
            *b = 0xe9;
        }
        p
    }

    #[test]
    fn time_keeping_requests_and_replies() {
        assert!(looks_like_ntp(&request(0x23, 48)), "v4 client");
        assert!(looks_like_ntp(&request(0x1b, 48)), "v3 client (Windows)");
        assert!(looks_like_ntp(&request(0x24, 48)), "v4 server");
        assert!(looks_like_ntp(&request(0xe3, 48)), "unsynchronised client (LI 3)");
        // With a MAC: key id and an MD5 (68 bytes) or SHA-1 (72 bytes) digest.
        assert!(looks_like_ntp(&request(0x23, 68)));
        assert!(looks_like_ntp(&request(0x23, 72)));
        let h = parse_header(&request(0x24, 48)).expect("a header");
        assert_eq!((h.leap, h.version, h.mode, h.stratum), (0, 4, 4, 0));
    }

    #[test]
    fn other_datagrams_are_not_ntp() {
        assert!(!looks_like_ntp(&request(0x23, 47)), "short");
        assert!(!looks_like_ntp(&request(0x23, 50)), "not whole words");
        assert!(!looks_like_ntp(&request(0x20, 48)), "mode 0 is reserved");
        assert!(!looks_like_ntp(&request(0x16, 48)), "mode 6: control (ntpq)");
        assert!(!looks_like_ntp(&request(0x17, 48)), "mode 7: private (monlist)");
        assert!(!looks_like_ntp(&request(0x03, 48)), "version 0");
        assert!(!looks_like_ntp(&request(0x2b, 48)), "version 5");
        assert!(!looks_like_ntp(&[]));
        assert_eq!(parse_header(&[0x23; 12]), None);
    }
}
