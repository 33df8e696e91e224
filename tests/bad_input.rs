//! Bad evidence through the binary: every capture here is built in code (see
//! `support::capture`), written next to a good sibling capture, and read with `seam inventory`
//! and `seam flows`. For each fault the test checks that
//!
//! - the run never panics (exit 101 or "panicked" on stderr fails every helper),
//! - a diagnostic names the file and the exact byte offset of the fault (stderr and the JSON
//!   diagnostics of `--format json`),
//! - the packets before the fault (and after it, where resynchronisation can find them) are kept:
//!   `seam.records` of `seam inventory --format jsonl`, packets summed over `seam flows`,
//! - the sibling file in the same directory is still read,
//! - the exit code is 0, and 2 under `--strict` when the fault is an input problem.
//!
//! Offsets follow from the formats: a classic pcap header is 24 bytes and each record 16 + caplen;
//! a pcapng block is as long as its length field says.
//!
//! Also here: a sweep of the tcpdump test captures in `../shared/corpus` (skipped when absent),
//! the replay of minimised fuzz crashers from `testdata/fuzz-regressions/` through the fuzz
//! targets' own code (`fuzz/harness.rs`), and flow-layer determinism cases the fuzzer led to.

use crate::support::capture::{
    enhanced_packet_body, ethernet, ethernet_ipv4_udp, ipv4, udp, ByteOrder, PcapFile, PcapngFile, TsPrecision,
    IPV4_MORE_FRAGMENTS, LINKTYPE_ETHERNET, PCAPNG_EPB_TYPE, PCAP_HEADER_LEN, PCAP_RECORD_HEADER_LEN,
};
use assert_cmd::Command;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Per-invocation limit for the small generated cases; generous for a debug build.
pub(crate) const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Limit for the corpus sweep.
const SWEEP_TIMEOUT: Duration = Duration::from_secs(600);

/// 2024-05-01T10:00:00Z, the capture time of every generated packet.
const BASE_SECS: u32 = 1_714_557_600;
const BASE_TIME: &str = "2024-05-01T10:00:00";

/// Packets in the good sibling capture (one UDP flow).
pub(crate) const SIBLING_PACKETS: u64 = 2;
const SIBLING_NAME: &str = "sibling.pcap";

// ---------------------------------------------------------------------------------------------
// Running seam

/// Outcome of one seam invocation.
pub(crate) struct SeamRun {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs seam with `args`; fails the test on a panic, a crash by signal or a timeout.
pub(crate) fn run_seam<I, S>(args: I, timeout: Duration) -> SeamRun
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let output = Command::cargo_bin("seam")
        .expect("seam binary is built")
        .args(&args)
        .timeout(timeout)
        .output()
        .expect("seam can be started");
    let run = SeamRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(run.code != 101 && !run.stderr.contains("panicked"), "seam panicked on {args:?}:\n{}", run.stderr);
    assert!(run.code >= 0, "seam was killed (timeout {timeout:?} or signal) on {args:?}:\n{}", run.stderr);
    run
}

pub(crate) fn args_with(path: &Path, head: &[&str], tail: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = head.iter().map(OsString::from).collect();
    args.push(path.as_os_str().to_owned());
    args.extend(tail.iter().map(OsString::from));
    args
}

/// `seam inventory PATH --no-hash --format jsonl` rows, with exit code 0 required.
pub(crate) fn inventory_rows(path: &Path) -> Vec<Json> {
    let run = run_seam(args_with(path, &["inventory"], &["--no-hash", "--format", "jsonl"]), CASE_TIMEOUT);
    assert_eq!(run.code, 0, "inventory of {} failed:\n{}", path.display(), run.stderr);
    parse_jsonl(&run.stdout)
}

/// `seam inventory PATH --no-hash --format json`: the document (files and diagnostics) and stderr.
pub(crate) fn inventory_document(path: &Path) -> (Json, String) {
    let run = run_seam(args_with(path, &["inventory"], &["--no-hash", "--format", "json"]), CASE_TIMEOUT);
    assert_eq!(run.code, 0, "inventory of {} failed:\n{}", path.display(), run.stderr);
    let doc = serde_json::from_str(&run.stdout).expect("inventory --format json is one JSON document");
    (doc, run.stderr)
}

/// Exit code of `seam inventory --strict PATH`.
pub(crate) fn strict_exit_code(path: &Path) -> i32 {
    run_seam(args_with(path, &["inventory", "--strict"], &["--no-hash", "--format", "jsonl"]), CASE_TIMEOUT).code
}

/// `seam flows PATH --format jsonl` rows, with exit code 0 required.
fn flow_rows(path: &Path) -> Vec<Json> {
    let run = run_seam(args_with(path, &["flows"], &["--format", "jsonl"]), CASE_TIMEOUT);
    assert_eq!(run.code, 0, "flows of {} failed:\n{}", path.display(), run.stderr);
    parse_jsonl(&run.stdout)
}

pub(crate) fn parse_jsonl(text: &str) -> Vec<Json> {
    text.lines().map(|l| serde_json::from_str(l).expect("each JSON Lines row is valid JSON")).collect()
}

pub(crate) fn row_for<'a>(rows: &'a [Json], file: &Path) -> &'a Json {
    let want = file.display().to_string();
    rows.iter()
        .find(|r| r["file"]["path"] == want.as_str())
        .unwrap_or_else(|| panic!("no inventory row for {want} in {rows:#?}"))
}

/// `seam.records` of a file's inventory row (None when the file is not a capture).
pub(crate) fn records_of(rows: &[Json], file: &Path) -> Option<u64> {
    row_for(rows, file)["seam"]["records"].as_u64()
}

pub(crate) fn kind_of(rows: &[Json], file: &Path) -> String {
    row_for(rows, file)["seam"]["kind"].as_str().unwrap_or_default().to_string()
}

/// Packets of a file's flows, both directions summed.
fn flow_packets_of(flows: &[Json], file: &Path) -> u64 {
    let want = file.display().to_string();
    flows
        .iter()
        .filter(|f| f["seam"]["file"] == want.as_str())
        .map(|f| f["source"]["packets"].as_u64().unwrap_or(0) + f["destination"]["packets"].as_u64().unwrap_or(0))
        .sum()
}

/// A located diagnostic as the JSON document reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Located {
    pub(crate) kind: String,
    pub(crate) offset: Option<u64>,
    pub(crate) detail: String,
}

/// Every detailed diagnostic the document holds for `file`.
pub(crate) fn diagnostics_for(doc: &Json, file: &Path) -> Vec<Located> {
    let want = file.display().to_string();
    let Some(kinds) = doc["diagnostics"][want.as_str()].as_object() else { return Vec::new() };
    let mut out = Vec::new();
    for (kind, summary) in kinds {
        for ex in summary["examples"].as_array().into_iter().flatten() {
            out.push(Located {
                kind: kind.clone(),
                offset: ex["offset"].as_u64(),
                detail: ex["detail"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Evidence

/// A temporary evidence directory holding a good sibling capture and the files of one case.
pub(crate) struct EvidenceDir {
    dir: tempfile::TempDir,
}

impl EvidenceDir {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let e = EvidenceDir { dir };
        e.write(SIBLING_NAME, &sibling_capture());
        e
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn sibling(&self) -> PathBuf {
        self.dir.path().join(SIBLING_NAME)
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write test capture");
        p
    }
}

/// Two packets of one UDP flow, 10.0.0.1:40000 → 10.0.0.2:5555.
fn sibling_capture() -> Vec<u8> {
    let mut f = PcapFile::ethernet();
    let frame = ethernet_ipv4_udp([10, 0, 0, 1], 40_000, [10, 0, 0, 2], 5555, b"sibling");
    f.packet(BASE_SECS, 0, &frame);
    f.packet(BASE_SECS, 500_000, &frame);
    f.into_bytes()
}

/// The frame every generated bad capture carries: 10.0.0.3:40001 → 10.0.0.4:6000, 56 bytes.
fn test_frame() -> Vec<u8> {
    ethernet_ipv4_udp([10, 0, 0, 3], 40_001, [10, 0, 0, 4], 6000, b"bad-input test")
}

/// A little-endian µs Ethernet pcap with `n` copies of [`test_frame`], 1 ms apart.
fn pcap_with_packets(n: u32) -> PcapFile {
    let mut f = PcapFile::ethernet();
    for i in 0..n {
        f.packet(BASE_SECS, i * 1000, &test_frame());
    }
    f
}

fn record_len() -> usize {
    PCAP_RECORD_HEADER_LEN + test_frame().len()
}

/// Offset of the `i`-th (0-based) record of [`pcap_with_packets`].
fn record_offset(i: usize) -> u64 {
    (PCAP_HEADER_LEN + i * record_len()) as u64
}

// ---------------------------------------------------------------------------------------------
// The common check

/// What a bad capture must produce.
struct Expect<'a> {
    /// Packet records seam must read from the file (`seam.records`).
    records: u64,
    /// Packets that must reach the flow table (summed over the file's flows).
    flow_packets: u64,
    /// Exactly the diagnostics the file must get from `seam inventory`: (kind, offset). A kind
    /// may list accepted alternatives as `a|b` (see the truncated gzip case).
    diagnostics: &'a [(&'a str, Option<u64>)],
}

/// Writes `bytes` as `name` beside the good sibling and checks everything the module doc lists.
/// Returns the evidence directory and the file's diagnostics for further checks.
fn check_bad_capture(name: &str, bytes: &[u8], expect: &Expect<'_>) -> (EvidenceDir, Vec<Located>) {
    let evidence = EvidenceDir::new();
    let file = evidence.write(name, bytes);
    let shown = file.display().to_string();

    let rows = inventory_rows(evidence.path());
    assert_eq!(rows.len(), 2, "both files are listed: {rows:#?}");
    assert_eq!(records_of(&rows, &file), Some(expect.records), "records kept from {name}");
    assert_eq!(records_of(&rows, &evidence.sibling()), Some(SIBLING_PACKETS), "sibling still read");

    let (doc, stderr) = inventory_document(evidence.path());
    let found = diagnostics_for(&doc, &file);
    // Each found (kind, offset) is written as the expected spelling it satisfies, so that the
    // two sets compare exactly.
    let spelled = |kind: &str, offset: Option<u64>| {
        expect
            .diagnostics
            .iter()
            .find(|(k, o)| *o == offset && k.split('|').any(|alt| alt == kind))
            .map_or(kind.to_string(), |(k, _)| k.to_string())
    };
    let found_pairs: BTreeSet<(String, Option<u64>)> =
        found.iter().map(|d| (spelled(&d.kind, d.offset), d.offset)).collect();
    let want_pairs: BTreeSet<(String, Option<u64>)> =
        expect.diagnostics.iter().map(|(k, o)| (k.to_string(), *o)).collect();
    assert_eq!(found_pairs, want_pairs, "diagnostics of {name}: {found:#?}\nstderr:\n{stderr}");
    assert!(diagnostics_for(&doc, &evidence.sibling()).is_empty(), "the sibling is clean: {doc:#}");
    for (kind, offset) in expect.diagnostics {
        assert!(stderr.contains(&shown), "stderr names {shown}:\n{stderr}");
        assert!(
            kind.split('|').any(|alt| stderr.contains(&format!("× {alt}"))),
            "stderr names the kind {kind}:\n{stderr}"
        );
        if let Some(o) = offset {
            assert!(stderr.contains(&format!("offset {o}: ")), "stderr names offset {o}:\n{stderr}");
        }
    }
    let problems = row_for(&rows, &file)["seam"]["problems"].as_u64().unwrap_or(0);
    let strict_expected = if problems > 0 { 2 } else { 0 };
    assert_eq!(
        expect.diagnostics.is_empty(),
        problems == 0,
        "seam.problems {problems} agrees with the expected diagnostics"
    );
    assert_eq!(strict_exit_code(evidence.path()), strict_expected, "--strict exit code for {name}");

    let flows = flow_rows(evidence.path());
    assert_eq!(flow_packets_of(&flows, &file), expect.flow_packets, "packets of {name} in flows: {flows:#?}");
    assert_eq!(flow_packets_of(&flows, &evidence.sibling()), SIBLING_PACKETS, "sibling flows");
    (evidence, found)
}

// ---------------------------------------------------------------------------------------------
// Classic pcap framing

#[test]
fn truncated_last_record_keeps_the_packets_before_it() {
    let f = pcap_with_packets(3);
    let cut = f.len() - 10;
    let bytes = f.bytes()[..cut].to_vec();
    let (_, found) = check_bad_capture(
        "truncated-record.pcap",
        &bytes,
        &Expect { records: 2, flow_packets: 2, diagnostics: &[("truncated", Some(record_offset(2)))] },
    );
    let need = record_len();
    let have = need - 10;
    assert!(
        found[0].detail.contains(&format!("need {need} bytes, have {have}")),
        "detail says how much is missing: {found:#?}"
    );
}

#[test]
fn truncated_record_header_keeps_the_packets_before_it() {
    let f = pcap_with_packets(2);
    let mut bytes = f.into_bytes();
    let header_at = bytes.len() as u64;
    bytes.extend_from_slice(&[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    let (_, found) = check_bad_capture(
        "truncated-header.pcap",
        &bytes,
        &Expect { records: 2, flow_packets: 2, diagnostics: &[("truncated", Some(header_at))] },
    );
    assert!(found[0].detail.contains("need 16 bytes, have 8"), "{found:#?}");
}

/// A file named like a capture whose first bytes are not one is listed as unknown (it is not
/// read as a capture), and said so: a capture with a damaged header must not leave the
/// analysis without a word. A file of an unknown kind named as such is no problem at all.
#[test]
fn wrong_magic_is_listed_as_unknown_and_reported() {
    let mut bytes = pcap_with_packets(2).into_bytes();
    bytes[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let evidence = EvidenceDir::new();
    let file = evidence.write("wrong-magic.pcap", &bytes);
    let notes = evidence.write("notes.bin", &bytes);

    let rows = inventory_rows(evidence.path());
    assert_eq!(kind_of(&rows, &file), "unknown");
    assert_eq!(records_of(&rows, &file), None, "an unknown file has no record count");
    assert_eq!(row_for(&rows, &file)["seam"]["problems"].as_u64(), Some(1));
    assert_eq!(row_for(&rows, &notes)["seam"]["problems"].as_u64(), Some(0));
    assert_eq!(records_of(&rows, &evidence.sibling()), Some(SIBLING_PACKETS));
    let (doc, stderr) = inventory_document(evidence.path());
    let found = diagnostics_for(&doc, &file);
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!((found[0].kind.as_str(), found[0].offset), ("bad-header", Some(0)));
    assert!(found[0].detail.contains("named like a capture but its first bytes are not one"), "{found:#?}");
    assert!(diagnostics_for(&doc, &notes).is_empty(), "no diagnostic for a file of no known name: {doc:#}");
    assert!(stderr.contains("wrong-magic.pcap"), "stderr names it:\n{stderr}");
    assert_eq!(strict_exit_code(evidence.path()), 2, "a damaged capture is an input problem");
    let flows = flow_rows(evidence.path());
    assert_eq!(flow_packets_of(&flows, &file), 0);
    assert_eq!(flow_packets_of(&flows, &evidence.sibling()), SIBLING_PACKETS);
}

#[test]
fn caplen_beyond_the_snaplen_is_reported_and_the_packet_kept() {
    let frame = test_frame();
    let mut f = PcapFile::with_header(ByteOrder::Little, TsPrecision::Micros, 40, LINKTYPE_ETHERNET);
    let first = f.record(BASE_SECS, 0, 40, frame.len() as u32, &frame[..40]);
    let oversized = f.packet(BASE_SECS, 1000, &frame);
    f.record(BASE_SECS, 2000, 40, frame.len() as u32, &frame[..40]);
    assert_eq!(first, PCAP_HEADER_LEN);
    let (_, found) = check_bad_capture(
        "beyond-snaplen.pcap",
        f.bytes(),
        &Expect { records: 3, flow_packets: 3, diagnostics: &[("corrupt-record", Some(oversized as u64))] },
    );
    assert!(found[0].detail.contains("exceeds the file's snaplen 40"), "{found:#?}");
}

#[test]
fn absurd_caplen_resyncs_to_the_records_after_it() {
    let frame = test_frame();
    let mut f = pcap_with_packets(2);
    // A record header claiming 2 GiB, followed by bytes that cannot start a record.
    let bad = f.record(BASE_SECS, 2000, 0x7fff_ffff, 0x7fff_ffff, &[0xff; 40]);
    let next = f.packet(BASE_SECS, 3000, &frame);
    f.packet(BASE_SECS, 4000, &frame);
    f.packet(BASE_SECS, 5000, &frame);
    let (_, found) = check_bad_capture(
        "absurd-caplen.pcap",
        f.bytes(),
        &Expect {
            records: 5,
            flow_packets: 5,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
    let resynced = found.iter().find(|d| d.kind == "resynced").expect("a resync diagnostic");
    assert!(
        resynced
            .detail
            .contains(&format!("skipped {} bytes to the next plausible record at offset {next}", next - bad)),
        "the resync names where it landed: {resynced:#?}"
    );
}

#[test]
fn absurd_caplen_in_the_first_record_resyncs_to_a_single_last_record() {
    let mut f = PcapFile::ethernet();
    let bad = f.record(BASE_SECS, 0, 0xffff_fff0, 60, &[0xee; 24]);
    let next = f.packet(BASE_SECS, 1000, &test_frame());
    let (_, found) = check_bad_capture(
        "absurd-first.pcap",
        f.bytes(),
        &Expect {
            records: 1,
            flow_packets: 1,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
    assert!(found.iter().any(|d| d.detail.contains(&format!("at offset {next}"))), "{found:#?}");
}

/// A zero-filled region (a preallocated capture a crash left unwritten) is not a run of empty
/// packets from 1970: it is skipped as one diagnostic, and the record after it is found even
/// when its little-endian seconds start with zero bytes.
#[test]
fn a_zero_filled_region_is_skipped_not_read_as_packets() {
    let frame = test_frame();
    let mut f = pcap_with_packets(2);
    let zeros = f.raw(&[0u8; 1000]);
    // 0x6632_0000: the record's first two bytes are zeros too.
    let next = f.packet(BASE_SECS & !0xffff, 3000, &frame);
    f.packet(BASE_SECS & !0xffff, 4000, &frame);
    let (_, found) = check_bad_capture(
        "zero-filled.pcap",
        f.bytes(),
        &Expect { records: 4, flow_packets: 4, diagnostics: &[("corrupt-record", Some(zeros as u64))] },
    );
    assert!(
        found[0].detail.contains(&format!(
            "1000 zero bytes skipped (a zero-filled region, not records); the next record starts at offset {next}"
        )),
        "{found:#?}"
    );
}

#[test]
fn zeros_to_the_end_of_a_capture_are_one_diagnostic() {
    let mut f = pcap_with_packets(3);
    let zeros = f.raw(&[0u8; 70_000]);
    let (_, found) = check_bad_capture(
        "zero-tail.pcap",
        f.bytes(),
        &Expect { records: 3, flow_packets: 3, diagnostics: &[("corrupt-record", Some(zeros as u64))] },
    );
    assert!(
        found[0].detail.contains("70000 zero bytes skipped (a zero-filled region, not records); nothing follows them"),
        "{found:#?}"
    );
}

/// A diagnostic as (kind, offset, detail).
type Found = (String, Option<u64>, String);

/// Records and diagnostics of a capture read three ways: mapped, with `read()` (`--no-mmap`)
/// and gzip-compressed. They must agree: where seam picks up again after damage may not depend
/// on how the file was read.
fn read_three_ways(name: &str, bytes: &[u8]) -> Vec<(Option<u64>, Vec<Found>)> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("compress");
    let gzipped = gz.finish().expect("compress");
    let mut out = Vec::new();
    for (file, data, extra) in [
        (name.to_string(), bytes, None),
        (name.to_string(), bytes, Some("--no-mmap")),
        (format!("{name}.gz"), gzipped.as_slice(), None),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(&file);
        std::fs::write(&path, data).expect("write");
        let mut tail = vec!["--no-hash", "--format", "json"];
        tail.extend(extra);
        let run = run_seam(args_with(&path, &["inventory"], &tail), CASE_TIMEOUT);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let doc: Json = serde_json::from_str(&run.stdout).expect("json");
        let records = doc["files"][0]["seam"]["records"].as_u64();
        let diags = diagnostics_for(&doc, &path).into_iter().map(|d| (d.kind, d.offset, d.detail)).collect();
        out.push((records, diags));
    }
    out
}

/// More zeros than one read-ahead window holds (a preallocated capture cut short by a crash):
/// the records after them are found whether the file is mapped, read or decompressed.
#[test]
fn records_after_a_long_zero_run_are_found_however_the_file_is_read() {
    let frame = test_frame();
    let mut f = pcap_with_packets(2);
    f.raw(&vec![0u8; 17 << 20]);
    for i in 0..50 {
        f.packet(BASE_SECS + 10, i * 1000, &frame);
    }
    let ways = read_three_ways("long-zeros.pcap", f.bytes());
    assert_eq!(ways[0].0, Some(52), "{:#?}", ways[0]);
    assert!(ways.iter().all(|w| w == &ways[0]), "{ways:#?}");
    assert!(ways[0].1[0].2.contains(&format!("{} zero bytes skipped", 17 << 20)), "{ways:#?}");
}

/// A record whose seconds are 0 (relative timestamps) right after zeros is still a record, and
/// garbage between zeros and the next record is reported apart from the zeros.
#[test]
fn zeros_then_a_second_zero_record_or_garbage_are_told_apart() {
    let frame = test_frame();
    let mut f = PcapFile::ethernet();
    f.packet(0, 100, &frame);
    f.packet(0, 200, &frame);
    f.raw(&[0u8; 32]);
    for us in [300, 400, 500] {
        f.packet(0, us, &frame);
    }
    let ways = read_three_ways("zero-seconds.pcap", f.bytes());
    assert_eq!(ways[0].0, Some(5), "{:#?}", ways[0]);
    assert!(ways[0].1[0].2.starts_with("32 zero bytes skipped"), "{ways:#?}");
    assert!(ways.iter().all(|w| w == &ways[0]), "{ways:#?}");

    let mut g = pcap_with_packets(1);
    let zeros = g.raw(&[0u8; 64]);
    g.raw(&[0xde, 0xad, 0xbe, 0xef].repeat(25));
    let next = g.packet(BASE_SECS, 2000, &frame);
    g.packet(BASE_SECS, 3000, &frame);
    let ways = read_three_ways("zeros-garbage.pcap", g.bytes());
    assert_eq!(ways[0].0, Some(3), "{:#?}", ways[0]);
    let diags = &ways[0].1;
    assert!(
        diags.iter().any(|(k, o, d)| k == "corrupt-record"
            && *o == Some(zeros as u64)
            && d.starts_with("64 zero bytes skipped")),
        "{diags:#?}"
    );
    assert!(
        diags.iter().any(|(k, o, d)| k == "resynced"
            && *o == Some(zeros as u64 + 64)
            && d.contains(&format!("skipped 100 bytes to the next plausible record at offset {next}"))),
        "{diags:#?}"
    );
    assert!(ways.iter().all(|w| w == &ways[0]), "{ways:#?}");
}

/// A caplen below seam's maximum but pointing past the end of the file cannot be a real record
/// either; the records after it are intact and must be found like after an absurd caplen.
#[test]
fn caplen_past_the_end_of_file_resyncs_to_the_records_after_it() {
    let frame = test_frame();
    let mut f = pcap_with_packets(2);
    let bad = f.record(BASE_SECS, 2000, 200_000, 200_000, &[0xff; 40]);
    f.packet(BASE_SECS, 3000, &frame);
    f.packet(BASE_SECS, 4000, &frame);
    check_bad_capture(
        "caplen-past-eof.pcap",
        f.bytes(),
        &Expect {
            records: 4,
            flow_packets: 4,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
}

#[test]
fn garbage_after_a_valid_file_is_reported_where_it_starts() {
    let mut f = pcap_with_packets(3);
    let garbage_at = f.raw(&[0xa5; 100]);
    let (_, found) = check_bad_capture(
        "trailing-garbage.pcap",
        f.bytes(),
        &Expect {
            records: 3,
            flow_packets: 3,
            diagnostics: &[("corrupt-record", Some(garbage_at as u64)), ("resynced", Some(garbage_at as u64))],
        },
    );
    assert!(found.iter().any(|d| d.detail.contains("rest of file skipped")), "{found:#?}");
}

#[test]
fn short_garbage_after_a_valid_file_is_reported_where_it_starts() {
    let mut f = pcap_with_packets(3);
    // Read as a record header, the text claims a caplen of 1.6 GB: corrupt, and nothing after it.
    let garbage_at = f.raw(b"\n-- end of capture --\n");
    check_bad_capture(
        "trailing-text.pcap",
        f.bytes(),
        &Expect {
            records: 3,
            flow_packets: 3,
            diagnostics: &[("corrupt-record", Some(garbage_at as u64)), ("resynced", Some(garbage_at as u64))],
        },
    );
}

#[test]
fn zero_length_packet_is_a_record_not_a_fault() {
    let mut f = pcap_with_packets(1);
    f.packet(BASE_SECS, 1000, &[]);
    f.packet(BASE_SECS, 2000, &test_frame());
    // A zero-length record is valid framing; only the flow layer sees nothing to decode in it.
    check_bad_capture("zero-length.pcap", f.bytes(), &Expect { records: 3, flow_packets: 2, diagnostics: &[] });

    let mut ng = PcapngFile::new();
    ng.interface(LINKTYPE_ETHERNET as u16, 65_535, None);
    ng.enhanced_packet(0, 1, &test_frame());
    ng.enhanced_packet(0, 2, &[]);
    ng.simple_packet(&[]);
    ng.enhanced_packet(0, 3, &test_frame());
    check_bad_capture("zero-length.pcapng", ng.bytes(), &Expect { records: 4, flow_packets: 2, diagnostics: &[] });
}

#[test]
fn jumbo_packet_is_decoded() {
    let payload: Vec<u8> = (0..9000 - 42).map(|i| (i % 251) as u8).collect();
    let jumbo = ethernet_ipv4_udp([10, 0, 0, 3], 40_001, [10, 0, 0, 4], 6000, &payload);
    assert_eq!(jumbo.len(), 9000);
    let mut f = PcapFile::ethernet();
    f.packet(BASE_SECS, 0, &jumbo);
    f.packet(BASE_SECS, 1000, &test_frame());
    let (evidence, _) =
        check_bad_capture("jumbo.pcap", f.bytes(), &Expect { records: 2, flow_packets: 2, diagnostics: &[] });
    let file = evidence.path().join("jumbo.pcap");
    let flows = flow_rows(evidence.path());
    let flow = flows.iter().find(|f| f["seam"]["file"] == file.display().to_string().as_str()).expect("the jumbo flow");
    let small_payload = test_frame().len() as u64 - 42;
    assert_eq!(flow["source"]["bytes"].as_u64(), Some(payload.len() as u64 + small_payload), "{flow:#}");
    assert_eq!(flow["flow"]["orig_ip_bytes"].as_u64(), Some(9000 - 14 + test_frame().len() as u64 - 14), "{flow:#}");
}

// ---------------------------------------------------------------------------------------------
// pcapng framing

/// SHB + one Ethernet interface + `n` EPBs of [`test_frame`].
fn pcapng_with_packets(n: u64) -> PcapngFile {
    let mut f = PcapngFile::new();
    f.interface(LINKTYPE_ETHERNET as u16, 65_535, None);
    for i in 0..n {
        f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + i * 1000, &test_frame());
    }
    f
}

#[test]
fn pcapng_leading_and_trailing_lengths_that_disagree_resync_to_the_next_block() {
    let mut f = pcapng_with_packets(2);
    let body = enhanced_packet_body(0, u64::from(BASE_SECS) * 1_000_000 + 2000, &test_frame());
    let real = 12 + body.len() as u32;
    let bad = f.block_with_lengths(PCAPNG_EPB_TYPE, &body, real, real + 8);
    let next = f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 3000, &test_frame());
    f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 4000, &test_frame());
    let (_, found) = check_bad_capture(
        "length-mismatch.pcapng",
        f.bytes(),
        &Expect {
            records: 4,
            flow_packets: 4,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
    assert!(found.iter().any(|d| d.detail.contains("disagrees with leading length")), "{found:#?}");
    assert!(found.iter().any(|d| d.detail.contains(&format!("next valid block at offset {next}"))), "{found:#?}");
}

#[test]
fn pcapng_leading_length_too_short_resyncs_to_the_next_block() {
    let mut f = pcapng_with_packets(1);
    let body = enhanced_packet_body(0, u64::from(BASE_SECS) * 1_000_000 + 1000, &test_frame());
    let real = 12 + body.len() as u32;
    let bad = f.block_with_lengths(PCAPNG_EPB_TYPE, &body, real - 16, real);
    f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 2000, &test_frame());
    check_bad_capture(
        "length-short.pcapng",
        f.bytes(),
        &Expect {
            records: 2,
            flow_packets: 2,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
}

#[test]
fn pcapng_last_block_length_past_the_end_of_file_is_truncation() {
    let mut f = pcapng_with_packets(2);
    let body = enhanced_packet_body(0, u64::from(BASE_SECS) * 1_000_000 + 2000, &test_frame());
    let bad = f.block_with_lengths(PCAPNG_EPB_TYPE, &body, 4096, 12 + body.len() as u32);
    let (_, found) = check_bad_capture(
        "length-past-eof.pcapng",
        f.bytes(),
        &Expect { records: 2, flow_packets: 2, diagnostics: &[("truncated", Some(bad as u64))] },
    );
    let have = f.len() - bad;
    assert!(found[0].detail.contains(&format!("need 4096 bytes, have {have}")), "{found:#?}");
}

/// A block length pointing past the end of the file, with intact blocks after the lying one:
/// the length is impossible, so seam must resynchronise as it does for other impossible lengths.
#[test]
fn pcapng_block_length_past_the_end_of_file_resyncs_to_the_blocks_after_it() {
    let mut f = pcapng_with_packets(2);
    let body = enhanced_packet_body(0, u64::from(BASE_SECS) * 1_000_000 + 2000, &test_frame());
    let bad = f.block_with_lengths(PCAPNG_EPB_TYPE, &body, 1 << 20, 12 + body.len() as u32);
    f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 3000, &test_frame());
    f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 4000, &test_frame());
    check_bad_capture(
        "length-past-eof-mid.pcapng",
        f.bytes(),
        &Expect {
            records: 4,
            flow_packets: 4,
            diagnostics: &[("corrupt-record", Some(bad as u64)), ("resynced", Some(bad as u64))],
        },
    );
}

/// A timestamp past the year 2262 cannot be held in nanoseconds: the packet is kept, at the
/// limit, and the clamp is reported where the packet is.
#[test]
fn a_pcapng_timestamp_past_2262_is_clamped_and_reported() {
    let mut f = pcapng_with_packets(2);
    let far = f.enhanced_packet(0, u64::MAX, &test_frame());
    check_bad_capture(
        "far-future.pcapng",
        f.bytes(),
        &Expect { records: 3, flow_packets: 3, diagnostics: &[("bad-timestamp", Some(far as u64))] },
    );
}

#[test]
fn garbage_after_a_valid_pcapng_is_reported_where_it_starts() {
    let mut f = pcapng_with_packets(3);
    let garbage_at = f.raw(&[0xa5; 100]);
    check_bad_capture(
        "trailing-garbage.pcapng",
        f.bytes(),
        &Expect {
            records: 3,
            flow_packets: 3,
            diagnostics: &[("corrupt-record", Some(garbage_at as u64)), ("resynced", Some(garbage_at as u64))],
        },
    );
}

#[test]
fn pcapng_packet_on_an_undeclared_interface_is_skipped_and_reported() {
    let mut f = pcapng_with_packets(1);
    let bad = f.enhanced_packet(3, u64::from(BASE_SECS) * 1_000_000 + 1000, &test_frame());
    f.enhanced_packet(0, u64::from(BASE_SECS) * 1_000_000 + 2000, &test_frame());
    let (_, found) = check_bad_capture(
        "undeclared-interface.pcapng",
        f.bytes(),
        &Expect { records: 2, flow_packets: 2, diagnostics: &[("corrupt-record", Some(bad as u64))] },
    );
    assert!(found[0].detail.contains("undeclared interface 3"), "{found:#?}");
}

// ---------------------------------------------------------------------------------------------
// Timestamps and byte orders

/// First and last record times of a file's inventory row.
fn time_span_of(rows: &[Json], file: &Path) -> (String, String) {
    let seam = &row_for(rows, file)["seam"];
    (seam["first"].as_str().unwrap_or_default().to_string(), seam["last"].as_str().unwrap_or_default().to_string())
}

#[test]
fn nanosecond_pcap_is_read_with_nanosecond_timestamps() {
    let mut f = PcapFile::with_header(ByteOrder::Little, TsPrecision::Nanos, 65_535, LINKTYPE_ETHERNET);
    f.packet(BASE_SECS, 123_456_789, &test_frame());
    f.packet(BASE_SECS + 1, 999_999_999, &test_frame());
    let (evidence, _) =
        check_bad_capture("nanos.pcap", f.bytes(), &Expect { records: 2, flow_packets: 2, diagnostics: &[] });
    let file = evidence.path().join("nanos.pcap");
    let rows = inventory_rows(evidence.path());
    assert_eq!(
        time_span_of(&rows, &file),
        (format!("{BASE_TIME}.123456789Z"), "2024-05-01T10:00:01.999999999Z".to_string())
    );
}

#[test]
fn big_endian_pcap_is_read_with_correct_timestamps() {
    for (precision, frac, shown) in [(TsPrecision::Micros, 250_000, ".250Z"), (TsPrecision::Nanos, 7, ".000000007Z")] {
        let mut f = PcapFile::with_header(ByteOrder::Big, precision, 65_535, LINKTYPE_ETHERNET);
        f.packet(BASE_SECS, frac, &test_frame());
        f.packet(BASE_SECS, frac, &test_frame());
        let (evidence, _) =
            check_bad_capture("big-endian.pcap", f.bytes(), &Expect { records: 2, flow_packets: 2, diagnostics: &[] });
        let file = evidence.path().join("big-endian.pcap");
        let rows = inventory_rows(evidence.path());
        let want = format!("{BASE_TIME}{shown}");
        assert_eq!(time_span_of(&rows, &file), (want.clone(), want), "{precision:?}");
    }
}

#[test]
fn fractional_seconds_out_of_range_are_clamped_not_wrapped() {
    let mut f = PcapFile::ethernet();
    f.packet(BASE_SECS, 0, &test_frame());
    // 1.5 s of microseconds: wrapping would give 10:00:01.5, clamping gives 10:00:00.999999.
    let bad = f.packet(BASE_SECS, 1_500_000, &test_frame());
    let (evidence, found) = check_bad_capture(
        "timestamp_invalid_micro.pcap",
        f.bytes(),
        &Expect { records: 2, flow_packets: 2, diagnostics: &[("bad-timestamp", Some(bad as u64))] },
    );
    assert!(found[0].detail.contains("1500000"), "{found:#?}");
    let rows = inventory_rows(evidence.path());
    let file = evidence.path().join("timestamp_invalid_micro.pcap");
    assert_eq!(time_span_of(&rows, &file), (format!("{BASE_TIME}Z"), format!("{BASE_TIME}.999999Z")));
}

// ---------------------------------------------------------------------------------------------
// Compression and unreadable files

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

#[test]
fn gzip_pcap_is_read_transparently() {
    let plain = pcap_with_packets(5).into_bytes();
    let (evidence, _) =
        check_bad_capture("packed.pcap.gz", &gzip(&plain), &Expect { records: 5, flow_packets: 5, diagnostics: &[] });
    let rows = inventory_rows(evidence.path());
    let row = row_for(&rows, &evidence.path().join("packed.pcap.gz"));
    assert_eq!(row["seam"]["kind"], "pcap");
    assert_eq!(row["seam"]["gzip"], true);
}

/// Bytes a gzip reader yields from `compressed` before it fails or ends.
fn gunzip_prefix(compressed: &[u8]) -> usize {
    use std::io::Read;
    let mut dec = flate2::read::MultiGzDecoder::new(compressed);
    let mut total = 0;
    let mut buf = [0u8; 4096];
    loop {
        match dec.read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[test]
fn truncated_gzip_is_reported_and_its_readable_prefix_kept() {
    // Incompressible payloads so that the cut lands in the middle of the packets.
    let mut f = PcapFile::ethernet();
    let mut state = 0x2545_f491u32;
    for i in 0..40u32 {
        let payload: Vec<u8> = (0..400)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        f.packet(BASE_SECS, i * 1000, &ethernet_ipv4_udp([10, 0, 0, 3], 40_001, [10, 0, 0, 4], 6000, &payload));
    }
    let record = PCAP_RECORD_HEADER_LEN + 42 + 400;
    let packed = gzip(f.bytes());
    let cut = &packed[..packed.len() / 2];
    let readable = gunzip_prefix(cut);
    let whole_records = (readable - PCAP_HEADER_LEN) / record;
    assert!(whole_records > 0 && whole_records < 40, "the cut falls inside the packets: {whole_records}");
    let fault_at = (PCAP_HEADER_LEN + whole_records * record) as u64;
    let (_, found) = check_bad_capture(
        "cut.pcap.gz",
        cut,
        &Expect {
            records: whole_records as u64,
            flow_packets: whole_records as u64,
            diagnostics: &[("decompression", Some(fault_at))],
        },
    );
    assert!(found[0].detail.starts_with("gzip stream:"), "the detail says it is the gzip stream: {found:#?}");
}

/// The documented kind for a failed gzip stream is `decompression`.
#[test]
fn truncated_gzip_is_reported_as_a_decompression_problem() {
    let plain = pcap_with_packets(50).into_bytes();
    let packed = gzip(&plain);
    let evidence = EvidenceDir::new();
    let file = evidence.write("cut.pcap.gz", &packed[..packed.len() - 12]);
    let (doc, _) = inventory_document(evidence.path());
    let found = diagnostics_for(&doc, &file);
    assert!(found.iter().any(|d| d.kind == "decompression"), "{found:#?}");
}

/// Makes `path` unreadable: chmod 000 where that stops reads, else (as root) a dangling symlink.
/// Returns a description of the method used.
fn make_unreadable(dir: &Path, name: &str) -> (PathBuf, &'static str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, pcap_with_packets(1).into_bytes()).expect("write capture");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    if std::fs::File::open(&path).is_err() {
        return (path, "chmod 000");
    }
    // Running with privileges that bypass file modes (root): chmod proves nothing here.
    std::fs::remove_file(&path).expect("remove the chmod attempt");
    std::os::unix::fs::symlink(dir.join("no-such-target.pcap"), &path).expect("dangling symlink");
    (path, "dangling symlink (chmod 000 does not stop reads for this user)")
}

#[test]
fn unreadable_file_does_not_stop_the_rest_of_the_directory() {
    let evidence = EvidenceDir::new();
    let (bad, method) = make_unreadable(evidence.path(), "locked.pcap");
    println!("unreadable file made with: {method}");
    let shown = bad.display().to_string();

    let rows = inventory_rows(evidence.path());
    assert_eq!(records_of(&rows, &evidence.sibling()), Some(SIBLING_PACKETS));
    let (doc, stderr) = inventory_document(evidence.path());
    let found = diagnostics_for(&doc, &bad);
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0].kind, "unreadable");
    assert!(stderr.contains(&shown) && stderr.contains("unreadable"), "stderr names the file:\n{stderr}");
    assert_eq!(strict_exit_code(evidence.path()), 2);
    let flows = flow_rows(evidence.path());
    assert_eq!(flow_packets_of(&flows, &evidence.sibling()), SIBLING_PACKETS);
}

#[test]
fn directory_named_like_a_capture_is_walked_not_read() {
    let evidence = EvidenceDir::new();
    let inner = evidence.path().join("looks-like.pcap");
    std::fs::create_dir(&inner).expect("mkdir");
    std::fs::write(inner.join("inner.pcap"), pcap_with_packets(3).into_bytes()).expect("write");
    let rows = inventory_rows(evidence.path());
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(records_of(&rows, &inner.join("inner.pcap")), Some(3));
    assert_eq!(strict_exit_code(evidence.path()), 0);
}

// ---------------------------------------------------------------------------------------------
// The tcpdump corpus

/// `../shared/corpus` beside the crate, or `$SEAM_CORPUS`.
fn corpus_root() -> PathBuf {
    match std::env::var_os("SEAM_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

#[test]
fn tcpdump_corpus_sweep_never_panics() {
    let dir = corpus_root().join("tcpdump/tests");
    if !dir.is_dir() {
        println!("skipped: no tcpdump corpus at {} (set SEAM_CORPUS)", dir.display());
        return;
    }
    let files =
        std::fs::read_dir(&dir).expect("list corpus").filter_map(|e| e.ok()).filter(|e| e.path().is_file()).count();

    let run = run_seam(args_with(&dir, &["flows"], &["--format", "json"]), SWEEP_TIMEOUT);
    assert_eq!(run.code, 0, "seam flows over the corpus:\n{}", run.stderr);
    let doc: Json = serde_json::from_str(&run.stdout).expect("flows --format json is one JSON document");
    let flows = doc["flows"].as_array().map_or(0, Vec::len);
    let diag_files = doc["diagnostics"].as_object().map_or(0, |m| m.len());
    let diags: u64 = doc["diagnostics"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|kinds| kinds.as_object())
        .flat_map(|kinds| kinds.values())
        .filter_map(|s| s["count"].as_u64())
        .sum();

    let rows = inventory_rows(&dir);
    assert_eq!(rows.len(), files, "every file of the corpus is listed");
    let captures: Vec<&Json> =
        rows.iter().filter(|r| matches!(r["seam"]["kind"].as_str(), Some("pcap" | "pcapng"))).collect();
    let packets: u64 = captures.iter().filter_map(|r| r["seam"]["records"].as_u64()).sum();
    assert!(!captures.is_empty(), "the corpus holds captures");
    println!(
        "tcpdump corpus: {files} files, {} captures read, {packets} packets, {flows} flows, \
         {diags} diagnostics in {diag_files} files",
        captures.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzz regressions

/// The fuzz targets' code paths (`fuzz/harness.rs`), so a crasher is replayed exactly as found.
#[path = "../fuzz/harness.rs"]
mod fuzz_harness;

/// Minimised crashers of one fuzz target, `testdata/fuzz-regressions/<target>/*`, sorted.
fn fuzz_regressions(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz-regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Feeds each regression file of `target` to `harness`; fails naming every
/// file that panics. Returns how many files were replayed.
fn replay_fuzz_regressions(target: &str, harness: fn(&[u8])) -> usize {
    let files: Vec<PathBuf> = fuzz_regressions(target);
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read regression file");
        if std::panic::catch_unwind(|| harness(&bytes)).is_err() {
            failures.push(file.display().to_string());
        }
    }
    assert!(failures.is_empty(), "fuzz regressions of `{target}` panic again: {failures:#?}");
    files.len()
}

#[test]
fn fuzz_regressions_packet() {
    replay_fuzz_regressions("packet", fuzz_harness::packet);
}

#[test]
fn fuzz_regressions_dns() {
    replay_fuzz_regressions("dns", fuzz_harness::dns);
}

#[test]
fn fuzz_regressions_http() {
    replay_fuzz_regressions("http", fuzz_harness::http);
}

#[test]
fn fuzz_regressions_tls() {
    replay_fuzz_regressions("tls", fuzz_harness::tls);
}

#[test]
fn fuzz_regressions_auditd() {
    replay_fuzz_regressions("auditd", fuzz_harness::auditd);
}

/// Capture crashers also go through the binary, the way an analyst would meet them.
#[test]
fn fuzz_regressions_capture() {
    replay_fuzz_regressions("capture", fuzz_harness::capture);
    for file in fuzz_regressions("capture") {
        let run = run_seam(args_with(&file, &["flows"], &["--format", "jsonl"]), CASE_TIMEOUT);
        assert_eq!(run.code, 0, "seam flows {}:\n{}", file.display(), run.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// Flow-layer determinism under odd timing (found by the `capture` fuzz target)

/// Flows whose responder is `ip`.
fn flows_to<'a>(flows: &'a [Json], ip: &str) -> Vec<&'a Json> {
    flows.iter().filter(|f| f["destination"]["ip"] == ip).collect()
}

/// A datagram whose second fragment comes 31 s after its first, past the flow layer's 30 s
/// fragment timeout: whether it is reassembled must not depend on unrelated packets in between.
#[test]
fn late_fragment_is_not_reassembled_whatever_the_other_traffic() {
    let datagram = udp(3000, 4000, b"0123456789abcdef");
    let (head, tail) = datagram.split_at(16);
    let first = ethernet(0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 201], 17, 77, IPV4_MORE_FRAGMENTS, head));
    let second = ethernet(0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 201], 17, 77, 2, tail));
    let other = ethernet_ipv4_udp([10, 0, 1, 1], 5000, [10, 0, 1, 200], 6000, b"other");

    let mut alone = PcapFile::ethernet();
    alone.packet(BASE_SECS, 0, &first);
    alone.packet(BASE_SECS + 31, 0, &second);
    let mut with_traffic = PcapFile::ethernet();
    with_traffic.packet(BASE_SECS, 0, &first);
    with_traffic.packet(BASE_SECS + 12, 0, &other);
    with_traffic.packet(BASE_SECS + 25, 0, &other);
    with_traffic.packet(BASE_SECS + 31, 0, &second);

    let evidence = EvidenceDir::new();
    let alone_path = evidence.write("alone.pcap", alone.bytes());
    let with_traffic_path = evidence.write("with-traffic.pcap", with_traffic.bytes());
    let alone_flows = flow_rows(&alone_path);
    let with_traffic_flows = flow_rows(&with_traffic_path);
    assert!(flows_to(&alone_flows, "10.0.0.201").is_empty(), "a fragment 31 s late completes nothing");
    assert!(
        flows_to(&with_traffic_flows, "10.0.0.201").is_empty(),
        "unrelated packets let the late fragment through: {with_traffic_flows:#?}"
    );
}

/// Captures of at least this size are split across threads by host pair (app's
/// `SHARD_MIN_BYTES`).
const SHARDED_CAPTURE_BYTES: usize = 64 << 20;

/// Eight UDP flows, a packet of no flow an hour later, then the eight flows again with their own
/// time still inside the UDP timeout (a capture merged from two clocks): `--threads 1` and
/// `--threads 2` must give the same flows (ARCHITECTURE.md: output never depends on scheduling).
#[test]
fn clock_going_back_gives_the_same_flows_on_one_and_two_threads() {
    let flow = |a: u8| ethernet_ipv4_udp([10, 0, 2, a], 1000, [10, 0, 3, a], 2000, b"flow");
    let mut f = PcapFile::ethernet();
    for a in 1..=8 {
        f.packet(BASE_SECS, 0, &flow(a));
    }
    let not_ip = ethernet(0x88b5, &[0u8; 60_000]);
    f.packet(BASE_SECS + 3600, 0, &not_ip);
    for a in 1..=8 {
        f.packet(BASE_SECS, 500_000, &flow(a));
    }
    while f.len() <= SHARDED_CAPTURE_BYTES {
        f.packet(BASE_SECS + 3600, 0, &not_ip);
    }
    let evidence = EvidenceDir::new();
    let file = evidence.write("merged-clocks.pcap", f.bytes());
    let one = run_seam(args_with(&file, &["flows", "--threads", "1"], &["--format", "jsonl"]), CASE_TIMEOUT);
    let two = run_seam(args_with(&file, &["flows", "--threads", "2"], &["--format", "jsonl"]), CASE_TIMEOUT);
    assert_eq!((one.code, two.code), (0, 0), "{}\n{}", one.stderr, two.stderr);
    assert_eq!(parse_jsonl(&one.stdout).len(), 16, "one table: the hour-long silence ends each flow");
    assert_eq!(one.stdout, two.stdout, "--threads changed the flows");
}
