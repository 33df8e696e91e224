//! Windows event records: the evtx crate's compact JSON rendering of one record → the System
//! header fields seam models and every `EventData`/`UserData` field, flattened.
//!
//! Only the modelled parts are deserialised into typed values; the payload is walked once into
//! `(name, text)` pairs without building a `serde_json::Value` tree. Layout of the input (the
//! crate's default, attributes inline under `#attributes`):
//!
//! ```json
//! {"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},
//!  "EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2017-12-26T13:10:29.1368792Z"}},
//!  "EventRecordID":1742,"Execution":{"#attributes":{"ProcessID":2284,"ThreadID":5252}},
//!  "Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"DESKTOP-2KGM189",
//!  "Security":{"#attributes":{"UserID":"S-1-5-18"}}},
//!  "EventData":{"UtcTime":"2017-12-26 13:10:29.134","ProcessId":9112,"Image":"C:\\…"}}}
//! ```
//!
//! Flattening: `EventData` children keep their names (`Image`); unnamed `<Data>` lists become
//! `Data[0]`, `Data[1]`, …; nested elements join with `.` (`UserData` →
//! `LogFileCleared.SubjectUserName`); attributes become `name@attr`. Imports `util` and `model`.

use crate::model::Pairs;
use crate::util::Timestamp;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// One event record's header and payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WinRecord {
    pub provider: String,
    pub event_id: u32,
    pub qualifiers: Option<u32>,
    pub version: Option<u32>,
    pub level: Option<u32>,
    pub task: Option<u32>,
    pub opcode: Option<u32>,
    pub keywords: Option<String>,
    /// `System/TimeCreated/@SystemTime`.
    pub time_created: Option<Timestamp>,
    pub record_id: Option<u64>,
    pub channel: String,
    pub computer: String,
    pub user_sid: Option<String>,
    pub process_id: Option<u64>,
    pub thread_id: Option<u64>,
    /// Flattened `EventData` and `UserData`, in document order.
    pub data: Pairs,
}

impl WinRecord {
    /// The first value of a payload field, with Windows' placeholders (`-`, empty) as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).filter(|v| !v.is_empty() && *v != "-")
    }
}

/// Why a record's JSON could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WinEventError {
    #[error("record JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record JSON is not UTF-8 from byte {0} on")]
    Utf8(usize),
    #[error("record has no System/EventID")]
    NoEventId,
}

/// Parses one record rendered by the evtx crate as JSON.
pub fn parse_record_json(bytes: &[u8]) -> Result<WinRecord, WinEventError> {
    // Checked as UTF-8 once, whole: parsed from bytes, every string would be checked on its
    // own, at a cost per string that a record's forty short values add up to.
    let text = std::str::from_utf8(bytes).map_err(|e| WinEventError::Utf8(e.valid_up_to()))?;
    let envelope: Envelope = serde_json::from_str(text)?;
    let Event { system, event_data, user_data } = envelope.event;
    let sys = system.unwrap_or_default();
    let event_id = sys.event_id.text.as_ref().and_then(Text::parse).ok_or(WinEventError::NoEventId)?;
    let mut data = event_data.map(|f| f.0).unwrap_or_default();
    if let Some(u) = user_data {
        for (k, v) in u.0.iter() {
            data.push(k, v);
        }
    }
    Ok(WinRecord {
        provider: sys.provider.attr_str("Name").map(|n| n.into_owned()).unwrap_or_default(),
        event_id,
        qualifiers: sys.event_id.attr("Qualifiers").and_then(Text::parse_exact),
        version: sys.version.number(),
        level: sys.level.number(),
        task: sys.task.number(),
        opcode: sys.opcode.number(),
        time_created: sys.time_created.attr_str("SystemTime").and_then(|t| parse_system_time(&t)),
        record_id: sys.record_id.text.as_ref().and_then(Text::parse_exact),
        user_sid: sys.security.attr_str("UserID").map(|s| s.into_owned()),
        process_id: sys.execution.attr("ProcessID").and_then(Text::parse_exact),
        thread_id: sys.execution.attr("ThreadID").and_then(Text::parse_exact),
        keywords: sys.keywords.into_string(),
        channel: sys.channel.into_string().unwrap_or_default(),
        computer: sys.computer.into_string().unwrap_or_default(),
        data,
    })
}

/// `2017-12-26T13:10:29.1368792Z` (any number of fractional digits) → nanoseconds.
pub fn parse_system_time(s: &str) -> Option<Timestamp> {
    crate::util::time::parse_fixed_datetime(s, b'T', true)
        .or_else(|| chrono::DateTime::parse_from_rfc3339(s.trim()).ok()?.timestamp_nanos_opt())
}

/// Sysmon's `UtcTime` (`2017-12-26 13:10:29.134`) → nanoseconds.
pub fn parse_utc_time(s: &str) -> Option<Timestamp> {
    crate::util::time::parse_fixed_datetime(s, b' ', false).or_else(|| {
        chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()?.and_utc().timestamp_nanos_opt()
    })
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Event", borrow)]
    event: Event<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "System", default, borrow)]
    system: Option<System<'a>>,
    #[serde(rename = "EventData", default)]
    event_data: Option<Flat>,
    #[serde(rename = "UserData", default)]
    user_data: Option<Flat>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct System<'a> {
    #[serde(rename = "Provider")]
    #[serde(borrow)]
    provider: Node<'a>,
    #[serde(rename = "EventID")]
    #[serde(borrow)]
    event_id: Node<'a>,
    #[serde(rename = "Version")]
    #[serde(borrow)]
    version: Node<'a>,
    #[serde(rename = "Level")]
    #[serde(borrow)]
    level: Node<'a>,
    #[serde(rename = "Task")]
    #[serde(borrow)]
    task: Node<'a>,
    #[serde(rename = "Opcode")]
    #[serde(borrow)]
    opcode: Node<'a>,
    #[serde(rename = "Keywords")]
    #[serde(borrow)]
    keywords: Node<'a>,
    #[serde(rename = "TimeCreated")]
    #[serde(borrow)]
    time_created: Node<'a>,
    #[serde(rename = "EventRecordID")]
    #[serde(borrow)]
    record_id: Node<'a>,
    #[serde(rename = "Execution")]
    #[serde(borrow)]
    execution: Node<'a>,
    #[serde(rename = "Channel")]
    #[serde(borrow)]
    channel: Node<'a>,
    #[serde(rename = "Computer")]
    #[serde(borrow)]
    computer: Node<'a>,
    #[serde(rename = "Security")]
    #[serde(borrow)]
    security: Node<'a>,
}

/// An XML element of `System` as the crate renders it: a scalar, or an object with `#text` and
/// `#attributes`. Anything else inside is ignored. Text and attributes are borrowed from the
/// record's JSON where they hold no escapes, and numbers kept as numbers, so reading the header
/// allocates almost nothing.
#[derive(Default)]
struct Node<'de> {
    text: Option<Text<'de>>,
    /// The attributes read ([`SYSTEM_ATTRIBUTES`]) with scalar values, in document order
    /// (attributes whose value is an object or a list have no text to look up).
    attrs: Attrs<'de>,
}

impl<'de> Node<'de> {
    fn attr(&self, name: &str) -> Option<&Text<'de>> {
        self.attrs.iter().find(|(k, _)| k.0 == name).map(|(_, v)| v)
    }
    fn attr_str(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.attr(name).map(Text::as_str)
    }
    fn number(&self) -> Option<u32> {
        self.text.as_ref().and_then(Text::parse)
    }
    fn into_string(self) -> Option<String> {
        self.text.map(Text::into_string)
    }
}

/// A scalar of the record's JSON: text (borrowed when unescaped) or a number.
enum Text<'de> {
    Str(std::borrow::Cow<'de, str>),
    U64(u64),
    I64(i64),
}

impl Text<'_> {
    fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Text::Str(s) => std::borrow::Cow::Borrowed(s.as_ref()),
            Text::U64(n) => std::borrow::Cow::Owned(itoa::Buffer::new().format(*n).to_owned()),
            Text::I64(n) => std::borrow::Cow::Owned(itoa::Buffer::new().format(*n).to_owned()),
        }
    }
    fn into_string(self) -> String {
        match self {
            Text::Str(s) => s.into_owned(),
            other => other.as_str().into_owned(),
        }
    }
    /// The value as a number of type `T`, from text (trimmed) or a number that fits.
    fn parse<T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>>(&self) -> Option<T> {
        match self {
            Text::Str(s) => s.trim().parse().ok(),
            _ => self.parse_exact(),
        }
    }
    /// Like [`Text::parse`], but text must be the number alone.
    fn parse_exact<T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>>(&self) -> Option<T> {
        match self {
            Text::Str(s) => s.parse().ok(),
            Text::U64(n) => T::try_from(*n).ok(),
            Text::I64(n) => T::try_from(*n).ok(),
        }
    }
}

/// A JSON scalar as [`Text`]; `None` for null, objects and lists (skipped).
struct ScalarText;

impl<'de> DeserializeSeed<'de> for ScalarText {
    type Value = Option<Text<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarText {
    type Value = Option<Text<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Text::Str(std::borrow::Cow::Borrowed(if v { "true" } else { "false" }))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Text::I64(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Text::U64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Text::Str(std::borrow::Cow::Owned(v.to_string()))))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Text::Str(std::borrow::Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Text::Str(std::borrow::Cow::Owned(v.to_owned()))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// An object key, borrowed from the JSON unless it holds escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Key<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The attributes of `System` elements that [`parse_record_json`] reads.
const SYSTEM_ATTRIBUTES: [&str; 6] = ["Name", "Qualifiers", "SystemTime", "UserID", "ProcessID", "ThreadID"];

/// The `#attributes` object of a `System` element: the attributes in [`SYSTEM_ATTRIBUTES`]
/// (at most two per element), held without a heap allocation.
struct AttrList<'de>(Attrs<'de>);

type Attrs<'de> = smallvec::SmallVec<[(Key<'de>, Text<'de>); 2]>;

impl<'de: 'a, 'a> Deserialize<'de> for AttrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<AttrList<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AttrList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("attributes")
            }
            fn visit_unit<E>(self) -> Result<AttrList<'a>, E> {
                Ok(AttrList(Attrs::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttrList<'a>, A::Error> {
                let mut attrs = Attrs::new();
                while let Some(key) = map.next_key::<Key<'a>>()? {
                    if !SYSTEM_ATTRIBUTES.contains(&key.0.as_ref()) {
                        map.next_value::<IgnoredAny>()?;
                    } else if let Some(value) = map.next_value_seed(ScalarText)? {
                        attrs.push((key, value));
                    }
                }
                Ok(AttrList(attrs))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Node<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Node<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Node<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an element")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'a>, A::Error> {
                let mut node = Node::default();
                while let Some(key) = map.next_key::<Key<'a>>()? {
                    match key.0.as_ref() {
                        "#text" => node.text = map.next_value::<Scalar>()?.0.map(|s| Text::Str(s.into())),
                        "#attributes" => node.attrs = map.next_value::<AttrList<'a>>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(node)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Node<'a>, A::Error> {
                ScalarText.visit_seq(seq).map(|_| Node::default())
            }
            fn visit_unit<E>(self) -> Result<Node<'a>, E> {
                Ok(Node::default())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node<'a>, E> {
                ScalarText.visit_bool(v).map(Node::of)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node<'a>, E> {
                ScalarText.visit_i64(v).map(Node::of)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node<'a>, E> {
                ScalarText.visit_u64(v).map(Node::of)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node<'a>, E> {
                ScalarText.visit_f64(v).map(Node::of)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Node<'a>, E> {
                ScalarText.visit_borrowed_str(v).map(Node::of)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node<'a>, E> {
                ScalarText.visit_str(v).map(Node::of)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de> Node<'de> {
    fn of(text: Option<Text<'de>>) -> Node<'de> {
        Node { text, attrs: Attrs::new() }
    }
}

/// Any JSON scalar as text; arrays of scalars joined with `, `; null and objects as absent.
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut flat = Pairs::new();
        FlatSeed { path: &mut String::new(), out: &mut flat }.deserialize(d)?;
        let text: Vec<&str> = flat.iter().map(|(_, v)| v).collect();
        Ok(Scalar((!text.is_empty()).then(|| text.join(", "))))
    }
}

/// A payload element flattened into `(path, text)` pairs.
struct Flat(Pairs);

impl<'de> Deserialize<'de> for Flat {
    /// The pairs are gathered in a buffer each thread keeps, then copied once at their final
    /// size: a payload's pairs would otherwise grow their buffers several times per record.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<(Pairs, String)> = std::cell::RefCell::default();
        }
        let (mut out, mut path) = SCRATCH.with_borrow_mut(std::mem::take);
        out.clear();
        path.clear();
        let walked = FlatSeed { path: &mut path, out: &mut out }.deserialize(d);
        let flat = Flat(out.clone());
        SCRATCH.with_borrow_mut(|s| *s = (out, path));
        walked.map(|()| flat)
    }
}

/// Walks one JSON value, appending its leaves under `path` (restored before returning, so one
/// buffer serves the whole walk).
struct FlatSeed<'p, 'o> {
    path: &'p mut String,
    out: &'o mut Pairs,
}

impl FlatSeed<'_, '_> {
    fn leaf(self, text: &str) {
        let key = if self.path.is_empty() { "#text" } else { self.path.as_str() };
        self.out.push(key, text);
    }

    fn integer(self, n: impl itoa::Integer) {
        self.leaf(itoa::Buffer::new().format(n));
    }

    /// Runs `f` with `parts` appended to the path.
    fn with_suffix<R>(&mut self, parts: &[&str], f: impl FnOnce(FlatSeed<'_, '_>) -> R) -> R {
        let len = self.path.len();
        for part in parts {
            self.path.push_str(part);
        }
        let r = f(FlatSeed { path: &mut *self.path, out: &mut *self.out });
        self.path.truncate(len);
        r
    }
}

impl<'de> DeserializeSeed<'de> for FlatSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlatSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("event data")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.integer(v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.integer(v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.leaf(&v.to_string());
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.leaf(v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if self.path.is_empty() {
            self.path.push_str("#text");
        }
        let mut i = 0usize;
        loop {
            let mut digits = itoa::Buffer::new();
            let more = self.with_suffix(&["[", digits.format(i), "]"], |seed| seq.next_element_seed(seed))?;
            if more.is_none() {
                break;
            }
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match key.as_ref() {
                // The element's own text keeps the element's path.
                "#text" => map.next_value_seed(FlatSeed { path: &mut *self.path, out: &mut *self.out })?,
                "#attributes" => map.next_value_seed(AttrSeed { path: &mut *self.path, out: &mut *self.out })?,
                name => {
                    let dot = if self.path.is_empty() { "" } else { "." };
                    self.with_suffix(&[dot, name], |seed| map.next_value_seed(seed))?
                }
            }
        }
        Ok(())
    }
}

/// The `#attributes` object of an element: each becomes `element@name` (or the bare name at
/// the payload root). The XML namespace declarations the crate keeps as attributes carry
/// nothing an analyst needs.
struct AttrSeed<'p, 'o> {
    path: &'p mut String,
    out: &'o mut Pairs,
}

impl<'de> DeserializeSeed<'de> for AttrSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttrSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("attributes")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key.starts_with("xmlns") {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let mut seed = FlatSeed { path: &mut *self.path, out: &mut *self.out };
            let at = if seed.path.is_empty() { "" } else { "@" };
            seed.with_suffix(&[at, &key], |seed| map.next_value_seed(seed))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSMON: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2017-12-26T13:10:29.1368792Z"}},"EventRecordID":1742,"Correlation":null,"Execution":{"#attributes":{"ProcessID":2284,"ThreadID":5252}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"DESKTOP-2KGM189","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"UtcTime":"2017-12-26 13:10:29.134","ProcessId":9112,"Image":"C:\\Windows\\SysWOW64\\PING.EXE","TerminalSessionId":0,"RuleName":null}}}"##;

    #[test]
    fn sysmon_header_and_payload() {
        let r = parse_record_json(SYSMON.as_bytes()).unwrap();
        assert_eq!(r.provider, "Microsoft-Windows-Sysmon");
        assert_eq!(r.event_id, 1);
        assert_eq!(r.version, Some(5));
        assert_eq!(r.record_id, Some(1742));
        assert_eq!(r.time_created, Some(1_514_293_829_136_879_200));
        assert_eq!(r.channel, "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(r.computer, "DESKTOP-2KGM189");
        assert_eq!(r.user_sid.as_deref(), Some("S-1-5-18"));
        assert_eq!(r.process_id, Some(2284));
        assert_eq!(r.get("Image"), Some("C:\\Windows\\SysWOW64\\PING.EXE"));
        assert_eq!(r.get("ProcessId"), Some("9112"));
        assert_eq!(r.get("TerminalSessionId"), Some("0"));
        assert_eq!(r.data.len(), 4, "a null field has no value to keep: {:?}", r.data);
        assert_eq!(parse_utc_time("2017-12-26 13:10:29.134"), Some(1_514_293_829_134_000_000));
    }

    #[test]
    fn qualifiers_unnamed_data_and_user_data() {
        let sys = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"EventLog"}},"EventID":{"#attributes":{"Qualifiers":32768},"#text":6009},"Channel":"System","Computer":"W","Security":null},"EventData":{"Data":{"#text":["10.00.","15063",""]},"Binary":"E107"}}}"##;
        let r = parse_record_json(sys.as_bytes()).unwrap();
        assert_eq!((r.event_id, r.qualifiers), (6009, Some(32768)));
        assert_eq!(
            r.data.iter().collect::<Vec<_>>(),
            vec![("Data[0]", "10.00."), ("Data[1]", "15063"), ("Data[2]", ""), ("Binary", "E107")]
        );
        let cleared = r##"{"Event":{"System":{"EventID":1102,"Channel":"Security","Computer":"W"},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2004/08/windows/eventlog"},"SubjectUserSid":"S-1-5-21-1","SubjectUserName":"admin"}}}}"##;
        let r = parse_record_json(cleared.as_bytes()).unwrap();
        assert_eq!(r.get("LogFileCleared.SubjectUserName"), Some("admin"));
        assert_eq!(r.data.len(), 2);
        let named =
            r##"{"Event":{"System":{"EventID":"7"},"EventData":{"Data":[{"#attributes":{"Name":"a"},"#text":"1"}]}}}"##;
        let r = parse_record_json(named.as_bytes()).unwrap();
        assert_eq!(r.event_id, 7);
        assert_eq!(r.data.iter().collect::<Vec<_>>(), vec![("Data[0]@Name", "a"), ("Data[0]", "1")]);
    }

    #[test]
    fn header_values_read_alike_as_numbers_text_or_escaped_text() {
        let escaped = r##"{"Event":{"System":{"Provider":{"#attributes":{"N\u0061me":"A\"B","Guid":{"x":1}}},"EventID":" 4624 ","Version":"2","EventRecordID":" 5","Execution":{"#attributes":{"ProcessID":"12","ThreadID":-3}},"Channel":"Sec\u0075rity","Computer":"W\\1","Keywords":7,"Security":{"#attributes":{"UserID":true}}}}}"##;
        let r = parse_record_json(escaped.as_bytes()).unwrap();
        assert_eq!(r.provider, "A\"B", "an escaped attribute name and value");
        assert_eq!((r.event_id, r.version), (4624, Some(2)), "element text is trimmed before it is read as a number");
        assert_eq!(r.record_id, None, "the record id must be the number alone");
        assert_eq!((r.process_id, r.thread_id), (Some(12), None), "a negative thread id is no id");
        assert_eq!((r.channel.as_str(), r.computer.as_str()), ("Security", "W\\1"));
        assert_eq!(r.keywords.as_deref(), Some("7"));
        assert_eq!(r.user_sid.as_deref(), Some("true"));
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        assert!(matches!(parse_record_json(b"{"), Err(WinEventError::Json(_))));
        assert!(matches!(parse_record_json(br##"{"Event":{"System":{}}}"##), Err(WinEventError::NoEventId)));
        let bad_utf8 = b"{\"Event\":{\"System\":{\"EventID\":1,\"Computer\":\"W\xff\"}}}";
        assert!(
            matches!(parse_record_json(bad_utf8), Err(WinEventError::Utf8(45))),
            "{:?}",
            parse_record_json(bad_utf8).err()
        );
        assert!(parse_record_json(br##"{"Event":{"System":{"EventID":[1,2]}}}"##).is_err());
        assert!(parse_record_json(br##"{"Event":{"EventData":[[[[]]]],"System":{"EventID":{"#text":"x"}}}}"##).is_err());
    }
}
