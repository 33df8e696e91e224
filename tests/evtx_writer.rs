//! seam's EVTX writer (`seam::synth::evtx`) against python-evtx, a reader nobody on this project
//! wrote: a file of several chunks mixing Sysmon, Security, System and UserData events is
//! written to a temporary directory and read with python-evtx, which must verify the file
//! header and every chunk's CRC32s, count every record, and render the expected XML.
//!
//! Skips, saying why, when `python3` or its `Evtx` package (`pip install python-evtx`) is
//! missing. The evtx crate's view of the same format is checked by the writer's unit tests.

use seam::synth::evtx::{
    write_evtx, DataValue, EvtxEvent, Payload, Sid, CHUNK_SIZE, EVENTLOG_PROVIDER_GUID, FILE_HEADER_BLOCK_SIZE,
};
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600_000_000_000;
const SEC: i64 = 1_000_000_000;
const EVENTS: usize = 3000;

/// Reads an EVTX file; prints one JSON object: header and chunk checks, the record count, and
/// the XML of the records whose numbers follow the path on the command line.
const READER: &str = r#"
import json, sys
import Evtx.Evtx as evtx
want = set(int(n) for n in sys.argv[2:])
out = {"records": 0, "xml": {}}
with evtx.Evtx(sys.argv[1]) as log:
    header = log.get_file_header()
    out["header_ok"] = header.verify()
    out["chunks"] = header.chunk_count()
    out["chunks_ok"] = all(chunk.verify() for chunk in header.chunks())
    for record in log.records():
        out["records"] += 1
        if record.record_num() in want:
            out["xml"][str(record.record_num())] = record.xml()
print(json.dumps(out))
"#;

/// Why python-evtx cannot run here, if it cannot.
fn python_evtx_missing() -> Option<String> {
    match Command::new("python3").args(["-c", "import Evtx.Evtx"]).output() {
        Err(e) => Some(format!("python3 not runnable: {e}")),
        Ok(out) if !out.status.success() => Some("python-evtx is not installed (pip install python-evtx)".to_string()),
        Ok(_) => None,
    }
}

/// Event `i` of the mix: mostly Sysmon process creations, with a service install, a logon and a
/// log clear at fixed places.
fn event(i: usize) -> EvtxEvent {
    let t = T0 + i as i64 * SEC;
    let host = "WS1.corp.local";
    match i % 500 {
        7 => EvtxEvent::system(
            t,
            7045,
            host,
            [
                ("ServiceName", DataValue::from("PSEXESVC")),
                ("ImagePath", DataValue::from("%SystemRoot%\\PSEXESVC.exe")),
                ("ServiceType", DataValue::from("user mode service")),
                ("StartType", DataValue::from("demand start")),
                ("AccountName", DataValue::from("LocalSystem")),
            ],
        ),
        8 => EvtxEvent {
            task: 12_544,
            version: 2,
            ..EvtxEvent::security(
                t,
                4624,
                host,
                [
                    ("TargetUserSid", DataValue::Sid(sid("S-1-5-21-1-2-3-1104"))),
                    ("TargetUserName", DataValue::from("alice")),
                    ("LogonType", DataValue::U32(3)),
                    ("IpAddress", DataValue::from("10.0.0.50")),
                ],
            )
        },
        9 => EvtxEvent {
            provider_guid: Some(EVENTLOG_PROVIDER_GUID),
            user_sid: Some(sid("S-1-5-21-1-2-3-500")),
            ..EvtxEvent::new(
                t,
                "Microsoft-Windows-Eventlog",
                "Security",
                1102,
                host,
                Payload::UserData {
                    element: "LogFileCleared".to_string(),
                    namespace: Some("http://manifests.microsoft.com/win/2004/08/windows/eventlog".to_string()),
                    fields: vec![
                        ("SubjectUserSid".to_string(), DataValue::Sid(sid("S-1-5-21-1-2-3-500"))),
                        ("SubjectUserName".to_string(), DataValue::from("Administrator")),
                    ],
                },
            )
        },
        _ => EvtxEvent::sysmon(
            t,
            1,
            host,
            [
                ("RuleName", DataValue::from("-")),
                ("ProcessId", DataValue::U32(1000 + i as u32)),
                ("Image", DataValue::from(format!("C:\\Tools\\tool{i}.exe"))),
                ("CommandLine", DataValue::from(format!("tool{i}.exe --run {}", "x".repeat(i % 60)))),
                ("LogonId", DataValue::Hex64(0x3e7)),
            ],
        ),
    }
}

fn sid(text: &str) -> Sid {
    text.parse().expect("valid sid")
}

#[test]
fn python_evtx_reads_a_multi_chunk_file() {
    if let Some(why) = python_evtx_missing() {
        println!("evtx_writer (python-evtx): skipped: {why}");
        return;
    }
    let events: Vec<EvtxEvent> = (0..EVENTS).map(event).collect();
    let bytes = write_evtx(&events).expect("events fit");
    let chunks = (bytes.len() - FILE_HEADER_BLOCK_SIZE) / CHUNK_SIZE;
    assert!(chunks >= 3, "{chunks} chunks");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("mixed.evtx");
    std::fs::write(&path, &bytes).expect("write evtx");

    // Record numbers are ids, from 1: the first of each kind, and the last record.
    let out = read(&path, &[1, 8, 9, 10, 3000]);
    assert_eq!(out["header_ok"], Json::Bool(true), "file header CRC32");
    assert_eq!(out["chunks_ok"], Json::Bool(true), "chunk magic and CRC32s");
    assert_eq!(out["chunks"].as_u64(), Some(chunks as u64));
    assert_eq!(out["records"].as_u64(), Some(EVENTS as u64));

    let xml = |n: u32| out["xml"][n.to_string()].as_str().unwrap_or_default().to_string();
    let sysmon = xml(1);
    for part in [
        r#"<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}">"#,
        ">1</EventID>",
        "<EventRecordID>1</EventRecordID>",
        "<Channel>Microsoft-Windows-Sysmon/Operational</Channel>",
        "<Computer>WS1.corp.local</Computer>",
        r#"<Security UserID="S-1-5-18">"#,
        r#"<Data Name="UtcTime">2024-05-01 10:00:00.000</Data>"#,
        r#"<Data Name="ProcessId">1000</Data>"#,
        r#"<Data Name="Image">C:\Tools\tool0.exe</Data>"#,
    ] {
        assert!(sysmon.contains(part), "record 1 lacks {part}:\n{sysmon}");
    }
    let service = xml(8);
    for part in [
        r#"<EventID Qualifiers="16384">7045</EventID>"#,
        "<Channel>System</Channel>",
        r#"<Data Name="ServiceName">PSEXESVC</Data>"#,
        r#"<Data Name="ImagePath">%SystemRoot%\PSEXESVC.exe</Data>"#,
    ] {
        assert!(service.contains(part), "record 8 lacks {part}:\n{service}");
    }
    let logon = xml(9);
    for part in [
        r#"<Provider Name="Microsoft-Windows-Security-Auditing""#,
        ">4624</EventID>",
        "<Task>12544</Task>",
        r#"<Data Name="TargetUserSid">S-1-5-21-1-2-3-1104</Data>"#,
        r#"<Data Name="LogonType">3</Data>"#,
    ] {
        assert!(logon.contains(part), "record 9 lacks {part}:\n{logon}");
    }
    let cleared = xml(10);
    for part in [
        ">1102</EventID>",
        r#"<LogFileCleared xmlns="http://manifests.microsoft.com/win/2004/08/windows/eventlog">"#,
        "<SubjectUserSid>S-1-5-21-1-2-3-500</SubjectUserSid>",
        "<SubjectUserName>Administrator</SubjectUserName>",
    ] {
        assert!(cleared.contains(part), "record 10 lacks {part}:\n{cleared}");
    }
    let last = xml(3000);
    assert!(last.contains("<EventRecordID>3000</EventRecordID>"), "{last}");
    assert!(last.contains(r#"<Data Name="Image">C:\Tools\tool2999.exe</Data>"#), "{last}");
}

/// python-evtx's report on `path` (see [`READER`]).
fn read(path: &Path, records: &[u32]) -> Json {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", READER]).arg(path).args(records.iter().map(u32::to_string));
    let out = cmd.output().expect("run python3");
    assert!(out.status.success(), "python-evtx failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("python-evtx's JSON report")
}
