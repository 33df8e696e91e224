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
/// two allocations, not two per field (an audit event has forty). The string holds the values
/// one after the other, each preceded by its name when the name is stored in the event; each
/// pair costs eight bytes besides: where its value ends, and its name's number in the table of
/// names kept once for the whole run (see [`super::names`]) or the length of the name stored
/// before the value.
#[derive(Clone, Default)]
pub struct Pairs {
    pub(super) text: String,
    pub(super) spans: Vec<PairSpan>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct PairSpan {
    /// The name's number in [`super::names`], or [`INLINE`] with the length of the name
    /// stored in the buffer just before the value.
    pub(super) name: u32,
    /// Where the value ends in the buffer; it starts where the previous pair ended (after
    /// this pair's own name, when that is stored in the buffer).
    pub(super) end: u32,
}

/// Marks a name stored in the buffer; the rest of the field is its length.
const INLINE: u32 = 1 << 31;

impl Pairs {
    pub fn new() -> Pairs {
        Pairs::default()
    }

    /// An empty set with room for `pairs` pairs and `text` bytes of buffer (the values, and any
    /// names stored in the event).
    pub fn with_capacity(pairs: usize, text: usize) -> Pairs {
        Pairs { text: String::with_capacity(text), spans: Vec::with_capacity(pairs) }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of text stored: the values, and the names kept in the event rather than in the
    /// shared table.
    pub fn stored_len(&self) -> usize {
        self.text.len()
    }

    /// Removes every pair, keeping the buffers' room.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// Appends a pair whose name is kept once for the whole run (in the event when it is too
    /// long for the shared table, or the table is full).
    pub fn push(&mut self, name: &str, value: &str) {
        match super::names::intern(name) {
            Some(n) => {
                self.text.push_str(value);
                self.spans.push(PairSpan { name: n, end: offset(self.text.len()) });
            }
            None => self.push_inline(name, value),
        }
    }

    /// Appends a pair with its name stored in the event, not looked up in the shared table.
    pub fn push_inline(&mut self, name: &str, value: &str) {
        // Names longer than 2 GiB cannot be read from a file seam reads in pieces of 1 MiB.
        let len = u32::try_from(name.len()).unwrap_or(INLINE - 1).min(INLINE - 1);
        self.text.push_str(name);
        self.text.push_str(value);
        self.spans.push(PairSpan { name: INLINE | len, end: offset(self.text.len()) });
    }

    /// Appends every pair of `other`, each name preceded by `prefix` (`SYSCALL.` + `arch`).
    /// Names both sets keep in the shared table are joined by number (see
    /// [`super::names::intern_prefixed`]); only the values are copied.
    pub fn extend_prefixed(&mut self, other: &Pairs, prefix: &str) {
        let prefix_id = super::names::intern(prefix);
        let mut joined = String::new();
        let mut at = 0;
        for s in &other.spans {
            let value = other.slice(value_start(at, s.name), s.end);
            let id = prefix_id.filter(|_| s.name & INLINE == 0).and_then(|p| super::names::intern_prefixed(p, s.name));
            match id {
                Some(id) => {
                    self.text.push_str(value);
                    self.spans.push(PairSpan { name: id, end: offset(self.text.len()) });
                }
                None => {
                    joined.clear();
                    joined.push_str(prefix);
                    joined.push_str(other.name(s.name, at));
                    self.push(&joined, value);
                }
            }
            at = s.end;
        }
    }

    /// Appends the pairs as a JSON object's members, in order, duplicates kept: `"name":"value"`,
    /// comma-separated. Names kept in the shared table are copied as JSON already written.
    pub fn write_json_members(&self, out: &mut Vec<u8>) {
        let mut at = 0;
        for (i, s) in self.spans.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match super::names::resolve_json(s.name).filter(|_| s.name & INLINE == 0) {
                Some(json) => out.extend_from_slice(json),
                None => crate::util::escape::write_json_str(self.name(s.name, at), out),
            }
            out.push(b':');
            crate::util::escape::write_json_str(self.slice(value_start(at, s.name), s.end), out);
            at = s.end;
        }
    }

    pub fn iter(&self) -> PairsIter<'_> {
        PairsIter { pairs: self, spans: self.spans.iter(), at: 0 }
    }

    /// The first value of `name`. Lookups are made many times per event while it is mapped:
    /// names kept in the shared table are compared by number (the table gives each name one),
    /// names stored in the event as bytes, and only the match is sliced as text.
    pub fn get(&self, name: &str) -> Option<&str> {
        let number = super::names::number_of(name);
        let want = name.as_bytes();
        let mut at = 0;
        for s in &self.spans {
            let hit =
                if s.name & INLINE != 0 { self.name_bytes(s.name, at) == Some(want) } else { number == Some(s.name) };
            if hit {
                return Some(self.slice(value_start(at, s.name), s.end));
            }
            at = s.end;
        }
        None
    }

    /// Owned pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// A range of the buffer; a range outside it, or not on character boundaries, reads as
    /// empty.
    fn slice(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or_default()
    }

    fn name(&self, name: u32, at: u32) -> &str {
        if name & INLINE != 0 {
            self.slice(at, value_start(at, name))
        } else {
            super::names::resolve(name)
        }
    }

    /// A name's bytes without checking character boundaries (for comparing).
    fn name_bytes(&self, name: u32, at: u32) -> Option<&[u8]> {
        if name & INLINE != 0 {
            self.text.as_bytes().get(at as usize..value_start(at, name) as usize)
        } else {
            Some(super::names::resolve(name).as_bytes())
        }
    }
}

/// Where a pair's value starts (and its stored name, if any, ends), given where the previous
/// pair ended and the pair's `name` field.
fn value_start(at: u32, name: u32) -> u32 {
    if name & INLINE != 0 {
        at.saturating_add(name & !INLINE)
    } else {
        at
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
    /// Where the previous pair ended.
    at: u32,
}

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = *self.spans.next()?;
        let at = std::mem::replace(&mut self.at, s.end);
        Some((self.pairs.name(s.name, at), self.pairs.slice(value_start(at, s.name), s.end)))
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
    fn pairs_as_json_members_keep_order_duplicates_and_escapes() {
        let mut pairs = Pairs::new();
        pairs.push("EventData.Image", "C:\\Windows\\cmd.exe");
        pairs.push_inline("in \"line\"", "tab\there");
        pairs.push("EventData.Image", "second");
        pairs.push("Data \"quoted\"", "x");
        let mut out = Vec::new();
        pairs.write_json_members(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap_or_default(),
            r#""EventData.Image":"C:\\Windows\\cmd.exe","in \"line\"":"tab\there","EventData.Image":"second","Data \"quoted\"":"x""#
        );
        let mut none = Vec::new();
        Pairs::new().write_json_members(&mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn lookups_find_the_first_pair_whether_its_name_is_in_the_table_or_the_event() {
        let mut pairs = Pairs::new();
        pairs.push_inline("Image", "stored in the event");
        pairs.push("Image", "from the table");
        pairs.push("CommandLine", "cmd /c");
        pairs.push_inline("in \"line\"", "x");
        assert_eq!(pairs.get("Image"), Some("stored in the event"));
        assert_eq!(pairs.get("CommandLine"), Some("cmd /c"));
        assert_eq!(pairs.get("in \"line\""), Some("x"));
        assert_eq!(pairs.get("ParentImage.never-pushed"), None);
        let mut table_first = Pairs::new();
        table_first.push("Image", "from the table");
        table_first.push_inline("Image", "stored in the event");
        assert_eq!(table_first.get("Image"), Some("from the table"));
        // Pairs made on another thread are found by the same numbers.
        let made = std::thread::spawn(|| {
            let mut p = Pairs::new();
            p.push("made-on-another-thread", "v");
            p
        })
        .join()
        .expect("thread");
        assert_eq!(made.get("made-on-another-thread"), Some("v"));
    }

    #[test]
    fn pairs_keep_order_duplicates_and_empty_values() {
        let p: Pairs = [("a", "1"), ("b", ""), ("a", "3"), ("", "x")].into_iter().collect();
        assert_eq!(p.len(), 4);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("a", "1"), ("b", ""), ("a", "3"), ("", "x")]);
        assert_eq!((p.get("a"), p.get("b"), p.get("c")), (Some("1"), Some(""), None));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"a":"1","b":"","a":"3","":"x"}"#);
    }

    #[test]
    fn names_in_the_table_and_in_the_event_mix() {
        let long = "n".repeat(super::super::names::MAX_LEN + 1);
        let mut p = Pairs::with_capacity(4, 0);
        p.push("Image", "C:\\x.exe");
        p.push_inline("inline", "é");
        p.push(&long, "too long for the table");
        p.push_inline("", "");
        p.push("Image", "second");
        let want = vec![
            ("Image", "C:\\x.exe"),
            ("inline", "é"),
            (long.as_str(), "too long for the table"),
            ("", ""),
            ("Image", "second"),
        ];
        assert_eq!(p.iter().collect::<Vec<_>>(), want);
        assert_eq!(
            (p.get("inline"), p.get(&long), p.get("Image"), p.get("x")),
            (Some("é"), Some("too long for the table"), Some("C:\\x.exe"), None)
        );
        // Names kept in the table cost nothing in the event's buffer.
        assert_eq!(
            p.text.len(),
            "C:\\x.exeinlineé".len() + long.len() + "too long for the table".len() + "second".len()
        );
        assert_eq!(std::mem::size_of::<PairSpan>(), 8);
        // Equal to the same pairs stored another way.
        let q: Pairs = want.iter().copied().collect();
        assert_eq!(p, q);
    }
}
