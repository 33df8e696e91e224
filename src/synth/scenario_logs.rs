//! The endpoint logs of a scenario's managed hosts, matching its capture: the Windows file
//! server's Sysmon, Security and System logs (`fs01-sysmon.evtx`, `fs01-security.evtx`,
//! `fs01-system.evtx`) and the Linux server's audit log (`db01-audit.log`). Routine activity
//! (services, scheduled work, service logons, cron) fills the hours; the attack's connections
//! appear where the capture has them: the appliance's SMB logon and RDP session on the Windows
//! host, then its SSH login to the Linux server, which starts a miner that connects to its pool.
//! In the second half the intruder's account stops the Windows host's Sysmon service
//! (`sc.exe stop Sysmon64`, Sysmon's own state record, the Service Control Manager's 7036):
//! its Sysmon log ends there while its Security and System logs, and its traffic, go on. The
//! Linux host's clock is off by 0.5–90 s, ahead or behind as the seed says, as real ones drift
//! (`truth.json` gives the offset).

use super::auditd::{
    write_events, AuditKind, AuditSpec, AuditWriterOptions, ConnectResult, Outcome, SockAddr, UserMessage,
};
use super::evtx::{write_evtx, DataValue, EvtxEvent};
use super::net::Endpoint;
use super::rng::Rng;
use std::io::{self, BufWriter};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
/// The Linux server's clock minus the capture's: from 0.5 s to a minute and a half, ahead or
/// behind, with millisecond resolution, drawn from the seed (real clocks drift both ways).
pub fn linux_clock_offset(seed: u64) -> i64 {
    let mut rng = Rng::new(seed ^ 0xC10C_0FF5);
    let magnitude = rng.range(500, 90_000) as i64 * MS;
    if rng.range(0, 2) == 0 {
        magnitude
    } else {
        -magnitude
    }
}
pub const WINDOWS_NAME: &str = "FS01.corp.example";
pub const LINUX_NAME: &str = "db01";

/// The scenario's hosts the logs speak of.
#[derive(Debug, Clone, Copy)]
pub struct Hosts {
    pub windows: IpAddr,
    pub linux: IpAddr,
    pub appliance: IpAddr,
}

/// One attack connection as the capture has it.
#[derive(Debug, Clone, Copy)]
pub struct Fact {
    pub ts: i64,
    pub client: Endpoint,
    pub server: Endpoint,
    /// `smb`, `rdp`, `ssh` or `miner`.
    pub what: &'static str,
}

/// When the Windows host's Sysmon service is stopped: between 55 % and 65 % of the capture,
/// drawn from a generator of its own so that nothing else depends on it.
pub fn sysmon_stop(seed: u64, start: i64, end: i64) -> i64 {
    let mut rng = Rng::new(seed ^ 0x5C57_095F);
    let share = 0.55 + 0.1 * rng.unit();
    start + ((end - start) as f64 * share) as i64 / SEC * SEC
}

/// The records of the Sysmon stop: the command (Sysmon 1), Sysmon's own state change (4) and
/// the Service Control Manager's (System 7036), at `stop` − 3 s, `stop` and `stop` + 1 s.
pub const SYSMON_STOP_LEAD: i64 = 3 * SEC;
pub const SYSMON_STOP_TRAIL: i64 = SEC;

/// Writes the four logs into `dir`.
pub fn write(dir: &Path, seed: u64, hosts: &Hosts, start: i64, end: i64, facts: &[Fact]) -> io::Result<()> {
    let mut rng = Rng::new(seed ^ 0x5EA4_E4D0_1065);
    let (mut sysmon, mut security) = windows_logs(&mut rng, hosts, start, end, facts);
    let stop = sysmon_stop(seed, start, end);
    let system = silence_sysmon(seed, start, end, stop, &mut sysmon, &mut security);
    for (name, events) in [("fs01-sysmon.evtx", sysmon), ("fs01-security.evtx", security), ("fs01-system.evtx", system)]
    {
        let bytes = write_evtx(&events).map_err(io::Error::other)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    let audit = linux_log(&mut rng, hosts, start, end, facts, linux_clock_offset(seed));
    let mut out = BufWriter::new(std::fs::File::create(dir.join("db01-audit.log"))?);
    let opts = AuditWriterOptions { node: Some(LINUX_NAME.into()), ..AuditWriterOptions::default() };
    write_events(&audit, &opts, &mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn windows_logs(
    rng: &mut Rng,
    hosts: &Hosts,
    start: i64,
    end: i64,
    facts: &[Fact],
) -> (Vec<EvtxEvent>, Vec<EvtxEvent>) {
    let mut sysmon = Vec::new();
    let mut security = Vec::new();
    // Routine: a service host and a scheduled task every few minutes.
    let mut t = start + rng.range(10, 60) as i64 * SEC;
    let mut pid = 4000u32;
    while t < end {
        pid += 4;
        let (image, cmd) = if rng.chance(0.5) {
            ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p")
        } else {
            ("C:\\Windows\\System32\\taskhostw.exe", "taskhostw.exe SYSTEM")
        };
        sysmon.push(process_create(
            t,
            pid,
            image,
            cmd,
            700,
            "C:\\Windows\\System32\\services.exe",
            "NT AUTHORITY\\SYSTEM",
        ));
        sysmon.push(EvtxEvent::sysmon(
            t + 2 * SEC,
            5,
            WINDOWS_NAME,
            [
                ("ProcessGuid", DataValue::from(guid(pid))),
                ("ProcessId", DataValue::U32(pid)),
                ("Image", DataValue::from(image)),
            ],
        ));
        t += rng.range(120, 600) as i64 * SEC;
    }
    for f in facts {
        let from = f.client.ip;
        match f.what {
            "smb" => {
                security.push(logon(f.ts + 5 * MS, 3, "svc_backup", from, f.client.port));
                sysmon.push(network(f.ts, 4, "System", "NT AUTHORITY\\SYSTEM", f, false));
            }
            "rdp" => {
                security.push(logon(f.ts + 800 * MS, 10, "svc_backup", from, f.client.port));
                sysmon.push(network(
                    f.ts,
                    1112,
                    "C:\\Windows\\System32\\svchost.exe",
                    "NT AUTHORITY\\NETWORK SERVICE",
                    f,
                    false,
                ));
                // What the intruder ran in the session.
                let mut at = f.ts + 20 * SEC;
                for (i, (image, cmd)) in [
                    ("C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
                    ("C:\\Windows\\System32\\whoami.exe", "whoami /all"),
                    ("C:\\Windows\\System32\\net.exe", "net group \"domain admins\" /domain"),
                ]
                .into_iter()
                .enumerate()
                {
                    let parent = if i == 0 {
                        ("C:\\Windows\\explorer.exe", 5100)
                    } else {
                        ("C:\\Windows\\System32\\cmd.exe", 6000)
                    };
                    sysmon.push(process_create(
                        at,
                        6000 + i as u32 * 4,
                        image,
                        cmd,
                        parent.1,
                        parent.0,
                        "CORP\\svc_backup",
                    ));
                    at += rng.range(3, 15) as i64 * SEC;
                }
            }
            _ => {}
        }
    }
    let _ = hosts;
    sysmon.sort_by_key(|e| e.written);
    security.sort_by_key(|e| e.written);
    (sysmon, security)
}

/// Ends the Sysmon log at `stop` with the records of the service being stopped, adds routine
/// service logons to the Security log and routine service state changes to a System log, all
/// through the whole capture; returns the System log. Drawn from a generator of its own, so
/// the records before `stop` are those of a host whose agent was never touched.
fn silence_sysmon(
    seed: u64,
    start: i64,
    end: i64,
    stop: i64,
    sysmon: &mut Vec<EvtxEvent>,
    security: &mut Vec<EvtxEvent>,
) -> Vec<EvtxEvent> {
    let mut rng = Rng::new(seed ^ 0x5E2_71CE);
    sysmon.retain(|e| e.written < stop - SYSMON_STOP_LEAD);
    sysmon.push(process_create(
        stop - SYSMON_STOP_LEAD,
        6100,
        "C:\\Windows\\System32\\sc.exe",
        "sc.exe stop Sysmon64",
        6000,
        "C:\\Windows\\System32\\cmd.exe",
        "CORP\\svc_backup",
    ));
    sysmon.push(EvtxEvent::sysmon(
        stop,
        4,
        WINDOWS_NAME,
        [
            ("State", DataValue::from("Stopped")),
            ("Version", DataValue::from("15.14")),
            ("SchemaVersion", DataValue::from("4.90")),
        ],
    ));
    let mut system = vec![EvtxEvent::system(
        stop + SYSMON_STOP_TRAIL,
        7036,
        WINDOWS_NAME,
        [("param1", DataValue::from("Sysmon64")), ("param2", DataValue::from("stopped"))],
    )];
    // Routine: the SYSTEM account's service logons, and services that start and stop on demand.
    let mut t = start + rng.range(30, 300) as i64 * SEC;
    while t < end {
        let id = format!("0x{:x}", 0x3e7_0000 + rng.range(1, 0xffff));
        security.push(EvtxEvent::security(
            t,
            4624,
            WINDOWS_NAME,
            [
                ("SubjectUserSid", DataValue::from("S-1-5-18")),
                ("TargetUserName", DataValue::from("SYSTEM")),
                ("TargetDomainName", DataValue::from("NT AUTHORITY")),
                ("TargetLogonId", DataValue::from(id.clone())),
                ("LogonType", DataValue::U32(5)),
                ("WorkstationName", DataValue::from("-")),
                ("IpAddress", DataValue::from("-")),
                ("IpPort", DataValue::from("-")),
            ],
        ));
        security.push(EvtxEvent::security(
            t + 5 * MS,
            4672,
            WINDOWS_NAME,
            [
                ("SubjectUserSid", DataValue::from("S-1-5-18")),
                ("SubjectUserName", DataValue::from("SYSTEM")),
                ("SubjectDomainName", DataValue::from("NT AUTHORITY")),
                ("SubjectLogonId", DataValue::from(id)),
                ("PrivilegeList", DataValue::from("SeAssignPrimaryTokenPrivilege SeTcbPrivilege")),
            ],
        ));
        let service = *rng.pick(&[
            "Windows Modules Installer",
            "WinHTTP Web Proxy Auto-Discovery Service",
            "Background Intelligent Transfer Service",
        ]);
        system.push(EvtxEvent::system(
            t + SEC,
            7036,
            WINDOWS_NAME,
            [("param1", DataValue::from(service)), ("param2", DataValue::from("running"))],
        ));
        system.push(EvtxEvent::system(
            t + rng.range(20, 120) as i64 * SEC,
            7036,
            WINDOWS_NAME,
            [("param1", DataValue::from(service)), ("param2", DataValue::from("stopped"))],
        ));
        t += rng.range(300, 900) as i64 * SEC;
    }
    sysmon.sort_by_key(|e| e.written);
    security.sort_by_key(|e| e.written);
    system.sort_by_key(|e| e.written);
    system
}

fn guid(pid: u32) -> String {
    format!("{{7d3c1a52-0b1e-6650-{:04x}-{:012x}}}", pid & 0xffff, u64::from(pid) * 7919)
}

fn process_create(ts: i64, pid: u32, image: &str, cmd: &str, ppid: u32, parent: &str, user: &str) -> EvtxEvent {
    EvtxEvent::sysmon(
        ts,
        1,
        WINDOWS_NAME,
        [
            ("ProcessGuid", DataValue::from(guid(pid))),
            ("ProcessId", DataValue::U32(pid)),
            ("Image", DataValue::from(image)),
            ("CommandLine", DataValue::from(cmd)),
            ("User", DataValue::from(user)),
            ("ParentProcessGuid", DataValue::from(guid(ppid))),
            ("ParentProcessId", DataValue::U32(ppid)),
            ("ParentImage", DataValue::from(parent)),
        ],
    )
}

/// An inbound connection as Sysmon 3 logs it on the server.
fn network(ts: i64, pid: u32, image: &str, user: &str, f: &Fact, initiated: bool) -> EvtxEvent {
    EvtxEvent::sysmon(
        ts + 2 * MS,
        3,
        WINDOWS_NAME,
        [
            ("ProcessGuid", DataValue::from(guid(pid))),
            ("ProcessId", DataValue::U32(pid)),
            ("Image", DataValue::from(image)),
            ("User", DataValue::from(user)),
            ("Protocol", DataValue::from("tcp")),
            ("Initiated", DataValue::from(if initiated { "true" } else { "false" })),
            ("SourceIp", DataValue::from(f.client.ip.to_string())),
            ("SourcePort", DataValue::U16(f.client.port)),
            ("DestinationIp", DataValue::from(f.server.ip.to_string())),
            ("DestinationPort", DataValue::U16(f.server.port)),
        ],
    )
}

fn logon(ts: i64, logon_type: u32, user: &str, from: IpAddr, port: u16) -> EvtxEvent {
    EvtxEvent::security(
        ts,
        4624,
        WINDOWS_NAME,
        [
            ("SubjectUserSid", DataValue::from("S-1-0-0")),
            ("TargetUserName", DataValue::from(user)),
            ("TargetDomainName", DataValue::from("CORP")),
            ("TargetLogonId", DataValue::from(format!("0x{:x}", ts / MS % 0xffffff))),
            ("LogonType", DataValue::U32(logon_type)),
            ("WorkstationName", DataValue::from("-")),
            ("IpAddress", DataValue::from(from.to_string())),
            ("IpPort", DataValue::from(port.to_string())),
        ],
    )
}

fn linux_log(rng: &mut Rng, hosts: &Hosts, start: i64, end: i64, facts: &[Fact], clock: i64) -> Vec<AuditSpec> {
    let mut events = Vec::new();
    let mut serial = 1000u64;
    let mut next = |ts: i64, exe: &str, kind: AuditKind| {
        serial += 1;
        AuditSpec::new(ts + clock, serial, exe, kind)
    };
    // Routine: cron runs the backup every fifteen minutes, whose rsync connects to the Windows
    // host (the capture has each of those connections).
    let mut pid = 20_000u32;
    for f in facts.iter().filter(|f| f.what == "backup") {
        pid += 3;
        let argv = vec!["rsync".into(), "-a".into(), "/var/backups/".into(), format!("rsync://{}/db", f.server.ip)];
        let mut e = next(f.ts - 40 * MS, "/usr/bin/rsync", AuditKind::Execve { argv });
        e.pid = pid;
        e.ppid = 900;
        events.push(e);
        let mut c = next(
            f.ts,
            "/usr/bin/rsync",
            AuditKind::Connect {
                addr: SockAddr::Inet(SocketAddr::new(f.server.ip, f.server.port)),
                result: ConnectResult::Connected,
            },
        );
        c.pid = pid;
        c.ppid = 900;
        events.push(c);
    }
    for f in facts {
        match f.what {
            "ssh" => {
                let mut msg = UserMessage::new("postgres");
                msg.addr = Some(f.client.ip);
                msg.hostname = Some(f.client.ip.to_string());
                msg.terminal = Some("ssh".into());
                msg.outcome = Outcome::Success;
                let mut e = next(f.ts + 300 * MS, "/usr/sbin/sshd", AuditKind::UserLogin(msg));
                e.pid = 31_000;
                events.push(e);
            }
            "miner" => {
                let mut e = next(
                    f.ts - 2 * SEC,
                    "/tmp/.x/xmrig",
                    AuditKind::Execve {
                        argv: vec!["/tmp/.x/xmrig".into(), "-o".into(), format!("{}:{}", f.server.ip, f.server.port)],
                    },
                );
                e.pid = 31_337;
                e.ppid = 31_000;
                e.uid = 114;
                e.auid = Some(114);
                e.cwd = "/tmp/.x".into();
                events.push(e);
                let mut c = next(
                    f.ts,
                    "/tmp/.x/xmrig",
                    AuditKind::Connect {
                        addr: SockAddr::Inet(SocketAddr::new(f.server.ip, f.server.port)),
                        result: ConnectResult::InProgress,
                    },
                );
                c.pid = 31_337;
                c.ppid = 31_000;
                c.uid = 114;
                c.auid = Some(114);
                events.push(c);
            }
            _ => {}
        }
    }
    let _ = (hosts, rng, start, end);
    events.sort_by_key(|e| (e.ts, e.serial));
    events
}
