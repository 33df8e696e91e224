//! Process ↔ flow attribution at scale, against known truth: a capture of 800 connections from
//! a Windows host (Sysmon 1/3/5, its clock 37.25 s ahead) and a Linux host (auditd execve and
//! connect, its clock 12.5 s behind, renumbered by DHCP half-way from .7 to .77), where every
//! pid is reused by another program in the second half and programs reach the same servers
//! within a second of each other. At least 99 % of the logged connections must carry the
//! process that made them, at most 1 % a wrong one, and both clock offsets must be recovered
//! within 100 ms.

use crate::support::bundles::seam;
use seam::synth::auditd::{write_events, AuditKind, AuditSpec, AuditWriterOptions, ConnectResult, SockAddr};
use seam::synth::evtx::{write_evtx, DataValue, EvtxEvent};
use seam::synth::net::{Close, Endpoint, Traffic};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600 * SEC;
const WINDOWS_AHEAD: i64 = 37_250 * MS;
const LINUX_AHEAD: i64 = -12_500 * MS;
const CONNECTIONS: i64 = 400;
/// One connection per host every 18 s: two hours.
const STEP: i64 = 18 * SEC;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// Program `k` of a host in the first or second half: pids are reused across halves.
fn program(windows: bool, k: usize, second_half: bool) -> (u32, String) {
    let base = if windows { 1000 } else { 2000 };
    let names = if windows {
        [
            ["C:\\Program Files\\Agent\\agent.exe", "C:\\Windows\\System32\\svchost.exe"],
            ["C:\\Tools\\sync.exe", "C:\\Users\\Public\\u.exe"],
        ]
    } else {
        [["/usr/bin/curl", "/usr/bin/wget"], ["/usr/bin/rsync", "/tmp/.cache/x"]]
    };
    let exe = names[k % 2][usize::from(second_half)];
    (base + k as u32, exe.to_string())
}

#[test]
fn attribution_is_right_at_scale_with_skew_pid_reuse_and_renumbering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = Traffic::new();
    let mut sysmon = Vec::new();
    let mut audit = Vec::new();
    // (source ip, source port) → (pid, executable) the truth says made it.
    let mut truth: BTreeMap<(String, u16), (u32, String)> = BTreeMap::new();
    let half = T0 + CONNECTIONS / 2 * STEP;
    for windows in [true, false] {
        for second in [false, true] {
            for k in 0..2 {
                let (pid, exe) = program(windows, k, second);
                let start = if second { half } else { T0 - 60 * SEC };
                if windows {
                    let guid = format!("{{0000{k}{}00-0000-0000-0000-000000000000}}", u8::from(second));
                    sysmon.push(EvtxEvent::sysmon(
                        start + WINDOWS_AHEAD,
                        1,
                        "WS-A",
                        [
                            ("ProcessGuid", DataValue::from(guid.as_str())),
                            ("ProcessId", DataValue::U32(pid)),
                            ("Image", DataValue::from(exe.as_str())),
                            ("CommandLine", DataValue::from(exe.as_str())),
                        ],
                    ));
                    if !second {
                        sysmon.push(EvtxEvent::sysmon(
                            half - SEC + WINDOWS_AHEAD,
                            5,
                            "WS-A",
                            [("ProcessGuid", DataValue::from(guid.as_str())), ("ProcessId", DataValue::U32(pid))],
                        ));
                    }
                } else {
                    let mut e = AuditSpec::new(
                        start + LINUX_AHEAD,
                        audit.len() as u64 + 100,
                        &exe,
                        AuditKind::Execve { argv: vec![exe.clone()] },
                    );
                    e.pid = pid;
                    e.ppid = 1;
                    audit.push(e);
                }
            }
        }
    }
    for i in 0..CONNECTIONS {
        let at = T0 + i * STEP;
        let second = at >= half;
        for windows in [true, false] {
            let k = (i as usize) % 2;
            let (pid, exe) = program(windows, k, second);
            // Both programs of a host reach the same twenty servers (each host its own); every
            // other connection follows the previous one to the same server within 300 ms.
            let net = if windows { "203.0.113" } else { "198.51.100" };
            let server = Endpoint::new(ip(&format!("{net}.{}", 10 + (i / 2) % 20)), 443);
            let at = at + if windows { 0 } else { 4 * SEC } + (i % 2) * 300 * MS;
            let client_ip = match (windows, second) {
                (true, _) => "10.0.0.5",
                (false, false) => "10.0.0.7",
                (false, true) => "10.0.0.77",
            };
            let port = 40_000 + i as u16;
            let client = Endpoint::new(ip(client_ip), port);
            t.tcp_session(at, client, server, 20 * MS, &[], Close::Fin);
            truth.insert((client_ip.to_string(), port), (pid, exe.clone()));
            if windows {
                let guid = format!("{{0000{k}{}00-0000-0000-0000-000000000000}}", u8::from(second));
                sysmon.push(EvtxEvent::sysmon(
                    at + 2 * MS + WINDOWS_AHEAD,
                    3,
                    "WS-A",
                    [
                        ("ProcessGuid", DataValue::from(guid.as_str())),
                        ("ProcessId", DataValue::U32(pid)),
                        ("Image", DataValue::from(exe.as_str())),
                        ("Protocol", DataValue::from("tcp")),
                        ("Initiated", DataValue::from("true")),
                        ("SourceIp", DataValue::from(client_ip)),
                        ("SourcePort", DataValue::U16(port)),
                        ("DestinationIp", DataValue::from(server.ip.to_string().as_str())),
                        ("DestinationPort", DataValue::U16(443)),
                    ],
                ));
            } else {
                let mut e = AuditSpec::new(
                    at + LINUX_AHEAD,
                    audit.len() as u64 + 100,
                    &exe,
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(server.ip, 443)),
                        result: ConnectResult::Connected,
                    },
                );
                e.pid = pid;
                e.ppid = 1;
                audit.push(e);
            }
        }
    }
    t.write_pcap(std::fs::File::create(dir.path().join("net.pcap")).expect("create")).expect("write pcap");
    sysmon.sort_by_key(|e| e.written);
    std::fs::write(dir.path().join("ws-a.evtx"), write_evtx(&sysmon).expect("evtx")).expect("write evtx");
    audit.sort_by_key(|e| (e.ts, e.serial));
    let opts = AuditWriterOptions { node: Some("lnx1".into()), ..AuditWriterOptions::default() };
    let mut log = Vec::new();
    write_events(&audit, &opts, &mut log).expect("audit log");
    std::fs::write(dir.path().join("lnx1-audit.log"), log).expect("write audit");

    if let Ok(keep) = std::env::var("SEAM_KEEP_BUNDLE") {
        for f in ["net.pcap", "ws-a.evtx", "lnx1-audit.log"] {
            std::fs::copy(dir.path().join(f), std::path::Path::new(&keep).join(f)).expect("keep");
        }
    }
    let out = seam().arg("flows").arg(dir.path()).args(["-f", "jsonl"]).output().expect("seam runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (mut right, mut wrong, mut missing) = (0usize, 0usize, 0usize);
    let mut wrong_examples = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Value = serde_json::from_str(line).expect("flow json");
        let key = (
            f["source"]["ip"].as_str().unwrap_or_default().to_string(),
            f["source"]["port"].as_u64().unwrap_or(0) as u16,
        );
        let Some((pid, exe)) = truth.get(&key) else { continue };
        match (f["process"]["pid"].as_u64(), f["process"]["executable"].as_str()) {
            (Some(p), Some(x)) if p == u64::from(*pid) && x == exe => right += 1,
            (None, _) => missing += 1,
            (p, x) => {
                wrong += 1;
                wrong_examples.push(format!("{key:?}: want {pid} {exe}, got {p:?} {x:?}"));
            }
        }
    }
    let total = truth.len();
    println!("attribution: {right} right, {wrong} wrong, {missing} missing of {total} logged connections");
    assert_eq!(right + wrong + missing, total, "every logged connection has its flow");
    assert!(right * 100 >= total * 99, "{right} of {total} right; wrong: {wrong_examples:?}");
    assert!(wrong * 100 <= total, "{wrong} of {total} wrong: {wrong_examples:?}");

    let stderr = String::from_utf8_lossy(&out.stderr);
    let offset = |host: &str| -> f64 {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{host} [")))
            .and_then(|rest| rest.split_once("]: ").map(|(_, v)| v))
            .and_then(|v| v.split('s').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no clock offset for {host} in {stderr}"))
    };
    assert!((offset("WS-A") - 37.25).abs() <= 0.1, "{stderr}");
    assert!((offset("lnx1") + 12.5).abs() <= 0.1, "{stderr}");
}
