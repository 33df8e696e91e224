//! `edr-tamper` — security agents and their telemetry stopped, disabled, reconfigured,
//! silenced or attacked on a host.
//!
//! Input: every endpoint event. Each record that touches a security agent (by its service,
//! process, driver or policy names, listed below as data with their sources) or loads a known
//! vulnerable or unsigned driver is one *signal*; signals are grouped per (host, object), the
//! object being the agent (`Microsoft Defender`, `Sysmon`, `auditd`, …) or the driver file.
//!
//! | signal (component) | records |
//! | --- | --- |
//! | `sysmon_stopped` | Sysmon 4 with state `Stopped` |
//! | `agent_uninstalled` | Sysmon 16 whose configuration is an uninstall (`-u`) |
//! | `config_changed` | Sysmon 16 other than an install (`-i`) |
//! | `service_stopped` | an agent's service stopped (System 7036, auditd SERVICE_STOP) and not running again within `restart_window_secs` while its log went on |
//! | `service_stopped_at_end` | the same, when the log ends before the window does (no way to tell) |
//! | `service_restarted` | stopped and running again within the window (updates do this) |
//! | `service_crashed` | System 7034 for an agent's service |
//! | `start_disabled` / `start_manual` | System 7040, or the service's `Start` registry value (Sysmon 13), set to disabled / demand |
//! | `protection_disabled` | Defender 5001/5010/5012, or a Defender `Disable…` policy value set to 1 |
//! | `exclusion_added` | Defender 5007 or a registry value adding an exclusion |
//! | `filter_unloaded` | FilterManager 1: an agent's file-system minifilter unloaded |
//! | `wfp_block_filter` | Security 5441/5447: a filter naming an agent executable (the EDRSilencer pattern) |
//! | `agent_traffic_blocked` | Security 5157: an agent process's connection blocked |
//! | `vulnerable_driver` | Sysmon 6, System 7045 or Security 4697 naming a driver known to be abused to kill agents (the EDRKillShifter pattern) |
//! | `unsigned_driver` | Sysmon 6 of an unsigned driver |
//! | `agent_process_access` | Sysmon 10 opening an agent process with terminate or write rights, auditd kill/ptrace of one |
//! | `tamper_command` | a process command line or PowerShell script that stops, disables, kills or unloads an agent |
//! | `audit_rules_removed` | auditd CONFIG_CHANGE `op=remove_rule` |
//!
//! Score: each signal kind keeps its strongest value (the thresholds name each one); the kinds
//! combine as `base = 1 − Π(1 − part)`, and `score = min(1, base + corroboration)` where
//! `corroboration = corroboration_weight · min(1, other_objects)`, `other_objects` counting the
//! host's other tampered objects whose own base reaches `corroboration_min` (a killer loads a
//! driver, then opens the agent). The components hold every part, `base`, `corroboration` and
//! `other_objects`. Technique: T1562.004 when a firewall filter is involved, T1562.002 for
//! auditd rules, else T1562.001.
//!
//! Memory: one group per (host, object), at most [`MAX_GROUPS`]; events past the cap are not
//! grouped. Command lines and scripts are read up to [`MAX_TEXT`] bytes.

use super::{check, DetectCtx, Detector, Finding, FindingProcess, Tactic, Thresholds};
use crate::model::{EndpointFields, Event, Fields, LogSource};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// (host, object) groups kept per run; the object names come from fixed lists except driver
/// file names, which a hostile log can vary.
pub const MAX_GROUPS: usize = 10_000;
/// Bytes of a command line or script text searched for tampering commands.
pub const MAX_TEXT: usize = 64 * 1024;

/// One security agent: its services (key and display names), processes and drivers, all
/// lower case.
pub struct Agent {
    pub name: &'static str,
    pub services: &'static [&'static str],
    pub processes: &'static [&'static str],
    pub drivers: &'static [&'static str],
}

/// Security agents and telemetry services. Sources: the process list EDRSilencer
/// (netero1010/EDRSilencer, `EDRSilencer.c`) blocks; the agents EDRKillShifter and AuKill
/// terminate (Sophos X-Ops and ESET reports, 2023–2024); each vendor's documented service and
/// driver names (Microsoft Defender for Endpoint, Sysinternals Sysmon, CrowdStrike Falcon,
/// SentinelOne, VMware Carbon Black, Cylance, Elastic, Cybereason, Palo Alto Cortex XDR,
/// Trellix/FireEye, Sophos, ESET, Trend Micro, Symantec, Tanium, Qualys); the Windows Event
/// Log service and Linux auditd, whose stopping blinds the logs seam reads.
pub const AGENTS: &[Agent] = &[
    Agent {
        name: "Sysmon",
        services: &["sysmon", "sysmon64", "sysmondrv"],
        processes: &["sysmon.exe", "sysmon64.exe", "sysmon64a.exe"],
        drivers: &["sysmondrv", "sysmondrv.sys"],
    },
    Agent {
        name: "Microsoft Defender",
        services: &[
            "windefend",
            "sense",
            "wdnissvc",
            "wdboot",
            "wdfilter",
            "wdnisdrv",
            "mdcoresvc",
            "windows defender antivirus service",
            "microsoft defender antivirus service",
            "windows defender advanced threat protection service",
            "microsoft defender for endpoint service",
            "windows defender antivirus network inspection service",
            "microsoft defender antivirus network inspection service",
            "microsoft defender core service",
        ],
        processes: &[
            "msmpeng.exe",
            "mssense.exe",
            "senseir.exe",
            "sensendr.exe",
            "sensecncproxy.exe",
            "sensesampleuploader.exe",
            "nissrv.exe",
            "mpdefendercoreservice.exe",
        ],
        drivers: &["wdfilter", "wdfilter.sys", "wdboot.sys", "wdnisdrv.sys", "mssecflt", "mssecflt.sys"],
    },
    Agent {
        name: "CrowdStrike Falcon",
        services: &["csfalconservice", "csagent", "crowdstrike falcon sensor service", "falcon-sensor"],
        processes: &["csfalconservice.exe", "csfalconcontainer.exe", "falcond", "falcon-sensor"],
        drivers: &["csagent", "csagent.sys", "csdevicecontrol.sys", "csfirmwareanalysis.sys"],
    },
    Agent {
        name: "SentinelOne",
        services: &[
            "sentinelagent",
            "sentinelstaticengine",
            "logprocessorservice",
            "sentinelhelperservice",
            "sentinel agent",
            "sentinelone",
        ],
        processes: &[
            "sentinelagent.exe",
            "sentinelagentworker.exe",
            "sentinelservicehost.exe",
            "sentinelstaticengine.exe",
            "logprocessorservice.exe",
            "sentinelstaticenginescanner.exe",
            "sentinelhelperservice.exe",
            "sentinelbrowsernativehost.exe",
            "sentinelctl.exe",
            "sentinelone-agent",
        ],
        drivers: &["sentinelmonitor.sys", "sentinelmonitor"],
    },
    Agent {
        name: "Carbon Black",
        services: &["carbonblack", "cbdefense", "cbstream", "repmgr", "carbonblackk", "cb defense", "cbagentd"],
        processes: &["cb.exe", "repmgr.exe", "reputils.exe", "repux.exe", "repwav.exe", "repwsc.exe", "cbagentd"],
        drivers: &["carbonblackk.sys", "cbk7.sys", "ctifile.sys", "ctinet.sys", "parity.sys"],
    },
    Agent {
        name: "Cylance",
        services: &["cylancesvc", "cylance protect", "cylancedrv"],
        processes: &["cylancesvc.exe", "cylanceui.exe", "cyoptics.exe"],
        drivers: &["cylancedrv64.sys", "cyprotectdrv64.sys", "cyoptics.sys"],
    },
    Agent {
        name: "Elastic",
        services: &["elastic agent", "elastic-agent", "elasticendpoint", "elastic endpoint", "winlogbeat", "filebeat"],
        processes: &["elastic-agent.exe", "elastic-endpoint.exe", "winlogbeat.exe", "filebeat.exe", "elastic-agent"],
        drivers: &["elasticendpointdriver.sys", "elastic-endpoint-driver.sys"],
    },
    Agent {
        name: "Cybereason",
        services: &["cybereasonactiveprobe", "cybereasonav", "cybereasoncrs"],
        processes: &["amsvc.exe", "cramtray.exe", "crssvc.exe", "executionpreventionsvc.exe", "cybereasonav.exe"],
        drivers: &["crexecprev.sys"],
    },
    Agent {
        name: "Cortex XDR",
        services: &["cyserver", "cyveraservice", "traps", "tlaservice", "cortex xdr"],
        processes: &["traps.exe", "cyserver.exe", "cyveraservice.exe", "cyvrfsflt.exe", "tlaworker.exe"],
        drivers: &["cyvrfsfd.sys", "cyvrmtgn.sys", "tedrdrv.sys", "cyverak.sys"],
    },
    Agent {
        name: "Trellix/FireEye",
        services: &["xagt", "fireeye endpoint agent", "trellix endpoint agent"],
        processes: &["xagt.exe", "xagtnotif.exe"],
        drivers: &["fekern.sys", "wfp_mrt.sys"],
    },
    Agent {
        name: "Sophos",
        services: &["sophos endpoint defense service", "sophos mcs agent", "sntp", "hmpalertsvc", "sophosed"],
        processes: &["sophosfilescanner.exe", "sophoshealth.exe", "sspservice.exe", "hmpalert.exe", "mcsagent.exe"],
        drivers: &["sophosed.sys", "hmpalert.sys", "savonaccess.sys"],
    },
    Agent {
        name: "ESET",
        services: &["ekrn", "eset service"],
        processes: &["ekrn.exe", "egui.exe", "eguiproxy.exe", "eiconnector.exe"],
        drivers: &["ehdrv.sys", "eamonm.sys", "edevmon.sys", "epfwwfp.sys"],
    },
    Agent {
        name: "Trend Micro",
        services: &["tmlisten", "ntrtscan", "tmccsf", "ds_agent"],
        processes: &[
            "tmlisten.exe",
            "ntrtscan.exe",
            "tmccsf.exe",
            "tmbmsrv.exe",
            "ds_agent.exe",
            "coreserviceshell.exe",
        ],
        drivers: &["tmcomm.sys", "tmactmon.sys", "tmevtmgr.sys"],
    },
    Agent {
        name: "Symantec",
        services: &["sepmasterservice", "symantec endpoint protection", "sepwscsvc"],
        processes: &["ccsvchst.exe", "sepagent.exe", "smc.exe", "sisipsservice.exe"],
        drivers: &["symevent.sys", "symevnt.sys", "srtsp.sys"],
    },
    Agent {
        name: "Tanium",
        services: &["tanium client", "taniumclient"],
        processes: &["taniumclient.exe", "taniumcx.exe", "taniumdetectengine.exe"],
        drivers: &[],
    },
    Agent {
        name: "Qualys",
        services: &["qualysagent", "qualys cloud agent"],
        processes: &["qualysagent.exe"],
        drivers: &[],
    },
    Agent { name: "Windows Event Log", services: &["eventlog", "windows event log"], processes: &[], drivers: &[] },
    Agent {
        name: "auditd",
        services: &["auditd", "auditd.service", "audit"],
        processes: &["auditd", "/sbin/auditd", "/usr/sbin/auditd", "audispd"],
        drivers: &[],
    },
];

/// Drivers known to be loaded in order to kill security agents (bring your own vulnerable
/// driver), lower-case file names without path. Sources: the LOLDrivers project
/// (loldrivers.io, "malicious" and "vulnerable driver" categories), Sophos X-Ops on
/// EDRKillShifter (RentDrv2, ThreatFireMonitor) and AuKill (procexp152), the Terminator tool
/// (zam64/zamguard64), AvosLocker (aswArPot), BlackByte (RTCore64), Robinhood (gdrv), Kasseika
/// (viragt64), and the mimikatz driver.
pub const VULNERABLE_DRIVERS: &[&str] = &[
    "rtcore64.sys",
    "rtcore32.sys",
    "gdrv.sys",
    "aswarpot.sys",
    "zam64.sys",
    "zamguard64.sys",
    "procexp152.sys",
    "procexp.sys",
    "dbutil_2_3.sys",
    "mhyprot2.sys",
    "mhyprot3.sys",
    "kprocesshacker.sys",
    "iqvw64e.sys",
    "truesight.sys",
    "wnbios.sys",
    "asio.sys",
    "asio2.sys",
    "asio3.sys",
    "winring0x64.sys",
    "capcom.sys",
    "viragt64.sys",
    "rentdrv2.sys",
    "tfsysmon.sys",
    "probmon.sys",
    "ksapi64.sys",
    "hw.sys",
    "ene.sys",
    "gmer64.sys",
    "mimidrv.sys",
    "mimidrv",
    "rzpnk.sys",
    "nvoclock.sys",
    "ntiolib_x64.sys",
    "pchunter.sys",
    "blackbonedrv10.sys",
];

/// Processes that open agents' processes as part of Windows itself; their access is not a
/// signal.
const SYSTEM_OPENERS: &[&str] = &["csrss.exe", "wininit.exe", "services.exe", "lsass.exe", "smss.exe", "system"];

/// Words that, beside an agent's service, process or driver name on one command line, make it
/// a tampering command (`sc stop`, `net stop`, `sc config … start= disabled`, `Set-Service
/// -StartupType Disabled`, `taskkill /im`, `fltmc unload`, `systemctl stop|disable|mask`,
/// `sysmon -u`).
const TAMPER_WORDS: &[&str] = &[
    "stop",
    "delete",
    "disable",
    "disabled",
    "mask",
    "kill",
    "taskkill",
    "pkill",
    "killall",
    "stop-service",
    "stop-process",
    "unload",
    "uninstall",
    "-u",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    sysmon_stopped: f64,
    agent_uninstalled: f64,
    config_changed: f64,
    service_stopped: f64,
    service_stopped_at_end: f64,
    service_restarted: f64,
    service_crashed: f64,
    start_disabled: f64,
    start_manual: f64,
    protection_disabled: f64,
    exclusion_added: f64,
    filter_unloaded: f64,
    wfp_block_filter: f64,
    agent_traffic_blocked: f64,
    vulnerable_driver: f64,
    unsigned_driver: f64,
    agent_process_access: f64,
    tamper_command: f64,
    audit_rules_removed: f64,
    restart_window_secs: f64,
    corroboration_weight: f64,
    corroboration_min: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sysmon_stopped: 0.8,
            agent_uninstalled: 0.8,
            config_changed: 0.3,
            service_stopped: 0.6,
            service_stopped_at_end: 0.4,
            service_restarted: 0.15,
            service_crashed: 0.35,
            start_disabled: 0.75,
            start_manual: 0.35,
            protection_disabled: 0.75,
            exclusion_added: 0.5,
            filter_unloaded: 0.7,
            wfp_block_filter: 0.85,
            agent_traffic_blocked: 0.5,
            vulnerable_driver: 0.8,
            unsigned_driver: 0.45,
            agent_process_access: 0.6,
            tamper_command: 0.55,
            audit_rules_removed: 0.7,
            restart_window_secs: 300.0,
            corroboration_weight: 0.15,
            corroboration_min: 0.3,
        }
    }
}

/// One kind of signal; its component name is its thresholds key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Signal {
    SysmonStopped,
    AgentUninstalled,
    ConfigChanged,
    ServiceStopped,
    ServiceStoppedAtEnd,
    ServiceRestarted,
    ServiceCrashed,
    StartDisabled,
    StartManual,
    ProtectionDisabled,
    ExclusionAdded,
    FilterUnloaded,
    WfpBlockFilter,
    AgentTrafficBlocked,
    VulnerableDriver,
    UnsignedDriver,
    AgentProcessAccess,
    TamperCommand,
    AuditRulesRemoved,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::SysmonStopped => "sysmon_stopped",
            Signal::AgentUninstalled => "agent_uninstalled",
            Signal::ConfigChanged => "config_changed",
            Signal::ServiceStopped => "service_stopped",
            Signal::ServiceStoppedAtEnd => "service_stopped_at_end",
            Signal::ServiceRestarted => "service_restarted",
            Signal::ServiceCrashed => "service_crashed",
            Signal::StartDisabled => "start_disabled",
            Signal::StartManual => "start_manual",
            Signal::ProtectionDisabled => "protection_disabled",
            Signal::ExclusionAdded => "exclusion_added",
            Signal::FilterUnloaded => "filter_unloaded",
            Signal::WfpBlockFilter => "wfp_block_filter",
            Signal::AgentTrafficBlocked => "agent_traffic_blocked",
            Signal::VulnerableDriver => "vulnerable_driver",
            Signal::UnsignedDriver => "unsigned_driver",
            Signal::AgentProcessAccess => "agent_process_access",
            Signal::TamperCommand => "tamper_command",
            Signal::AuditRulesRemoved => "audit_rules_removed",
        }
    }

    fn weight(self, c: &Config) -> f64 {
        match self {
            Signal::SysmonStopped => c.sysmon_stopped,
            Signal::AgentUninstalled => c.agent_uninstalled,
            Signal::ConfigChanged => c.config_changed,
            Signal::ServiceStopped => c.service_stopped,
            Signal::ServiceStoppedAtEnd => c.service_stopped_at_end,
            Signal::ServiceRestarted => c.service_restarted,
            Signal::ServiceCrashed => c.service_crashed,
            Signal::StartDisabled => c.start_disabled,
            Signal::StartManual => c.start_manual,
            Signal::ProtectionDisabled => c.protection_disabled,
            Signal::ExclusionAdded => c.exclusion_added,
            Signal::FilterUnloaded => c.filter_unloaded,
            Signal::WfpBlockFilter => c.wfp_block_filter,
            Signal::AgentTrafficBlocked => c.agent_traffic_blocked,
            Signal::VulnerableDriver => c.vulnerable_driver,
            Signal::UnsignedDriver => c.unsigned_driver,
            Signal::AgentProcessAccess => c.agent_process_access,
            Signal::TamperCommand => c.tamper_command,
            Signal::AuditRulesRemoved => c.audit_rules_removed,
        }
    }
}

/// What a record was tampering with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Object {
    Agent(&'static str),
    Driver(String),
}

impl Object {
    fn text(&self) -> String {
        match self {
            Object::Agent(a) => (*a).to_string(),
            Object::Driver(d) => format!("driver {d}"),
        }
    }
}

/// The endpoint payload of an event.
pub(super) fn endpoint(e: &Event) -> Option<&EndpointFields> {
    match &e.fields {
        Fields::Endpoint(f) => Some(f),
        _ => None,
    }
}

/// The process an endpoint record names, as findings show it.
pub(super) fn record_process(e: &Event, source: LogSource) -> Option<FindingProcess> {
    let p = e.process.as_ref()?;
    (p.pid.is_some() || p.executable.is_some() || p.command_line.is_some()).then(|| FindingProcess {
        pid: p.pid,
        executable: p.executable.clone(),
        command_line: p.command_line.clone(),
        source: source.as_str().to_string(),
    })
}

/// The last path component, lower case (`C:\x\MsMpEng.exe` → `msmpeng.exe`).
fn base_name(path: &str) -> String {
    path.rsplit(['\\', '/']).next().unwrap_or(path).trim().to_ascii_lowercase()
}

fn agent_by_service(name: &str) -> Option<&'static Agent> {
    let n = name.trim().to_ascii_lowercase();
    AGENTS.iter().find(|a| a.services.contains(&n.as_str()))
}

fn agent_by_process(path: &str) -> Option<&'static Agent> {
    let n = base_name(path);
    AGENTS.iter().find(|a| !n.is_empty() && a.processes.contains(&n.as_str()))
}

fn agent_by_driver(name: &str) -> Option<&'static Agent> {
    let n = base_name(name);
    AGENTS.iter().find(|a| a.drivers.contains(&n.as_str()))
}

fn vulnerable_driver(path: &str) -> Option<String> {
    let n = base_name(path);
    VULNERABLE_DRIVERS.contains(&n.as_str()).then_some(n)
}

/// A text cut to [`MAX_TEXT`] bytes on a character boundary.
fn capped(s: &str) -> &str {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The agent a command line or script tampers with, when it does.
fn tamper_command(text: &str) -> Option<&'static Agent> {
    let lower = capped(text).to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ',' | ';' | '(' | ')' | '|' | '`'))
        .filter(|t| !t.is_empty())
        .collect();
    let defender = AGENTS.iter().find(|a| a.name == "Microsoft Defender");
    let has = |w: &str| tokens.contains(&w);
    if has("set-mppreference")
        && tokens.iter().any(|t| t.starts_with("-disable") || *t == "disabled" || *t == "disable")
        || has("add-mppreference") && tokens.iter().any(|t| t.starts_with("-exclusion"))
        || tokens.iter().any(|t| base_name(t) == "mpcmdrun.exe") && has("-removedefinitions")
    {
        return defender;
    }
    if tokens.iter().any(|t| base_name(t) == "auditctl") && (has("-d") || tokens.windows(2).any(|w| w == ["-e", "0"])) {
        return AGENTS.iter().find(|a| a.name == "auditd");
    }
    if !tokens.iter().any(|t| TAMPER_WORDS.contains(t)) {
        return None;
    }
    tokens.iter().find_map(|t| {
        let t = t.trim_end_matches(".service");
        agent_by_service(t).or_else(|| agent_by_process(t)).or_else(|| agent_by_driver(t))
    })
}

/// The registry change a Sysmon 12–14 record makes to an agent: the service's `Start` value,
/// or a Defender policy value.
fn registry_signal(target: &str, details: &str) -> Option<(Signal, &'static Agent)> {
    let key = target.to_ascii_lowercase();
    let value = details.to_ascii_lowercase();
    let dword = |n: &str| value.contains(&format!("(0x0000000{n})")) || value.trim() == n;
    if let Some(rest) = key.split("\\services\\").nth(1) {
        let mut parts = rest.split('\\');
        let (service, name) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        if name == "start" {
            if let Some(a) = agent_by_service(service) {
                if dword("4") {
                    return Some((Signal::StartDisabled, a));
                }
                if dword("3") {
                    return Some((Signal::StartManual, a));
                }
            }
        }
        return None;
    }
    if key.contains("\\windows defender\\") {
        let defender = AGENTS.iter().find(|a| a.name == "Microsoft Defender")?;
        if key.contains("\\exclusions\\") {
            return Some((Signal::ExclusionAdded, defender));
        }
        let leaf = key.rsplit('\\').next().unwrap_or_default();
        if leaf.starts_with("disable") && dword("1") {
            return Some((Signal::ProtectionDisabled, defender));
        }
    }
    None
}

/// Defender's own log: 5001 real-time protection disabled, 5010/5012 scanning disabled, 5007
/// a setting changed (an exclusion, or a `Disable…` value set to 1).
fn defender_signal(f: &EndpointFields) -> Option<Signal> {
    let provider = f.provider.as_deref().unwrap_or_default().to_ascii_lowercase();
    if !provider.contains("windows defender") {
        return None;
    }
    match f.code.as_str() {
        "5001" | "5010" | "5012" => Some(Signal::ProtectionDisabled),
        "5007" => {
            let new = f.get("New Value").unwrap_or_default().to_ascii_lowercase();
            let leaf = new.split(" = ").next().unwrap_or_default().rsplit('\\').next().unwrap_or_default().to_string();
            if new.contains("\\exclusions\\") {
                Some(Signal::ExclusionAdded)
            } else if leaf.starts_with("disable") && new.trim_end().ends_with("= 0x1") {
                Some(Signal::ProtectionDisabled)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Sysmon 10 access rights that let the opener end or change the agent: terminate (0x1),
/// create thread (0x2), VM operation/write (0x8, 0x20), suspend/resume (0x800).
fn harmful_access(details: &str) -> bool {
    let Some(mask) = details.split("access ").nth(1).map(|m| m.split(',').next().unwrap_or(m).trim()) else {
        return false;
    };
    let Ok(mask) = u64::from_str_radix(mask.trim_start_matches("0x").trim_start_matches("0X"), 16) else {
        return false;
    };
    mask & (0x1 | 0x2 | 0x8 | 0x20 | 0x800) != 0
}

/// What one record signals, about which object.
fn classify(e: &Event, f: &EndpointFields) -> Option<(Signal, Object)> {
    let agent = |a: &'static Agent| Object::Agent(a.name);
    let target = f.target.as_deref().unwrap_or_default();
    let details = f.details.as_deref().unwrap_or_default();
    let sysmon = || AGENTS.first().map(agent);
    match f.action {
        "sysmon-state-changed" if details.eq_ignore_ascii_case("stopped") => Some((Signal::SysmonStopped, sysmon()?)),
        "sysmon-config-changed" => {
            let t = format!(" {} ", target.to_ascii_lowercase());
            if t.contains(" -u ") || t.contains(" /u ") {
                Some((Signal::AgentUninstalled, sysmon()?))
            } else if t.contains(" -i ") || t.contains(" /i ") {
                None
            } else {
                Some((Signal::ConfigChanged, sysmon()?))
            }
        }
        // Stops and starts are paired in `run`; here only the crash and start-type changes.
        "service-crashed" => agent_by_service(target).map(|a| (Signal::ServiceCrashed, agent(a))),
        "service-start-type-changed" => {
            let a = agent_by_service(target)?;
            let new = details.rsplit('→').next().unwrap_or(details).trim().to_ascii_lowercase();
            if new.contains("disabled") {
                Some((Signal::StartDisabled, agent(a)))
            } else if new.contains("demand") || new.contains("manual") {
                Some((Signal::StartManual, agent(a)))
            } else {
                None
            }
        }
        "service-installed" => {
            let image = details.split(", ").next().unwrap_or_default();
            vulnerable_driver(image)
                .or_else(|| vulnerable_driver(target))
                .or_else(|| vulnerable_driver(&format!("{}.sys", target.trim())))
                .map(|d| (Signal::VulnerableDriver, Object::Driver(d)))
        }
        "driver-load" => {
            if let Some(d) = vulnerable_driver(target) {
                Some((Signal::VulnerableDriver, Object::Driver(d)))
            } else if f.outcome == Some("failure") && agent_by_driver(target).is_none() {
                Some((Signal::UnsignedDriver, Object::Driver(base_name(target))))
            } else {
                None
            }
        }
        "process-accessed" | "remote-thread-created" | "process-traced" | "signal-sent" => {
            let a = agent_by_process(target)?;
            let opener = e.process.as_ref().and_then(|p| p.executable.as_deref()).map(base_name);
            if opener.as_deref().is_some_and(|o| SYSTEM_OPENERS.contains(&o) || a.processes.contains(&o)) {
                return None;
            }
            let harmful = match f.source {
                LogSource::Sysmon if f.action == "process-accessed" => harmful_access(details),
                _ => true,
            };
            harmful.then(|| (Signal::AgentProcessAccess, agent(a)))
        }
        "registry-value-set" | "registry-key-changed" => registry_signal(target, details).map(|(s, a)| (s, agent(a))),
        "wfp-filter-present" | "wfp-filter-changed" => {
            // The filter's conditions name the application it matches; any field naming an
            // agent executable does.
            let a = f.data.iter().find_map(|(_, v)| {
                let v = v.to_ascii_lowercase();
                AGENTS.iter().find(|a| a.processes.iter().any(|p| p.ends_with(".exe") && v.contains(p)))
            })?;
            let blocks = f.data.iter().any(|(k, v)| k.eq_ignore_ascii_case("Action") && !v.contains("16390"))
                || details.to_ascii_lowercase().contains("block");
            blocks.then(|| (Signal::WfpBlockFilter, agent(a)))
        }
        "connection-blocked" => {
            let exe = e.process.as_ref().and_then(|p| p.executable.as_deref())?;
            agent_by_process(exe).map(|a| (Signal::AgentTrafficBlocked, agent(a)))
        }
        "audit-config-changed" => {
            let op = f.get("CONFIG_CHANGE.op").unwrap_or(details).trim_matches('"');
            (op == "remove_rule" || op == "remove rule" || op == "del_rule")
                .then_some((Signal::AuditRulesRemoved, Object::Agent("auditd")))
        }
        "process-start" => {
            let cmd = e.process.as_ref().and_then(|p| p.command_line.as_deref())?;
            tamper_command(cmd).map(|a| (Signal::TamperCommand, agent(a)))
        }
        "script-block" | "pipeline-executed" => tamper_command(details).map(|a| (Signal::TamperCommand, agent(a))),
        _ if f.provider.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("Microsoft-Windows-FilterManager"))
            && f.code == "1" =>
        {
            let a = agent_by_driver(f.get("DeviceName").unwrap_or_default())?;
            Some((Signal::FilterUnloaded, agent(a)))
        }
        _ => defender_signal(f)
            .and_then(|s| Some((s, AGENTS.iter().find(|a| a.name == "Microsoft Defender").map(agent)?))),
    }
}

/// Whether a service record says the service stopped (`Some(false)`), started
/// (`Some(true)`), or neither.
fn service_state(f: &EndpointFields) -> Option<bool> {
    match f.action {
        "service-stopped" => Some(false),
        "service-started" => Some(true),
        "service-state-changed" => {
            let d = f.details.as_deref().unwrap_or_default().to_ascii_lowercase();
            if d.contains("stopped") {
                Some(false)
            } else if d.contains("running") {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

#[derive(Default)]
struct Group<'a> {
    parts: BTreeMap<Signal, f64>,
    events: Vec<&'a Event>,
    /// The strongest signal's record, for the process and host.
    lead: Option<(f64, &'a Event)>,
    first: i64,
    last: i64,
}

impl<'a> Group<'a> {
    fn add(&mut self, s: Signal, weight: f64, e: &'a Event) {
        let p = self.parts.entry(s).or_insert(0.0);
        *p = p.max(weight);
        if self.events.is_empty() {
            self.first = e.ts;
            self.last = e.ts;
        }
        self.first = self.first.min(e.ts);
        self.last = self.last.max(e.ts);
        self.events.push(e);
        if self.lead.is_none_or(|(w, _)| weight > w) {
            self.lead = Some((weight, e));
        }
    }

    fn base(&self) -> f64 {
        1.0 - self.parts.values().fold(1.0, |acc, p| acc * (1.0 - p.clamp(0.0, 1.0)))
    }
}

type Key = (String, Object);

/// Adds a signal to its group, unless a new group would pass [`MAX_GROUPS`].
fn add<'a>(groups: &mut BTreeMap<Key, Group<'a>>, key: Key, s: Signal, e: &'a Event, c: &Config) {
    if groups.len() >= MAX_GROUPS && !groups.contains_key(&key) {
        return;
    }
    groups.entry(key).or_default().add(s, s.weight(c), e);
}

pub struct EdrTamper;

impl Detector for EdrTamper {
    fn id(&self) -> &'static str {
        "edr-tamper"
    }

    fn describe(&self) -> &'static str {
        "security agents stopped, disabled, silenced by firewall filters or attacked through drivers and process handles"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let window = (c.restart_window_secs.max(0.0) * 1e9) as i64;
        let host_key =
            |e: &Event| e.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or_default().to_ascii_lowercase();
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        let mut last_seen: HashMap<String, i64> = HashMap::new();
        // (host, agent) → stops not yet followed by a start.
        let mut pending: BTreeMap<(String, &'static str), Vec<&Event>> = BTreeMap::new();
        for &e in &ctx.endpoint {
            let Some(f) = endpoint(e) else { continue };
            let host = host_key(e);
            let seen = last_seen.entry(host.clone()).or_insert(e.ts);
            *seen = (*seen).max(e.ts);
            if let Some(running) = service_state(f) {
                let Some(a) = f.target.as_deref().and_then(agent_by_service) else { continue };
                let stops = pending.entry((host.clone(), a.name)).or_default();
                if running {
                    for stop in stops.drain(..) {
                        let s =
                            if e.ts - stop.ts <= window { Signal::ServiceRestarted } else { Signal::ServiceStopped };
                        add(&mut groups, (host.clone(), Object::Agent(a.name)), s, stop, &c);
                        if s == Signal::ServiceRestarted {
                            add(&mut groups, (host.clone(), Object::Agent(a.name)), s, e, &c);
                        }
                    }
                } else {
                    stops.push(e);
                }
                continue;
            }
            if let Some((s, object)) = classify(e, f) {
                add(&mut groups, (host, object), s, e, &c);
            }
        }
        for ((host, agent), stops) in pending {
            let end = last_seen.get(&host).copied().unwrap_or(i64::MIN);
            for stop in stops {
                let s = if end - stop.ts > window { Signal::ServiceStopped } else { Signal::ServiceStoppedAtEnd };
                add(&mut groups, (host.clone(), Object::Agent(agent)), s, stop, &c);
            }
        }
        let mut per_host: BTreeMap<&str, BTreeSet<&Object>> = BTreeMap::new();
        for ((host, object), g) in &groups {
            if g.base() >= c.corroboration_min {
                per_host.entry(host.as_str()).or_default().insert(object);
            }
        }
        groups
            .iter()
            .filter_map(|((host, object), g)| {
                let (_, lead) = g.lead?;
                let f = endpoint(lead)?;
                let base = g.base();
                let others = per_host.get(host.as_str()).map_or(0, |s| s.iter().filter(|o| **o != object).count());
                let corroboration = c.corroboration_weight * (others as f64).min(1.0);
                let technique = if g.parts.contains_key(&Signal::WfpBlockFilter) {
                    "T1562.004"
                } else if g.parts.contains_key(&Signal::AuditRulesRemoved) {
                    "T1562.002"
                } else {
                    "T1562.001"
                };
                let what: Vec<&str> = g.parts.keys().map(|s| s.name()).collect();
                let shown_host = lead.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or("an unnamed host");
                let mut finding = Finding::new(self.id(), Tactic::DefenseEvasion, technique, base + corroboration)
                    .window(g.first, g.last)
                    .summary(format!(
                        "{} on {shown_host}: {} ({} record{})",
                        object.text(),
                        what.join(", ").replace('_', " "),
                        g.events.len(),
                        if g.events.len() == 1 { "" } else { "s" }
                    ))
                    .evidence(g.events.iter().map(|e| ctx.event_evidence(e)));
                for (s, p) in &g.parts {
                    finding = finding.component(s.name(), *p);
                }
                finding = finding
                    .component("base", base)
                    .component("corroboration", corroboration)
                    .component("other_objects", others as f64);
                finding.host = ctx.endpoint_host(lead);
                finding.process = record_process(lead, f.source)
                    .or_else(|| g.events.iter().find_map(|e| record_process(e, endpoint(e)?.source)));
                finding.keys = vec![object.text()];
                Some(finding)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{endpoint_fields, Bundle};
    use super::*;
    use crate::model::{EventKind, ProcessRef};

    fn default_matches_toml() -> bool {
        Thresholds::defaults().try_section::<Config>("edr-tamper") == Ok(Config::default())
    }

    #[test]
    fn defaults_equal_the_thresholds_file() {
        assert!(default_matches_toml());
    }

    fn service(b: &mut Bundle, host: &str, at: f64, name: &str, state: &str) {
        let e = b.endpoint(host, at, EventKind::Service, LogSource::System, "service-state-changed", "7036", &[]);
        let f = endpoint_fields(e);
        f.target = Some(name.into());
        f.details = Some(state.into());
    }

    fn start_type(b: &mut Bundle, host: &str, at: f64, name: &str, change: &str) {
        let e = b.endpoint(host, at, EventKind::Service, LogSource::System, "service-start-type-changed", "7040", &[]);
        let f = endpoint_fields(e);
        f.target = Some(name.into());
        f.details = Some(change.into());
    }

    /// Keeps the log going past the restart window.
    fn later(b: &mut Bundle, host: &str, at: f64) {
        b.endpoint(host, at, EventKind::Generic, LogSource::System, "event", "7001", &[]);
    }

    #[test]
    fn defender_stopped_and_disabled_is_high() {
        let mut b = Bundle::default();
        b.asset("10.0.0.5", Some("ws01"), true);
        start_type(&mut b, "WS01.corp.local", 100.0, "Windows Defender Antivirus Service", "auto start → disabled");
        service(&mut b, "WS01.corp.local", 110.0, "Windows Defender Antivirus Service", "stopped");
        later(&mut b, "WS01.corp.local", 110.0 + 3600.0);
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        // 1 − (1 − 0.75)(1 − 0.6) = 0.9
        assert_eq!(f.components["start_disabled"], 0.75);
        assert_eq!(f.components["service_stopped"], 0.6);
        assert_eq!(f.components["base"], 0.9);
        assert_eq!(f.score, 0.9);
        assert!(f.severity >= crate::detect::Severity::High);
        assert_eq!(f.host.ip, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(f.technique, "T1562.001");
        assert_eq!(f.evidence_total, 2);
        assert!(f.summary.starts_with("Microsoft Defender on WS01.corp.local"), "{}", f.summary);
    }

    #[test]
    fn an_update_restart_and_unrelated_services_stay_low() {
        let mut b = Bundle::default();
        // Defender restarted by a platform update within the window; an unrelated service
        // stopped and its start type changed by an admin.
        service(&mut b, "ws01", 100.0, "Windows Defender Antivirus Service", "stopped");
        service(&mut b, "ws01", 160.0, "Windows Defender Antivirus Service", "running");
        service(&mut b, "ws01", 200.0, "Print Spooler", "stopped");
        start_type(&mut b, "ws01", 210.0, "Print Spooler", "auto start → disabled");
        start_type(&mut b, "ws01", 220.0, "Windows Defender Antivirus Service", "demand start → auto start");
        later(&mut b, "ws01", 5000.0);
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].components["service_restarted"], 0.15);
        assert!(found[0].score < 0.3, "{}", found[0].score);
    }

    #[test]
    fn a_stop_at_the_end_of_the_log_is_weaker() {
        let mut b = Bundle::default();
        service(&mut b, "ws01", 100.0, "WinDefend", "stopped");
        let found = b.run(&EdrTamper);
        assert_eq!(found[0].components["service_stopped_at_end"], 0.4);
        assert_eq!(found[0].host.ip, None);
        assert_eq!(found[0].host.name.as_deref(), Some("ws01"));
        assert!(found[0].host.managed);
    }

    #[test]
    fn edrsilencer_filters_are_high_and_firewall_technique() {
        let mut b = Bundle::default();
        let e = b.endpoint(
            "ws02",
            50.0,
            EventKind::Firewall,
            LogSource::Security,
            "wfp-filter-changed",
            "5447",
            &[
                ("FilterName", "Custom Outbound Filter"),
                (
                    "Conditions",
                    "Application ID = \\device\\harddiskvolume3\\program files\\crowdstrike\\csfalconservice.exe",
                ),
                ("Action", "Block"),
            ],
        );
        endpoint_fields(e).details = Some("%%16384, ALE Connect v4 Layer, Block".into());
        let e = b.endpoint("ws02", 60.0, EventKind::Connection, LogSource::Security, "connection-blocked", "5157", &[]);
        e.process = Some(Box::new(ProcessRef {
            executable: Some("\\device\\harddiskvolume3\\program files\\crowdstrike\\CSFalconService.exe".into()),
            pid: Some(4242),
            ..ProcessRef::default()
        }));
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        // 1 − (1 − 0.85)(1 − 0.5) = 0.925
        assert_eq!(f.score, 0.925);
        assert_eq!(f.technique, "T1562.004");
        assert_eq!(f.process.as_ref().and_then(|p| p.pid), Some(4242));
    }

    #[test]
    fn firewall_filters_for_other_programs_are_ignored() {
        let mut b = Bundle::default();
        b.endpoint(
            "ws02",
            50.0,
            EventKind::Firewall,
            LogSource::Security,
            "wfp-filter-changed",
            "5447",
            &[
                ("FilterName", "InternetClient Default Rule"),
                ("Conditions", "Application ID = \\device\\x\\chrome.exe"),
            ],
        );
        assert!(b.run(&EdrTamper).is_empty());
    }

    #[test]
    fn vulnerable_driver_then_agent_handle_corroborate() {
        let mut b = Bundle::default();
        let e = b.endpoint("ws03", 10.0, EventKind::Module, LogSource::Sysmon, "driver-load", "6", &[]);
        endpoint_fields(e).target = Some("C:\\Users\\x\\AppData\\Local\\Temp\\RTCore64.sys".into());
        let e = b.endpoint("ws03", 12.0, EventKind::ProcessAccess, LogSource::Sysmon, "process-accessed", "10", &[]);
        let f = endpoint_fields(e);
        f.target = Some("C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18\\MsMpEng.exe".into());
        f.details = Some("pid 3100, access 0x1fffff".into());
        e.process = Some(Box::new(ProcessRef {
            executable: Some("C:\\Users\\x\\killer.exe".into()),
            pid: Some(66),
            ..Default::default()
        }));
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 2, "{found:#?}");
        let driver = found.iter().find(|f| f.components.contains_key("vulnerable_driver")).unwrap();
        // 0.8 + 0.15 · min(1, 1) = 0.95
        assert_eq!((driver.components["other_objects"], driver.score), (1.0, 0.95));
        let access = found.iter().find(|f| f.components.contains_key("agent_process_access")).unwrap();
        // 0.6 + 0.15 = 0.75
        assert_eq!(access.score, 0.75);
        assert_eq!(access.process.as_ref().map(|p| p.source.as_str()), Some("sysmon"));
    }

    #[test]
    fn query_only_access_and_system_openers_are_not_signals() {
        let mut b = Bundle::default();
        for (opener, access) in [("C:\\tools\\x.exe", "0x1000"), ("C:\\Windows\\System32\\csrss.exe", "0x1fffff")] {
            let e =
                b.endpoint("ws03", 12.0, EventKind::ProcessAccess, LogSource::Sysmon, "process-accessed", "10", &[]);
            let f = endpoint_fields(e);
            f.target = Some("C:\\x\\MsMpEng.exe".into());
            f.details = Some(format!("pid 3100, access {access}"));
            e.process = Some(Box::new(ProcessRef { executable: Some(opener.into()), ..Default::default() }));
        }
        let e = b.endpoint("ws03", 20.0, EventKind::Module, LogSource::Sysmon, "driver-load", "6", &[]);
        endpoint_fields(e).target = Some("C:\\Windows\\System32\\drivers\\ntfs.sys".into());
        assert!(b.run(&EdrTamper).is_empty());
    }

    #[test]
    fn sysmon_stopped_uninstalled_and_installed() {
        let mut b = Bundle::default();
        let e = b.endpoint("ws04", 1.0, EventKind::Audit, LogSource::Sysmon, "sysmon-config-changed", "16", &[]);
        endpoint_fields(e).target = Some("C:\\Sysmon64.exe -accepteula -i".into());
        let e = b.endpoint("ws04", 2.0, EventKind::Audit, LogSource::Sysmon, "sysmon-state-changed", "4", &[]);
        endpoint_fields(e).details = Some("Started".into());
        assert!(b.run(&EdrTamper).is_empty(), "an install is not tampering");
        let e = b.endpoint("ws04", 3.0, EventKind::Audit, LogSource::Sysmon, "sysmon-state-changed", "4", &[]);
        endpoint_fields(e).details = Some("Stopped".into());
        let found = b.run(&EdrTamper);
        assert_eq!((found.len(), found[0].score), (1, 0.8));
    }

    #[test]
    fn commands_and_auditd() {
        let mut b = Bundle::default();
        let e = b.endpoint("ws05", 1.0, EventKind::Process, LogSource::Security, "process-start", "4688", &[]);
        e.process = Some(Box::new(ProcessRef {
            command_line: Some("powershell.exe -command \"Set-MpPreference -DisableRealtimeMonitoring $true\"".into()),
            ..Default::default()
        }));
        let e = b.endpoint("ws05", 2.0, EventKind::Process, LogSource::Security, "process-start", "4688", &[]);
        e.process =
            Some(Box::new(ProcessRef { command_line: Some("sc query WinDefend".into()), ..Default::default() }));
        let e = b.endpoint(
            "lnx1",
            3.0,
            EventKind::Audit,
            LogSource::Auditd,
            "audit-config-changed",
            "CONFIG_CHANGE",
            &[("CONFIG_CHANGE.op", "remove_rule")],
        );
        endpoint_fields(e).details = Some("remove_rule".into());
        b.endpoint(
            "lnx1",
            4.0,
            EventKind::Audit,
            LogSource::Auditd,
            "audit-config-changed",
            "CONFIG_CHANGE",
            &[("CONFIG_CHANGE.op", "add_rule")],
        );
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 2, "{found:#?}");
        let audit = found.iter().find(|f| f.technique == "T1562.002").unwrap();
        assert_eq!((audit.score, audit.evidence_total), (0.7, 1));
        let defender = found.iter().find(|f| f.components.contains_key("tamper_command")).unwrap();
        assert_eq!((defender.score, defender.evidence_total), (0.55, 1));
    }

    #[test]
    fn auditd_stopped_for_good() {
        let mut b = Bundle::default();
        let e = b.endpoint("lnx1", 1.0, EventKind::Service, LogSource::Auditd, "service-stopped", "SERVICE_STOP", &[]);
        endpoint_fields(e).target = Some("auditd".into());
        let e = b.endpoint("lnx1", 2.0, EventKind::Service, LogSource::Auditd, "service-stopped", "SERVICE_STOP", &[]);
        endpoint_fields(e).target = Some("irqbalance".into());
        later(&mut b, "lnx1", 1000.0);
        let found = b.run(&EdrTamper);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].score, found[0].summary.starts_with("auditd")), (0.6, true));
    }

    #[test]
    fn registry_disables_the_service() {
        let mut b = Bundle::default();
        let e = b.endpoint("ws06", 1.0, EventKind::Registry, LogSource::Sysmon, "registry-value-set", "13", &[]);
        let f = endpoint_fields(e);
        f.target = Some("HKLM\\System\\CurrentControlSet\\Services\\WinDefend\\Start".into());
        f.details = Some("DWORD (0x00000004)".into());
        let e = b.endpoint("ws06", 2.0, EventKind::Registry, LogSource::Sysmon, "registry-value-set", "13", &[]);
        let f = endpoint_fields(e);
        f.target = Some("HKLM\\System\\CurrentControlSet\\Services\\Spooler\\Start".into());
        f.details = Some("DWORD (0x00000004)".into());
        let found = b.run(&EdrTamper);
        assert_eq!((found.len(), found[0].score), (1, 0.75));
    }
}
