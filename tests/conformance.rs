//! Conformance: seam against peer tools that nobody on this project wrote.
//!
//! The corpus (`../shared/corpus` beside the repository, or `$SEAM_CORPUS`; see its MANIFEST.md)
//! holds public captures with other tools' expected output. Three tests run seam over them,
//! print matched/compared per field with the first mismatches, and fail when a rate drops below
//! its floor. Each skips, saying why, when the corpus is absent.
//!
//! 1. [`zeek_conformance`] — Zeek's btest baselines (`zeek/testing/btest/Baseline/`):
//!    - conn.log, joined on the unordered 5-tuple. Packets, payload bytes and IP bytes are compared
//!      as *totals per 5-tuple and physical direction* (summed over every row on both sides), so
//!      timeouts that split a connection differently do not count. The originator is compared
//!      where each side names one; `conn_state` and `history` where each side has exactly one row
//!      and both agree on the originator; `service` where the baseline knows it (see
//!      [`zeek::comparable_services`]).
//!    - dns.log query/qtype/rcode/answers/TTLs, http.log method/host/uri/status/body lengths and
//!      ssl.log version/cipher/server_name (ja4 where a log has it), paired with seam's events on
//!      the 5-tuple and then in order (DNS first by transaction id).
//!
//!    A trace is often used by several tests with different scripts; per (trace, log) the most
//!    complete baseline wins (most rows, then most services, then full over bare mode);
//!    baselines of a BPF-filtered run or a custom analyzer are never used.
//! 2. [`suricata_verify_conformance`] — `suricata-verify/tests/*/test.yaml`: every `filter` check
//!    on a `dns`, `http`, `tls` or `flow` event: seam must produce exactly `count` events that
//!    satisfy every match field that maps to a seam field (see [`suricata::map_field`]).
//! 3. [`tshark_conformance`] — packet counts against tshark 4.0.17's frame counts
//!    (`_oracle/tshark_frames.tsv`) for every capture tshark reads, and, when `tshark` is on PATH,
//!    live frame counts and DNS query names on a sample of captures.
//!
//! Every systematic difference between seam and a peer is documented where it is handled and
//! excluded with a printed count, never silently. seam runs once per capture and subcommand
//! (`--format json`, which carries the diagnostics beside the records).

use crate::support;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Mismatch examples kept per field.
const EXAMPLES_PER_FIELD: usize = 10;

// ---------------------------------------------------------------------------------------------
// Floors. Each is set just below what seam measured when it was written, never above what is
// defensible; the aim is ≥ 99 % wherever the semantics agree. A floor below that carries the
// reason. Raise a floor when seam improves.
// ---------------------------------------------------------------------------------------------

/// (field, minimum match rate in percent) for the Zeek comparison.
const ZEEK_FLOORS: &[(&str, f64)] = &[
    ("conn.present", 99.0),
    ("conn.originator", 99.0),
    ("conn.orig_pkts", 99.0),
    ("conn.resp_pkts", 99.0),
    ("conn.orig_bytes", 99.0),
    ("conn.resp_bytes", 99.0),
    ("conn.orig_ip_bytes", 99.0),
    ("conn.resp_ip_bytes", 99.0),
    ("conn.conn_state", 99.0),
    ("conn.history", 99.0),
    ("conn.service", 99.0),
    ("conn.icmp_ports", 99.0),
    ("dns.present", 99.0),
    ("dns.query", 99.0),
    ("dns.qtype", 99.0),
    ("dns.rcode", 99.0),
    // FIXME(seam): 41/42. LOC and RRSIG rdata are rendered `<unknown type=…>` (dns/loc-29-trunc.pcap).
    ("dns.answers", 97.0),
    ("dns.ttls", 99.0),
    ("http.present", 99.0),
    ("http.method", 99.0),
    ("http.host", 99.0),
    ("http.uri", 99.0),
    ("http.status_code", 99.0),
    ("http.request_body_len", 99.0),
    // FIXME(seam): 31/32. An HTTP/0.9 reply (no status line) is counted as an empty body
    // (mixed-vlan-mpls.pcap).
    ("http.response_body_len", 96.0),
    ("ssl.present", 99.0),
    ("ssl.version", 99.0),
    ("ssl.cipher", 99.0),
    ("ssl.server_name", 99.0),
];

/// (field, minimum match rate in percent) for the suricata-verify comparison.
const SURICATA_FLOORS: &[(&str, f64)] = &[
    // FIXME(seam): 182/184. NULL rdata is `<unknown type=10>` (dns-udp-null); one unsolicited
    // response is paired differently from Suricata (dns-udp-unsolicited-response).
    ("dns checks", 98.0),
    ("flow checks", 99.0),
    // FIXME(seam): 6/7. A request line without a version followed by headers is read as HTTP/0.9
    // and its headers dropped (http-not09: no user agent).
    ("http checks", 85.0),
    ("tls checks", 99.0),
];

/// (field, minimum match rate in percent) for the tshark comparison.
const TSHARK_ORACLE_FLOORS: &[(&str, f64)] = &[("frames (tshark_frames.tsv)", 99.5)];
const TSHARK_LIVE_FLOORS: &[(&str, f64)] = &[("frames (tshark)", 99.0), ("dns query names (tshark)", 99.0)];

// ---------------------------------------------------------------------------------------------
// The three tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn zeek_conformance() {
    let Some(corpus) = corpus_or_skip("zeek", zeek::INDEX) else { return };
    let mut report = Report::new("zeek");
    zeek::compare(&corpus, &mut report);
    report.finish(ZEEK_FLOORS);
}

#[test]
fn suricata_verify_conformance() {
    let Some(corpus) = corpus_or_skip("suricata-verify", suricata::INDEX) else { return };
    let mut report = Report::new("suricata-verify");
    suricata::compare(&corpus, &mut report);
    report.finish(SURICATA_FLOORS);
}

#[test]
fn tshark_conformance() {
    let Some(corpus) = corpus_or_skip("tshark", tshark::ORACLE) else { return };
    let mut report = Report::new("tshark");
    tshark::compare_oracle(&corpus, &mut report);
    let mut floors = TSHARK_ORACLE_FLOORS.to_vec();
    if tshark::installed() {
        tshark::compare_live(&corpus, &mut report);
        floors.extend_from_slice(TSHARK_LIVE_FLOORS);
    } else {
        report.note("tshark is not on PATH: live frame counts and DNS query names skipped");
    }
    report.finish(&floors);
}

/// The corpus, or `None` after printing why the test is skipped: the corpus or the `index` file
/// the test starts from (relative to the corpus) is absent.
pub(crate) fn corpus_or_skip(test: &str, index: &str) -> Option<PathBuf> {
    let corpus = support::corpus::dir().and_then(|dir| {
        let index = dir.join(index);
        if index.is_file() {
            Ok(dir)
        } else {
            Err(format!("{} not found", index.display()))
        }
    });
    match corpus {
        Ok(dir) => Some(dir),
        Err(why) => {
            println!("conformance ({test}): skipped: {why}");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Match-rate bookkeeping and the printed report.
// ---------------------------------------------------------------------------------------------

/// Matches of one compared field.
#[derive(Debug, Default)]
struct Tally {
    matched: u64,
    compared: u64,
    examples: Vec<String>,
}

impl Tally {
    fn percent(&self) -> f64 {
        if self.compared == 0 {
            100.0
        } else {
            100.0 * self.matched as f64 / self.compared as f64
        }
    }
}

/// Everything one test compared, excluded and noticed, in the order it happened.
pub(crate) struct Report {
    source: &'static str,
    fields: Vec<(String, Tally)>,
    /// Records or fields left out, by documented reason.
    not_compared: BTreeMap<String, u64>,
    notes: Vec<String>,
}

impl Report {
    pub(crate) fn new(source: &'static str) -> Self {
        Report { source, fields: Vec::new(), not_compared: BTreeMap::new(), notes: Vec::new() }
    }

    fn tally(&mut self, field: &str) -> &mut Tally {
        let at = match self.fields.iter().position(|(f, _)| f == field) {
            Some(at) => at,
            None => {
                self.fields.push((field.to_string(), Tally::default()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[at].1
    }

    /// Counts one comparison; `example` describes a mismatch and is only built when kept.
    pub(crate) fn record(&mut self, field: &str, ok: bool, example: impl FnOnce() -> String) {
        let t = self.tally(field);
        t.compared += 1;
        if ok {
            t.matched += 1;
        } else if t.examples.len() < EXAMPLES_PER_FIELD {
            t.examples.push(example());
        }
    }

    /// Compares the peer's value with seam's.
    pub(crate) fn compare<T: PartialEq + fmt::Debug>(
        &mut self,
        field: &str,
        peer: &T,
        seam: &T,
        at: &(impl fmt::Display + ?Sized),
    ) {
        let source = self.source;
        self.record(field, peer == seam, || format!("{at}: {source} {peer:?}, seam {seam:?}"));
    }

    pub(crate) fn skip(&mut self, reason: impl Into<String>, n: u64) {
        if n > 0 {
            *self.not_compared.entry(reason.into()).or_default() += n;
        }
    }

    /// Adds another report's tallies, exclusions and notes (one report per file, one overall).
    pub(crate) fn merge(&mut self, other: Report) {
        for (field, t) in other.fields {
            let mine = self.tally(&field);
            mine.matched += t.matched;
            mine.compared += t.compared;
            let room = EXAMPLES_PER_FIELD.saturating_sub(mine.examples.len());
            mine.examples.extend(t.examples.into_iter().take(room));
        }
        for (reason, n) in other.not_compared {
            *self.not_compared.entry(reason).or_default() += n;
        }
        self.notes.extend(other.notes);
    }

    /// One line: each field's matched/compared and rate, and how many were left out.
    pub(crate) fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .fields
            .iter()
            .map(|(f, t)| format!("{f} {}/{} ({:.1}%)", t.matched, t.compared, t.percent()))
            .collect();
        let skipped: u64 = self.not_compared.values().sum();
        if skipped > 0 {
            parts.push(format!("{skipped} documented differences"));
        }
        parts.join(", ")
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub(crate) fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "\n=== conformance: seam vs {} ===", self.source);
        let _ = writeln!(out, "{:<34} {:>17} {:>8}", "field", "matched/compared", "rate");
        for (field, t) in &self.fields {
            let ratio = format!("{}/{}", t.matched, t.compared);
            let _ = writeln!(out, "{field:<34} {ratio:>17} {:>7.2}%", t.percent());
        }
        if !self.not_compared.is_empty() {
            let _ = writeln!(out, "not compared (documented differences and unusable input):");
            for (reason, n) in &self.not_compared {
                let _ = writeln!(out, "  {n:>6}  {reason}");
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        for (field, t) in self.fields.iter().filter(|(_, t)| !t.examples.is_empty()) {
            let _ = writeln!(out, "mismatches in {field} (first {} of {}):", t.examples.len(), t.compared - t.matched);
            for e in &t.examples {
                let _ = writeln!(out, "  {e}");
            }
        }
        out
    }

    /// Prints the report, then fails on every field below its floor (or never compared).
    pub(crate) fn finish(&self, floors: &[(&str, f64)]) {
        print!("{}", self.render());
        let mut failures = Vec::new();
        for (field, floor) in floors {
            match self.fields.iter().find(|(f, _)| f == field) {
                None => failures.push(format!("{field}: nothing compared")),
                Some((_, t)) if t.compared == 0 => failures.push(format!("{field}: nothing compared")),
                Some((_, t)) if t.percent() < *floor => {
                    failures.push(format!("{field}: {:.2}% < floor {floor}%", t.percent()))
                }
                Some(_) => {}
            }
        }
        assert!(failures.is_empty(), "seam vs {} below floor:\n  {}", self.source, failures.join("\n  "));
    }
}

// ---------------------------------------------------------------------------------------------
// Running seam and reading its JSON.
// ---------------------------------------------------------------------------------------------

/// What seam reported for one capture.
#[derive(Debug, Default)]
struct SeamRun {
    flows: Vec<Value>,
    /// Timeline events of kind dns, http and tls.
    events: Vec<Value>,
    /// Kinds of the diagnostics seam reported (`unsupported-link-type`, …).
    diagnostics: BTreeSet<String>,
    /// Why a subcommand's output could not be used.
    failure: Option<String>,
}

impl SeamRun {
    fn events_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| str_at(e, "event.kind") == Some(kind))
    }
}

/// Runs `seam flows` (with `flow_args`) and `seam timeline --kind dns,http,tls` on one capture.
fn run_seam(capture: &Path, flow_args: &[&str]) -> SeamRun {
    let mut run = SeamRun::default();
    let args: Vec<&str> = ["flows", "-q", "--format", "json"].iter().chain(flow_args).copied().collect();
    match seam_json(&args, capture) {
        Ok(doc) => {
            run.flows = array_at(&doc, "flows");
            run.diagnostics.extend(diagnostic_kinds(&doc));
        }
        Err(e) => run.failure = Some(format!("seam flows: {e}")),
    }
    match seam_json(&["timeline", "-q", "--kind", "dns,http,tls", "--format", "json"], capture) {
        Ok(doc) => run.events = array_at(&doc, "events"),
        Err(e) => run.failure = Some(format!("seam timeline: {e}")),
    }
    run
}

/// Runs seam with `args` on `capture` and parses its one JSON document.
fn seam_json(args: &[&str], capture: &Path) -> Result<Value, String> {
    let mut cmd = assert_cmd::Command::cargo_bin("seam").map_err(|e| e.to_string())?;
    let out = cmd.args(args).arg(capture).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("exit {:?}: {}", out.status.code(), stderr.lines().next().unwrap_or("")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("output is not JSON: {e}"))
}

/// `{"diagnostics": {file: {kind: …}}}` → the kinds.
fn diagnostic_kinds(doc: &Value) -> Vec<String> {
    let Some(files) = doc.get("diagnostics").and_then(Value::as_object) else { return Vec::new() };
    files.values().filter_map(Value::as_object).flat_map(|kinds| kinds.keys().cloned()).collect()
}

/// Runs seam on every capture, a few at a time; the result is keyed like the input.
fn run_all(captures: &BTreeSet<PathBuf>, flow_args: &[&str]) -> BTreeMap<PathBuf, SeamRun> {
    let list: Vec<&PathBuf> = captures.iter().collect();
    let runs = par_map(&list, |p| run_seam(p, flow_args));
    list.into_iter().cloned().zip(runs).collect()
}

/// `f` over `items` on a few threads, results in input order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().expect("no panics while holding the lock")[i] = Some(r);
            });
        }
    });
    results.into_inner().expect("threads joined").into_iter().flatten().collect()
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

fn str_at<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn u64_at(v: &Value, path: &str) -> Option<u64> {
    at(v, path).and_then(Value::as_u64)
}

fn array_at(v: &Value, path: &str) -> Vec<Value> {
    at(v, path).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Array of strings (numbers rendered as text) at `path`; empty when absent.
fn strings_at(v: &Value, path: &str) -> Vec<String> {
    let Some(items) = at(v, path).and_then(Value::as_array) else { return Vec::new() };
    items.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect()
}

// ---------------------------------------------------------------------------------------------
// Flow identity shared by the comparisons.
// ---------------------------------------------------------------------------------------------

/// One side of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Endpoint {
    ip: IpAddr,
    port: u16,
}

impl Endpoint {
    fn parse(ip: &str, port: u64) -> Option<Self> {
        Some(Endpoint { ip: ip.parse().ok()?, port: u16::try_from(port).ok()? })
    }

    /// `source` or `destination` of a seam record.
    fn of_seam(v: &Value, side: &str) -> Option<Self> {
        Endpoint::parse(str_at(v, &format!("{side}.ip"))?, u64_at(v, &format!("{side}.port"))?)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// A connection's identity regardless of who opened it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PairKey {
    transport: String,
    low: Endpoint,
    high: Endpoint,
}

impl PairKey {
    fn new(transport: &str, a: Endpoint, b: Endpoint) -> Self {
        let transport = normalize_transport(transport);
        if a <= b {
            PairKey { transport, low: a, high: b }
        } else {
            PairKey { transport, low: b, high: a }
        }
    }

    /// The key without its transport, for logs that do not name it (http.log, ssl.log).
    fn any_transport(&self) -> Self {
        PairKey { transport: String::new(), ..self.clone() }
    }

    /// The key of a seam flow or event (`source` is the originator).
    fn of_seam(v: &Value) -> Option<Self> {
        let transport = str_at(v, "network.transport")?;
        Some(PairKey::new(transport, Endpoint::of_seam(v, "source")?, Endpoint::of_seam(v, "destination")?))
    }
}

impl fmt::Display for PairKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = if self.transport.is_empty() { "" } else { " " };
        write!(f, "{}{transport}{} <-> {}", self.transport, self.low, self.high)
    }
}

/// seam names ICMPv6 by its IANA keyword (`ipv6-icmp`, as ECS does); Zeek logs `icmp` for both
/// versions.
fn normalize_transport(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "ipv6-icmp" | "icmp6" | "icmpv6" => "icmp".to_string(),
        other => other.to_string(),
    }
}

/// Splits `items` into groups by key, keeping each group in input order.
fn group_by<T>(items: Vec<T>, key: impl Fn(&T) -> PairKey) -> BTreeMap<PairKey, Vec<T>> {
    let mut groups: BTreeMap<PairKey, Vec<T>> = BTreeMap::new();
    for item in items {
        groups.entry(key(&item)).or_default().push(item);
    }
    groups
}

/// Pairs each peer record with a seam record of the same group: first those `same` says are the
/// same transaction, then the rest in order. Returns, per peer record, the seam index.
fn pair_in_order<P, S>(peer: &[P], seam: &[S], same: impl Fn(&P, &S) -> bool) -> Vec<Option<usize>> {
    let mut used = vec![false; seam.len()];
    let mut pairs: Vec<Option<usize>> = vec![None; peer.len()];
    for (p, pair) in peer.iter().zip(pairs.iter_mut()) {
        if let Some(j) = (0..seam.len()).find(|&j| !used[j] && same(p, &seam[j])) {
            used[j] = true;
            *pair = Some(j);
        }
    }
    for pair in pairs.iter_mut().filter(|p| p.is_none()) {
        if let Some(j) = used.iter().position(|u| !u) {
            used[j] = true;
            *pair = Some(j);
        }
    }
    pairs
}

/// Reads a file as text, replacing invalid UTF-8; `None` when unreadable.
fn read_text(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Rows of a TSV file with a header line, as maps; lines with the wrong field count are
/// counted in `malformed`.
fn read_tsv(path: &Path, malformed: &mut u64) -> Vec<BTreeMap<String, String>> {
    let Some(text) = read_text(path) else { return Vec::new() };
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let names: Vec<&str> = header.split('\t').collect();
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() == names.len() {
            rows.push(names.iter().zip(cells).map(|(n, c)| (n.to_string(), c.to_string())).collect());
        } else {
            *malformed += 1;
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// 1. Zeek.
// ---------------------------------------------------------------------------------------------

mod zeek {
    //! Zeek btest baselines against seam's flows and events.
    //!
    //! Systematic differences, each handled where noted and counted when excluded:
    //! - Zeek leaves `orig_bytes`/`resp_bytes` unset for connections of zero duration
    //!   (`conn/main.zeek` sets them only when `duration > 0`): those byte counts are not compared.
    //! - seam does not decapsulate tunnels (VXLAN, GRE, Teredo, GTP, IP-in-IP): it reports the
    //!   outer flow, which is compared; Zeek's inner rows (`tunnel_parents` set) and the
    //!   application rows on their 5-tuples are excluded.
    //! - Link types seam reports as unsupported (a diagnostic, not silence; 802.11 radiotap,
    //!   NFLOG): Zeek rows of such a trace that seam has no record for are excluded.
    //! - ICMP: Zeek's "ports" are the type and the counterpart type (the code when there is
    //!   none), so ICMP joins on the address pair and the ports are a field of their own.
    //! - `service`: seam recognises dns, http, ssl, ssh and smb; other Zeek services are ignored,
    //!   and `ssl` inside QUIC too (seam does not decode QUIC). A bare-mode (`-b`) baseline only
    //!   knows the analyzers its script loaded, so there `service` is compared only where Zeek
    //!   logged one. Zeek logged none for connections it saw start mid-stream, which seam
    //!   analyses: not compared either.
    //! - DNS: Zeek lowercases query names (compared case-insensitively), names QTYPE 255 `*`
    //!   (seam `ANY`), takes QTYPE only from a query (not compared when Zeek has none), logs the
    //!   first answer's name as the query of a message without a question; both decode NetBIOS
    //!   names on port 137. TTLs are intervals in Zeek (`124.000000`)
    //!   and integers in seam: compared as numbers. The dynamic-update test's script renders
    //!   UPDATE messages its own way: only their rcode is compared.
    //! - HTTP: Zeek logs the URI with `%XX` escapes decoded (seam's `url.original` is decoded
    //!   before comparing), counts body lengths after content decoding (not compared where seam
    //!   found a compressed body), and logs status 0 for a reply without a status line (seam
    //!   none). http.log and ssl.log name no transport: their rows join on the endpoints.
    //! - TLS inside QUIC (a non-DTLS ssl.log row on a 5-tuple seam saw only as UDP): excluded.
    //! - Checksums: seam never verifies them (like `zeek -C`). Baselines made without `-C` drop
    //!   packets with bad checksums; their mismatch examples are marked `[checksums verified]`.
    //! - Baselines are logs of btests: a test's directory may hold logs of traces absent from the
    //!   corpus (attributed by 5-tuple, see [`attribute`]), and tests that load a custom Spicy
    //!   analyzer or plugin, or filter the trace with BPF, are not used.

    use super::*;

    pub const INDEX: &str = "zeek/INDEX.tsv";
    const TRACES: &str = "zeek/testing/btest/Traces";
    const BTEST: &str = "zeek/testing/btest";

    /// The analyzers whose service names seam can report.
    const SEAM_SERVICES: &[&str] = &["dns", "http", "smb", "ssh", "ssl"];

    pub fn compare(corpus: &Path, report: &mut Report) {
        let tests = read_index(corpus, report);
        let candidates = load_baselines(corpus, &tests, report);
        let traces: BTreeSet<PathBuf> =
            candidates.iter().flat_map(|c| c.traces.iter()).map(|t| corpus.join(TRACES).join(t)).collect();
        let runs = run_all(&traces, &[]);
        for (path, run) in &runs {
            if let Some(why) = &run.failure {
                report.note(format!("{}: {why}", path.display()));
            }
        }
        let run_of = |trace: &str| runs.get(&corpus.join(TRACES).join(trace));
        let tunnels = tunnel_keys(&candidates);
        let attributed = attribute(candidates, &run_of, &tunnels, report);
        let chosen = choose(attributed, report);
        for ((trace, kind), baseline) in &chosen {
            let Some(run) = run_of(trace) else { continue };
            report.note(format!(
                "{trace}: {} {} ({} rows{}{})",
                kind.name(),
                baseline.label(),
                baseline.table.rows.len(),
                if baseline.mode.bare { ", bare" } else { "" },
                if baseline.mode.ignore_checksums { ", -C" } else { "" },
            ));
            let ctx = Ctx { trace, baseline, run, tunnels: tunnels.get(trace.as_str()) };
            match kind {
                Kind::Conn => compare_conns(report, &ctx),
                Kind::Dns => compare_dns(report, &ctx),
                Kind::Http => compare_http(report, &ctx),
                Kind::Ssl => compare_ssl(report, &ctx),
            }
        }
    }

    // --- Which baseline belongs to which trace -----------------------------------------------

    /// One btest: its baseline directory, the traces it reads, its command lines.
    #[derive(Debug, Default)]
    pub struct Test {
        dir: String,
        traces: BTreeSet<String>,
        command: String,
    }

    /// How Zeek was run, as far as it changes the logs.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Mode {
        /// `-b`: only the analyzers the test's scripts load wrote logs and set `service`.
        bare: bool,
        /// `-C`: checksums not verified (seam never verifies them).
        ignore_checksums: bool,
        /// A BPF filter (`-f`, `restricted_filter`): the logs cover part of the trace.
        filtered: bool,
        /// A Spicy analyzer (`.hlto`) or plugin built for the test: its logs show what that
        /// analyzer made of the traffic (DNS read as HTTP, …), not what Zeek ships.
        custom: bool,
    }

    impl Mode {
        fn of(command: &str) -> Self {
            let flags: Vec<&str> = command
                .split_whitespace()
                .filter(|w| w.starts_with('-') && !w.starts_with("--") && w.len() > 1)
                .map(|w| &w[1..])
                .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
                .collect();
            Mode {
                bare: flags.iter().any(|f| f.contains('b')),
                ignore_checksums: flags.iter().any(|f| f.contains('C')),
                filtered: flags.iter().any(|f| f.contains('f')) || command.contains("restricted_filter"),
                custom: command.contains(".hlto") || command.contains("ZEEK_PLUGIN"),
            }
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Kind {
        Conn,
        Dns,
        Http,
        Ssl,
    }

    impl Kind {
        fn of(path: &str) -> Option<Self> {
            match path {
                "conn" => Some(Kind::Conn),
                "dns" => Some(Kind::Dns),
                "http" => Some(Kind::Http),
                "ssl" => Some(Kind::Ssl),
                _ => None,
            }
        }

        fn name(self) -> &'static str {
            match self {
                Kind::Conn => "conn",
                Kind::Dns => "dns",
                Kind::Http => "http",
                Kind::Ssl => "ssl",
            }
        }

        /// Columns a table of this kind needs to be joined and compared.
        fn required(self) -> &'static [&'static str] {
            match self {
                Kind::Conn => &[
                    "id.orig_h",
                    "id.orig_p",
                    "id.resp_h",
                    "id.resp_p",
                    "proto",
                    "orig_pkts",
                    "resp_pkts",
                    "orig_ip_bytes",
                    "resp_ip_bytes",
                    "conn_state",
                ],
                Kind::Dns => &["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query"],
                Kind::Http => &["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "method", "host", "uri"],
                Kind::Ssl => &["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "server_name"],
            }
        }
    }

    /// One log table of a baseline, with the traces it may come from.
    pub struct Baseline {
        dir: String,
        file: String,
        kind: Kind,
        mode: Mode,
        table: Table,
        traces: BTreeSet<String>,
    }

    impl Baseline {
        fn label(&self) -> String {
            format!("{}/{}", self.dir.trim_start_matches("Baseline/"), self.file)
        }
    }

    /// INDEX.tsv → one [`Test`] per baseline directory.
    fn read_index(corpus: &Path, report: &mut Report) -> BTreeMap<String, Test> {
        let mut malformed = 0;
        let rows = read_tsv(&corpus.join(INDEX), &mut malformed);
        report.skip("malformed lines in zeek/INDEX.tsv", malformed);
        let mut tests: BTreeMap<String, Test> = BTreeMap::new();
        for row in rows {
            let (Some(dir), Some(trace), Some(command)) =
                (row.get("baseline_dir"), row.get("trace"), row.get("test_exec"))
            else {
                continue;
            };
            if dir == "-" {
                continue;
            }
            let test = tests.entry(dir.clone()).or_insert_with(|| Test { dir: dir.clone(), ..Test::default() });
            test.traces.insert(trace.clone());
            test.command.push_str(command);
            test.command.push('\n');
        }
        tests
    }

    /// Every conn/dns/http/ssl table in the baselines that carries the columns to compare.
    fn load_baselines(corpus: &Path, tests: &BTreeMap<String, Test>, report: &mut Report) -> Vec<Baseline> {
        let mut out = Vec::new();
        for test in tests.values() {
            let traces: BTreeSet<String> =
                test.traces.iter().filter(|t| corpus.join(TRACES).join(t).is_file()).cloned().collect();
            if traces.is_empty() {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(corpus.join(BTEST).join(&test.dir)) else { continue };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for path in files {
                let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                let Some(text) = read_text(&path) else { continue };
                for table in Table::parse_all(&text, &file) {
                    let Some(kind) = Kind::of(&table.path) else { continue };
                    if !kind.required().iter().all(|c| table.has(c)) {
                        continue;
                    }
                    report.skip("malformed lines in the Zeek logs compared", table.malformed);
                    out.push(Baseline {
                        dir: test.dir.clone(),
                        file: file.clone(),
                        kind,
                        mode: Mode::of(&test.command),
                        table,
                        traces: traces.clone(),
                    });
                }
            }
        }
        out
    }

    /// Settles each table on the trace of its test that explains most of its rows: rows whose
    /// address pair seam has a flow for, or that Zeek saw inside a tunnel of that trace.
    fn attribute<'r>(
        candidates: Vec<Baseline>,
        run_of: &dyn Fn(&str) -> Option<&'r SeamRun>,
        tunnels: &BTreeMap<String, BTreeSet<PairKey>>,
        report: &mut Report,
    ) -> Vec<(String, Baseline)> {
        let mut out = Vec::new();
        for b in candidates {
            let score = |trace: &str| {
                let seam: BTreeSet<(IpAddr, IpAddr)> =
                    run_of(trace).map(|r| r.flows.iter().filter_map(address_pair).collect()).unwrap_or_default();
                let tunnelled = tunnels.get(trace);
                b.table
                    .rows()
                    .filter_map(|r| r.pair_key())
                    .filter(|k| {
                        seam.contains(&(k.low.ip, k.high.ip)) || tunnelled.is_some_and(|t| t.contains(&tunnel_key(k)))
                    })
                    .count()
            };
            let best = b.traces.iter().map(|t| (score(t), t.clone())).max();
            // A test's directory also holds logs of traces absent from the corpus: a table none
            // of whose rows a trace explains belongs to one of those, unless seam decoded nothing
            // of the test's only trace (then every row is a miss to count).
            let only = (b.traces.len() == 1).then(|| b.traces.iter().next().cloned()).flatten();
            let decoded_nothing = only.as_deref().and_then(run_of).is_some_and(|r| r.flows.is_empty());
            match (best, only) {
                (Some((n, trace)), _) if n > 0 => out.push((trace, b)),
                (_, Some(trace)) if decoded_nothing => out.push((trace, b)),
                _ => report.skip(
                    "baseline rows no trace of their test explains (logs of traces absent from the corpus)",
                    b.table.rows.len() as u64,
                ),
            }
        }
        out
    }

    /// The sorted address pair of a seam flow.
    fn address_pair(flow: &Value) -> Option<(IpAddr, IpAddr)> {
        let k = PairKey::of_seam(flow)?;
        Some((k.low.ip, k.high.ip))
    }

    /// A 5-tuple as tunnel membership is looked up: without transport, ICMP without ports.
    fn tunnel_key(k: &PairKey) -> PairKey {
        conn_key(&k.transport, k.low, k.high).0.any_transport()
    }

    /// 5-tuples Zeek saw inside a tunnel (`tunnel_parents` set in any conn table), for each trace
    /// of the table's test.
    fn tunnel_keys(candidates: &[Baseline]) -> BTreeMap<String, BTreeSet<PairKey>> {
        let mut out: BTreeMap<String, BTreeSet<PairKey>> = BTreeMap::new();
        for b in candidates.iter().filter(|b| b.kind == Kind::Conn) {
            for row in b.table.rows().filter(|r| !r.list("tunnel_parents").is_empty()) {
                let Some(key) = row.pair_key() else { continue };
                for trace in &b.traces {
                    out.entry(trace.clone()).or_default().insert(tunnel_key(&key));
                }
            }
        }
        out
    }

    /// Per (trace, kind) the most complete baseline: most rows, then most services logged, then
    /// full over bare mode. Baselines of filtered runs or custom analyzers are never chosen.
    fn choose(attributed: Vec<(String, Baseline)>, report: &mut Report) -> BTreeMap<(String, Kind), Baseline> {
        let mut chosen: BTreeMap<(String, Kind), Baseline> = BTreeMap::new();
        for (trace, b) in attributed {
            if b.mode.filtered || b.mode.custom {
                continue;
            }
            let services = |b: &Baseline| b.table.rows().filter(|r| !r.list("service").is_empty()).count();
            let rank = |b: &Baseline| (b.table.rows.len(), services(b), !b.mode.bare, std::cmp::Reverse(b.label()));
            let key = (trace, b.kind);
            match chosen.get(&key) {
                Some(current) if rank(current) >= rank(&b) => {}
                _ => {
                    chosen.insert(key, b);
                }
            }
        }
        if chosen.is_empty() {
            report.note("no usable Zeek baseline found");
        }
        chosen
    }

    // --- Zeek TSV logs -------------------------------------------------------------------------

    /// One `#fields` block of a Zeek TSV log, or a zeek-cut table whose first line names the
    /// columns.
    #[derive(Debug)]
    pub struct Table {
        path: String,
        fields: Vec<String>,
        rows: Vec<Vec<String>>,
        set_separator: String,
        unset: String,
        empty: String,
        /// Lines whose field count does not match the header.
        malformed: u64,
    }

    impl Table {
        /// Every table in a log file (btest concatenates the logs of several runs). The log's
        /// kind comes from `#path`, else from the file name.
        fn parse_all(text: &str, file: &str) -> Vec<Table> {
            let mut tables = Vec::new();
            let mut separator = "\t".to_string();
            let mut set_separator = ",".to_string();
            let mut unset = "-".to_string();
            let mut empty = "(empty)".to_string();
            let mut path = file.split(['.', '-']).next().unwrap_or("").to_string();
            let mut current: Option<Table> = None;
            for line in text.lines() {
                if line.starts_with("###") || line.is_empty() {
                    continue;
                }
                if let Some(directive) = line.strip_prefix('#') {
                    let (key, value) = directive.split_once([' ', '\t']).unwrap_or((directive, ""));
                    match key {
                        "separator" => separator = unescape(value),
                        "set_separator" => set_separator = unescape(value),
                        "unset_field" => unset = value.to_string(),
                        "empty_field" => empty = value.to_string(),
                        "path" => path = value.to_string(),
                        "fields" => {
                            tables.extend(current.take());
                            current = Some(Table {
                                path: path.clone(),
                                fields: value.split(separator.as_str()).map(str::to_string).collect(),
                                rows: Vec::new(),
                                set_separator: set_separator.clone(),
                                unset: unset.clone(),
                                empty: empty.clone(),
                                malformed: 0,
                            });
                        }
                        _ => {}
                    }
                    continue;
                }
                let cells: Vec<String> = line.split(separator.as_str()).map(str::to_string).collect();
                match current.as_mut() {
                    Some(t) if cells.len() == t.fields.len() => t.rows.push(cells),
                    Some(t) => t.malformed += 1,
                    None => {
                        current = Some(Table {
                            path: path.clone(),
                            fields: cells,
                            rows: Vec::new(),
                            set_separator: set_separator.clone(),
                            unset: unset.clone(),
                            empty: empty.clone(),
                            malformed: 0,
                        })
                    }
                }
            }
            tables.extend(current);
            tables
        }

        fn has(&self, column: &str) -> bool {
            self.fields.iter().any(|f| f == column)
        }

        fn rows(&self) -> impl Iterator<Item = Row<'_>> {
            self.rows.iter().map(move |cells| Row { table: self, cells })
        }
    }

    /// Zeek's ASCII writer escapes a byte as `\xHH` and a backslash as `\\`.
    pub fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let hex = bytes.get(i + 2..i + 4).and_then(|h| std::str::from_utf8(h).ok());
            match (b, bytes.get(i + 1), hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'\\', Some(b'\\'), _) => {
                    out.push(b'\\');
                    i += 2;
                }
                (b'\\', Some(b'x'), Some(byte)) => {
                    out.push(byte);
                    i += 4;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// One row of a [`Table`].
    #[derive(Clone, Copy)]
    pub struct Row<'a> {
        table: &'a Table,
        cells: &'a [String],
    }

    impl<'a> Row<'a> {
        /// The raw cell; `None` when the column is absent or the value unset.
        fn raw(&self, column: &str) -> Option<&'a str> {
            let i = self.table.fields.iter().position(|f| f == column)?;
            let cell = self.cells.get(i)?.as_str();
            (cell != self.table.unset).then_some(cell)
        }

        fn text(&self, column: &str) -> Option<String> {
            self.raw(column).map(|c| if c == self.table.empty { String::new() } else { unescape(c) })
        }

        fn count(&self, column: &str) -> Option<u64> {
            self.raw(column)?.parse().ok()
        }

        /// A set or vector column; unset and empty are both `[]`.
        fn list(&self, column: &str) -> Vec<String> {
            match self.raw(column) {
                None => Vec::new(),
                Some(c) if c == self.table.empty => Vec::new(),
                Some(c) => c.split(self.table.set_separator.as_str()).map(unescape).collect(),
            }
        }

        fn orig(&self) -> Option<Endpoint> {
            Endpoint::parse(self.raw("id.orig_h")?, self.count("id.orig_p")?)
        }

        fn resp(&self) -> Option<Endpoint> {
            Endpoint::parse(self.raw("id.resp_h")?, self.count("id.resp_p")?)
        }

        /// The row's 5-tuple; http.log and ssl.log have no `proto` (their keys are compared
        /// without transport).
        fn pair_key(&self) -> Option<PairKey> {
            Some(PairKey::new(self.raw("proto").unwrap_or(""), self.orig()?, self.resp()?))
        }
    }

    // --- Comparison context --------------------------------------------------------------------

    struct Ctx<'a> {
        trace: &'a str,
        baseline: &'a Baseline,
        run: &'a SeamRun,
        tunnels: Option<&'a BTreeSet<PairKey>>,
    }

    impl Ctx<'_> {
        fn inside_tunnel(&self, key: &PairKey) -> bool {
            self.tunnels.is_some_and(|t| t.contains(&tunnel_key(key)))
        }

        /// Where a mismatch was found, for the examples.
        fn at(&self, what: &dyn fmt::Display) -> String {
            let checksums = if self.baseline.mode.ignore_checksums { "" } else { " [checksums verified]" };
            format!("{} [{}]{checksums} {what}", self.trace, self.baseline.label())
        }

        /// Rows of the baseline converted by `convert`, minus those inside tunnels; rows that do
        /// not convert are counted as malformed.
        fn rows<T>(&self, report: &mut Report, convert: impl Fn(Row<'_>) -> Option<(PairKey, T)>) -> Vec<(PairKey, T)> {
            let kind = self.baseline.kind.name();
            let mut out = Vec::new();
            for row in self.baseline.table.rows() {
                match convert(row) {
                    Some((key, _)) if self.inside_tunnel(&key) => {
                        report.skip(format!("{kind}: Zeek rows inside a tunnel (seam reports the outer flow)"), 1)
                    }
                    Some(item) => out.push(item),
                    None => report.skip(format!("{kind}: Zeek rows with unreadable values"), 1),
                }
            }
            out
        }

        /// Whether seam said it cannot decode this trace's link type.
        fn link_unsupported(&self) -> bool {
            self.run.diagnostics.contains("unsupported-link-type")
        }
    }

    // --- conn.log ------------------------------------------------------------------------------

    /// A connection as conn.log or seam's flows report it, reduced to what is compared.
    #[derive(Debug, Clone)]
    struct Conn {
        orig: Endpoint,
        /// ICMP type and counterpart type (Zeek) or code; `None` for other transports.
        icmp: Option<(u16, u16)>,
        orig_pkts: u64,
        resp_pkts: u64,
        /// `None` where Zeek leaves the count unset (zero-duration connections).
        orig_bytes: Option<u64>,
        resp_bytes: Option<u64>,
        orig_ip_bytes: u64,
        resp_ip_bytes: u64,
        conn_state: String,
        history: String,
        services: BTreeSet<String>,
    }

    /// The key of a connection. ICMP "ports" are the type and, in Zeek, the counterpart type (the
    /// code when there is none), so ICMP is keyed by address pair alone and the ports are
    /// compared as a field.
    fn conn_key(transport: &str, orig: Endpoint, resp: Endpoint) -> (PairKey, Endpoint, Option<(u16, u16)>) {
        if normalize_transport(transport) != "icmp" {
            return (PairKey::new(transport, orig, resp), orig, None);
        }
        let (o, r) = (Endpoint { port: 0, ..orig }, Endpoint { port: 0, ..resp });
        (PairKey::new(transport, o, r), o, Some((orig.port, resp.port)))
    }

    fn zeek_conn(row: Row<'_>) -> Option<(PairKey, Conn)> {
        let (key, orig, icmp) = conn_key(row.raw("proto")?, row.orig()?, row.resp()?);
        let conn = Conn {
            orig,
            icmp,
            orig_pkts: row.count("orig_pkts")?,
            resp_pkts: row.count("resp_pkts")?,
            orig_bytes: row.count("orig_bytes"),
            resp_bytes: row.count("resp_bytes"),
            orig_ip_bytes: row.count("orig_ip_bytes")?,
            resp_ip_bytes: row.count("resp_ip_bytes")?,
            conn_state: row.text("conn_state")?,
            history: row.text("history").unwrap_or_default(),
            services: row.list("service").into_iter().collect(),
        };
        Some((key, conn))
    }

    fn seam_conn(v: &Value) -> Option<(PairKey, Conn)> {
        let transport = str_at(v, "network.transport")?;
        let (key, orig, icmp) =
            conn_key(transport, Endpoint::of_seam(v, "source")?, Endpoint::of_seam(v, "destination")?);
        let conn = Conn {
            orig,
            icmp,
            orig_pkts: u64_at(v, "source.packets")?,
            resp_pkts: u64_at(v, "destination.packets")?,
            orig_bytes: u64_at(v, "source.bytes"),
            resp_bytes: u64_at(v, "destination.bytes"),
            orig_ip_bytes: u64_at(v, "flow.orig_ip_bytes")?,
            resp_ip_bytes: u64_at(v, "flow.resp_ip_bytes")?,
            conn_state: str_at(v, "flow.conn_state")?.to_string(),
            history: str_at(v, "flow.history").unwrap_or("").to_string(),
            services: str_at(v, "network.protocol")
                .map(|p| p.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
        };
        Some((key, conn))
    }

    /// What one endpoint sent, summed over the rows of a 5-tuple.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    struct Sent {
        pkts: u64,
        /// `None` when any row leaves the payload bytes unset.
        bytes: Option<u64>,
        ip_bytes: u64,
    }

    fn sent_by(rows: &[Conn], who: Endpoint) -> Sent {
        let mut sent = Sent { bytes: Some(0), ..Sent::default() };
        for c in rows {
            let (pkts, bytes, ip_bytes) = if c.orig == who {
                (c.orig_pkts, c.orig_bytes, c.orig_ip_bytes)
            } else {
                (c.resp_pkts, c.resp_bytes, c.resp_ip_bytes)
            };
            sent.pkts += pkts;
            sent.bytes = sent.bytes.zip(bytes).map(|(a, b)| a + b);
            sent.ip_bytes += ip_bytes;
        }
        sent
    }

    /// The services both tools can name: seam's vocabulary, without Zeek's `ssl` inside QUIC.
    pub fn comparable_services(services: &BTreeSet<String>) -> BTreeSet<String> {
        let quic = services.contains("quic");
        services
            .iter()
            .filter(|s| SEAM_SERVICES.contains(&s.as_str()) && !(quic && s.as_str() == "ssl"))
            .cloned()
            .collect()
    }

    fn compare_conns(report: &mut Report, ctx: &Ctx<'_>) {
        let zeek = group_by(ctx.rows(report, zeek_conn), |(k, _)| k.clone());
        let seam = group_by(ctx.run.flows.iter().filter_map(seam_conn).collect(), |(k, _)| k.clone());
        for (key, zeek_rows) in &zeek {
            let z: Vec<Conn> = zeek_rows.iter().map(|(_, c)| c.clone()).collect();
            match seam.get(key) {
                Some(seam_rows) => {
                    report.record("conn.present", true, String::new);
                    let s: Vec<Conn> = seam_rows.iter().map(|(_, c)| c.clone()).collect();
                    compare_conn_group(report, ctx, key, &z, &s);
                }
                None if ctx.link_unsupported() => {
                    report.skip("conn: Zeek rows of a link type seam reports as unsupported", z.len() as u64)
                }
                None => {
                    let state = z.first().map_or("", |c| c.conn_state.as_str());
                    let what = format!("{key}: {} Zeek row(s), state {state}", z.len());
                    report.record("conn.present", false, || ctx.at(&format!("{what}, no seam flow")));
                }
            }
        }
        let extra = seam.keys().filter(|k| !zeek.contains_key(k) && !ctx.inside_tunnel(k)).count();
        report.skip("conn: seam flows Zeek did not log (informational)", extra as u64);
    }

    fn compare_conn_group(report: &mut Report, ctx: &Ctx<'_>, key: &PairKey, z: &[Conn], s: &[Conn]) {
        let z_origs: BTreeSet<Endpoint> = z.iter().map(|c| c.orig).collect();
        let s_origs: BTreeSet<Endpoint> = s.iter().map(|c| c.orig).collect();
        // Groups are never empty (see `group_by`).
        let (Some(z0), Some(s0)) = (z.first(), s.first()) else { return };
        let orig = z0.orig;
        let resp = if orig == key.low { key.high } else { key.low };
        let at = ctx.at(&format!("{} {orig} -> {resp}", key.transport));
        let oriented = z_origs.len() == 1 && s_origs.len() == 1;
        let agree = oriented && z_origs == s_origs;
        if oriented {
            report.compare("conn.originator", &orig, &s0.orig, &at);
        } else {
            report.skip("conn.originator: a side names different originators across rows", 1);
        }

        // Totals per physical direction, named after Zeek's orientation.
        let (zo, so) = (sent_by(z, orig), sent_by(s, orig));
        let (zr, sr) = (sent_by(z, resp), sent_by(s, resp));
        report.compare("conn.orig_pkts", &zo.pkts, &so.pkts, &at);
        report.compare("conn.resp_pkts", &zr.pkts, &sr.pkts, &at);
        for (field, zb, sb) in [("conn.orig_bytes", zo.bytes, so.bytes), ("conn.resp_bytes", zr.bytes, sr.bytes)] {
            match zb {
                Some(_) => report.compare(field, &zb, &sb, &at),
                None => report.skip(format!("{field}: unset in Zeek (zero-duration connection)"), 1),
            }
        }
        report.compare("conn.orig_ip_bytes", &zo.ip_bytes, &so.ip_bytes, &at);
        report.compare("conn.resp_ip_bytes", &zr.ip_bytes, &sr.ip_bytes, &at);

        if key.transport == "icmp" {
            let ports = |rows: &[Conn]| {
                let mut p: Vec<(u16, u16)> = rows.iter().filter_map(|c| c.icmp).collect();
                p.sort_unstable();
                p
            };
            report.compare("conn.icmp_ports", &ports(z), &ports(s), &at);
        }

        if z.len() == 1 && s.len() == 1 && agree {
            report.compare("conn.conn_state", &z0.conn_state, &s0.conn_state, &at);
            report.compare("conn.history", &z0.history, &s0.history, &at);
        } else if !agree {
            report.skip("conn.conn_state/history: the tools disagree on the originator", 1);
        } else {
            report.skip("conn.conn_state/history: a 5-tuple with several rows", 1);
        }

        let zs = comparable_services(&z.iter().flat_map(|c| c.services.iter().cloned()).collect());
        let ss = comparable_services(&s.iter().flat_map(|c| c.services.iter().cloned()).collect());
        // Zeek logged no service for TCP connections whose opening it did not see (history
        // without a SYN or SYN-ACK); seam detects protocols mid-stream.
        let opening_seen = key.transport != "tcp" || z.iter().any(|c| c.history.contains(['S', 's', 'H', 'h']));
        if ctx.baseline.mode.bare && zs.is_empty() {
            report.skip("conn.service: bare-mode baseline without a service", 1);
        } else if !opening_seen && zs.is_empty() {
            report.skip("conn.service: Zeek saw the connection start mid-stream and logged no service", 1);
        } else {
            report.compare("conn.service", &zs, &ss, &at);
        }
    }

    // --- dns.log -------------------------------------------------------------------------------

    /// A DNS transaction as dns.log or seam's timeline reports it.
    #[derive(Debug, Clone, PartialEq)]
    struct Dns {
        id: Option<u64>,
        /// Lowercased: Zeek lowercases query names.
        query: Option<String>,
        qtype: Option<String>,
        rcode: Option<String>,
        answers: Vec<String>,
        ttls: Vec<f64>,
    }

    fn zeek_dns(row: Row<'_>) -> Option<(PairKey, Dns)> {
        let dns = Dns {
            id: row.count("trans_id"),
            query: row.text("query").map(|q| q.to_lowercase()),
            // Zeek names QTYPE 255 `*`.
            qtype: row.text("qtype_name").map(|t| if t == "*" { "ANY".to_string() } else { t }),
            rcode: row.text("rcode_name"),
            answers: row.list("answers"),
            ttls: row.list("TTLs").iter().filter_map(|t| t.parse().ok()).collect(),
        };
        Some((row.pair_key()?, dns))
    }

    fn seam_dns(v: &Value) -> Option<(PairKey, Dns)> {
        let dns = Dns {
            id: u64_at(v, "dns.id"),
            query: str_at(v, "dns.question.name").map(str::to_lowercase),
            qtype: str_at(v, "dns.question.type").map(str::to_string),
            rcode: str_at(v, "dns.response_code").map(str::to_string),
            answers: strings_at(v, "dns.answers"),
            ttls: strings_at(v, "dns.ttls").iter().filter_map(|t| t.parse().ok()).collect(),
        };
        Some((PairKey::of_seam(v)?, dns))
    }

    /// The dynamic-update test's script logs an RFC 2136 UPDATE as its first updated name and
    /// `pre: …`/`del: …`/`add: …` lines; seam logs the message as sent (zone as question).
    fn update_rendering(z: &Dns) -> bool {
        z.answers.iter().any(|a| ["pre: ", "del: ", "add: ", "upd: "].iter().any(|p| a.starts_with(p)))
    }

    fn compare_dns(report: &mut Report, ctx: &Ctx<'_>) {
        let zeek = ctx.rows(report, zeek_dns);
        let seam: Vec<(PairKey, Dns)> = ctx.run.events_of("dns").filter_map(seam_dns).collect();
        let same = |z: &Dns, s: &Dns| z.id.is_some() && z.id == s.id && z.query == s.query;
        compare_app(report, ctx, "dns", zeek, seam, same, |r, _key, at, z, s| {
            if update_rendering(z) {
                r.skip("dns: UPDATE messages (Zeek's test script renders them into query/answers)", 1);
                r.compare("dns.rcode", &z.rcode, &s.rcode, at);
                return;
            }
            if z.qtype.is_none() && s.query.as_deref().is_none_or(str::is_empty) {
                r.skip("dns.query: message without a question (Zeek logs the first answer's name)", 1);
            } else {
                r.compare("dns.query", &z.query, &s.query, at);
            }
            // Zeek takes QTYPE from the query message only; seam also from a lone response.
            if z.qtype.is_some() {
                r.compare("dns.qtype", &z.qtype, &s.qtype, at);
            } else {
                r.skip("dns.qtype: unset in Zeek (response seen without its query)", 1);
            }
            r.compare("dns.rcode", &z.rcode, &s.rcode, at);
            r.compare("dns.answers", &z.answers, &s.answers, at);
            r.compare("dns.ttls", &z.ttls, &s.ttls, at);
        });
    }

    // --- http.log ------------------------------------------------------------------------------

    #[derive(Debug, Clone, PartialEq)]
    struct Http {
        depth: u64,
        method: Option<String>,
        host: Option<String>,
        uri: Option<String>,
        status: Option<u64>,
        request_body_len: Option<u64>,
        response_body_len: Option<u64>,
        /// seam's sniffed body types (`gzip`, `html`, …); `None` for Zeek.
        request_body_type: Option<String>,
        response_body_type: Option<String>,
        /// Whether the body-length columns exist (cut baselines drop them).
        has_body_columns: bool,
    }

    fn zeek_http(row: Row<'_>) -> Option<(PairKey, Http)> {
        let http = Http {
            depth: row.count("trans_depth").unwrap_or(0),
            method: row.text("method"),
            host: row.text("host"),
            uri: row.text("uri"),
            // Zeek logs status 0 for a reply without a status line (HTTP/0.9); seam none.
            status: row.count("status_code").filter(|&s| s != 0),
            request_body_len: row.count("request_body_len"),
            response_body_len: row.count("response_body_len"),
            request_body_type: None,
            response_body_type: None,
            has_body_columns: row.table.has("request_body_len"),
        };
        Some((row.pair_key()?.any_transport(), http))
    }

    fn seam_http(v: &Value) -> Option<(PairKey, Http)> {
        let http = Http {
            depth: 0,
            method: str_at(v, "http.request.method").map(str::to_string),
            host: str_at(v, "url.domain").map(str::to_string),
            // Zeek logs the URI with %XX escapes decoded; seam the URI as sent (ECS url.original).
            uri: str_at(v, "url.original").map(percent_decode),
            status: u64_at(v, "http.response.status_code"),
            request_body_len: u64_at(v, "http.request.body.bytes"),
            response_body_len: u64_at(v, "http.response.body.bytes"),
            request_body_type: str_at(v, "http.request.body.type").map(str::to_string),
            response_body_type: str_at(v, "http.response.body.type").map(str::to_string),
            has_body_columns: true,
        };
        Some((PairKey::of_seam(v)?.any_transport(), http))
    }

    /// `%XX` → byte, then lossy UTF-8 (as Zeek's `unescape_URI`).
    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(byte) if b == b'%' => {
                    out.push(byte);
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Zeek's body lengths count the entity after content decoding (a gzip body is counted
    /// decompressed); seam counts the bytes sent. Not compared where seam found a compressed
    /// body.
    fn compressed(body_type: &Option<String>) -> bool {
        matches!(body_type.as_deref(), Some("gzip" | "deflate" | "zlib" | "brotli" | "br"))
    }

    fn compare_http(report: &mut Report, ctx: &Ctx<'_>) {
        let mut zeek = ctx.rows(report, zeek_http);
        // Zeek writes a request when it completes; trans_depth gives the order on the wire.
        zeek.sort_by_key(|(k, h)| (k.clone(), h.depth));
        let seam: Vec<(PairKey, Http)> = ctx.run.events_of("http").filter_map(seam_http).collect();
        compare_app(
            report,
            ctx,
            "http",
            zeek,
            seam,
            |_, _| false,
            |r, _, at, z, s| {
                r.compare("http.method", &z.method, &s.method, at);
                r.compare("http.host", &z.host, &s.host, at);
                r.compare("http.uri", &z.uri, &s.uri, at);
                r.compare("http.status_code", &z.status, &s.status, at);
                let bodies = [
                    ("http.request_body_len", &z.request_body_len, &s.request_body_len, &s.request_body_type),
                    ("http.response_body_len", &z.response_body_len, &s.response_body_len, &s.response_body_type),
                ];
                for (field, zeek_len, seam_len, seam_type) in bodies {
                    if !z.has_body_columns {
                        r.skip(format!("{field}: the baseline (a cut log) has no body-length column"), 1);
                    } else if compressed(seam_type) {
                        r.skip(format!("{field}: compressed body (Zeek counts it decoded)"), 1);
                    } else {
                        r.compare(field, zeek_len, seam_len, at);
                    }
                }
            },
        );
    }

    // --- ssl.log -------------------------------------------------------------------------------

    #[derive(Debug, Clone, PartialEq)]
    struct Tls {
        version: Option<String>,
        cipher: Option<String>,
        server_name: Option<String>,
        /// `None` when the log has no ja4 column.
        ja4: Option<Option<String>>,
    }

    fn zeek_tls(row: Row<'_>) -> Option<(PairKey, Tls)> {
        let tls = Tls {
            version: row.text("version"),
            cipher: row.text("cipher"),
            server_name: row.text("server_name"),
            ja4: row.table.has("ja4").then(|| row.text("ja4")),
        };
        Some((row.pair_key()?.any_transport(), tls))
    }

    fn seam_tls(v: &Value) -> Option<(PairKey, Tls)> {
        let tls = Tls {
            version: str_at(v, "tls.version").map(str::to_string),
            cipher: str_at(v, "tls.cipher").map(str::to_string),
            server_name: str_at(v, "tls.client.server_name").map(str::to_string),
            ja4: Some(str_at(v, "tls.client.ja4").map(str::to_string)),
        };
        Some((PairKey::of_seam(v)?.any_transport(), tls))
    }

    fn compare_ssl(report: &mut Report, ctx: &Ctx<'_>) {
        // ssl.log also holds the TLS of QUIC connections, which seam does not decode: a non-DTLS
        // row on a 5-tuple seam only saw as UDP.
        let udp_only = |key: &PairKey| {
            let mut transports = ctx.run.flows.iter().filter_map(|f| {
                let k = PairKey::of_seam(f)?;
                (k.any_transport() == *key).then_some(k.transport)
            });
            transports.all(|t| t == "udp")
                && ctx.run.flows.iter().filter_map(PairKey::of_seam).any(|k| k.any_transport() == *key)
        };
        let mut zeek = Vec::new();
        for (key, tls) in ctx.rows(report, zeek_tls) {
            let dtls = tls.version.as_deref().is_some_and(|v| v.starts_with("DTLS"));
            if !dtls && udp_only(&key) {
                report.skip("ssl: TLS inside QUIC (seam does not decode QUIC)", 1);
            } else {
                zeek.push((key, tls));
            }
        }
        let seam: Vec<(PairKey, Tls)> = ctx.run.events_of("tls").filter_map(seam_tls).collect();
        compare_app(
            report,
            ctx,
            "ssl",
            zeek,
            seam,
            |_, _| false,
            |r, _, at, z, s| {
                r.compare("ssl.version", &z.version, &s.version, at);
                r.compare("ssl.cipher", &z.cipher, &s.cipher, at);
                r.compare("ssl.server_name", &z.server_name, &s.server_name, at);
                if let (Some(zj), Some(sj)) = (&z.ja4, &s.ja4) {
                    r.compare("ssl.ja4", zj, sj, at);
                }
            },
        );
    }

    // --- Application logs: shared pairing ------------------------------------------------------

    /// Pairs Zeek's rows with seam's events per 5-tuple (first `same`, then in order), counts
    /// `<log>.present`, and runs `fields` on each pair.
    fn compare_app<T: fmt::Debug>(
        report: &mut Report,
        ctx: &Ctx<'_>,
        log: &str,
        zeek: Vec<(PairKey, T)>,
        seam: Vec<(PairKey, T)>,
        same: impl Fn(&T, &T) -> bool,
        fields: impl Fn(&mut Report, &PairKey, &str, &T, &T),
    ) {
        let zeek = group_by(zeek, |(k, _)| k.clone());
        let seam = group_by(seam, |(k, _)| k.clone());
        let present = format!("{log}.present");
        let no_seam: Vec<(PairKey, T)> = Vec::new();
        for (key, z) in &zeek {
            let s = seam.get(key).unwrap_or(&no_seam);
            let pairs = pair_in_order(z, s, |a, b| same(&a.1, &b.1));
            for ((_, zv), pair) in z.iter().zip(pairs) {
                let at = ctx.at(key);
                match pair {
                    Some(j) => {
                        report.record(&present, true, String::new);
                        fields(report, key, &at, zv, &s[j].1);
                    }
                    None if s.is_empty() && ctx.link_unsupported() => {
                        report.skip(format!("{log}: Zeek rows of a link type seam reports as unsupported"), 1)
                    }
                    None => report.record(&present, false, || format!("{at}: Zeek {zv:?}, no seam event")),
                }
            }
        }
        let extra: usize = seam.iter().map(|(k, s)| s.len().saturating_sub(zeek.get(k).map_or(0, Vec::len))).sum();
        report.skip(format!("{log}: seam events beyond Zeek's rows (informational)"), extra as u64);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. suricata-verify.
// ---------------------------------------------------------------------------------------------

mod suricata {
    //! suricata-verify `filter` checks against seam's flows and events.
    //!
    //! Systematic differences, each handled where noted and counted when excluded:
    //! - Suricata writes a DNS request and its response as two events; seam writes one
    //!   transaction. A `request`/`query` check matches every seam transaction, a
    //!   `response`/`answer` check those with a response code. For responses Suricata's `src`/
    //!   `dest` follow the response packet (server → client), except after it reversed a flow
    //!   (`dns-reversed-udp-1`): they are compared as an unordered pair of endpoints. seam keeps
    //!   no flag for a response that arrived without its query, so such a transaction also
    //!   counts as a request.
    //! - DNS answers: Suricata lists each character-string of a TXT record as an answer of its
    //!   own; seam renders a TXT record the Zeek way (`TXT 32 abc… TXT 0 `), split before
    //!   comparing ([`answers`]).
    //! - Spellings: TLS versions (`TLSv1` is seam's `TLSv10`), `proto` (`IPv6` is IP protocol 41,
    //!   seam's `ip-41`), `app_proto` (`tls` is seam's `ssl`).
    //! - Suricata keys ESP flows by SPI (seam, like Zeek, by address pair) and ends a one-way UDP
    //!   flow after 30 s idle (seam after 60 s): checks on SPIs are not compared, and seam's flows
    //!   are made with Suricata's UDP timeout.
    //! - Suricata's flow `bytes_*` are link-layer frame bytes; seam counts IP and payload bytes:
    //!   not compared. seam does not know packet numbers of events (`pcap_cnt`), DNS flags, per
    //!   answer names/types, authorities, TLS certificates, HTTP headers beyond host/URI/method/
    //!   status/user agent/body length, VLAN lists, alerts or anomalies.
    //! - Match fields seam has no counterpart for are dropped from the check (counted per field);
    //!   this only widens the filter, so it can cause a mismatch but never hide one. A check left
    //!   with no field but its event type, after dropping some, is not compared.
    //! - `requires: lt-version` checks describe older Suricata output formats: not compared.
    //! - `app_proto` values seam does not identify (ntp, krb5, doh2, …) make a check not comparable.
    //! - Checks seam found nothing for on DNS over HTTP/2 (the test expects a `doh2` flow) or on
    //!   traffic inside a tunnel ([`inside_tunnel`]) are not compared: seam decodes neither.

    use super::*;

    pub const INDEX: &str = "suricata-verify/INDEX.tsv";
    /// Suricata ends a UDP flow seen in one direction after 30 s idle (`flow-timeouts: udp: new`),
    /// seam (like Zeek) after 60 s: flow counts are compared with seam at Suricata's timeout.
    const SURICATA_FLOW_TIMEOUTS: &[&str] = &["--udp-timeout", "30s"];
    const TESTS: &str = "suricata-verify/tests";
    /// Event types whose checks can be compared.
    const COMPARED: &[&str] = &["dns", "http", "tls", "flow"];

    pub fn compare(corpus: &Path, report: &mut Report) {
        let tests = read_tests(corpus, report);
        let pcaps: BTreeSet<PathBuf> = tests.iter().map(|t| t.pcap.clone()).collect();
        let runs = run_all(&pcaps, SURICATA_FLOW_TIMEOUTS);
        let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
        for test in &tests {
            let Some(run) = runs.get(&test.pcap) else { continue };
            if let Some(why) = &run.failure {
                report.note(format!("{}: {why}", test.name));
            }
            for (i, check) in test.checks.iter().enumerate() {
                evaluate(report, &mut dropped, test, i, check, run);
            }
        }
        if !dropped.is_empty() {
            let list: Vec<String> = dropped.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            report.note(format!("EVE match fields without a seam counterpart, dropped: {}", list.join(", ")));
        }
    }

    struct Test {
        name: String,
        pcap: PathBuf,
        checks: Vec<Yaml>,
        /// A check expects a DNS-over-HTTP/2 flow (`app_proto: doh2`).
        doh: bool,
    }

    /// Tests listed in INDEX.tsv whose YAML and capture are present.
    fn read_tests(corpus: &Path, report: &mut Report) -> Vec<Test> {
        let mut malformed = 0;
        let rows = read_tsv(&corpus.join(INDEX), &mut malformed);
        report.skip("malformed lines in suricata-verify/INDEX.tsv", malformed);
        let mut tests = Vec::new();
        for row in rows {
            let Some(name) = row.get("test_dir") else { continue };
            let dir = corpus.join(TESTS).join(name);
            let Some(yaml) = read_text(&dir.join("test.yaml")).map(|t| Yaml::parse(&t)) else {
                report.skip("suricata-verify tests without a readable test.yaml", 1);
                continue;
            };
            let pcap_name = yaml.get("pcap").and_then(Yaml::as_str).or(row.get("pcap").map(String::as_str));
            let pcap = pcap_name.map(|p| dir.join(p));
            let Some(pcap) = pcap.filter(|p| p.is_file()) else {
                report.skip("suricata-verify tests whose capture is absent", 1);
                continue;
            };
            let checks = yaml.get("checks").map(|c| c.items().to_vec()).unwrap_or_default();
            let doh = checks.iter().any(|c| {
                let app_proto = c.get("filter").and_then(|f| f.get("match")).and_then(|m| m.get("app_proto"));
                app_proto.and_then(Yaml::as_str) == Some("doh2")
            });
            tests.push(Test { name: name.clone(), pcap, checks, doh });
        }
        tests
    }

    /// Evaluates one entry of `checks`.
    fn evaluate(
        report: &mut Report,
        dropped: &mut BTreeMap<String, u64>,
        test: &Test,
        i: usize,
        check: &Yaml,
        run: &SeamRun,
    ) {
        let Some(filter) = check.get("filter") else {
            report.skip("checks other than filter (stats, shell, file-compare)", 1);
            return;
        };
        if filter.get("requires").and_then(|r| r.get("lt-version")).is_some() {
            report.skip("checks for older Suricata versions (requires lt-version)", 1);
            return;
        }
        let Some(matches) = filter.get("match").map(Yaml::entries) else {
            report.skip("filter checks without a match", 1);
            return;
        };
        let Some(event_type) = matches.iter().find(|(k, _)| k == "event_type").and_then(|(_, v)| v.as_str()) else {
            report.skip("filter checks without an event_type", 1);
            return;
        };
        if !COMPARED.contains(&event_type) {
            report.skip(format!("checks on {event_type} events (not in seam's scope)"), 1);
            return;
        }
        let Some(count) = filter.get("count").and_then(Yaml::as_str).and_then(|c| c.parse::<usize>().ok()) else {
            report.skip("filter checks without a numeric count", 1);
            return;
        };
        let response = is_dns_response(matches);
        let mut preds = Vec::new();
        let mut unmapped = 0;
        for (key, value) in matches.iter().filter(|(k, _)| k != "event_type") {
            match map_field(key, value, response) {
                Ok(p) => preds.push(p),
                Err(Unmapped::NotInSeam) => {
                    unmapped += 1;
                    *dropped.entry(generic_key(key)).or_default() += 1;
                }
                Err(Unmapped::Uncomparable(why)) => {
                    report.skip(format!("{event_type} checks: {why}"), 1);
                    return;
                }
            }
        }
        if preds.is_empty() && unmapped > 0 {
            report.skip(format!("{event_type} checks with no field seam has"), 1);
            return;
        }
        let candidates: Vec<&Value> =
            if event_type == "flow" { run.flows.iter().collect() } else { run.events_of(event_type).collect() };
        let got = candidates.iter().filter(|e| preds.iter().all(|p| p.holds(e))).count();
        if got == 0 && count > 0 {
            if test.doh && event_type == "dns" {
                report.skip("dns checks on DNS over HTTP/2 (seam decodes DNS over UDP and TCP only)", 1);
                return;
            }
            if inside_tunnel(run, event_type, &preds) {
                report.skip(format!("{event_type} checks on traffic inside a tunnel (seam reports the outer flow)"), 1);
                return;
            }
        }
        let test = &test.name;
        report.record(&format!("{event_type} checks"), got == count, || {
            let fields: Vec<String> = preds.iter().map(|p| format!("{p:?}")).collect();
            format!("{test} check {i}: want {count}, seam {got} of {} [{}]", candidates.len(), fields.join(", "))
        });
    }

    /// Whether a check seam found nothing for is about traffic inside a tunnel: the capture holds
    /// a tunnel seam reports as an outer flow (IP-in-IP, GRE, VXLAN, Teredo, GTP-U, Geneve), and
    /// none of the check's addresses occurs in seam's flows (or, for an application event, the
    /// check names no address).
    fn inside_tunnel(run: &SeamRun, event_type: &str, preds: &[Pred]) -> bool {
        let tunnel = run.flows.iter().any(|f| match str_at(f, "network.transport") {
            Some("ip-4" | "ip-41" | "ip-47") => true,
            Some("udp") => ["source.port", "destination.port"]
                .iter()
                .any(|p| matches!(u64_at(f, p), Some(4789 | 3544 | 2152 | 6081))),
            _ => false,
        });
        let addresses: Vec<IpAddr> = preds
            .iter()
            .filter_map(|p| match p {
                Pred::Ip(_, ip) | Pred::EitherIp(ip) => Some(*ip),
                _ => None,
            })
            .collect();
        let seen = |ip: &IpAddr| {
            run.flows.iter().any(|f| {
                ["source.ip", "destination.ip"].iter().any(|p| str_at(f, p).and_then(|s| s.parse().ok()) == Some(*ip))
            })
        };
        tunnel && if addresses.is_empty() { event_type != "flow" } else { !addresses.iter().any(seen) }
    }

    /// Whether a DNS check describes a response event.
    fn is_dns_response(matches: &[(String, Yaml)]) -> bool {
        matches.iter().any(|(k, v)| match k.as_str() {
            "dns.type" => matches!(v.as_str(), Some("response" | "answer")),
            _ => ["dns.answers", "dns.grouped", "dns.authorities", "dns.rcode"].iter().any(|p| k.starts_with(p)),
        })
    }

    /// `dns.answers[3].ttl` → `dns.answers[].ttl`, to count dropped fields by name.
    fn generic_key(key: &str) -> String {
        let mut out = String::new();
        let mut in_index = false;
        for c in key.chars() {
            match c {
                '[' => {
                    in_index = true;
                    out.push('[');
                }
                ']' => {
                    in_index = false;
                    out.push(']');
                }
                _ if in_index => {}
                _ => out.push(c),
            }
        }
        out
    }

    /// Suricata's `proto` in seam's spelling: IANA keywords for TCP, UDP and ICMP, `ip-<n>` for
    /// the protocols seam does not name (`IPv6` is IPv6-in-IP, protocol 41).
    fn suricata_proto(proto: &str) -> String {
        match proto.to_ascii_uppercase().as_str() {
            "IPV6" => "ip-41".to_string(),
            "IPV4" | "IPIP" => "ip-4".to_string(),
            "GRE" => "ip-47".to_string(),
            "ESP" => "ip-50".to_string(),
            "SCTP" => "ip-132".to_string(),
            "IPV6-ICMP" => "icmp".to_string(),
            other => other.to_ascii_lowercase(),
        }
    }

    /// Why a match field has no predicate.
    pub enum Unmapped {
        /// seam has no such field: dropped, widening the filter.
        NotInSeam,
        /// The check cannot be compared at all.
        Uncomparable(&'static str),
    }

    /// A condition on a seam record.
    #[derive(Debug)]
    pub enum Pred {
        Text(&'static str, String),
        Number(&'static str, f64),
        Ip(&'static str, IpAddr),
        /// Either endpoint has this address / port (DNS responses).
        EitherIp(IpAddr),
        EitherPort(f64),
        Exists(&'static str),
        /// Every seam DNS transaction holds a request (see the module notes).
        Request,
        /// The i-th DNS answer's data / TTL, any answer's data, the number of answers (see
        /// [`answers`]).
        Answer(usize, String),
        AnswerTtl(usize, f64),
        AnyAnswer(String),
        Answers(usize),
        Transport(String),
        Protocol(&'static str),
        TlsVersion(String),
        HttpVersion(String),
    }

    impl Pred {
        fn holds(&self, v: &Value) -> bool {
            match self {
                Pred::Text(path, want) => str_at(v, path) == Some(want.as_str()),
                Pred::Number(path, want) => number_at(v, path) == Some(*want),
                Pred::Ip(path, want) => str_at(v, path).and_then(|s| s.parse::<IpAddr>().ok()) == Some(*want),
                Pred::EitherIp(want) => {
                    [Pred::Ip("source.ip", *want), Pred::Ip("destination.ip", *want)].iter().any(|p| p.holds(v))
                }
                Pred::EitherPort(want) => [Pred::Number("source.port", *want), Pred::Number("destination.port", *want)]
                    .iter()
                    .any(|p| p.holds(v)),
                Pred::Exists(path) => at(v, path).is_some(),
                // A transaction whose query was not captured is not a request (seam marks it).
                Pred::Request => {
                    !v["dns"]["anomalies"].as_array().is_some_and(|a| a.iter().any(|x| x == "response_only"))
                }
                Pred::Answer(i, want) => answers(v).get(*i).is_some_and(|(data, _)| data == want),
                Pred::AnswerTtl(i, want) => answers(v).get(*i).is_some_and(|(_, ttl)| *ttl == Some(*want)),
                Pred::AnyAnswer(want) => answers(v).iter().any(|(data, _)| data == want),
                Pred::Answers(want) => answers(v).len() == *want,
                Pred::Transport(want) => {
                    str_at(v, "network.transport").is_some_and(|t| normalize_transport(t) == normalize_transport(want))
                }
                Pred::Protocol(want) => str_at(v, "network.protocol").is_some_and(|p| p.split(',').any(|p| p == *want)),
                Pred::TlsVersion(want) => {
                    str_at(v, "tls.version").is_some_and(|got| tls_version_key(got) == tls_version_key(want))
                }
                Pred::HttpVersion(want) => {
                    str_at(v, "http.version").is_some_and(|got| want.strip_prefix("HTTP/") == Some(got))
                }
            }
        }
    }

    /// seam's DNS answers as Suricata lists them: data and TTL per record, with seam's
    /// Zeek-style TXT rendering (`TXT 32 abc… TXT 0 `, all strings of one record) split into one
    /// entry per character-string, as Suricata logs them.
    fn answers(v: &Value) -> Vec<(String, Option<f64>)> {
        let ttls = strings_at(v, "dns.ttls");
        let mut out = Vec::new();
        for (i, answer) in strings_at(v, "dns.answers").into_iter().enumerate() {
            let ttl = ttls.get(i).and_then(|t| t.parse().ok());
            match txt_strings(&answer) {
                Some(strings) => out.extend(strings.into_iter().map(|s| (s, ttl))),
                None => out.push((answer, ttl)),
            }
        }
        out
    }

    /// `TXT <len> <text>[ TXT <len> <text>…]` → the texts; `None` when not in that form.
    fn txt_strings(answer: &str) -> Option<Vec<String>> {
        let mut rest = answer.strip_prefix("TXT ")?;
        let mut out = Vec::new();
        loop {
            let (len, after) = rest.split_once(' ')?;
            let len: usize = len.parse().ok()?;
            let text = after.get(..len)?;
            out.push(text.to_string());
            match after.get(len..)? {
                "" => return Some(out),
                more => rest = more.strip_prefix(" TXT ")?,
            }
        }
    }

    fn number_at(v: &Value, path: &str) -> Option<f64> {
        let x = at(v, path)?;
        x.as_f64().or_else(|| x.as_str()?.parse().ok())
    }

    /// Suricata's `TLS 1.2`, `TLSv1` (1.0) and `SSLv3`, and seam's (Zeek's) `TLSv12`, `TLSv10` and
    /// `SSLv3` → `tls12`, `tls10`, `ssl3`.
    fn tls_version_key(s: &str) -> String {
        let lower = s.to_ascii_lowercase();
        let family = if lower.starts_with("ssl") { "ssl" } else { "tls" };
        let mut digits: String = lower.chars().filter(char::is_ascii_digit).collect();
        if family == "tls" && digits.len() == 1 {
            digits.push('0');
        }
        format!("{family}{digits}")
    }

    /// The seam predicate for one EVE match field.
    pub fn map_field(key: &str, value: &Yaml, response: bool) -> Result<Pred, Unmapped> {
        use Unmapped::{NotInSeam, Uncomparable};
        let Some(text) = value.as_str() else { return Err(NotInSeam) };
        let text = text.to_string();
        let number = || text.parse::<f64>().map_err(|_| NotInSeam);
        let ip = || text.parse::<IpAddr>().map_err(|_| NotInSeam);
        let pred = match key {
            "src_ip" | "dest_ip" if response => Pred::EitherIp(ip()?),
            "src_port" | "dest_port" if response => Pred::EitherPort(number()?),
            "src_ip" => Pred::Ip("source.ip", ip()?),
            "dest_ip" => Pred::Ip("destination.ip", ip()?),
            "src_port" => Pred::Number("source.port", number()?),
            "dest_port" => Pred::Number("destination.port", number()?),
            "proto" => Pred::Transport(suricata_proto(&text)),
            "app_proto" => Pred::Protocol(match text.as_str() {
                "dns" => "dns",
                "http" | "http1" => "http",
                "tls" => "ssl",
                "ssh" => "ssh",
                "smb" => "smb",
                _ => return Err(Uncomparable("an app_proto seam does not identify")),
            }),
            "dns.type" => match text.as_str() {
                "request" | "query" => Pred::Request,
                "response" | "answer" => Pred::Exists("dns.response_code"),
                _ => return Err(NotInSeam),
            },
            "dns.id" => Pred::Number("dns.id", number()?),
            "dns.rrname" | "dns.queries[0].rrname" => Pred::Text("dns.question.name", text),
            "dns.rrtype" | "dns.queries[0].rrtype" => Pred::Text("dns.question.type", text),
            "dns.rcode" => Pred::Text("dns.response_code", text),
            "dns.answers.__len" => Pred::Answers(number()? as usize),
            "http.hostname" => Pred::Text("url.domain", text),
            "http.url" => Pred::Text("url.original", text),
            "http.http_method" => Pred::Text("http.request.method", text),
            "http.status" => Pred::Number("http.response.status_code", number()?),
            "http.length" => Pred::Number("http.response.body.bytes", number()?),
            "http.http_user_agent" => Pred::Text("user_agent.original", text),
            "http.protocol" => Pred::HttpVersion(text),
            "tls.sni" => Pred::Text("tls.client.server_name", text),
            "tls.version" => Pred::TlsVersion(text),
            "tls.ja3.hash" => Pred::Text("tls.client.ja3", text),
            "tls.ja3s.hash" => Pred::Text("tls.server.ja3s", text),
            "tls.ja4" => Pred::Text("tls.client.ja4", text),
            // Suricata keys ESP flows by SPI; seam, like Zeek, by address pair.
            "spi" => return Err(Uncomparable("ESP flows keyed by SPI")),
            "flow.pkts_toserver" => Pred::Number("source.packets", number()?),
            "flow.pkts_toclient" => Pred::Number("destination.packets", number()?),
            _ => return indexed_dns_field(key, text),
        };
        Ok(pred)
    }

    /// `dns.answers[i].rdata`, `dns.answers[i].ttl` and `dns.grouped.<TYPE>[i]`.
    fn indexed_dns_field(key: &str, text: String) -> Result<Pred, Unmapped> {
        if let Some(rest) = key.strip_prefix("dns.answers[") {
            let (index, field) = rest.split_once("].").ok_or(Unmapped::NotInSeam)?;
            let index: usize = index.parse().map_err(|_| Unmapped::NotInSeam)?;
            return match field {
                "rdata" => Ok(Pred::Answer(index, text)),
                "ttl" => Ok(Pred::AnswerTtl(index, text.parse().map_err(|_| Unmapped::NotInSeam)?)),
                _ => Err(Unmapped::NotInSeam),
            };
        }
        if key.starts_with("dns.grouped.") {
            return Ok(Pred::AnyAnswer(text));
        }
        Err(Unmapped::NotInSeam)
    }

    // --- A YAML subset ---------------------------------------------------------------------------

    /// The YAML that test.yaml files use: block maps and lists, scalars (plain or quoted), inline
    /// `[a, b]` lists and `#` comments. Anything else is kept as a plain scalar or skipped,
    /// never a panic.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Yaml {
        Null,
        Scalar(String),
        List(Vec<Yaml>),
        Map(Vec<(String, Yaml)>),
    }

    struct Line {
        indent: usize,
        text: String,
    }

    impl Yaml {
        pub fn parse(src: &str) -> Yaml {
            let mut lines: Vec<Line> = src
                .lines()
                .filter_map(|l| {
                    let l = l.trim_end();
                    let text = l.trim_start();
                    (!text.is_empty() && !text.starts_with('#'))
                        .then(|| Line { indent: l.len() - text.len(), text: text.to_string() })
                })
                .collect();
            let Some(indent) = lines.first().map(|l| l.indent) else { return Yaml::Null };
            let mut i = 0;
            block(&mut lines, &mut i, indent)
        }

        fn get(&self, key: &str) -> Option<&Yaml> {
            self.entries().iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }

        fn entries(&self) -> &[(String, Yaml)] {
            match self {
                Yaml::Map(entries) => entries,
                _ => &[],
            }
        }

        fn items(&self) -> &[Yaml] {
            match self {
                Yaml::List(items) => items,
                _ => &[],
            }
        }

        fn as_str(&self) -> Option<&str> {
            match self {
                Yaml::Scalar(s) => Some(s),
                _ => None,
            }
        }
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    fn block(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
        match lines.get(*i) {
            Some(l) if is_item(&l.text) => list(lines, i, indent),
            Some(_) => map(lines, i, indent),
            None => Yaml::Null,
        }
    }

    /// The block under a line, when the next line is indented deeper.
    fn nested(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
        match lines.get(*i) {
            Some(l) if l.indent > indent => {
                let deeper = l.indent;
                block(lines, i, deeper)
            }
            _ => Yaml::Null,
        }
    }

    fn list(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
        let mut items = Vec::new();
        while let Some(line) = lines.get(*i).filter(|l| l.indent == indent && is_item(&l.text)) {
            let rest = line.text[1..].trim_start().to_string();
            let column = indent + line.text.len() - rest.len();
            if rest.is_empty() {
                *i += 1;
                items.push(nested(lines, i, indent));
            } else if split_key(&rest).is_some() {
                // `- key: value` opens a map whose keys line up with `key`.
                lines[*i] = Line { indent: column, text: rest };
                items.push(map(lines, i, column));
            } else {
                *i += 1;
                items.push(scalar(&rest));
            }
        }
        Yaml::List(items)
    }

    fn map(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
        let mut entries = Vec::new();
        while let Some(line) = lines.get(*i).filter(|l| l.indent == indent && !is_item(&l.text)) {
            let split = split_key(&line.text);
            *i += 1;
            let Some((key, value)) = split else { continue };
            let value = if !value.is_empty() {
                // A scalar has no children: skip anything indented under it.
                while lines.get(*i).is_some_and(|l| l.indent > indent) {
                    *i += 1;
                }
                scalar(&value)
            } else if lines.get(*i).is_some_and(|l| l.indent == indent && is_item(&l.text)) {
                list(lines, i, indent)
            } else {
                nested(lines, i, indent)
            };
            entries.push((key, value));
        }
        Yaml::Map(entries)
    }

    /// `key: value` or `key:`; quoted text is never a key.
    fn split_key(text: &str) -> Option<(String, String)> {
        if text.starts_with(['"', '\'', '[', '{']) {
            return None;
        }
        if let Some(key) = text.strip_suffix(':') {
            return (!key.contains(": ")).then(|| (key.to_string(), String::new()));
        }
        let (key, value) = text.split_once(": ")?;
        Some((key.trim().to_string(), value.trim().to_string()))
    }

    fn scalar(text: &str) -> Yaml {
        let text = strip_comment(text).trim();
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return Yaml::List(inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(scalar).collect());
        }
        let unquoted =
            ['"', '\''].iter().find_map(|q| text.strip_prefix(*q).and_then(|t| t.strip_suffix(*q))).unwrap_or(text);
        Yaml::Scalar(unquoted.to_string())
    }

    /// Drops a ` # comment` outside quotes.
    fn strip_comment(text: &str) -> &str {
        if text.starts_with(['"', '\'']) {
            return text;
        }
        text.find(" #").map_or(text, |at| &text[..at])
    }
}

// ---------------------------------------------------------------------------------------------
// 3. tshark.
// ---------------------------------------------------------------------------------------------

mod tshark {
    //! Packet counts and DNS query names against tshark.
    //!
    //! Systematic differences, each handled where noted and counted when excluded:
    //! - Captures tshark rejects (unsupported or bogus link types: its exit status is not 0) are
    //!   not compared: for those a clear error is the right answer, which tests of bad input check.
    //! - DNS names are compared as a multiset per capture: every query name tshark shows must be
    //!   the question of one of seam's DNS events. tshark also decodes DNS carried in HTTP/HTTP2
    //!   (DoH) and inside tunnels (VXLAN, GRE, Teredo, GTP, IP-in-IP); seam decodes neither: those
    //!   names are not compared, nor are queries without a question (junk tshark still reads as
    //!   DNS). tshark names the root `<Root>`, seam ``.

    use super::*;
    use std::process::Command;

    pub const ORACLE: &str = "_oracle/tshark_frames.tsv";
    /// Captures handed to one `seam inventory` run.
    const INVENTORY_BATCH: usize = 200;
    /// Captures compared with a live tshark (each run costs tshark's start-up, ~0.3 s).
    const LIVE_SAMPLE: usize = 40;

    pub fn installed() -> bool {
        Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
    }

    /// Captures tshark read (exit status 0), with its frame count, in the oracle's order.
    fn oracle(corpus: &Path, report: &mut Report) -> Vec<(String, u64)> {
        let mut malformed = 0;
        let rows = read_tsv(&corpus.join(ORACLE), &mut malformed);
        report.skip("malformed lines in _oracle/tshark_frames.tsv", malformed);
        let mut out = Vec::new();
        for row in rows {
            let (Some(file), Some(rc), Some(frames)) = (row.get("file"), row.get("tshark_rc"), row.get("frames"))
            else {
                continue;
            };
            match (rc.as_str(), frames.parse::<u64>()) {
                ("0", Ok(frames)) if corpus.join(file).is_file() => out.push((file.clone(), frames)),
                ("0", Ok(_)) => report.skip("oracle captures absent from the corpus", 1),
                ("0", Err(_)) => report.skip("malformed lines in _oracle/tshark_frames.tsv", 1),
                _ => report.skip("captures tshark rejects (not compared)", 1),
            }
        }
        out
    }

    /// `seam.records` per capture from `seam inventory`, keyed by the path as given.
    fn seam_records(paths: &[PathBuf], report: &mut Report) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for batch in paths.chunks(INVENTORY_BATCH) {
            let lines = support::corpus::seam_jsonl(
                ["inventory", "-q", "--format", "jsonl"].iter().map(PathBuf::from).chain(batch.iter().cloned()),
            );
            report.skip("non-JSON lines from seam inventory", lines.bad_lines as u64);
            if !lines.success {
                report.note(format!("seam inventory failed on a batch: {}", lines.stderr.lines().next().unwrap_or("")));
            }
            for v in &lines.values {
                if let (Some(path), Some(records)) = (str_at(v, "file.path"), u64_at(v, "seam.records")) {
                    out.insert(path.to_string(), records);
                }
            }
        }
        out
    }

    pub fn compare_oracle(corpus: &Path, report: &mut Report) {
        let files = oracle(corpus, report);
        let paths: Vec<PathBuf> = files.iter().map(|(f, _)| corpus.join(f)).collect();
        let seam = seam_records(&paths, report);
        for ((file, frames), path) in files.iter().zip(&paths) {
            let got = seam.get(path.to_string_lossy().as_ref()).copied();
            report.compare("frames (tshark_frames.tsv)", &Some(*frames), &got, file);
        }
    }

    /// A deterministic sample: captures with DNS in their name first, then every n-th capture.
    fn sample(files: &[(String, u64)]) -> Vec<String> {
        let (dns, rest): (Vec<&String>, Vec<&String>) =
            files.iter().map(|(f, _)| f).partition(|f| f.to_ascii_lowercase().contains("dns"));
        let mut out: Vec<String> = dns.into_iter().take(LIVE_SAMPLE / 2).cloned().collect();
        let room = LIVE_SAMPLE - out.len();
        let step = (rest.len() / room.max(1)).max(1);
        out.extend(rest.into_iter().step_by(step).take(room).cloned());
        out
    }

    /// What tshark shows of one capture.
    struct Live {
        frames: u64,
        /// Query names of DNS messages that are not responses.
        dns_queries: Vec<String>,
        /// Query names in DoH or inside a tunnel.
        dns_out_of_scope: u64,
        /// Queries without a question (tshark shows an empty name; the root is `<Root>`).
        dns_nameless: u64,
    }

    /// Whether tshark's protocol chain (`eth:ethertype:ip:udp:dns`) carries the DNS in HTTP or
    /// inside a tunnel.
    fn out_of_scope(protocols: &str) -> bool {
        let layers: Vec<&str> = protocols.split(':').collect();
        let ip_layers = layers.iter().filter(|l| matches!(**l, "ip" | "ipv6")).count();
        ip_layers > 1
            || layers.iter().any(|l| matches!(*l, "http" | "http2" | "vxlan" | "gre" | "teredo" | "gtp" | "gtpv2"))
    }

    fn run_tshark(path: &Path) -> Result<Live, String> {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(path)
            .args(["-T", "fields", "-e", "frame.number", "-e", "frame.protocols"])
            .args(["-e", "dns.flags.response", "-e", "dns.qry.name"])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("tshark exit {:?}", out.status.code()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut live = Live { frames: 0, dns_queries: Vec::new(), dns_out_of_scope: 0, dns_nameless: 0 };
        for line in text.lines() {
            live.frames += 1;
            let cols: Vec<&str> = line.split('\t').collect();
            // Several DNS messages in one frame give comma-separated lists, in step.
            let (Some(protocols), Some(flags), Some(names)) = (cols.get(1), cols.get(2), cols.get(3)) else {
                continue;
            };
            for (flag, name) in flags.split(',').zip(names.split(',')) {
                if flag != "0" && flag != "False" {
                    continue;
                }
                if out_of_scope(protocols) {
                    live.dns_out_of_scope += 1;
                } else if name.is_empty() {
                    live.dns_nameless += 1;
                } else {
                    live.dns_queries.push(if name == "<Root>" { String::new() } else { name.to_string() });
                }
            }
        }
        Ok(live)
    }

    pub fn compare_live(corpus: &Path, report: &mut Report) {
        let mut files = oracle(corpus, &mut Report::new("tshark"));
        files.sort();
        let sample = sample(&files);
        let results = par_map(&sample, |f| {
            let path = corpus.join(f);
            let names: Result<Vec<String>, String> =
                seam_json(&["timeline", "-q", "--kind", "dns", "--format", "json"], &path).map(|doc| {
                    array_at(&doc, "events")
                        .iter()
                        .filter_map(|e| str_at(e, "dns.question.name").map(str::to_string))
                        .collect()
                });
            (run_tshark(&path), names)
        });
        let records = seam_records(&sample.iter().map(|f| corpus.join(f)).collect::<Vec<_>>(), report);
        for (file, (live, seam_names)) in sample.iter().zip(results) {
            let live = match live {
                Ok(live) => live,
                Err(why) => {
                    report.note(format!("{file}: {why}"));
                    continue;
                }
            };
            let got = records.get(corpus.join(file).to_string_lossy().as_ref()).copied();
            report.compare("frames (tshark)", &Some(live.frames), &got, file);
            report.skip("tshark DNS queries in DoH or inside a tunnel", live.dns_out_of_scope);
            report.skip("tshark DNS queries without a question (no name to compare)", live.dns_nameless);
            match seam_names {
                Ok(seam_names) => compare_names(report, file, &live.dns_queries, &seam_names),
                Err(why) => report.note(format!("{file}: seam timeline: {why}")),
            }
        }
        report.note(format!("live tshark sample: {} captures", sample.len()));
    }

    /// Every tshark query name must be among seam's DNS questions (as a multiset).
    fn compare_names(report: &mut Report, file: &str, tshark: &[String], seam: &[String]) {
        let mut left: BTreeMap<&str, usize> = BTreeMap::new();
        for n in seam {
            *left.entry(n.as_str()).or_default() += 1;
        }
        for name in tshark {
            let found = left.get_mut(name.as_str()).filter(|n| **n > 0).map(|n| *n -= 1).is_some();
            report.record("dns query names (tshark)", found, || format!("{file}: tshark query {name:?} not in seam"));
        }
        report.skip("seam DNS questions beyond tshark's queries (informational)", left.values().sum::<usize>() as u64);
    }
}
