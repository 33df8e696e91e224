//! DTLS (RFC 6347, RFC 9147 records in their plaintext form) hellos, rewritten as TLS so the
//! TLS hello parser and its fingerprints serve both.
//!
//! A DTLS record adds an epoch and sequence number to TLS's record header, a handshake message
//! adds a message sequence number and fragment offset/length, and a ClientHello carries a
//! cookie after its session id. [`to_tls_record`] removes exactly those parts from the first
//! handshake message of a datagram — when it is not fragmented — and returns a TLS record the
//! TLS parser reads unchanged.

use crate::util::cursor::be16;

/// DTLS 1.0 and 1.2 record versions.
const DTLS_VERSIONS: [u16; 2] = [0xfeff, 0xfefd];

/// A datagram that starts with a DTLS handshake record.
pub fn looks_like_dtls(datagram: &[u8]) -> bool {
    datagram.first() == Some(&0x16)
        && be16(datagram, 1).is_some_and(|v| DTLS_VERSIONS.contains(&v))
        && datagram.len() >= 25
}

/// The handshake message type (1 ClientHello, 2 ServerHello) and the same message as a TLS
/// record, or `None` when the datagram is not an unfragmented DTLS hello.
pub fn to_tls_record(datagram: &[u8]) -> Option<(u8, Vec<u8>)> {
    if !looks_like_dtls(datagram) {
        return None;
    }
    let record_len = usize::from(be16(datagram, 11)?);
    let fragment = datagram.get(13..13 + record_len)?;
    let msg_type = *fragment.first()?;
    let len = u32_24(fragment, 1)?;
    let frag_offset = u32_24(fragment, 6)?;
    let frag_len = u32_24(fragment, 9)?;
    if frag_offset != 0 || frag_len != len || !matches!(msg_type, 1 | 2) {
        return None;
    }
    let body = fragment.get(12..12 + len as usize)?;
    let body = if msg_type == 1 { drop_cookie(body)? } else { body.to_vec() };
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x03];
    record.extend_from_slice(&u16::try_from(hs.len()).ok()?.to_be_bytes());
    record.extend_from_slice(&hs);
    Some((msg_type, record))
}

fn u32_24(b: &[u8], at: usize) -> Option<u32> {
    let x = b.get(at..at + 3)?;
    Some(u32::from_be_bytes([0, x[0], x[1], x[2]]))
}

/// A ClientHello body without its cookie: version (2), random (32), session id, cookie, rest.
fn drop_cookie(body: &[u8]) -> Option<Vec<u8>> {
    let sid_len = usize::from(*body.get(34)?);
    let cookie_at = 35 + sid_len;
    let cookie_len = usize::from(*body.get(cookie_at)?);
    let mut out = body.get(..cookie_at)?.to_vec();
    out.extend_from_slice(body.get(cookie_at + 1 + cookie_len..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dtls_hello(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut hs = vec![msg_type];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&[0, 0, 0, 0, 0]);
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(body);
        let mut rec = vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_loses_its_cookie_and_parses_as_tls() {
        let mut body = vec![0xfe, 0xfd];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[2, 0xaa, 0xbb]); // cookie
        body.extend_from_slice(&[0, 2, 0xc0, 0x2f, 1, 0]); // one suite, null compression
        body.extend_from_slice(&[0, 0]); // no extensions
        let (t, record) = to_tls_record(&dtls_hello(1, &body)).unwrap();
        assert_eq!(t, 1);
        match super::super::tls::parse_client_hello(&record) {
            super::super::tls::HelloParse::Done(h) => {
                assert_eq!(h.cipher_suites, vec![0xc02f]);
                assert_eq!(h.legacy_version, 0xfefd);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fragments_and_other_bytes_are_refused() {
        assert!(to_tls_record(b"\x16\x03\x01\x00\x05hello").is_none());
        let mut frag = dtls_hello(1, &[0; 40]);
        frag[13 + 6 + 2] = 1; // fragment offset 1
        assert!(to_tls_record(&frag).is_none());
        assert!(to_tls_record(&[0x16, 0xfe, 0xfd]).is_none());
    }
}
