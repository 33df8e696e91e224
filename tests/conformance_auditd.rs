//! Conformance: seam's auditd decoder (`seam::decode::auditd`) against `ausearch`.
//!
//! [`ausearch_conformance`] skips, saying why, when `ausearch` is not installed; without the
//! corpus it compares seam's fixture alone. The fixtures' exact expected events are checked
//! without ausearch at the end of this file.
//!
//! Every audit log in the corpus (`laurel/src/testdata/**.txt`, `go-libaudit/**.log`,
//! `audit-userspace/auparse/test/*.log`, and the audit lines embedded in
//! `go-libaudit/aucoalesce/testdata/*.yaml`, written to a temporary file per YAML file) and
//! seam's fixture `testdata/auditd/interleaved.log` is read twice:
//!
//! - by seam: each line through `parse_line`, the records through an `Assembler`, then `finish`;
//! - by `ausearch -if FILE --raw` (the records of each event, in file order, events one after
//!   the other) and `ausearch -if FILE -i` (events separated by `----`, values interpreted),
//!   both with `TZ=UTC`.
//!
//! Events are joined on their key `(node, sec, msec, serial)`, because ausearch emits events in
//! the order its completion scan finds them, not in file order. Compared, per file and overall:
//!
//! - `event keys`: each key either side has is on both sides;
//! - `events per key`: how many events share a key;
//! - `record types`: the record types of a key's events, in order (from `--raw`);
//! - `execve argv`: the arguments of each key with `EXECVE` records (from `-i`: `aN=` values
//!   hex-decoded by auparse, pieces `aN[i]` joined);
//! - `sockaddr`: each key's `SOCKADDR` address (from `-i`: `saddr={ saddr_fam=inet laddr=…
//!   lport=… }`, `local path=…`, `netlink nlnk-pid=…`, `unknown-family(N)`).
//!
//! Systematic differences, each excluded with a printed count:
//!
//! 1. **ausearch closes an event at once when its first record is a "single-record" type**
//!    (`ausearch-lol.c`: record type below 1300 or from 1700 up — `LOGIN`, `USER_*`, `ANOM_*`,
//!    …), so a record arriving later with the same key becomes a second ausearch event. The
//!    kernel writes `LOGIN` with its `SYSCALL` and `PROCTITLE` under one serial; seam keeps them
//!    as one event. Where ausearch has more events for a key than seam and its records are
//!    exactly seam's, `events per key` is not compared for that key.
//! 2. **`-i` prints decoded arguments unquoted, space-separated**: an argument containing
//!    ` aN=` cannot be told from the next field. None in the corpus; such keys would show as
//!    mismatches, not be hidden.
//! 3. **Control characters**: auparse escapes them in `-i` output (`\n` as `\012`…) while seam
//!    keeps the decoded bytes; argv comparisons unescape ausearch's octal escapes first.
//!
//! 4. **ausearch 3.0 drops every event with an AppArmor `AVC` record** (`apparmor="DENIED"
//!    operation=…`: its AVC parser expects SELinux's `avc:  denied  { … }`, the event fails to
//!    parse and is skipped, in `--raw` too). Keys seam has and ausearch lacks for this reason
//!    are not compared.
//!
//! 5. **Abstract unix sockets**: seam writes the name after the leading NUL as `@name` (as `ss`
//!    does); ausearch prints the bare name. Compared after removing seam's `@`, counted.
//!
//! Lines ausearch skips (comments, blank lines, lines without a timestamp) are lines seam's
//! `parse_line` rejects too, so both sides see the same records.

use crate::conformance::Report;
use crate::support;
use seam::decode::auditd::{parse_line, Assembler, AuditEvent, LineError, SockAddr};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Minimum match rates in percent, overall. Set just below what was measured (all 100 %).
const FLOORS: &[(&str, f64)] = &[
    ("event keys", 99.0),
    ("events per key", 99.0),
    ("record types", 99.0),
    ("execve argv", 99.0),
    ("sockaddr", 99.0),
];

const AUSEARCH: &str = "ausearch";

#[test]
fn ausearch_conformance() {
    if !ausearch_installed() {
        println!("conformance (ausearch): skipped: `ausearch` is not on PATH (install auditd)");
        return;
    }
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("temporary directory: {e}"),
    };
    let mut files = Vec::new();
    match support::corpus::dir() {
        Ok(corpus) => {
            files.extend(corpus_logs(&corpus));
            files.extend(yaml_logs(&corpus, scratch.path()));
            assert!(!files.is_empty(), "no audit logs found under {}", corpus.display());
        }
        Err(why) => println!("conformance (ausearch): corpus skipped, seam's fixtures only: {why}"),
    }
    files.extend(fixture_logs());

    let mut total = Report::new("ausearch");
    let mut out = String::from("\n=== conformance: seam vs ausearch (per file) ===\n");
    for (label, path) in &files {
        let Some(report) = compare_file(path) else {
            let _ = writeln!(out, "{label}: ausearch failed, not compared");
            continue;
        };
        let _ = writeln!(out, "{label}: {}", report.summary());
        total.merge(report);
    }
    print!("{out}");
    total.note(format!("{} files compared", files.len()));
    total.finish(FLOORS);
}

fn ausearch_installed() -> bool {
    Command::new(AUSEARCH).arg("--version").output().is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------------------
// Finding the logs.
// ---------------------------------------------------------------------------------------------

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, files);
        } else {
            files.push(p);
        }
    }
}

fn has_audit_lines(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(10).any(|w| w == b"msg=audit("))
}

/// (label, path) of the corpus's audit logs, sorted.
fn corpus_logs(corpus: &Path) -> Vec<(String, PathBuf)> {
    let roots: [(&str, &[&str]); 3] =
        [("laurel/src/testdata", &["txt"]), ("go-libaudit", &["log"]), ("audit-userspace/auparse/test", &["log"])];
    let mut out = Vec::new();
    for (root, exts) in roots {
        let mut files = Vec::new();
        walk(&corpus.join(root), &mut files);
        files.retain(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)) && has_audit_lines(p)
        });
        for p in files {
            let label = p.strip_prefix(corpus).unwrap_or(&p).display().to_string();
            out.push((label, p));
        }
    }
    out.sort();
    out
}

/// The audit lines of each `go-libaudit/aucoalesce/testdata/*.yaml`, one temporary log per file.
fn yaml_logs(corpus: &Path, scratch: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    walk(&corpus.join("go-libaudit/aucoalesce/testdata"), &mut files);
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let mut out = Vec::new();
    for p in files {
        let Ok(text) = std::fs::read_to_string(&p) else { continue };
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_start)
            .filter(|l| (l.starts_with("type=") || l.starts_with("node=")) && l.contains("msg=audit("))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let log = scratch.join(format!("{name}.log"));
        if std::fs::write(&log, lines.join("\n") + "\n").is_ok() {
            let label = p.strip_prefix(corpus).unwrap_or(&p).display().to_string();
            out.push((format!("{label} (audit lines)"), log));
        }
    }
    out
}

/// seam's fixtures that ausearch reads as seam does (`damaged.log` is checked on its own below:
/// ausearch keeps lines seam rejects as cut).
const CONFORMANCE_FIXTURES: &[&str] = &["interleaved.log"];

fn fixture_logs() -> Vec<(String, PathBuf)> {
    CONFORMANCE_FIXTURES
        .iter()
        .map(|name| (format!("testdata/auditd/{name}"), support::fixtures::auditd(name)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// One file.
// ---------------------------------------------------------------------------------------------

/// Event identity: node, seconds, milliseconds, serial.
type Key = (Option<String>, i64, u32, u64);

/// What one side says about one key.
#[derive(Debug, Default, Clone, PartialEq)]
struct Side {
    events: usize,
    /// Record types of the key's events, in order.
    types: Vec<String>,
    /// Decoded argv, when the key has EXECVE records.
    argv: Option<Vec<String>>,
    /// Normalised socket address, when the key has a SOCKADDR record.
    sockaddr: Option<String>,
    /// seam only: the key has an AppArmor `AVC` record (difference 4).
    has_apparmor_avc: bool,
}

fn seam_side(path: &Path) -> BTreeMap<Key, Side> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut assembler = Assembler::new();
    let mut events = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if let Ok(record) = parse_line(line) {
            assembler.push_into(n as u64 + 1, record, &mut events);
        }
    }
    events.extend(assembler.finish());
    let mut out: BTreeMap<Key, Side> = BTreeMap::new();
    for e in &events {
        let side = out.entry((e.node.clone(), e.sec, e.msec, e.serial)).or_default();
        side.has_apparmor_avc |= e.records_of("AVC").any(|r| r.field("apparmor").is_some());
        side.events += 1;
        side.types.extend(e.records.iter().map(|r| r.record_type.clone()));
        if e.record("EXECVE").is_some() {
            side.argv = Some(e.execve_args());
        }
        if let Some(addr) = seam_sockaddr(e) {
            side.sockaddr = Some(addr);
        }
    }
    out
}

fn seam_sockaddr(e: &AuditEvent) -> Option<String> {
    e.record("SOCKADDR")?;
    Some(match e.sockaddr() {
        Some(SockAddr::Inet { ip, port }) => format!("{ip} {port}"),
        Some(SockAddr::Unix(path)) => format!("local {path}"),
        Some(SockAddr::Netlink { pid, .. }) => format!("netlink {pid}"),
        Some(SockAddr::Other { family }) => format!("family {family}"),
        None => "undecoded".to_string(),
    })
}

fn run_ausearch(path: &Path, mode: &str) -> Option<String> {
    let out =
        Command::new(AUSEARCH).args(["-if"]).arg(path).arg(mode).env("TZ", "UTC").env("LC_ALL", "C").output().ok()?;
    // Exit status 1 with nothing on stdout is an empty answer ("<no matches>", or every event
    // dropped), not a failure.
    if !out.status.success() && (!out.stdout.is_empty() || out.status.code() != Some(1)) {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ausearch_side(path: &Path) -> Option<(BTreeMap<Key, Side>, u64)> {
    let raw = run_ausearch(path, "--raw")?;
    let interpreted = run_ausearch(path, "-i")?;
    let mut out: BTreeMap<Key, Side> = BTreeMap::new();
    // --raw: record types per key, in order.
    for line in raw.lines() {
        let Ok(record) = parse_line(line.as_bytes()) else { continue };
        let key = (record.node.clone(), record.sec, record.msec, record.serial);
        out.entry(key).or_default().types.push(record.record_type);
    }
    // -i: events (blocks between `----`), argv and socket addresses.
    let mut blocks: Vec<Vec<InterpretedRecord>> = Vec::new();
    for line in interpreted.lines() {
        if line.starts_with("----") {
            blocks.push(Vec::new());
        } else if let Some(record) = InterpretedRecord::parse(line) {
            match blocks.last_mut() {
                Some(block) => block.push(record),
                None => blocks.push(vec![record]),
            }
        }
    }
    let mut unparsed_dates = 0;
    for block in blocks.iter().filter(|b| !b.is_empty()) {
        let Some(first) = block.first() else { continue };
        let Some(key) = first.key.clone() else {
            unparsed_dates += 1;
            continue;
        };
        let side = out.entry(key).or_default();
        side.events += 1;
        let execve: Vec<&InterpretedRecord> = block.iter().filter(|r| r.record_type == "EXECVE").collect();
        if !execve.is_empty() {
            side.argv = Some(interpreted_argv(&execve));
        }
        if let Some(saddr) = block.iter().filter(|r| r.record_type == "SOCKADDR").find_map(|r| r.saddr()) {
            side.sockaddr = Some(saddr);
        }
    }
    Some((out, unparsed_dates))
}

/// One record of `ausearch -i` output.
#[derive(Debug)]
struct InterpretedRecord {
    key: Option<Key>,
    record_type: String,
    body: String,
}

impl InterpretedRecord {
    /// `[node=N ]type=T msg=audit(MM/DD/YY HH:MM:SS.mmm:serial) : body`
    fn parse(line: &str) -> Option<Self> {
        let (node, rest) = match line.strip_prefix("node=") {
            Some(r) => {
                let (n, rest) = r.split_once(' ')?;
                (Some(n.to_string()), rest)
            }
            None => (None, line),
        };
        let rest = rest.strip_prefix("type=")?;
        let (record_type, rest) = rest.split_once(' ')?;
        let rest = rest.strip_prefix("msg=audit(")?;
        let (stamp, body) = rest.split_once(") : ").or_else(|| rest.split_once(") :").map(|(s, _)| (s, "")))?;
        let (when, serial) = stamp.rsplit_once(':')?;
        let (datetime, msec) = when.rsplit_once('.')?;
        let key = chrono::NaiveDateTime::parse_from_str(datetime, "%m/%d/%y %H:%M:%S")
            .ok()
            .and_then(|dt| Some((node, dt.and_utc().timestamp(), msec.parse().ok()?, serial.parse().ok()?)));
        let body = body.strip_suffix(' ').unwrap_or(body).to_string();
        Some(InterpretedRecord { key, record_type: record_type.to_string(), body })
    }

    /// `saddr={ saddr_fam=inet laddr=1.2.3.4 lport=80 }` → `1.2.3.4 80`, normalised as seam's.
    fn saddr(&self) -> Option<String> {
        let value = self.body.strip_prefix("saddr=")?;
        if let Some(family) = value.strip_prefix("unknown-family(").and_then(|v| v.split(')').next()) {
            return Some(format!("family {family}"));
        }
        let inner = value.strip_prefix('{')?.trim_end().strip_suffix('}')?.trim();
        let mut pairs = BTreeMap::new();
        for word in inner.split(' ') {
            if let Some((n, v)) = word.split_once('=') {
                pairs.insert(n, v);
            }
        }
        // ausearch 3.0 names the family `fam` for netlink, `saddr_fam` for the others.
        match pairs.get("saddr_fam").or_else(|| pairs.get("fam")).copied() {
            Some("inet" | "inet6") => Some(format!("{} {}", pairs.get("laddr")?, pairs.get("lport")?)),
            Some("local") => {
                // The path may hold spaces: everything after `path=`.
                let path = inner.split_once("path=").map(|(_, p)| p).unwrap_or_default();
                Some(format!("local {path}"))
            }
            Some("netlink") => Some(format!("netlink {}", pairs.get("nlnk-pid")?)),
            other => Some(format!("unrecognised {other:?}")),
        }
    }
}

/// The argv in `-i` EXECVE records: fields `argc`, `aN`, `aN_len`, `aN[i]`; a value runs to
/// the next field name (decoded arguments are printed unquoted, spaces and all).
fn interpreted_argv(records: &[&InterpretedRecord]) -> Vec<String> {
    let mut whole: BTreeMap<u64, String> = BTreeMap::new();
    let mut pieces: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut argc: Option<u64> = None;
    for record in records {
        let mut fields: Vec<(String, String)> = Vec::new();
        for word in record.body.split(' ') {
            let name = word.split_once('=').map(|(n, _)| n).filter(|n| is_execve_name(n));
            match (name, fields.last_mut()) {
                (Some(n), _) => fields.push((n.to_string(), word.get(n.len() + 1..).unwrap_or_default().to_string())),
                (None, Some((_, v))) => {
                    v.push(' ');
                    v.push_str(word);
                }
                (None, None) => {}
            }
        }
        for (name, value) in fields {
            let value = unescape_octal(&value);
            if name == "argc" {
                argc = value.parse().ok();
            } else if let Some(rest) = name.strip_prefix('a') {
                if let Some((n, i)) = rest.split_once('[') {
                    if let (Ok(n), Ok(i)) = (n.parse(), i.trim_end_matches(']').parse()) {
                        pieces.insert((n, i), value);
                    }
                } else if let Ok(n) = rest.parse() {
                    whole.insert(n, value);
                }
            }
        }
    }
    for ((n, _), piece) in pieces {
        whole.entry(n).or_default().push_str(&piece);
    }
    whole.into_iter().filter(|(n, _)| argc.is_none_or(|c| *n < c)).map(|(_, v)| v).collect()
}

fn is_execve_name(name: &str) -> bool {
    if name == "argc" {
        return true;
    }
    let Some(rest) = name.strip_prefix('a') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = rest.get(digits..).unwrap_or_default();
    digits > 0
        && (tail.is_empty()
            || tail == "_len"
            || tail
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit())))
}

/// auparse's TTY escaping of control characters: `\ooo` octal and `\\`.
fn unescape_octal(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let octal = b.get(i + 1..i + 4).filter(|d| d.iter().all(|x| (b'0'..=b'7').contains(x)));
        match (c, octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |acc, x| acc.wrapping_mul(8).wrapping_add(x - b'0')));
                i += 4;
            }
            (b'\\', None) if b.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn compare_file(path: &Path) -> Option<Report> {
    let (theirs, unparsed_dates) = ausearch_side(path)?;
    let ours = seam_side(path);
    let mut t = Report::new("ausearch");
    t.skip("ausearch events whose date could not be read", unparsed_dates);
    let label = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let keys: std::collections::BTreeSet<&Key> = theirs.keys().chain(ours.keys()).collect();
    for key in keys {
        let (a, s) = (theirs.get(key), ours.get(key));
        let at = format!("{label} {key:?}");
        if a.is_none() && s.is_some_and(|s| s.has_apparmor_avc) {
            t.skip("events ausearch drops: an AppArmor AVC record (difference 4)", 1);
            continue;
        }
        t.record("event keys", a.is_some() && s.is_some(), || {
            format!("{at}: ausearch {}, seam {}", a.is_some(), s.is_some())
        });
        let (Some(a), Some(s)) = (a, s) else { continue };
        t.compare("record types", &a.types, &s.types, &at);
        if a.events > s.events && a.types == s.types {
            t.skip("events per key: ausearch split a key after a single-record type (difference 1)", 1);
        } else {
            t.compare("events per key", &a.events, &s.events, &at);
        }
        if a.argv.is_some() || s.argv.is_some() {
            t.compare("execve argv", &a.argv, &s.argv, &at);
        }
        if a.sockaddr.is_some() || s.sockaddr.is_some() {
            let ours = match s.sockaddr.as_deref().and_then(|p| p.strip_prefix("local @")) {
                Some(name) => {
                    t.skip("sockaddr compared without seam's `@` before an abstract name (difference 5)", 1);
                    Some(format!("local {name}"))
                }
                None => s.sockaddr.clone(),
            };
            t.compare("sockaddr", &a.sockaddr, &ours, &at);
        }
    }
    Some(t)
}

// ---------------------------------------------------------------------------------------------
// seam's fixtures, checked exactly (no ausearch needed).
// ---------------------------------------------------------------------------------------------

/// A fixture read by seam: the parse errors by line number, and the events with the line after
/// which each was emitted (`u64::MAX`: at `finish`).
struct FixtureRun {
    errors: Vec<(u64, LineError)>,
    events: Vec<(u64, AuditEvent)>,
}

/// Every line of a fixture through `parse_line` and one `Assembler`.
fn assemble_fixture(name: &str) -> FixtureRun {
    let path = support::fixtures::auditd(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut assembler = Assembler::new();
    let mut run = FixtureRun { errors: Vec::new(), events: Vec::new() };
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        let n = n as u64 + 1;
        match parse_line(line) {
            Ok(record) => run.events.extend(assembler.push(n, record).into_iter().map(|e| (n, e))),
            Err(e) => run.errors.push((n, e)),
        }
    }
    run.events.extend(assembler.finish().into_iter().map(|e| (u64::MAX, e)));
    run
}

#[test]
fn interleaved_fixture_assembles_into_its_events() {
    use seam::decode::auditd::Completion::{EndOfEvent, NewerRecord};
    let FixtureRun { errors, events } = assemble_fixture("interleaved.log");
    assert!(errors.is_empty(), "{errors:?}");
    let got: Vec<(u64, &str, u64, u64, Vec<&str>, _)> = events
        .iter()
        .map(|(after, e)| {
            let types = e.records.iter().map(|r| r.record_type.as_str()).collect();
            (*after, e.node.as_deref().unwrap_or(""), e.serial, e.first_line, types, e.completion)
        })
        .collect();
    let expected = [
        // web1's record at :06 completes its older events; 101 goes out at once, the others wait
        // behind db1's 102 until db1's record at :10 completes it.
        (26, "web1", 101, 1, vec!["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"], NewerRecord),
        (29, "db1", 102, 2, vec!["SYSCALL", "SOCKADDR", "PROCTITLE"], NewerRecord),
        (29, "web1", 103, 10, vec!["SYSCALL", "EXECVE", "EXECVE", "PROCTITLE"], NewerRecord),
        (29, "web1", 104, 14, vec!["SYSCALL", "SOCKADDR", "CWD"], NewerRecord),
        (29, "web1", 105, 16, vec!["SYSCALL", "SOCKADDR"], NewerRecord),
        (29, "web1", 106, 19, vec!["SYSCALL", "SOCKADDR", "PROCTITLE"], NewerRecord),
        (29, "web1", 107, 22, vec!["USER_LOGIN"], NewerRecord),
        (29, "web1", 108, 23, vec!["LOGIN", "SYSCALL", "PROCTITLE"], NewerRecord),
        (29, "web1", 109, 26, vec!["SYSCALL", "EXECVE", "EOE"], EndOfEvent),
        (31, "db1", 110, 29, vec!["SYSCALL", "SOCKADDR", "EOE"], EndOfEvent),
    ];
    assert_eq!(got, expected);

    let event = |serial: u64| events.iter().map(|(_, e)| e).find(|e| e.serial == serial).expect("event present");
    let e101 = event(101);
    assert_eq!(e101.execve_args(), ["curl", "-s", "http://192.0.2.10/a b", "-o/tmp/x"]);
    assert_eq!(e101.proctitle_args(), e101.execve_args());
    assert_eq!(e101.field("CWD", "cwd"), Some("/home/alice/my files"));
    assert_eq!(e101.record("SYSCALL").and_then(|r| r.interpreted_field("AUID")), Some("alice"));
    assert_eq!(e101.ts_ns, 1_714_557_600_100_000_000);
    let long = format!("{} and spaces {}", "A".repeat(40), "Z".repeat(40));
    assert_eq!(event(103).execve_args(), ["python3", long.as_str(), "-q"]);
    let addr = |serial| event(serial).sockaddr();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
    assert_eq!(addr(102), Some(SockAddr::Inet { ip: ip("2001:db8::20"), port: 5432 }));
    assert_eq!(addr(104), Some(SockAddr::Unix("/var/run/nscd/socket".into())));
    assert_eq!(addr(105), Some(SockAddr::Unix("@/tmp/.X11-unix/X0".into())));
    assert_eq!(addr(106), Some(SockAddr::Inet { ip: ip("198.51.100.7"), port: 4567 }));
    assert_eq!(addr(110), Some(SockAddr::Inet { ip: ip("::1"), port: 5432 }));
    assert_eq!(event(106).field("SYSCALL", "key"), Some("net out"));
    assert_eq!(event(106).field("SYSCALL", "a1"), Some("7ffd5678"), "syscall arguments stay hex");
    assert_eq!(event(107).field("USER_LOGIN", "acct"), Some("bob smith"));
    assert_eq!(event(107).field("USER_LOGIN", "res"), Some("failed"));
    assert_eq!(event(109).execve_args(), ["sh", "-c", "echo pwned > /tmp/x; id"]);
}

#[test]
fn damaged_fixture_reports_each_bad_line_and_keeps_the_rest() {
    use seam::decode::auditd::Completion::{EndOfEvent, EndOfInput};
    use LineError::*;
    let FixtureRun { errors, events } = assemble_fixture("damaged.log");
    assert_eq!(
        errors,
        [
            (1, NoType { column: 0 }),
            (3, Empty),
            (5, Binary { column: 0, byte: 0 }),
            (7, NotUtf8 { column: 50 }),
            (8, Cut { column: 138, what: "quoted value" }),
            (9, Cut { column: 36, what: "timestamp" }),
            (10, BadTimestamp { column: 32, expected: "'.' after the seconds" }),
            (11, NoType { column: 0 }),
        ]
    );
    let got: Vec<(u64, u64, Vec<&str>, _)> = events
        .iter()
        .map(|(after, e)| (*after, e.serial, e.records.iter().map(|r| r.record_type.as_str()).collect(), e.completion))
        .collect();
    assert_eq!(
        got,
        [
            (13, 201, vec!["SYSCALL", "EXECVE", "PATH", "EOE"], EndOfEvent),
            (u64::MAX, 203, vec!["SOCKADDR"], EndOfInput)
        ]
    );
    assert_eq!(events.first().map(|(_, e)| e.execve_args()), Some(vec!["ls".to_string(), "-la".to_string()]));
}
