//! What endpoint logs say: one payload type for every EVTX and auditd record.
//!
//! The typed part is deliberately small — what correlation and detection join on (action,
//! outcome, user, logon type, the object acted upon) — while `data` keeps every field the
//! record carried, flattened, so nothing read is dropped and an analyst can always see the
//! original values.

use super::ProcessRef;
use crate::util::Timestamp;
use serde::Serialize;
use std::net::IpAddr;

/// Which log an endpoint event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// Microsoft-Windows-Sysmon/Operational.
    Sysmon,
    /// The Security channel (Microsoft-Windows-Security-Auditing and Eventlog 1102).
    Security,
    /// The System channel.
    System,
    /// Microsoft-Windows-PowerShell/Operational and Windows PowerShell.
    Powershell,
    /// Any other EVTX channel.
    Evtx,
    /// Linux audit log.
    Auditd,
}

impl LogSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Sysmon => "sysmon",
            LogSource::Security => "security",
            LogSource::System => "system",
            LogSource::Powershell => "powershell",
            LogSource::Evtx => "evtx",
            LogSource::Auditd => "auditd",
        }
    }

    pub fn is_evtx(self) -> bool {
        self != LogSource::Auditd
    }
}

/// The payload of an endpoint event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointFields {
    pub source: LogSource,
    /// What happened, as a stable kebab-case verb phrase (`process-start`, `logon-failed`,
    /// `service-installed`, …); ECS `event.action`.
    pub action: &'static str,
    /// The source's own code: the EVTX event id (`4624`), or the audit record type with the
    /// syscall for SYSCALL records (`SYSCALL:connect`).
    pub code: String,
    /// EVTX provider name.
    pub provider: Option<String>,
    /// EVTX channel name.
    pub channel: Option<String>,
    /// `success` or `failure` when the record says.
    pub outcome: Option<&'static str>,
    /// When the record was written, where that differs from the event's own time (Sysmon
    /// `UtcTime` is the event time; the record header holds the write time).
    pub written: Option<Timestamp>,
    /// The account the event is about (logon target, created account, …); the acting account
    /// is `process.user`.
    pub user: Option<String>,
    /// Security identifier or numeric uid of `user`.
    pub user_id: Option<String>,
    /// Windows logon type (2 interactive, 3 network, 10 remote interactive, …).
    pub logon_type: Option<u32>,
    /// Logon session id (`0x3e7`) or audit session id.
    pub logon_id: Option<String>,
    /// Remote address of a logon, or the address a connect/accept names when no full
    /// 5-tuple exists.
    pub source_ip: Option<IpAddr>,
    pub source_port: Option<u16>,
    /// Remote address a process connected or sent to, when the log names only that end
    /// (auditd connect/sendto); full 5-tuples are in the event's `net`.
    pub destination_ip: Option<IpAddr>,
    pub destination_port: Option<u16>,
    /// Workstation or host name the remote side gave.
    pub source_host: Option<String>,
    /// The object acted upon: file path, registry key, service or task name, module path,
    /// target process image, looked-up name, group, filter or log name.
    pub target: Option<String>,
    /// A second detail of the object: registry value, service binary and start type, lookup
    /// results, script text, new state.
    pub details: Option<String>,
    /// Offset subtracted from the record's time to put it on the capture's clock (the log's
    /// clock minus the capture's), when one was estimated or set.
    pub clock_offset: Option<i64>,
    /// Carved from unallocated log space (a cleared or overwritten chunk) rather than read
    /// from the log's record list: evidence of what was deleted.
    pub carved: bool,
    /// Every field of the record, flattened (`EventData` names, `UserData` paths, audit
    /// `RECORD.key`), in record order.
    pub data: Pairs,
}

/// Which process made a flow, by which join, and the endpoint record that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The host the process ran on, as its log names it.
    pub host: Option<String>,
    pub process: ProcessRef,
    /// The log the attributing record came from.
    pub source: LogSource,
    /// How the record was joined to the flow: `community-id` (Sysmon 3, WFP 5156: the
    /// 5-tuple), `remote-endpoint` (auditd connect: remote address and port, nearest in time),
    /// `dns-name` (Sysmon 22: the looked-up name).
    pub method: &'static str,
    /// The attributing record.
    pub evidence: super::Provenance,
    /// Whether the process accepted the flow (it runs on the responder) rather than opened it.
    pub accepted: bool,
}

/// Name → text pairs in order, duplicates kept, stored in one string: a record's fields cost
/// two allocations, not two per field (an audit event has forty). A parser may keep its input
/// line as the buffer and point names and values into it ([`Pairs::with_text`],
/// [`Pairs::push_span`]). Names added with [`Pairs::push`] are kept once for the whole run
/// (see [`super::names`]) rather than in every event's buffer.
#[derive(Clone, Default)]
pub struct Pairs {
    text: String,
    /// Byte ranges of each name and its value in `text`.
    spans: Vec<PairSpan>,
}

#[derive(Debug, Clone, Copy)]
struct PairSpan {
    /// A range of the buffer, or `[NAMED, n]` for name number `n` of [`super::names`].
    name: [u32; 2],
    value: [u32; 2],
}

/// Marks a span's name as a number in the shared name table (no buffer is that long).
const NAMED: u32 = u32::MAX;

impl Pairs {
    pub fn new() -> Pairs {
        Pairs::default()
    }

    /// An empty set of pairs over `text`, which [`Pairs::push_span`] can point into; room for
    /// `pairs` pairs.
    pub fn with_text(text: String, pairs: usize) -> Pairs {
        Pairs { text, spans: Vec::with_capacity(pairs) }
    }

    /// An empty set with room for `pairs` pairs and `text` bytes of buffer (the values, and any
    /// names too long or too many for the shared table).
    pub fn with_capacity(pairs: usize, text: usize) -> Pairs {
        Pairs { text: String::with_capacity(text), spans: Vec::with_capacity(pairs) }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Appends a pair.
    pub fn push(&mut self, name: &str, value: &str) {
        let name = match super::names::intern(name) {
            Some(n) => [NAMED, n],
            None => self.append(name),
        };
        let value = self.append(value);
        self.push_span(name, value);
    }

    /// Appends `s` to the buffer and returns its range, for [`Pairs::push_span`].
    pub fn append(&mut self, s: &str) -> [u32; 2] {
        let start = self.text.len();
        self.text.push_str(s);
        [offset(start), offset(self.text.len())]
    }

    /// Appends a pair whose name and value are ranges of the buffer. A range outside it, or
    /// not on character boundaries, reads as empty.
    pub fn push_span(&mut self, name: [u32; 2], value: [u32; 2]) {
        self.spans.push(PairSpan { name, value });
    }

    pub fn iter(&self) -> PairsIter<'_> {
        PairsIter { pairs: self, spans: self.spans.iter() }
    }

    /// The first value of `name`. Names are compared as bytes, and only the match is sliced
    /// as text: lookups are made many times per event while it is mapped.
    pub fn get(&self, name: &str) -> Option<&str> {
        let want = name.as_bytes();
        let span = self.spans.iter().find(|s| self.name_bytes(s.name) == Some(want))?;
        Some(self.slice(span.value))
    }

    /// Owned pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn slice(&self, [start, end]: [u32; 2]) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or_default()
    }

    fn name(&self, span: [u32; 2]) -> &str {
        match span {
            [NAMED, n] => super::names::resolve(n),
            range => self.slice(range),
        }
    }

    /// A name's bytes without checking character boundaries (for comparing).
    fn name_bytes(&self, span: [u32; 2]) -> Option<&[u8]> {
        match span {
            [NAMED, n] => Some(super::names::resolve(n).as_bytes()),
            [start, end] => self.text.as_bytes().get(start as usize..end as usize),
        }
    }
}

/// A buffer offset as `u32`; buffers past 4 GiB saturate (their ranges read as empty).
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Iterator over the pairs of a [`Pairs`].
pub struct PairsIter<'a> {
    pairs: &'a Pairs,
    spans: std::slice::Iter<'a, PairSpan>,
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.spans.next()?;
        Some((self.pairs.name(s.name), self.pairs.slice(s.value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for PairsIter<'_> {}

impl<'a> IntoIterator for &'a Pairs {
    type Item = (&'a str, &'a str);
    type IntoIter = PairsIter<'a>;

    fn into_iter(self) -> PairsIter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Pairs {
        let mut p = Pairs::new();
        for (k, v) in iter {
            p.push(k.as_ref(), v.as_ref());
        }
        p
    }
}

/// Equal when the pairs are, whatever the buffer layout.
impl PartialEq for Pairs {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Pairs {}

impl std::fmt::Debug for Pairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Pairs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl EndpointFields {
    /// An event with only its source, action and code set.
    pub fn new(source: LogSource, action: &'static str, code: String) -> EndpointFields {
        EndpointFields {
            source,
            action,
            code,
            provider: None,
            channel: None,
            outcome: None,
            written: None,
            user: None,
            user_id: None,
            logon_type: None,
            logon_id: None,
            source_ip: None,
            source_port: None,
            destination_ip: None,
            destination_port: None,
            source_host: None,
            target: None,
            details: None,
            clock_offset: None,
            carved: false,
            data: Pairs::new(),
        }
    }

    /// The first value of a flattened field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_order_duplicates_and_empty_values() {
        let p: Pairs = [("a", "1"), ("b", ""), ("a", "3"), ("", "x")].into_iter().collect();
        assert_eq!(p.len(), 4);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("a", "1"), ("b", ""), ("a", "3"), ("", "x")]);
        assert_eq!((p.get("a"), p.get("b"), p.get("c")), (Some("1"), Some(""), None));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"a":"1","b":"","a":"3","":"x"}"#);
    }
}
