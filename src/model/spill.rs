//! Endpoint events in a compact binary form, for timelines too large to hold: the timeline
//! writes sorted runs of them to a temporary file and reads them back while merging (see
//! `timeline::spill`).
//!
//! The form is private to one run of seam: field names are written as their numbers in the
//! process's table of names ([`super::names`]) and fixed strings (actions, outcomes) as their
//! numbers in a table kept here, so a run file means nothing to another process and is never
//! kept. Network events (flows and their application records) are not written: they follow the
//! flow table, which is held anyway.
//!
//! Layout: integers little-endian; an optional value is a presence byte then the value; a
//! string is its length (`u32`) then its UTF-8 bytes; an address is a family byte (4 or 6) then
//! its octets.

use super::endpoint::{EndpointFields, LogSource, PairSpan, Pairs};
use super::event::{Event, EventKind, Fields, HostRef, Locator, NetTuple, ProcessRef, Provenance};
use super::flow::Transport;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Why an event could not be written or read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpillError {
    #[error("{0} events are held in memory, not written to a run")]
    NotEndpoint(&'static str),
    #[error("run data ends inside an event")]
    Truncated,
    #[error("run data is malformed: {0}")]
    Malformed(&'static str),
}

/// An event's place in the timeline, read from the front of its encoding without decoding
/// the rest: ordered as [`Event::sort_key`] orders the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key<'a> {
    pub ts: i64,
    pub host: Option<&'a [u8]>,
    pub file: u32,
    /// The locator's kind (packet, record, line: the order of [`Locator`]'s variants) and value.
    pub locator: (u8, u64),
    /// The kind's position in [`EventKind::ALL`], its declaration order.
    pub kind: u8,
}

/// Reads the key at the front of an encoded event.
pub fn key(record: &[u8]) -> Result<Key<'_>, SpillError> {
    let mut input = record;
    let r = &mut Reader(&mut input);
    let ts = r.i64()?;
    let host = r.opt(|r| r.str().map(str::as_bytes))?;
    Ok(Key { ts, host, file: r.u32()?, locator: (r.u8()?, r.u64()?), kind: r.u8()? })
}

/// Appends `e` to `out`: its [`Key`], then the rest.
pub fn encode(e: &Event, out: &mut Vec<u8>) -> Result<(), SpillError> {
    let mut w = Writer(out);
    w.i64(e.ts);
    w.opt_str(e.host.as_ref().and_then(|h| h.name.as_deref()));
    w.u32(e.provenance.file);
    let (locator, at) = match e.provenance.locator {
        Locator::Packet(n) => (0, n),
        Locator::Record(n) => (1, n),
        Locator::Line(n) => (2, n),
    };
    w.u8(locator);
    w.u64(at);
    w.u8(kind_number(e.kind));
    w.opt(e.host.as_ref(), |w, h| w.opt(h.ip.as_ref(), |w, ip| w.ip(*ip)));
    w.opt(e.net.as_ref(), |w, n| {
        w.ip(n.src_ip);
        w.u16(n.src_port);
        w.ip(n.dst_ip);
        w.u16(n.dst_port);
        match n.transport {
            Transport::Tcp => w.u8(0),
            Transport::Udp => w.u8(1),
            Transport::Icmp => w.u8(2),
            Transport::Icmp6 => w.u8(3),
            Transport::Other(p) => {
                w.u8(4);
                w.u8(p);
            }
        }
        w.str(&n.community_id);
        w.opt_str(n.flow_id.as_deref());
    });
    w.opt(e.process.as_deref(), |w, p| {
        w.opt(p.pid.as_ref(), |w, v| w.u64(*v));
        w.opt_str(p.entity_id.as_deref());
        w.opt_str(p.executable.as_deref());
        w.opt_str(p.command_line.as_deref());
        w.opt_str(p.user.as_deref());
        w.opt(p.parent_pid.as_ref(), |w, v| w.u64(*v));
        w.opt_str(p.parent_entity_id.as_deref());
        w.opt_str(p.parent_executable.as_deref());
        w.opt_str(p.parent_command_line.as_deref());
    });
    match &e.fields {
        Fields::Endpoint(x) => {
            w.u8(0);
            endpoint(&mut w, x);
        }
        Fields::Generic(map) => {
            w.u8(1);
            w.u32(len32(map.len()));
            for (k, v) in map.iter() {
                w.str(k);
                w.str(v);
            }
        }
        _ => return Err(SpillError::NotEndpoint(e.kind.as_str())),
    }
    Ok(())
}

fn endpoint(w: &mut Writer<'_>, x: &EndpointFields) {
    w.u8(source_number(x.source));
    w.u32(fixed_number(x.action));
    w.str(&x.code);
    w.opt_str(x.provider.as_deref());
    w.opt_str(x.channel.as_deref());
    w.opt(x.outcome.as_ref(), |w, o| w.u32(fixed_number(o)));
    w.opt(x.written.as_ref(), |w, t| w.i64(*t));
    w.opt_str(x.user.as_deref());
    w.opt_str(x.user_id.as_deref());
    w.opt(x.logon_type.as_ref(), |w, v| w.u32(*v));
    w.opt_str(x.logon_id.as_deref());
    w.opt(x.source_ip.as_ref(), |w, ip| w.ip(*ip));
    w.opt(x.source_port.as_ref(), |w, v| w.u16(*v));
    w.opt(x.destination_ip.as_ref(), |w, ip| w.ip(*ip));
    w.opt(x.destination_port.as_ref(), |w, v| w.u16(*v));
    w.opt_str(x.source_host.as_deref());
    w.opt_str(x.target.as_deref());
    w.opt_str(x.details.as_deref());
    w.opt(x.clock_offset.as_ref(), |w, v| w.i64(*v));
    w.u8(u8::from(x.carved));
    w.str(&x.data.text);
    w.u32(len32(x.data.spans.len()));
    for s in &x.data.spans {
        w.u32(s.name);
        w.u32(s.end);
    }
}

/// Reads one event from the front of `input`, advancing it past the event.
pub fn decode(input: &mut &[u8]) -> Result<Event, SpillError> {
    let r = &mut Reader(input);
    let ts = r.i64()?;
    let name = r.opt_string()?;
    let file = r.u32()?;
    let locator = match (r.u8()?, r.u64()?) {
        (0, n) => Locator::Packet(n),
        (1, n) => Locator::Record(n),
        (2, n) => Locator::Line(n),
        _ => return Err(SpillError::Malformed("locator")),
    };
    let kind = *EventKind::ALL.get(usize::from(r.u8()?)).ok_or(SpillError::Malformed("event kind"))?;
    let host = r.opt(|r| Ok(HostRef { name, ip: r.opt(Reader::ip)? }))?;
    let net = r.opt(|r| {
        let (src_ip, src_port, dst_ip, dst_port) = (r.ip()?, r.u16()?, r.ip()?, r.u16()?);
        let transport = match r.u8()? {
            0 => Transport::Tcp,
            1 => Transport::Udp,
            2 => Transport::Icmp,
            3 => Transport::Icmp6,
            4 => Transport::Other(r.u8()?),
            _ => return Err(SpillError::Malformed("transport")),
        };
        let community_id: Arc<str> = r.str()?.into();
        let flow_id = r.opt(|r| Ok(Arc::<str>::from(r.str()?)))?;
        Ok(NetTuple { src_ip, src_port, dst_ip, dst_port, transport, community_id, flow_id })
    })?;
    let process = r.opt(|r| {
        Ok(Box::new(ProcessRef {
            pid: r.opt(Reader::u64)?,
            entity_id: r.opt_string()?,
            executable: r.opt_string()?,
            command_line: r.opt_string()?,
            user: r.opt_string()?,
            parent_pid: r.opt(Reader::u64)?,
            parent_entity_id: r.opt_string()?,
            parent_executable: r.opt_string()?,
            parent_command_line: r.opt_string()?,
        }))
    })?;
    let fields = match r.u8()? {
        0 => Fields::Endpoint(Box::new(read_endpoint(r)?)),
        1 => {
            let n = r.u32()?;
            let mut map = BTreeMap::new();
            for _ in 0..n {
                map.insert(r.str()?.to_owned(), r.str()?.to_owned());
            }
            Fields::Generic(Box::new(map))
        }
        _ => return Err(SpillError::Malformed("fields")),
    };
    Ok(Event { ts, kind, host, net, process, provenance: Provenance { file, locator }, fields })
}

fn read_endpoint(r: &mut Reader<'_, '_>) -> Result<EndpointFields, SpillError> {
    let source = *SOURCES.get(usize::from(r.u8()?)).ok_or(SpillError::Malformed("log source"))?;
    let action = fixed(r.u32()?)?;
    let mut x = EndpointFields::new(source, action, r.str()?.to_owned());
    x.provider = r.opt_string()?;
    x.channel = r.opt_string()?;
    x.outcome = r.opt(|r| fixed(r.u32()?))?;
    x.written = r.opt(Reader::i64)?;
    x.user = r.opt_string()?;
    x.user_id = r.opt_string()?;
    x.logon_type = r.opt(Reader::u32)?;
    x.logon_id = r.opt_string()?;
    x.source_ip = r.opt(Reader::ip)?;
    x.source_port = r.opt(Reader::u16)?;
    x.destination_ip = r.opt(Reader::ip)?;
    x.destination_port = r.opt(Reader::u16)?;
    x.source_host = r.opt_string()?;
    x.target = r.opt_string()?;
    x.details = r.opt_string()?;
    x.clock_offset = r.opt(Reader::i64)?;
    x.carved = r.u8()? != 0;
    let text = r.str()?.to_owned();
    let n = r.u32()? as usize;
    // Each span is eight bytes: a count the input cannot hold is refused before allocating.
    if n > r.0.len() / 8 {
        return Err(SpillError::Truncated);
    }
    let mut spans = Vec::with_capacity(n);
    let mut at = 0;
    for _ in 0..n {
        let (name, end) = (r.u32()?, r.u32()?);
        if end < at || end as usize > text.len() {
            return Err(SpillError::Malformed("field bounds"));
        }
        at = end;
        spans.push(PairSpan { name, end });
    }
    x.data = Pairs { text, spans };
    Ok(x)
}

const SOURCES: [LogSource; 6] = [
    LogSource::Sysmon,
    LogSource::Security,
    LogSource::System,
    LogSource::Powershell,
    LogSource::Evtx,
    LogSource::Auditd,
];

fn source_number(s: LogSource) -> u8 {
    SOURCES.iter().position(|&x| x == s).map_or(0, |i| i as u8)
}

fn kind_number(k: EventKind) -> u8 {
    EventKind::ALL.iter().position(|&x| x == k).map_or(0, |i| i as u8)
}

/// The fixed strings events refer to (actions, outcomes: constants of the mapping code, so
/// the table stays small), by number.
static FIXED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn fixed_number(s: &'static str) -> u32 {
    let mut table = FIXED.lock().unwrap_or_else(|e| e.into_inner());
    match table.iter().position(|&t| std::ptr::eq(t, s) || t == s) {
        Some(i) => i as u32,
        None => {
            table.push(s);
            len32(table.len() - 1)
        }
    }
}

fn fixed(n: u32) -> Result<&'static str, SpillError> {
    let table = FIXED.lock().unwrap_or_else(|e| e.into_inner());
    table.get(n as usize).copied().ok_or(SpillError::Malformed("fixed string"))
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        // Strings come from files read in pieces of at most a few MiB: never near 4 GiB.
        self.u32(len32(s.len()));
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt<T: ?Sized>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
            None => self.u8(0),
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        self.opt(s, |w, s| w.str(s));
    }
    fn ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => {
                self.u8(4);
                self.0.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                self.u8(6);
                self.0.extend_from_slice(&a.octets());
            }
        }
    }
}

struct Reader<'r, 'a>(&'r mut &'a [u8]);

impl<'a> Reader<'_, 'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SpillError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(SpillError::Truncated)?;
        *self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, SpillError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, SpillError> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, SpillError> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, SpillError> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, SpillError> {
        self.take().map(i64::from_le_bytes)
    }
    fn str(&mut self) -> Result<&'a str, SpillError> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return Err(SpillError::Truncated);
        }
        let (s, rest) = self.0.split_at(n);
        *self.0 = rest;
        std::str::from_utf8(s).map_err(|_| SpillError::Malformed("text"))
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, SpillError>) -> Result<Option<T>, SpillError> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(SpillError::Malformed("presence")),
        }
    }
    fn opt_string(&mut self) -> Result<Option<String>, SpillError> {
        self.opt(|r| r.str().map(str::to_owned))
    }
    fn ip(&mut self) -> Result<IpAddr, SpillError> {
        match self.u8()? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.take::<4>()?))),
            6 => Ok(IpAddr::V6(Ipv6Addr::from(self.take::<16>()?))),
            _ => Err(SpillError::Malformed("address family")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rich() -> Event {
        let mut x = EndpointFields::new(LogSource::Auditd, "process-start", "SYSCALL".into());
        x.provider = Some("p".into());
        x.outcome = Some("success");
        x.written = Some(-5);
        x.logon_type = Some(3);
        x.source_ip = Some("10.0.0.1".parse().unwrap());
        x.destination_ip = Some("2001:db8::1".parse().unwrap());
        x.destination_port = Some(443);
        x.target = Some("/tmp/ünïcode \"q\"".into());
        x.clock_offset = Some(1_000);
        x.carved = true;
        x.data.push("SYSCALL.exe", "/usr/bin/curl");
        x.data.push_inline("a name kept in the event", "value");
        x.data.push("EXECVE.a0", "");
        Event {
            ts: 1_700_000_000_123_456_789,
            kind: EventKind::Process,
            host: Some(HostRef { name: Some("web01".into()), ip: Some("192.0.2.7".parse().unwrap()) }),
            net: Some(NetTuple {
                src_ip: "10.0.0.1".parse().unwrap(),
                src_port: 5,
                dst_ip: "::1".parse().unwrap(),
                dst_port: 6,
                transport: Transport::Other(47),
                community_id: "1:abc".into(),
                flow_id: Some("F1".into()),
            }),
            process: Some(Box::new(ProcessRef {
                pid: Some(42),
                executable: Some("/usr/bin/curl".into()),
                parent_pid: Some(1),
                parent_command_line: Some(String::new()),
                ..ProcessRef::default()
            })),
            provenance: Provenance { file: 3, locator: Locator::Line(99) },
            fields: Fields::Endpoint(Box::new(x)),
        }
    }

    fn round_trip(e: &Event) -> Event {
        let mut buf = Vec::new();
        encode(e, &mut buf).unwrap();
        let mut input = buf.as_slice();
        let back = decode(&mut input).unwrap();
        assert!(input.is_empty(), "{} bytes left", input.len());
        back
    }

    #[test]
    fn endpoint_events_come_back_equal() {
        let e = rich();
        let back = round_trip(&e);
        assert_eq!(back.ts, e.ts);
        assert_eq!(back.kind, e.kind);
        assert_eq!(back.host, e.host);
        assert_eq!(back.net, e.net);
        assert_eq!(back.process, e.process);
        assert_eq!(back.provenance, e.provenance);
        assert_eq!(back.fields, e.fields);
        let bare = Event {
            host: None,
            net: None,
            process: None,
            fields: Fields::Endpoint(Box::new(EndpointFields::new(LogSource::Sysmon, "x", String::new()))),
            ..rich()
        };
        assert_eq!(round_trip(&bare).fields, bare.fields);
        let generic = Event {
            fields: Fields::Generic(Box::new([("a".to_string(), "b".to_string())].into_iter().collect())),
            ..rich()
        };
        assert_eq!(round_trip(&generic).fields, generic.fields);
    }

    #[test]
    fn every_cut_of_the_data_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode(&rich(), &mut buf).unwrap();
        for cut in 0..buf.len() {
            let mut input = &buf[..cut];
            assert!(decode(&mut input).is_err(), "cut at {cut}");
        }
        // Flipped bytes decode to something or fail; they never panic.
        for at in 0..buf.len() {
            let mut bad = buf.clone();
            bad[at] ^= 0xA5;
            let _ = decode(&mut bad.as_slice());
        }
    }

    /// Keys read from encodings order events as their sort keys do.
    #[test]
    fn keys_order_as_sort_keys_do() {
        let mut events = Vec::new();
        for (i, kind) in EventKind::ALL.iter().enumerate() {
            for host in [None, Some(""), Some("a"), Some("ab"), Some("b")] {
                for locator in [Locator::Packet(2), Locator::Record(1), Locator::Line(0), Locator::Line(9)] {
                    let mut e = rich();
                    e.ts = (i % 3) as i64;
                    e.kind = *kind;
                    e.host = host.map(|h| HostRef { name: Some(h.into()), ip: None });
                    e.provenance = Provenance { file: (i % 2) as u32, locator };
                    events.push(e);
                }
            }
        }
        let encoded: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                let mut buf = Vec::new();
                encode(e, &mut buf).unwrap();
                buf
            })
            .collect();
        for (a, ea) in events.iter().zip(&encoded) {
            for (b, eb) in events.iter().zip(&encoded) {
                assert_eq!(key(ea).unwrap().cmp(&key(eb).unwrap()), a.sort_key().cmp(&b.sort_key()));
            }
        }
    }

    #[test]
    fn network_events_are_not_written() {
        let mut e = rich();
        e.fields = Fields::Ssh(Box::new(crate::model::SshFields { client: None, server: None }));
        assert_eq!(encode(&e, &mut Vec::new()), Err(SpillError::NotEndpoint("process")));
    }
}
