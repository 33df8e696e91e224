//! End-to-end behaviour of endpoint evidence beside a capture: one bundle of a generated
//! capture, a Sysmon + Security EVTX written by `synth::evtx` and a hand-written audit log,
//! merged into one timeline.

use assert_cmd::Command;
use seam::synth::evtx::{write_evtx, DataValue, EvtxEvent};
use seam::synth::net::{Close, Endpoint, Exchange, Traffic};
use seam::synth::proto;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SEC: i64 = 1_000_000_000;
/// 2024-05-01T10:00:00Z: the audit fixture's time.
const T0: i64 = 1_714_557_600 * SEC;

fn seam() -> Command {
    Command::cargo_bin("seam").expect("binary built")
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn jsonl(args: &[&str]) -> Vec<Value> {
    let out = seam().args(args).args(["--format", "jsonl"]).assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

/// A capture with one HTTPS-port session from WS1 (10.0.0.5) and an EVTX in which Sysmon on WS1
/// logs the process that made it, its network connection, and many more records (several
/// chunks), with a Security logon between.
fn bundle(dir: &Path) -> PathBuf {
    let mut t = Traffic::new();
    let req = proto::http_request("GET", "updates.example", "/x", "agent/1", b"", None);
    t.tcp_session(
        T0 + 5 * SEC,
        Endpoint::new("10.0.0.5".parse().unwrap(), 50000),
        Endpoint::new("93.184.216.34".parse().unwrap(), 80),
        20_000_000,
        &[Exchange::client(1, req), Exchange::server(1, proto::http_response(200, "OK", "text/plain", b"ok"))],
        Close::Fin,
    );
    // A Linux host's curl, which only its audit log knows about.
    t.tcp_session(
        T0 + 20 * SEC,
        Endpoint::new("10.0.0.7".parse().unwrap(), 40000),
        Endpoint::new("198.51.100.20".parse().unwrap(), 443),
        20_000_000,
        &[],
        Close::Fin,
    );
    t.write_pcap(std::fs::File::create(dir.join("net.pcap")).unwrap()).unwrap();

    let mut events = vec![
        EvtxEvent::sysmon(
            T0 + 4 * SEC,
            1,
            "WS1",
            [
                ("ProcessGuid", DataValue::from("{11111111-2222-3333-4444-555555555555}")),
                ("ProcessId", DataValue::U32(4242)),
                ("Image", DataValue::from("C:\\Users\\Public\\agent.exe")),
                ("CommandLine", DataValue::from("agent.exe --beacon")),
                ("ParentProcessId", DataValue::U32(900)),
                ("ParentImage", DataValue::from("C:\\Windows\\explorer.exe")),
            ],
        ),
        EvtxEvent::sysmon(
            T0 + 5 * SEC,
            3,
            "WS1",
            [
                ("ProcessGuid", DataValue::from("{11111111-2222-3333-4444-555555555555}")),
                ("ProcessId", DataValue::U32(4242)),
                ("Image", DataValue::from("C:\\Users\\Public\\agent.exe")),
                ("Protocol", DataValue::from("tcp")),
                ("Initiated", DataValue::from("true")),
                ("SourceIp", DataValue::from("10.0.0.5")),
                ("SourcePort", DataValue::U16(50000)),
                ("DestinationIp", DataValue::from("93.184.216.34")),
                ("DestinationPort", DataValue::U16(80)),
            ],
        ),
        EvtxEvent::security(
            T0 + 3 * SEC,
            4624,
            "WS1",
            [
                ("TargetUserName", DataValue::from("alice")),
                ("TargetDomainName", DataValue::from("CORP")),
                ("LogonType", DataValue::U32(10)),
                ("IpAddress", DataValue::from("10.0.0.9")),
            ],
        ),
    ];
    // Enough image loads for several chunks, so chunks are parsed in parallel.
    events.extend((0..400).map(|i| {
        EvtxEvent::sysmon(
            T0 + 6 * SEC + i * 1_000_000,
            7,
            "WS1",
            [
                ("ProcessId", DataValue::U32(4242)),
                ("Image", DataValue::from("C:\\Users\\Public\\agent.exe")),
                ("ImageLoaded", DataValue::from(format!("C:\\Windows\\System32\\lib{i}.dll"))),
                ("Signed", DataValue::from("true")),
            ],
        )
    }));
    std::fs::write(dir.join("ws1.evtx"), write_evtx(&events).unwrap()).unwrap();
    let audit = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/auditd/interleaved.log");
    std::fs::copy(audit, dir.join("audit.log")).unwrap();
    // A log without node=: only --log-host names its host.
    std::fs::write(
        dir.join("plain-audit.log"),
        concat!(
            "type=SYSCALL msg=audit(1714557601.000:9): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 ",
            "a3=0 items=1 ppid=1 pid=77 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ",
            "ses=1 comm=\"id\" exe=\"/usr/bin/id\" key=(null)\n",
            "type=EXECVE msg=audit(1714557601.000:9): argc=1 a0=\"id\"\n",
            "type=SYSCALL msg=audit(1714557620.300:10): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=2 a2=10 ",
            "a3=0 items=0 ppid=1 pid=88 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ",
            "ses=1 comm=\"curl\" exe=\"/usr/bin/curl\" key=(null)\n",
            "type=SOCKADDR msg=audit(1714557620.300:10): saddr=020001BBC63364140000000000000000\n",
        ),
    )
    .unwrap();
    dir.to_path_buf()
}

#[test]
fn one_timeline_of_capture_evtx_and_audit_events_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let events = jsonl(&["timeline", b.to_str().unwrap()]);
    let kinds: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| get(e, "event.kind").as_str()).collect();
    for kind in ["flow", "http", "process", "connection", "logon", "module"] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    let times: Vec<i64> = events
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(get(e, "@timestamp").as_str().unwrap()).unwrap())
        .map(|t| t.timestamp_nanos_opt().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "timeline out of order");
    assert_eq!(events.iter().filter(|e| get(e, "event.module") == "sysmon").count(), 402);
    assert_eq!(events.iter().filter(|e| get(e, "event.module") == "auditd").count(), 12);

    // The endpoint's connection and the capture's flow share a Community ID.
    let flow = events.iter().find(|e| get(e, "event.kind") == "flow").unwrap();
    let connect =
        events.iter().find(|e| get(e, "event.action") == "network-connect" && get(e, "event.module") == "sysmon");
    let connect = connect.expect("the Sysmon network connection");
    assert_eq!(get(connect, "network.community_id"), get(flow, "network.community_id"));
    assert_eq!(get(connect, "process.executable"), "C:\\Users\\Public\\agent.exe");
    assert_eq!(get(connect, "host.name"), "WS1");
    assert_eq!(get(connect, "seam.locator"), "record");

    let start = events.iter().find(|e| get(e, "event.action") == "process-start" && get(e, "host.name") == "WS1");
    let start = start.expect("the Sysmon process start");
    assert_eq!(get(start, "process.parent.executable"), "C:\\Windows\\explorer.exe");
    assert_eq!(get(start, "process.entity_id"), "{11111111-2222-3333-4444-555555555555}");
    assert_eq!(get(start, "winlog.event_data.CommandLine"), "agent.exe --beacon");
    let logon = events.iter().find(|e| get(e, "event.kind") == "logon" && get(e, "host.name") == "WS1").unwrap();
    assert_eq!(
        (get(logon, "user.name"), get(logon, "winlog.logon.type")),
        (&Value::from("CORP\\alice"), &Value::from(10))
    );
    assert_eq!(get(logon, "source.ip"), "10.0.0.9");
}

#[test]
fn endpoint_filters_and_the_per_file_host() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let b = b.to_str().unwrap();
    let processes = jsonl(&["timeline", b, "--kind", "process", "--host", "WS1"]);
    assert_eq!(processes.len(), 1);
    // One host, whichever of its names or addresses is asked for: WS1's flow by its name, its
    // process by its address.
    let by_name = jsonl(&["timeline", b, "--host", "ws1"]);
    let by_address = jsonl(&["timeline", b, "--host", "10.0.0.5"]);
    assert_eq!(by_name, by_address);
    let kinds: Vec<&str> = by_name.iter().map(|e| get(e, "event.kind").as_str().unwrap()).collect();
    assert!(kinds.contains(&"flow") && kinds.contains(&"process"), "{kinds:?}");
    // The process start, and the flow attributed to that process.
    let lookups = jsonl(&["timeline", b, "--grep", "agent.exe --beacon"]);
    let kinds: Vec<&str> = lookups.iter().map(|e| get(e, "event.kind").as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["process", "flow"]);
    // A log without node= gets its host from --log-host; one with node= keeps its nodes.
    let named = |args: &[&str]| {
        let mut all = vec!["timeline", b, "--kind", "process"];
        all.extend(args);
        jsonl(&all).iter().filter(|e| get(e, "host.name") == "lnx1").count()
    };
    assert_eq!(named(&[]), 0);
    assert_eq!(named(&["--log-host", "plain-audit.log=lnx1"]), 1);
    assert_eq!(named(&["--log-host", "audit.log=lnx1"]), 0, "node= wins");
    let bad = seam().args(["timeline", b, "--log-host", "nonsense"]).assert().failure().get_output().status.code();
    assert_eq!(bad, Some(2));
}

#[test]
fn endpoint_output_is_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let run = |threads: &str| {
        seam()
            .args(["--threads", threads, "timeline", b.to_str().unwrap(), "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let one = run("1");
    assert!(one == run("4"), "timeline JSON differs between --threads 1 and 4");
    assert!(one == run("2"), "timeline JSON differs between --threads 1 and 2");
}

#[test]
fn investigate_summarises_each_endpoint_host() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let out = seam().args(["investigate", b.to_str().unwrap(), "--format", "json"]).assert().success();
    let doc: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let hosts = get(&doc, "summary.endpoints").as_array().expect("endpoint hosts");
    let ws1 = hosts.iter().find(|h| h["name"] == "WS1").expect("WS1");
    assert_eq!((ws1["events"].as_u64(), ws1["process_starts"].as_u64()), (Some(403), Some(1)));
    assert_eq!((ws1["connections"].as_u64(), ws1["logons"].as_u64()), (Some(1), Some(1)));
    assert_eq!(ws1["sources"], serde_json::json!(["security", "sysmon"]));
    let packets: u64 = get(&doc, "summary.packets").as_u64().unwrap();
    let capture = get(&doc, "evidence").as_array().unwrap().iter().find(|e| get(e, "seam.kind") == "pcap").unwrap();
    assert_eq!(Some(packets), get(capture, "seam.records").as_u64(), "packets count captures only");
    assert_eq!(get(&doc, "summary.flows_attributed"), 2);
    let rates = get(&doc, "summary.attribution").as_array().unwrap();
    let ws1 = rates.iter().find(|r| r["host"] == "WS1" && r["source"] == "sysmon").unwrap();
    assert_eq!((ws1["records"].as_u64(), ws1["attributed"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn flows_are_attributed_to_the_processes_that_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let b = b.to_str().unwrap();
    let flows = jsonl(&["flows", b, "--log-host", "plain-audit.log=lnx1"]);
    assert_eq!(flows.len(), 2);
    let web = flows.iter().find(|f| get(f, "destination.port") == 80).unwrap();
    assert_eq!(get(web, "process.executable"), "C:\\Users\\Public\\agent.exe");
    assert_eq!((get(web, "process.pid"), get(web, "host.name")), (&Value::from(4242), &Value::from("WS1")));
    let how = get(web, "seam.attribution").as_str().unwrap();
    assert!(how.starts_with("community-id: sysmon record 2 of ") && how.ends_with("ws1.evtx"), "{how}");
    let tls = flows.iter().find(|f| get(f, "destination.port") == 443).unwrap();
    assert_eq!(
        (get(tls, "process.executable"), get(tls, "process.pid")),
        (&Value::from("/usr/bin/curl"), &Value::from(88))
    );
    assert_eq!(get(tls, "host.name"), "lnx1");
    assert!(get(tls, "seam.attribution").as_str().unwrap().starts_with("remote-endpoint: auditd line 3 of "));

    // The timeline carries the process on the flow's application events, and the endpoint
    // records learn their flow.
    let events = jsonl(&["timeline", b]);
    let http = events.iter().find(|e| get(e, "event.kind") == "http").unwrap();
    assert_eq!(get(http, "process.entity_id"), "{11111111-2222-3333-4444-555555555555}");
    let connect =
        events.iter().find(|e| get(e, "event.action") == "network-connect" && get(e, "event.module") == "sysmon");
    assert_eq!(get(connect.unwrap(), "flow.id"), get(web, "flow.id"));
    let curl =
        events.iter().find(|e| get(e, "event.code") == "SYSCALL:connect" && get(e, "process.pid") == 88).unwrap();
    assert_eq!(get(curl, "flow.id"), get(tls, "flow.id"));
    assert_eq!(get(curl, "source.ip"), "10.0.0.7", "the flow completes the audit record's tuple");
}

/// A capture with four sessions from WS2 and a Sysmon log whose clock runs 90 s ahead.
fn skewed_bundle(dir: &Path) -> PathBuf {
    let mut t = Traffic::new();
    let mut events = Vec::new();
    for i in 0..4u16 {
        let at = T0 + i64::from(i) * 10 * SEC;
        t.tcp_session(
            at,
            Endpoint::new("10.0.0.6".parse().unwrap(), 50001 + i),
            Endpoint::new("93.184.216.34".parse().unwrap(), 80),
            20_000_000,
            &[],
            Close::Fin,
        );
        events.push(EvtxEvent::sysmon(
            at + 90 * SEC,
            3,
            "WS2",
            [
                ("ProcessId", DataValue::U32(77)),
                ("Image", DataValue::from("C:\\Tools\\poll.exe")),
                ("Protocol", DataValue::from("tcp")),
                ("Initiated", DataValue::from("true")),
                ("SourceIp", DataValue::from("10.0.0.6")),
                ("SourcePort", DataValue::U16(50001 + i)),
                ("DestinationIp", DataValue::from("93.184.216.34")),
                ("DestinationPort", DataValue::U16(80)),
            ],
        ));
    }
    t.write_pcap(std::fs::File::create(dir.join("net.pcap")).unwrap()).unwrap();
    std::fs::write(dir.join("ws2.evtx"), write_evtx(&events).unwrap()).unwrap();
    dir.to_path_buf()
}

#[test]
fn clock_skew_is_estimated_and_corrected_before_joining() {
    let dir = tempfile::tempdir().unwrap();
    let b = skewed_bundle(dir.path());
    let b = b.to_str().unwrap();
    let out = seam().args(["flows", b, "--format", "jsonl"]).assert().success().get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WS2 [sysmon]: +90.000s (median of 4 pairs, spread 0.000s)"), "{stderr}");
    let flows: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(flows.iter().filter(|f| get(f, "process.pid") == 77).count(), 4);
    // The corrected record sits at its flow's start on the timeline, and says by how much it moved.
    let events = jsonl(&["timeline", b, "--kind", "connection"]);
    assert_eq!(get(&events[0], "@timestamp"), "2024-05-01T10:00:00Z");
    assert_eq!(get(&events[0], "seam.clock_offset"), 90.0);
    // Without correction the records are 90 s from their flows: nothing joins.
    let raw = jsonl(&["flows", b, "--no-skew-correction"]);
    assert_eq!(raw.iter().filter(|f| get(f, "process.pid") == 77).count(), 0);
    // An offset the analyst sets wins over the estimate.
    let forced = seam().args(["flows", b, "--clock-offset", "ws2=+90s"]).assert().success().get_output().clone();
    assert!(String::from_utf8_lossy(&forced.stderr).contains("ws2 [*]: +90.000s (set by --clock-offset)"));
    assert!(
        seam().args(["flows", b, "--clock-offset", "ws2=soon"]).assert().failure().get_output().status.code()
            == Some(2)
    );
}

#[test]
fn assets_name_managed_hosts_and_carry_their_clock() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let assets = jsonl(&["assets", b.to_str().unwrap(), "--log-host", "plain-audit.log=lnx1"]);
    let at = |ip: &str| assets.iter().find(|a| get(a, "host.ip") == ip).unwrap_or_else(|| panic!("no {ip}"));
    let ws1 = at("10.0.0.5");
    assert_eq!((get(ws1, "host.name"), get(ws1, "seam.managed")), (&serde_json::json!(["WS1"]), &Value::Bool(true)));
    assert!(get(ws1, "seam.telemetry_first").is_string());
    assert_eq!(get(ws1, "seam.telemetry").as_array().map(Vec::len), Some(1));
    assert_eq!(get(ws1, "seam.silent_while_active"), 0.0, "its telemetry covers its traffic");
    assert_eq!(get(at("10.0.0.7"), "host.name"), &serde_json::json!(["lnx1"]), "named through its attributed flow");
    assert!(assets.iter().all(|a| get(a, "host.ip") != "93.184.216.34"), "external addresses are not assets");

    let dir = tempfile::tempdir().unwrap();
    let b = skewed_bundle(dir.path());
    let assets = jsonl(&["assets", b.to_str().unwrap()]);
    let ws2 = assets.iter().find(|a| get(a, "host.ip") == "10.0.0.6").unwrap();
    assert_eq!(
        (get(ws2, "host.name"), get(ws2, "seam.clock_offset")),
        (&serde_json::json!(["WS2"]), &Value::from(90.0))
    );
}

#[test]
fn assets_take_the_analysts_host_map_and_internal_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let map = dir.path().join("hosts.csv");
    std::fs::write(&map, "ip,name,start,end\n10.0.0.7,build-07\n10.0.0.5,old-name,2020-01-01,2020-02-01\n").unwrap();
    let b = b.to_str().unwrap();
    let m = map.to_str().unwrap();
    let assets = jsonl(&["assets", b, "--host-map", m]);
    let at = |ip: &str| assets.iter().find(|a| get(a, "host.ip") == ip).unwrap().clone();
    assert_eq!(get(&at("10.0.0.7"), "host.name"), &serde_json::json!(["build-07"]));
    assert_eq!(get(&at("10.0.0.7"), "seam.managed"), false, "a name alone is not telemetry");
    assert_eq!(get(&at("10.0.0.5"), "host.name"), &serde_json::json!(["WS1"]), "a mapping outside its span is unused");
    let managed = jsonl(&["assets", b, "--host-map", m, "--log-host", "plain-audit.log=build-07"]);
    let lnx = managed.iter().find(|a| get(a, "host.ip") == "10.0.0.7").unwrap();
    assert_eq!(get(lnx, "seam.managed"), true);
    let only = jsonl(&["assets", b, "--internal", "10.0.0.5/32"]);
    assert_eq!(only.iter().map(|a| get(a, "host.ip").as_str().unwrap()).collect::<Vec<_>>(), vec!["10.0.0.5"]);
    let bad = seam().args(["assets", b, "--internal", "10.0.0.0/99"]).assert().failure().get_output().status.code();
    assert_eq!(bad, Some(2));
}

#[test]
fn a_gzip_compressed_audit_log_reads_like_the_plain_one() {
    use std::io::Write;
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/auditd/interleaved.log");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("audit.log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let strip = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut e| {
                e["seam"]["file"] = Value::Null;
                e
            })
            .collect()
    };
    let a = strip(jsonl(&["timeline", plain.to_str().unwrap()]));
    let b = strip(jsonl(&["timeline", gz.to_str().unwrap()]));
    assert_eq!(a.len(), 10);
    assert_eq!(a, b);
    let inv = jsonl(&["inventory", gz.to_str().unwrap(), "--no-hash"]);
    assert_eq!((get(&inv[0], "seam.kind"), get(&inv[0], "seam.gzip")), (&Value::from("auditd"), &Value::Bool(true)));
}

/// A timeline merged from sorted runs on disk (`--spill-after`) is byte for byte the one held
/// in memory: for the scenario's logs (process trees across Sysmon and Security, an audit log's
/// parents by pid), several chunks of EVTX, the damaged and interleaved audit fixtures, with
/// filters and a clock offset, in every format written a window of rows at a time, on one
/// thread and two.
#[test]
fn a_timeline_merged_from_runs_on_disk_is_the_one_held_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let copy_logs = |from: &Path, prefix: &str| {
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".evtx") || name.ends_with(".log") {
                std::fs::copy(&path, logs.join(format!("{prefix}{name}"))).unwrap();
            }
        }
    };
    for seed in [3u64, 11] {
        let at = dir.path().join(format!("s{seed}"));
        crate::support::bundles::synth_with(&at, "appliance-compromise", seed, 2.0, &["--hosts", "4"]);
        copy_logs(&at, &format!("s{seed}-"));
    }
    let several_chunks = dir.path().join("chunks");
    std::fs::create_dir(&several_chunks).unwrap();
    bundle(&several_chunks);
    copy_logs(&several_chunks, "chunks-");
    copy_logs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/auditd"), "fixture-");
    let logs = logs.to_str().unwrap();
    let run = |threads: &str, spill: &str, fmt: &str, args: &[&str]| {
        let out = seam()
            .args(["--threads", threads, "--timings", "timeline", logs, "--format", fmt, "--spill-after", spill])
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let filters: [&[&str]; 4] = [
        &[],
        &["--kind", "process,connection,logon"],
        &["--grep", "cmd", "--since", "2000-01-01T00:00:00Z"],
        &["--clock-offset", "db01=3s", "--clock-offset", "fs01=-1500ms"],
    ];
    for args in filters {
        for fmt in ["jsonl", "json", "timesketch", "csv"] {
            let (held, stderr) = run("2", "0", fmt, args);
            assert!(!stderr.contains("sorted runs"), "--spill-after 0 holds every event: {stderr}");
            assert!(held.len() > 1000, "{fmt} {args:?}: {} bytes", held.len());
            for (threads, spill) in [("1", "1"), ("2", "7"), ("2", "40")] {
                let (merged, stderr) = run(threads, spill, fmt, args);
                assert!(stderr.contains("sorted runs"), "{fmt} {args:?} --spill-after {spill}: {stderr}");
                assert!(merged == held, "{fmt} {args:?} --spill-after {spill} --threads {threads} differs");
            }
        }
    }
    // Runs that cannot be written stop the timeline with a message saying what to do.
    let nowhere = dir.path().join("no-such-dir");
    let failed = seam()
        .env("TMPDIR", &nowhere)
        .args(["timeline", logs, "--format", "jsonl", "--spill-after", "5"])
        .assert()
        .failure()
        .code(2);
    let said = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(said.contains("no-such-dir") && said.contains("--spill-after 0"), "{said}");
    // Parquet, which needs every row at once, and --host hold the events.
    let stderr = |args: &[&str]| run("2", "1", "jsonl", args).1;
    assert!(!stderr(&["--host", "db01"]).contains("sorted runs"));
    let parquet = dir.path().join("t.parquet");
    let args = ["--timings", "timeline", logs, "--format", "parquet", "--spill-after", "1", "-o"];
    let held = seam().args(args).arg(&parquet).assert().success();
    assert!(!String::from_utf8_lossy(&held.get_output().stderr).contains("sorted runs"));
}
