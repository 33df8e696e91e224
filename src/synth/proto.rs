//! Application payloads as real clients and servers put them on the wire.

use std::net::IpAddr;

/// One DNS answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Addr(IpAddr, u32),
    Cname(String, u32),
    Txt(String, u32),
}

pub const QTYPE_A: u16 = 1;
pub const QTYPE_CNAME: u16 = 5;
pub const QTYPE_TXT: u16 = 16;
pub const QTYPE_AAAA: u16 = 28;

fn push_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
}

fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for v in [id, flags, qd, an, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// A recursive query for `name`.
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = header(id, 0x0100, 1, 0);
    push_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// A response to [`dns_query`]; `rcode` 3 is NXDOMAIN. Answers use a pointer to the question.
pub fn dns_response(id: u16, name: &str, qtype: u16, rcode: u8, answers: &[Answer]) -> Vec<u8> {
    let mut out = header(id, 0x8180 | u16::from(rcode & 0x0f), 1, answers.len() as u16);
    push_name(&mut out, name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    for a in answers {
        out.extend_from_slice(&[0xc0, 0x0c]);
        let (rtype, ttl, rdata) = match a {
            Answer::Addr(IpAddr::V4(v4), ttl) => (QTYPE_A, *ttl, v4.octets().to_vec()),
            Answer::Addr(IpAddr::V6(v6), ttl) => (QTYPE_AAAA, *ttl, v6.octets().to_vec()),
            Answer::Cname(target, ttl) => {
                let mut r = Vec::new();
                push_name(&mut r, target);
                (QTYPE_CNAME, *ttl, r)
            }
            Answer::Txt(text, ttl) => {
                let mut r = Vec::new();
                for chunk in text.as_bytes().chunks(255) {
                    r.push(chunk.len() as u8);
                    r.extend_from_slice(chunk);
                }
                (QTYPE_TXT, *ttl, r)
            }
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// An HTTP/1.1 request.
/// A DHCP message (RFC 2131): `op` 1 request or 2 reply, the client's current address
/// (`ciaddr`), the address given (`yiaddr`), the client's MAC, then options 53 (type), 54
/// (server) and 12 (host name) when given.
#[allow(clippy::too_many_arguments)]
pub fn dhcp_message(
    op: u8,
    xid: u32,
    ciaddr: [u8; 4],
    yiaddr: [u8; 4],
    mac: [u8; 6],
    message_type: u8,
    server: Option<[u8; 4]>,
    host_name: Option<&str>,
) -> Vec<u8> {
    let mut m = vec![op, 1, 6, 0];
    m.extend(xid.to_be_bytes());
    m.extend([0; 4]);
    m.extend(ciaddr);
    m.extend(yiaddr);
    m.extend([0; 8]);
    m.extend(mac);
    m.extend([0; 10 + 64 + 128]);
    m.extend([0x63, 0x82, 0x53, 0x63]);
    m.extend([53, 1, message_type]);
    if let Some(s) = server {
        m.extend([54, 4]);
        m.extend(s);
        m.extend([51, 4, 0, 0, 0x0e, 0x10]);
    }
    if let Some(name) = host_name {
        let name = &name.as_bytes()[..name.len().min(255)];
        m.extend([12, name.len() as u8]);
        m.extend(name);
    }
    m.push(255);
    m
}

pub fn http_request(
    method: &str,
    host: &str,
    uri: &str,
    user_agent: &str,
    body: &[u8],
    content_type: Option<&str>,
) -> Vec<u8> {
    let mut head = format!("{method} {uri} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n");
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An HTTP/1.1 response with a Content-Length body.
pub fn http_response(status: u16, reason: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: nginx\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn ext(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A TLS 1.3-capable ClientHello with SNI (none when empty) and ALPN, shaped like a modern
/// browser's.
pub fn tls_client_hello(sni: &str, alpn: &[&str], random: [u8; 32]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(&random);
    let ciphers: [u16; 8] = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9];
    body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        body.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    if !sni.is_empty() {
        let mut sni_data = Vec::new();
        sni_data.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
        sni_data.push(0);
        sni_data.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        sni_data.extend_from_slice(sni.as_bytes());
        ext(&mut exts, 0x0000, &sni_data);
    }
    ext(&mut exts, 0x000a, &[0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
    ext(&mut exts, 0x000b, &[0x01, 0x00]);
    ext(&mut exts, 0x000d, &[0x00, 0x08, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03]);
    if !alpn.is_empty() {
        let mut list = Vec::new();
        for p in alpn {
            list.push(p.len() as u8);
            list.extend_from_slice(p.as_bytes());
        }
        let mut data = (list.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&list);
        ext(&mut exts, 0x0010, &data);
    }
    ext(&mut exts, 0x002b, &[0x04, 0x03, 0x04, 0x03, 0x03]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    handshake_record(1, &body)
}

/// A TLS 1.3 ServerHello choosing `cipher`, followed by an opaque application-data record.
pub fn tls_server_hello(cipher: u16, random: [u8; 32]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(32);
    body.extend_from_slice(&random);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    let mut exts = Vec::new();
    ext(&mut exts, 0x002b, &[0x03, 0x04]);
    ext(&mut exts, 0x0033, &[0x00, 0x1d, 0x00, 0x04, 1, 2, 3, 4]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut out = handshake_record(2, &body);
    out.extend_from_slice(&tls_app_data(200, random[0]));
    out
}

/// An opaque TLS application-data record of `len` bytes.
pub fn tls_app_data(len: usize, fill: u8) -> Vec<u8> {
    let mut out = vec![0x17, 0x03, 0x03];
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend(std::iter::repeat_n(fill, len));
    out
}

/// A 64-bit ELF header followed by filler: what an implant download looks like.
pub fn elf_binary(len: usize) -> Vec<u8> {
    let mut out = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0];
    out.resize(len.max(out.len()), 0x90);
    out
}

/// A Stratum (Monero-style) login line as XMRig sends it.
pub fn stratum_login(wallet: &str, agent: &str) -> Vec<u8> {
    format!(
        "{{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{{\"login\":\"{wallet}\",\"pass\":\"x\",\"agent\":\"{agent}\",\"algo\":[\"rx/0\"]}}}}\n"
    )
    .into_bytes()
}
