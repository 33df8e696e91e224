//! Bad endpoint logs through the binary, with the same contract as the captures of
//! `bad_input`: no panic, a diagnostic naming the file and the byte offset of the fault, every
//! record outside the damage kept, the sibling capture in the same directory still read, exit 0
//! normally and 2 under `--strict` when evidence could not be read in full.
//!
//! EVTX files are written by `seam::synth::evtx` (three chunks of Sysmon and Security events)
//! and damaged at known offsets with its `damage` helper.

use crate::bad_input::{
    diagnostics_for, inventory_document, inventory_rows, kind_of, records_of, run_seam, strict_exit_code, EvidenceDir,
    Located, CASE_TIMEOUT,
};
use seam::synth::evtx::{chunk_offset, damage, write_evtx, Damage, DataValue, EvtxEvent};
use std::path::Path;

/// Events in the three-chunk fixture.
const N: usize = 230;

/// 2024-05-01T10:00:00Z.
const BASE_NS: i64 = 1_714_557_600 * 1_000_000_000;

/// A log of `n` alternating Sysmon process-create and Security logon events.
fn evtx_log(n: usize) -> Vec<u8> {
    let events: Vec<EvtxEvent> = (0..n)
        .map(|i| {
            let at = BASE_NS + i as i64 * 1_000_000_000;
            if i % 2 == 0 {
                EvtxEvent::sysmon(
                    at,
                    1,
                    "WS1.corp.example",
                    [
                        ("ProcessGuid", DataValue::from(format!("{{94f748d5-4a45-5a42-0000-{i:012x}}}"))),
                        ("ProcessId", DataValue::U32(1000 + i as u32)),
                        ("Image", DataValue::from("C:\\Windows\\System32\\cmd.exe")),
                        ("CommandLine", DataValue::from(format!("cmd.exe /c echo {}", "x".repeat(200 + i % 50)))),
                        ("ParentProcessId", DataValue::U32(4)),
                    ],
                )
            } else {
                EvtxEvent::security(
                    at,
                    4624,
                    "WS1.corp.example",
                    [
                        ("TargetUserName", DataValue::from("alice")),
                        ("TargetDomainName", DataValue::from("CORP")),
                        ("LogonType", DataValue::U32(3)),
                        ("IpAddress", DataValue::from("10.0.0.9")),
                    ],
                )
            }
        })
        .collect();
    write_evtx(&events).expect("the writer accepts these events")
}

/// Records in each chunk of a written log (from the chunk headers: first and last record
/// number at offsets 8 and 16).
fn records_per_chunk(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut n = 0;
    while chunk_offset(n) + 65536 <= bytes.len() {
        let at = chunk_offset(n);
        let le = |o: usize| u64::from_le_bytes(bytes[at + o..at + o + 8].try_into().unwrap());
        out.push(le(16) - le(8) + 1);
        n += 1;
    }
    out
}

/// A good log of three chunks, and its records per chunk.
fn three_chunks() -> (Vec<u8>, Vec<u64>) {
    let bytes = evtx_log(N);
    let per_chunk = records_per_chunk(&bytes);
    assert_eq!(per_chunk.len(), 3, "the fixture spans three chunks: {per_chunk:?}");
    assert_eq!(per_chunk.iter().sum::<u64>(), N as u64);
    (bytes, per_chunk)
}

/// Writes `bytes` beside the sibling capture; checks that the sibling is read and that `records`
/// of the log are; returns the log's diagnostics.
fn check_log(name: &str, bytes: &[u8], records: u64) -> (EvidenceDir, std::path::PathBuf, Vec<Located>) {
    let dir = EvidenceDir::new();
    let log = dir.write(name, bytes);
    let rows = inventory_rows(dir.path());
    assert_eq!(kind_of(&rows, &log), "evtx");
    assert_eq!(records_of(&rows, &log), Some(records), "records read from {name}");
    assert_eq!(records_of(&rows, &dir.sibling()), Some(2), "the sibling capture is still read");
    let (doc, stderr) = inventory_document(dir.path());
    let diags = diagnostics_for(&doc, &log);
    for d in &diags {
        assert!(stderr.contains(&d.kind), "stderr names the {} diagnostic:\n{stderr}", d.kind);
    }
    (dir, log, diags)
}

fn has(diags: &[Located], kind: &str, offset: usize) -> bool {
    diags.iter().any(|d| d.kind == kind && d.offset == Some(offset as u64))
}

#[test]
fn a_good_log_reads_every_record_without_diagnostics() {
    let (bytes, _) = three_chunks();
    let (dir, _, diags) = check_log("good.evtx", &bytes, N as u64);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 0);
    // The timeline holds every record as an event, typed.
    let run = run_seam(
        [
            "timeline".into(),
            dir.path().join("good.evtx").into_os_string(),
            "--format".into(),
            "jsonl".into(),
            "--kind".into(),
            "process,logon".into(),
        ],
        CASE_TIMEOUT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), N);
}

#[test]
fn a_bad_chunk_magic_loses_that_chunk_only() {
    let (mut bytes, per_chunk) = three_chunks();
    damage(&mut bytes, Damage::ChunkMagic { chunk: 1 });
    let (dir, _, diags) = check_log("bad-magic.evtx", &bytes, per_chunk[0] + per_chunk[2]);
    assert!(has(&diags, "corrupt-record", chunk_offset(1)), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
}

#[test]
fn a_cut_file_keeps_its_whole_chunks_and_says_where_it_ends() {
    let (mut bytes, per_chunk) = three_chunks();
    damage(&mut bytes, Damage::Truncate { len: chunk_offset(2) + 1000 });
    let (dir, _, diags) = check_log("cut.evtx", &bytes, per_chunk[0] + per_chunk[1]);
    assert!(has(&diags, "truncated", chunk_offset(2)), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
}

#[test]
fn an_unreadable_record_is_placed_in_its_chunk() {
    let (mut bytes, _) = three_chunks();
    // Garbage where chunk 1's first record's BinXML starts (record header: 24 bytes).
    let at = chunk_offset(1) as usize + 512 + 24;
    bytes[at..at + 4].copy_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
    let dir = EvidenceDir::new();
    let log = dir.write("bad-binxml.evtx", &bytes);
    let (doc, _) = inventory_document(dir.path());
    let diags = diagnostics_for(&doc, &log);
    let bad: Vec<&Located> = diags.iter().filter(|d| d.kind == "corrupt-record").collect();
    assert!(!bad.is_empty(), "{diags:?}");
    assert!(bad.iter().all(|d| d.offset.is_some()), "every unreadable record is placed: {diags:?}");
    assert!(bad.iter().any(|d| d.offset == Some(at as u64 + 1)), "at the byte that failed: {diags:?}");
}

#[test]
fn a_chunk_cut_halfway_gives_its_whole_records() {
    let (mut bytes, per_chunk) = three_chunks();
    damage(&mut bytes, Damage::Truncate { len: chunk_offset(2) + 65536 / 2 });
    let dir = EvidenceDir::new();
    let log = dir.write("cut-half.evtx", &bytes);
    let rows = inventory_rows(dir.path());
    let read = records_of(&rows, &log).unwrap_or(0);
    let whole_chunks = per_chunk[0] + per_chunk[1];
    assert!(read > whole_chunks && read < N as u64, "read {read}: more than the {whole_chunks} of whole chunks");
    let (doc, _) = inventory_document(dir.path());
    let diags = diagnostics_for(&doc, &log);
    assert!(has(&diags, "truncated", chunk_offset(2)), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
    // Every record read is one of the log's, whole: the timeline holds as many events.
    let out =
        crate::support::bundles::seam().arg("timeline").arg(&log).args(["-f", "jsonl", "-q"]).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count() as u64, read);
}

#[test]
fn a_bad_record_header_is_located_and_the_other_chunks_are_read() {
    let (mut bytes, per_chunk) = three_chunks();
    damage(&mut bytes, Damage::RecordMagic { chunk: 0 });
    let dir = EvidenceDir::new();
    let log = dir.write("bad-record.evtx", &bytes);
    let rows = inventory_rows(dir.path());
    let read = records_of(&rows, &log).unwrap_or(0);
    assert!(read >= per_chunk[1] + per_chunk[2] && read < N as u64, "read {read} of {N}");
    let (doc, _) = inventory_document(dir.path());
    let diags = diagnostics_for(&doc, &log);
    assert!(has(&diags, "corrupt-record", chunk_offset(0) + 512), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
}

#[test]
fn a_stale_checksum_is_reported_but_every_record_is_read() {
    let (mut bytes, _) = three_chunks();
    damage(&mut bytes, Damage::ChunkDataCrc { chunk: 1 });
    let (dir, _, diags) = check_log("bad-crc.evtx", &bytes, N as u64);
    assert!(has(&diags, "checksum", chunk_offset(1) + 52), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 0, "the records were read in full");
}

#[test]
fn an_evtx_magic_on_garbage_is_a_bad_header() {
    let mut bytes = b"ElfFile\0".to_vec();
    bytes.extend((0..600u32).map(|i| (i * 7919 % 251) as u8));
    let (dir, _, diags) = check_log("garbage.evtx", &bytes, 0);
    assert!(has(&diags, "bad-header", 0), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
}

#[test]
fn a_gzip_compressed_log_reads_like_the_plain_one() {
    use std::io::Write;
    let (bytes, _) = three_chunks();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let (_, _, diags) = check_log("log.evtx.gz", &gz.finish().unwrap(), N as u64);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn a_cut_gzip_stream_keeps_the_chunks_decompressed_before_the_cut() {
    use std::io::Write;
    let (bytes, per_chunk) = three_chunks();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    // Stored blocks: the compressed offset of chunk 2 is past its plain offset, so cutting
    // there leaves chunks 0 and 1 whole.
    let cut = &gz[..chunk_offset(2) as usize + 2000];
    let (dir, _, diags) = check_log("cut.evtx.gz", cut, per_chunk[0] + per_chunk[1]);
    assert!(diags.iter().any(|d| d.kind == "decompression"), "{diags:?}");
    assert_eq!(strict_exit_code(dir.path()), 2);
}

/// The hand-written damaged audit log (see testdata/README.md): a comment, binary junk, a
/// value that is not UTF-8, lines cut in a quoted value and in the timestamp, a bad timestamp
/// and a line without `type=`, among the records of three events.
#[test]
fn a_damaged_audit_log_reports_each_bad_line_and_keeps_the_events() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/auditd/damaged.log");
    let bytes = std::fs::read(&fixture).unwrap();
    let dir = EvidenceDir::new();
    let log = dir.write("audit.log", &bytes);
    let rows = inventory_rows(dir.path());
    assert_eq!(kind_of(&rows, &log), "auditd", "a comment on the first line does not hide the kind");
    assert_eq!(records_of(&rows, &dir.sibling()), Some(2), "the sibling capture is still read");
    let (doc, stderr) = inventory_document(dir.path());
    let diags = diagnostics_for(&doc, &log);
    assert!(stderr.contains("corrupt-record"), "{stderr}");
    // Each bad line's diagnostic points into that line.
    let line_starts: Vec<u64> = std::iter::once(0)
        .chain(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64 + 1))
        .collect();
    assert!(!diags.is_empty());
    for d in &diags {
        let at = d.offset.expect("an offset");
        let line =
            d.detail.split(':').next().and_then(|l| l.strip_prefix("line ")).and_then(|n| n.parse::<usize>().ok());
        let line = line.expect("the detail names the line");
        assert!(at >= line_starts[line - 1] && at < line_starts[line], "{d:?} is not inside line {line}");
    }
    assert_eq!(strict_exit_code(dir.path()), 2);
    let run = run_seam(
        ["timeline".into(), log.into_os_string(), "--format".into(), "jsonl".into(), "-q".into()],
        CASE_TIMEOUT,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let execve = events.iter().find(|e| e["event"]["action"] == "process-start").expect("the execve event");
    assert_eq!(execve["process"]["command_line"], "ls -la");
    // Event 202 lost its SYSCALL line (cut) and both SOCKADDR lines (cut, bad time): nothing of
    // it is left. Event 203 is a lone SOCKADDR record, kept as a generic event.
    assert_eq!(events.len(), 2);
    assert!(events.iter().any(|e| e["event"]["code"] == "SOCKADDR"), "the lone SOCKADDR event");
}
