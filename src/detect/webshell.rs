//! `webshell` — a web server that runs commands for someone on the internet.
//!
//! Two views of one behaviour, scored apart (a detector cannot see another's findings):
//!
//! **Network** (no endpoint log needed, so it covers unmanaged appliances): the HTTP requests of
//! external clients to internal servers, grouped per (server, client, URI path). A group is
//! judged when at least one response succeeded (status 2xx) and scored from:
//!
//! - `rare_uri` = 1 − ramp(external clients of the path on that server, 1, `common_clients`):
//!   a page many visitors load is the site, a script one address talks to is not
//! - `command` = 1 when a query value starts with a shell command or recon tool
//!   ([`COMMANDS`]), 0.5 when only a parameter is named like one (`cmd`, `exec`, …), else 0
//! - `script_path` = 1 when the path ends in a server-side script extension ([`SCRIPT_EXTS`])
//! - `text_output` = 1 when a response was `text/plain` (command output, not a page)
//! - `outbound` = ramp(rare external addresses the server itself opened flows to within
//!   `follow_s` after the group's first request, 0, `outbound_full`)
//!
//! score = base + weight_rare·rare_uri + weight_command·command + weight_script·script_path
//! + weight_text·text_output + weight_outbound·outbound
//!
//! Inputs beside them: `requests`, `path_clients`, `rare_outbound`. Host: the server; peer: the
//! client.
//!
//! **Endpoint**: a process start whose parent is a web server or application server process
//! ([`WEB_SERVERS`]; `java` and `node` only when the parent's command line names a server
//! ([`APP_SERVER_HINTS`]) or the child is a recon tool, since both run build tools that spawn
//! shells all day) and whose image is a shell, script host or recon tool ([`SPAWNED`]). One
//! finding per (host, parent process):
//!
//! - `spawn` = 1 (the child is a shell, script host or recon tool)
//! - `recon` = 1 when a child is a recon tool, or a shell whose command line runs one
//! - `inbound` = 1 when the capture has external HTTP requests to the host within
//!   `inbound_window_s` before the first child
//!
//! score = spawn_base·spawn + weight_recon·recon + weight_inbound·inbound
//!
//! Inputs beside them: `children`. Host: the log's host; peer: the external client with the
//! most requests in that window, when there is one.
//!
//! ATT&CK: Server Software Component: Web Shell (TA0003 persistence, T1505.003).
//!
//! Memory: at most [`MAX_PATHS`] distinct (server, path) pairs are counted (paths are chosen by
//! whoever sends requests); requests to further paths are not judged. Parent processes are
//! remembered per host up to [`MAX_PIDS`].

use super::stats::ramp;
use super::{check, DetectCtx, Detector, EvidenceRef, Finding, Tactic, Thresholds};
use crate::model::{Event, EventKind, Fields};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// (server, path) pairs counted at most.
pub const MAX_PATHS: usize = 200_000;
/// Clients remembered per (server, path): enough to tell rare from common.
pub const MAX_CLIENTS: usize = 64;
/// Process ids remembered per host to name a parent the log does not name.
pub const MAX_PIDS: usize = 65_536;

const SEC: f64 = 1e9;

/// Web and application server processes (executable names, lower case, without `.exe`).
/// Sources: the server products' own binaries (IIS `w3wp`, Apache `httpd`/`apache2`, nginx,
/// PHP-FPM/CGI, lighttpd, Caddy, Tomcat's Windows service `tomcat*`), and the runtimes web
/// applications run on, `java` and `node` (see [`APP_SERVER_HINTS`]).
pub const WEB_SERVERS: &[&str] = &[
    "w3wp",
    "iisexpress",
    "httpd",
    "apache",
    "apache2",
    "nginx",
    "php-fpm",
    "php-cgi",
    "php",
    "lighttpd",
    "caddy",
    "tomcat",
    "tomcat7",
    "tomcat8",
    "tomcat9",
    "tomcat10",
    "java",
    "javaw",
    "node",
];

/// Runtimes that only count as a web server with a hint in their command line.
const RUNTIMES: &[&str] = &["java", "javaw", "node"];

/// What in a runtime's command line says it serves the web: Java application servers'
/// bootstrap classes and homes, Node server entry points.
pub const APP_SERVER_HINTS: &[&str] = &[
    "catalina",
    "tomcat",
    "jboss",
    "wildfly",
    "weblogic",
    "websphere",
    "jetty",
    "glassfish",
    "resin",
    "confluence",
    "jira",
    "server.js",
    "app.js",
    "express",
    "next start",
    "pm2",
];

/// Shells and script hosts (Windows and Unix), from LOLBAS (script hosts) and GTFOBins
/// (shells).
pub const SHELLS: &[&str] = &[
    "cmd",
    "powershell",
    "pwsh",
    "wscript",
    "cscript",
    "mshta",
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "busybox",
    "python",
    "python3",
    "perl",
];

/// Recon and tooling commands an intruder runs first (ATT&CK Discovery T1033/T1082/T1016/
/// T1049/T1057/T1087; LOLBAS certutil/bitsadmin; GTFOBins nc/socat/curl/wget).
pub const RECON: &[&str] = &[
    "whoami",
    "net",
    "net1",
    "ipconfig",
    "systeminfo",
    "nltest",
    "netstat",
    "tasklist",
    "quser",
    "query",
    "qwinsta",
    "hostname",
    "arp",
    "route",
    "nslookup",
    "certutil",
    "bitsadmin",
    "reg",
    "sc",
    "schtasks",
    "wmic",
    "dsquery",
    "id",
    "uname",
    "ifconfig",
    "ip",
    "ps",
    "w",
    "who",
    "cat",
    "ls",
    "pwd",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "getent",
];

/// Every child image that counts.
fn spawned(name: &str) -> bool {
    SHELLS.contains(&name) || RECON.contains(&name)
}

/// Query parameter names web shells take their command in.
pub const COMMAND_PARAMS: &[&str] = &["cmd", "command", "exec", "execute", "c", "shell", "run", "code", "x"];

/// First words of a command line sent to a web shell: shells, recon tools and `dir`/`echo`.
pub const COMMANDS: &[&str] = &[
    "id",
    "whoami",
    "uname",
    "cat",
    "ls",
    "dir",
    "pwd",
    "echo",
    "ipconfig",
    "ifconfig",
    "ip",
    "net",
    "netstat",
    "ps",
    "tasklist",
    "systeminfo",
    "hostname",
    "wget",
    "curl",
    "nc",
    "bash",
    "sh",
    "cmd",
    "powershell",
    "python",
    "perl",
    "type",
    "find",
    "nslookup",
];

/// Server-side script extensions (IIS, PHP, Java, ColdFusion, CGI).
pub const SCRIPT_EXTS: &[&str] = &[
    "php", "php3", "php4", "php5", "phtml", "asp", "aspx", "ashx", "asmx", "asa", "cer", "jsp", "jspx", "jspf", "cfm",
    "cgi", "pl", "py", "sh",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    common_clients: f64,
    follow_s: f64,
    outbound_full: f64,
    base: f64,
    weight_rare: f64,
    weight_command: f64,
    weight_script: f64,
    weight_text: f64,
    weight_outbound: f64,
    spawn_base: f64,
    weight_recon: f64,
    weight_inbound: f64,
    inbound_window_s: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            common_clients: 5.0,
            follow_s: 3600.0,
            outbound_full: 3.0,
            base: 0.05,
            weight_rare: 0.25,
            weight_command: 0.4,
            weight_script: 0.1,
            weight_text: 0.05,
            weight_outbound: 0.15,
            spawn_base: 0.55,
            weight_recon: 0.2,
            weight_inbound: 0.2,
            inbound_window_s: 600.0,
            min_score: 0.3,
        }
    }
}

pub struct Webshell;

impl Detector for Webshell {
    fn id(&self) -> &'static str {
        "webshell"
    }

    fn describe(&self) -> &'static str {
        "web servers running commands: shells spawned by server processes, command requests to rare scripts"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let c: Config = ctx.thresholds.section(self.id());
        let mut out = network(ctx, &c);
        out.extend(endpoint(ctx, &c));
        out.retain(|f| f.score >= c.min_score);
        out
    }
}

/// The lower-case executable name of a path, without directory or `.exe`.
pub fn exe_name(path: &str) -> String {
    let base = path.rsplit(['\\', '/']).next().unwrap_or(path).trim_matches('"').to_ascii_lowercase();
    match base.strip_suffix(".exe") {
        Some(s) => s.to_string(),
        None => base,
    }
}

/// At most `n` characters of `s`, with an ellipsis when cut.
pub fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `%XX` and `+` decoded, invalid escapes kept as they are.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            x => out.push(x),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How much a query looks like a command: 1 for a command value, 0.5 for a command-named
/// parameter, else 0.
fn command_of(query: &str) -> f64 {
    let mut best: f64 = 0.0;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = url_decode(v);
        let first = value.split_whitespace().next().map(exe_name).unwrap_or_default();
        if !first.is_empty() && COMMANDS.contains(&first.as_str()) {
            best = 1.0;
        } else if COMMAND_PARAMS.contains(&url_decode(k).to_ascii_lowercase().as_str()) && !value.is_empty() {
            best = best.max(0.5);
        }
    }
    best
}

fn is_script(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rsplit_once('.').is_some_and(|(_, ext)| SCRIPT_EXTS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// One (server, client, path) group of inbound requests.
#[derive(Default)]
struct Group<'a> {
    requests: u64,
    ok: bool,
    command: f64,
    text: bool,
    first: Timestamp,
    last: Timestamp,
    events: Vec<&'a Event>,
    example: String,
}

fn network(ctx: &DetectCtx<'_>, c: &Config) -> Vec<Finding> {
    // Inbound requests from the internet, in timeline order.
    let inbound: Vec<(&Event, IpAddr, IpAddr, &crate::model::HttpFields)> = ctx
        .http
        .iter()
        .filter_map(|&e| match (&e.net, &e.fields) {
            (Some(n), Fields::Http(h)) if ctx.is_internal(n.dst_ip) && !ctx.is_internal(n.src_ip) => {
                Some((e, n.dst_ip, n.src_ip, h.as_ref()))
            }
            _ => None,
        })
        .collect();
    let path_of = |uri: &str| uri.split(['?', '#']).next().unwrap_or(uri).to_ascii_lowercase();
    let mut clients: HashMap<(IpAddr, String), BTreeSet<IpAddr>> = HashMap::new();
    for (_, server, client, h) in &inbound {
        let key = (*server, path_of(&h.uri));
        if clients.len() >= MAX_PATHS && !clients.contains_key(&key) {
            continue;
        }
        let set = clients.entry(key).or_default();
        if set.len() < MAX_CLIENTS {
            set.insert(*client);
        }
    }
    let mut groups: BTreeMap<(IpAddr, IpAddr, String), Group<'_>> = BTreeMap::new();
    for (e, server, client, h) in &inbound {
        let path = path_of(&h.uri);
        if !clients.contains_key(&(*server, path.clone())) {
            continue;
        }
        let g = groups.entry((*server, *client, path)).or_default();
        if g.requests == 0 {
            g.first = e.ts;
            g.example = h.uri.clone();
        }
        g.requests += 1;
        g.last = e.ts;
        g.ok |= h.status.is_some_and(|s| (200..300).contains(&s));
        let query = h.uri.split_once('?').map_or("", |(_, q)| q);
        let cmd = command_of(query);
        if cmd > g.command {
            g.example = h.uri.clone();
        }
        g.command = g.command.max(cmd);
        g.text |= h.response_content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().starts_with("text/plain"));
        // Every request is kept: the finding stores a bounded sample of evidence but counts
        // it all (`evidence_total`).
        g.events.push(e);
    }
    // Outbound flows of the servers judged, by server, in time order.
    let servers: BTreeSet<IpAddr> = groups.keys().map(|k| k.0).collect();
    let mut outbound: HashMap<IpAddr, Vec<(Timestamp, IpAddr, usize)>> = HashMap::new();
    for (i, f) in ctx.flows.iter().enumerate() {
        if servers.contains(&f.orig_ip) && !ctx.is_internal(f.resp_ip) {
            outbound.entry(f.orig_ip).or_default().push((f.start, f.resp_ip, i));
        }
    }
    let follow = (c.follow_s * SEC) as i64;
    let mut out = Vec::new();
    for ((server, client, path), g) in groups {
        if !g.ok {
            continue;
        }
        let n_clients = clients.get(&(server, path.clone())).map_or(0, BTreeSet::len);
        let rare_uri = 1.0 - ramp(n_clients as f64, 1.0, c.common_clients);
        let script = if is_script(&path) { 1.0 } else { 0.0 };
        let text = if g.text { 1.0 } else { 0.0 };
        let mut rare_dsts: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for &(ts, dst, i) in outbound.get(&server).map(Vec::as_slice).unwrap_or_default() {
            let after = ts >= g.first && ts <= g.first.saturating_add(follow) && dst != client;
            if after && ctx.baseline.ip_is_rare(dst) && !ctx.baseline.known_ip(dst) {
                rare_dsts.entry(dst).or_insert(i);
            }
        }
        let outbound_part = ramp(rare_dsts.len() as f64, 0.0, c.outbound_full);
        let score = c.base
            + c.weight_rare * rare_uri
            + c.weight_command * g.command
            + c.weight_script * script
            + c.weight_text * text
            + c.weight_outbound * outbound_part;
        let what = if g.command >= 1.0 { "request(s) with commands to" } else { "request(s) to" };
        let mut evidence: Vec<EvidenceRef> = g.events.iter().map(|e| ctx.event_evidence(e)).collect();
        evidence.extend(rare_dsts.values().take(5).map(|&i| ctx.flow_evidence(&ctx.flows[i])));
        let mut f = Finding::new("webshell", Tactic::Persistence, "T1505.003", score)
            .component("rare_uri", rare_uri)
            .component("command", g.command)
            .component("script_path", script)
            .component("text_output", text)
            .component("outbound", outbound_part)
            .component("requests", g.requests as f64)
            .component("path_clients", n_clients as f64)
            .component("rare_outbound", rare_dsts.len() as f64)
            .window(g.first, g.last)
            .summary(format!(
                "{client} → {server}: {} {what} {path} ({} client(s) ever), e.g. {}{}",
                g.requests,
                n_clients,
                short(&g.example, 120),
                if rare_dsts.is_empty() {
                    String::new()
                } else {
                    format!("; then {} rare outbound destination(s)", rare_dsts.len())
                }
            ))
            .evidence(evidence);
        f.host = ctx.host(server);
        f.peer.ip = Some(client);
        out.push(f);
    }
    out
}

/// A process start on a host, with its parent's executable when known.
struct Spawn<'a> {
    event: &'a Event,
    parent: String,
    parent_cmd: String,
    child: String,
}

fn endpoint(ctx: &DetectCtx<'_>, c: &Config) -> Vec<Finding> {
    // Process ids to executables per host, for logs that name only the parent's pid (auditd).
    let mut pids: HashMap<String, HashMap<u64, String>> = HashMap::new();
    let mut spawns: Vec<Spawn<'_>> = Vec::new();
    for &e in &ctx.endpoint {
        if e.kind != EventKind::Process {
            continue;
        }
        let (Fields::Endpoint(x), Some(p)) = (&e.fields, &e.process) else { continue };
        if x.action != "process-start" {
            continue;
        }
        let host = e.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or_default().to_ascii_lowercase();
        let known = pids.entry(host).or_default();
        let parent = p
            .parent_executable
            .clone()
            .or_else(|| p.parent_pid.and_then(|pp| known.get(&pp).cloned()))
            .unwrap_or_default();
        if let (Some(pid), Some(exe)) = (p.pid, &p.executable) {
            if known.len() < MAX_PIDS || known.contains_key(&pid) {
                known.insert(pid, exe.clone());
            }
        }
        let child = p.executable.as_deref().map(exe_name).unwrap_or_default();
        let parent_name = exe_name(&parent);
        if !WEB_SERVERS.contains(&parent_name.as_str()) || !spawned(&child) {
            continue;
        }
        spawns.push(Spawn {
            event: e,
            parent: parent_name,
            parent_cmd: p.parent_command_line.clone().unwrap_or_default().to_ascii_lowercase(),
            child,
        });
    }
    // One group per (host, parent process).
    let mut groups: BTreeMap<(String, String, Option<u64>), Vec<&Spawn<'_>>> = BTreeMap::new();
    for s in &spawns {
        let recon = is_recon(s);
        if RUNTIMES.contains(&s.parent.as_str()) && !recon && !APP_SERVER_HINTS.iter().any(|h| s.parent_cmd.contains(h))
        {
            continue;
        }
        let host = s.event.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_default();
        let ppid = s.event.process.as_ref().and_then(|p| p.parent_pid);
        groups.entry((host.to_ascii_lowercase(), s.parent.clone(), ppid)).or_default().push(s);
    }
    let window = (c.inbound_window_s * SEC) as i64;
    let mut out = Vec::new();
    for ((_, parent, ppid), list) in groups {
        let Some(first) = list.first() else { continue };
        let last = list.last().map_or(first.event.ts, |s| s.event.ts);
        let recon = if list.iter().any(|s| is_recon(s)) { 1.0 } else { 0.0 };
        let host = ctx.endpoint_host(first.event);
        // External HTTP clients of this host shortly before the first child.
        let mut clients: BTreeMap<IpAddr, (u64, Vec<&Event>)> = BTreeMap::new();
        if let Some(ip) = host.ip {
            let from = first.event.ts.saturating_sub(window);
            let start = ctx.http.partition_point(|e| e.ts < from);
            for &e in ctx.http[start..].iter().take_while(|e| e.ts <= last) {
                if let Some(n) = e.net.as_ref().filter(|n| n.dst_ip == ip && !ctx.is_internal(n.src_ip)) {
                    let entry = clients.entry(n.src_ip).or_default();
                    entry.0 += 1;
                    if entry.1.len() < 5 {
                        entry.1.push(e);
                    }
                }
            }
        }
        let top = clients.iter().max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(a.0)));
        let inbound = if top.is_some() { 1.0 } else { 0.0 };
        let score = c.spawn_base + c.weight_recon * recon + c.weight_inbound * inbound;
        let children: BTreeSet<&str> = list.iter().map(|s| s.child.as_str()).collect();
        let mut evidence: Vec<EvidenceRef> = list.iter().map(|s| ctx.event_evidence(s.event)).collect();
        if let Some((_, (_, evs))) = top {
            evidence.extend(evs.iter().map(|e| ctx.event_evidence(e)));
        }
        let name = host.name.clone().unwrap_or_else(|| "?".into());
        let mut f = Finding::new("webshell", Tactic::Persistence, "T1505.003", score)
            .component("spawn", 1.0)
            .component("recon", recon)
            .component("inbound", inbound)
            .component("children", list.len() as f64)
            .window(first.event.ts, last)
            .summary(format!(
                "{parent}{} on {name} started {} ({} process(es)){}",
                ppid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                children.into_iter().collect::<Vec<_>>().join(", "),
                list.len(),
                top.map(|(ip, (n, _))| format!(" after {n} HTTP request(s) from {ip}")).unwrap_or_default()
            ))
            .evidence(evidence);
        f.process = ctx.event_process(first.event);
        f.host = host;
        f.peer.ip = top.map(|(ip, _)| *ip);
        out.push(f);
    }
    out
}

/// A recon tool, or a shell whose command line runs one.
fn is_recon(s: &Spawn<'_>) -> bool {
    if RECON.contains(&s.child.as_str()) {
        return true;
    }
    let cmd = s.event.process.as_ref().and_then(|p| p.command_line.as_deref()).unwrap_or_default();
    cmd.split(|ch: char| ch.is_whitespace() || matches!(ch, '&' | '|' | ';' | '"' | '\'' | '(' | ')'))
        .skip(1)
        .any(|w| !w.is_empty() && RECON.contains(&exe_name(w).as_str()) && !matches!(exe_name(w).as_str(), "w" | "ip"))
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
        assert_eq!(t.try_section::<Config>("webshell"), Ok(Config::default()));
    }

    #[test]
    fn decoding_and_commands() {
        assert_eq!(url_decode("cat+%2Fetc%2Fpasswd%"), "cat /etc/passwd%");
        assert_eq!(command_of("cmd=uname+-a"), 1.0);
        assert_eq!(command_of("exec=foo"), 0.5);
        assert_eq!(command_of("page=2&sort=name"), 0.0);
        assert_eq!(exe_name("C:\\Windows\\System32\\inetsrv\\W3WP.EXE"), "w3wp");
        assert!(is_script("/a/b/ds.PHP") && !is_script("/index.html"));
    }

    /// An attacker runs `id`, `uname -a` on a rare PHP script of an appliance, which then
    /// reaches two new external addresses; 20 visitors load the front page.
    fn appliance(b: &mut Bundle, with_commands: bool) {
        background(b, 6);
        b.asset("10.0.0.1", Some("vpn01"), false);
        for i in 0..20u8 {
            let f = b.tcp(&format!("198.51.100.{}", i + 1), "10.0.0.1", 80, 10.0 * f64::from(i), 0.2, 300, 9000);
            b.http(f, "GET", "vpn.example.org", "/index.html");
        }
        for (k, cmd) in ["id", "uname+-a", "cat+/etc/passwd"].iter().enumerate() {
            let f = b.tcp("203.0.113.9", "10.0.0.1", 80, 1000.0 + 20.0 * k as f64, 0.2, 200, 60);
            let uri = if with_commands { format!("/css/ds.php?cmd={cmd}") } else { format!("/css/ds.php?v={k}") };
            let h = b.http(f, "GET", "vpn.example.org", &uri);
            h.response_content_type = Some(if with_commands { "text/plain" } else { "text/css" }.into());
        }
        b.tcp("10.0.0.1", "45.77.1.1", 8080, 1100.0, 1.0, 500, 500);
        b.tcp("10.0.0.1", "45.77.1.2", 443, 1200.0, 1.0, 500, 500);
    }

    #[test]
    fn commands_to_a_rare_script_are_a_web_shell() {
        let mut b = Bundle::default();
        appliance(&mut b, true);
        let f = b.run(&Webshell);
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!((f.host.ip, f.peer.ip), ("10.0.0.1".parse().ok(), "203.0.113.9".parse().ok()));
        // 0.05 + 0.25·1 + 0.4·1 + 0.1·1 + 0.05·1 + 0.15·(2/3) = 0.95
        assert_eq!(f.components["outbound"], 2.0 / 3.0);
        assert!((f.score - 0.95).abs() < 1e-4, "{}", f.score);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.evidence_total, 5);
    }

    #[test]
    fn a_popular_page_and_plain_requests_stay_low() {
        let mut b = Bundle::default();
        appliance(&mut b, false);
        let f = b.run(&Webshell);
        // The rare script without commands: 0.05 + 0.25 + 0.1 + 0.15·(2/3) = 0.5 at most; the
        // front page (20 clients) is not reported.
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].components["command"], 0.0);
        assert!(f[0].score <= 0.5 + 1e-9, "{}", f[0].score);
        let mut b = Bundle::default();
        b.tcp("10.0.0.1", "45.77.1.1", 8080, 1100.0, 1.0, 500, 500);
        for i in 0..20u8 {
            let f = b.tcp(&format!("198.51.100.{}", i + 1), "10.0.0.1", 80, 10.0 * f64::from(i), 0.2, 300, 9000);
            b.http(f, "GET", "www.example.org", "/products/list.aspx");
        }
        assert!(b.run(&Webshell).is_empty());
    }

    fn spawn(b: &mut Bundle, at: f64, parent: &str, parent_cmd: &str, image: &str, cmd: &str) {
        let e = b.endpoint("WEB01", at, EventKind::Process, LogSource::Sysmon, "process-start", "1", &[]);
        e.process = Some(Box::new(ProcessRef {
            pid: Some(4000 + at as u64),
            executable: Some(image.into()),
            command_line: Some(cmd.into()),
            parent_pid: Some(812),
            parent_executable: Some(parent.into()),
            parent_command_line: Some(parent_cmd.into()),
            ..ProcessRef::default()
        }));
        endpoint_fields(e).target = Some(image.into());
    }

    #[test]
    fn iis_starting_a_shell_that_runs_whoami_is_high() {
        let mut b = Bundle::default();
        b.asset("10.0.0.80", Some("web01.corp.example"), true);
        let f = b.tcp("203.0.113.9", "10.0.0.80", 80, 95.0, 0.2, 200, 60);
        b.http(f, "POST", "www.example.org", "/upload/x.aspx");
        let w3wp = "c:\\windows\\system32\\inetsrv\\w3wp.exe";
        spawn(&mut b, 100.0, w3wp, "w3wp.exe -ap DefaultAppPool", "C:\\Windows\\System32\\cmd.exe", "cmd /c whoami");
        spawn(&mut b, 110.0, w3wp, "w3wp.exe -ap DefaultAppPool", "C:\\Windows\\System32\\cmd.exe", "cmd /c dir");
        let found = b.run(&Webshell);
        let f = found.iter().find(|f| f.components.contains_key("spawn")).expect("endpoint finding");
        // 0.55 + 0.2·recon + 0.2·inbound
        assert!((f.score - 0.95).abs() < 1e-9, "{}", f.score);
        assert_eq!((f.host.ip, f.host.name.as_deref()), ("10.0.0.80".parse().ok(), Some("WEB01")));
        assert_eq!(f.peer.ip, "203.0.113.9".parse().ok());
        assert_eq!(f.components["children"], 2.0);
        assert_eq!(f.process.as_ref().map(|p| p.source.as_str()), Some("sysmon"));
    }

    #[test]
    fn build_tools_and_plain_parents_are_not_web_shells() {
        let mut b = Bundle::default();
        // A developer's node build running sh, and java (gradle) running bash: no server hint.
        spawn(&mut b, 100.0, "/usr/bin/node", "node /usr/lib/npm/bin/npm-cli.js run build", "/bin/sh", "sh -c tsc");
        spawn(&mut b, 120.0, "/usr/bin/java", "java -jar gradle-wrapper.jar", "/bin/bash", "bash gradlew");
        // Explorer starting cmd is a user.
        spawn(&mut b, 130.0, "C:\\Windows\\explorer.exe", "explorer.exe", "C:\\Windows\\System32\\cmd.exe", "cmd");
        // IIS starting the C# compiler is ASP.NET at work.
        spawn(
            &mut b,
            140.0,
            "c:\\windows\\system32\\inetsrv\\w3wp.exe",
            "w3wp.exe",
            "C:\\csc.exe",
            "csc.exe /noconfig",
        );
        assert!(b.run(&Webshell).is_empty());
    }
}
