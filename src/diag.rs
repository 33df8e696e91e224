//! Typed diagnostics: every input problem, skipped record and limit hit, with file and offset.
//!
//! The rule of the project is that nothing read is lost silently: a record is either turned into
//! something or counted here with a reason. Sources and decoders push [`Diagnostic`]s into a
//! [`Diagnostics`] they own; `app` merges them (order-independent, so merging after parallel work
//! stays deterministic) and the report ends with a summary per file. The skip-or-fail policy
//! lives in one place: [`Diagnostics::input_problems`] counts what `--strict` turns into exit 2.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Detailed diagnostics kept per (file, kind); beyond this only the count grows, so a file with a
/// million bad records cannot exhaust memory through its own error list.
pub const MAX_DETAILED_PER_KIND: usize = 20;

/// What went wrong. Stable kebab-case names appear in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagKind {
    /// The file could not be opened or read.
    Unreadable,
    /// The file's magic bytes or header are not what its kind requires.
    BadHeader,
    /// The file ends inside a record.
    Truncated,
    /// A record's length fields are impossible (caplen beyond snaplen or a sane maximum, a block
    /// length that disagrees with itself).
    CorruptRecord,
    /// Bytes skipped while searching for the next valid record after corruption.
    Resynced,
    /// A timestamp field outside its valid range (clamped, not wrapped).
    BadTimestamp,
    /// Packets on a link type seam does not decode; counted, not decoded.
    UnsupportedLinkType,
    /// A packet whose headers could not be decoded.
    UndecodablePacket,
    /// A decompression stream (gzip) failed.
    Decompression,
    /// A documented limit was reached; data past it was truncated or not tracked.
    LimitReached,
    /// Records read and counted but outside what seam models (frames without IP).
    Skipped,
    /// A stored checksum disagrees with the bytes it covers. The bytes were read in full, so
    /// it is not an input problem for `--strict`: a log not closed cleanly (the common case)
    /// has a stale checksum on the chunk being written; elsewhere it means damage or editing.
    Checksum,
}

impl DiagKind {
    /// Whether this kind means evidence could not be read in full — what `--strict` fails on.
    pub fn is_input_problem(self) -> bool {
        !matches!(
            self,
            DiagKind::LimitReached
                | DiagKind::UnsupportedLinkType
                | DiagKind::UndecodablePacket
                | DiagKind::Skipped
                | DiagKind::Checksum
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DiagKind::Unreadable => "unreadable",
            DiagKind::BadHeader => "bad-header",
            DiagKind::Truncated => "truncated",
            DiagKind::CorruptRecord => "corrupt-record",
            DiagKind::Resynced => "resynced",
            DiagKind::BadTimestamp => "bad-timestamp",
            DiagKind::UnsupportedLinkType => "unsupported-link-type",
            DiagKind::UndecodablePacket => "undecodable-packet",
            DiagKind::Decompression => "decompression",
            DiagKind::LimitReached => "limit-reached",
            DiagKind::Skipped => "skipped",
            DiagKind::Checksum => "checksum",
        }
    }
}

impl fmt::Display for DiagKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// Byte offset in the (decompressed) file, when the problem has one.
    pub offset: Option<u64>,
    pub kind: DiagKind,
    pub detail: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(off) => write!(f, "{}: offset {}: {}: {}", self.file, off, self.kind, self.detail),
            None => write!(f, "{}: {}: {}", self.file, self.kind, self.detail),
        }
    }
}

/// Count of one kind of problem in one file, with the first few in detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindSummary {
    pub count: u64,
    pub examples: Vec<Diagnostic>,
}

/// All diagnostics of a run, keyed by file then kind (BTreeMaps keep output ordered).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    pub by_file: BTreeMap<String, BTreeMap<DiagKind, KindSummary>>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, file: &str, offset: Option<u64>, kind: DiagKind, detail: impl Into<String>) {
        self.push_counted(file, offset, kind, 1, detail);
    }

    /// Adds `n` occurrences described once (for per-packet problems counted in bulk).
    pub fn push_counted(&mut self, file: &str, offset: Option<u64>, kind: DiagKind, n: u64, detail: impl Into<String>) {
        if n == 0 {
            return;
        }
        let entry = self.by_file.entry(file.to_string()).or_default().entry(kind).or_default();
        entry.count += n;
        keep_smallest(&mut entry.examples, Diagnostic { file: file.to_string(), offset, kind, detail: detail.into() });
    }

    /// Merges another set; the result does not depend on merge order.
    pub fn merge(&mut self, other: Diagnostics) {
        for (file, kinds) in other.by_file {
            let mine = self.by_file.entry(file).or_default();
            for (kind, summary) in kinds {
                let entry = mine.entry(kind).or_default();
                entry.count += summary.count;
                for ex in summary.examples {
                    keep_smallest(&mut entry.examples, ex);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty()
    }

    /// Number of problems that mean evidence was not read in full.
    pub fn input_problems(&self) -> u64 {
        self.by_file
            .values()
            .flat_map(|kinds| kinds.iter())
            .filter(|(kind, _)| kind.is_input_problem())
            .map(|(_, s)| s.count)
            .sum()
    }

    pub fn count(&self, kind: DiagKind) -> u64 {
        self.by_file.values().filter_map(|k| k.get(&kind)).map(|s| s.count).sum()
    }

    pub fn for_file(&self, file: &str) -> impl Iterator<Item = (&DiagKind, &KindSummary)> {
        self.by_file.get(file).into_iter().flat_map(|k| k.iter())
    }

    /// Every detailed example, in file then kind order.
    pub fn examples(&self) -> impl Iterator<Item = &Diagnostic> {
        self.by_file.values().flat_map(|k| k.values()).flat_map(|s| s.examples.iter())
    }
}

/// Keeps the examples sorted and only the first [`MAX_DETAILED_PER_KIND`] (by file, offset):
/// the same examples survive whether problems were found in one pass or in parallel parts.
fn keep_smallest(examples: &mut Vec<Diagnostic>, d: Diagnostic) {
    if examples.len() >= MAX_DETAILED_PER_KIND && examples.last().is_some_and(|last| &d >= last) {
        return;
    }
    let at = examples.partition_point(|e| e <= &d);
    examples.insert(at, d);
    examples.truncate(MAX_DETAILED_PER_KIND);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_beyond_the_detail_cap() {
        let mut d = Diagnostics::new();
        for i in 0..(MAX_DETAILED_PER_KIND as u64 + 5) {
            d.push("a.pcap", Some(i), DiagKind::CorruptRecord, "bad");
        }
        let s = &d.by_file["a.pcap"][&DiagKind::CorruptRecord];
        assert_eq!(s.count, MAX_DETAILED_PER_KIND as u64 + 5);
        assert_eq!(s.examples.len(), MAX_DETAILED_PER_KIND);
    }

    #[test]
    fn merge_is_order_independent() {
        let mut a = Diagnostics::new();
        a.push("x", Some(1), DiagKind::Truncated, "t");
        let mut b = Diagnostics::new();
        b.push("x", Some(0), DiagKind::Truncated, "u");
        b.push("y", None, DiagKind::LimitReached, "l");
        let mut ab = a.clone();
        ab.merge(b.clone());
        let mut ba = b;
        ba.merge(a);
        assert_eq!(ab, ba);
        assert_eq!(ab.input_problems(), 2);
        assert_eq!(ab.count(DiagKind::LimitReached), 1);
    }

    #[test]
    fn display_names_file_and_offset() {
        let d = Diagnostic {
            file: "c.pcap".into(),
            offset: Some(24),
            kind: DiagKind::Truncated,
            detail: "record cut".into(),
        };
        assert_eq!(d.to_string(), "c.pcap: offset 24: truncated: record cut");
    }
}
