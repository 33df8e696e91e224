//! `payload-download` — programs and scripts fetched over plain HTTP.
//!
//! Input: the HTTP exchanges of internal clients with external servers, with the kind of the
//! response body as its first bytes tell it (`decode::filetype`: ELF, PE, Mach-O, script, Java
//! class), the declared content type and the URI's file extension; the server's prevalence.
//! Output: one finding per (client, server address, port, Host) whose score reaches
//! `min_score`. Internal servers are not judged: software distribution points serve programs to
//! every host all day.
//!
//! Score (every part in `components`, all in [0, 1]):
//!
//! - `executable` = 1 for an ELF, PE or Mach-O body, `script_weight` for a script or Java class
//!   body, `declared_weight` when the body was not recognised (or is plain text) but the content
//!   type or the URI's extension says it runs (`application/x-msdownload`, `.exe`, `.ps1`, …);
//!   the largest over the group's responses
//! - `disguised` = 1 when a recognised program body came under a name or content type that says
//!   it does not run (a PE as `image/jpeg`, an ELF as `logo.png`), else 0
//! - `cloud_storage` = 1 when the Host is a cloud object store or file-sharing service (see
//!   [`super::transfer`]), else 0
//! - `raw_address` = 1 when the Host header is an address, not a name, else 0
//! - `tool_agent` = 1 when the user agent is a command-line downloader (curl, Wget, PowerShell,
//!   certutil, python-requests, Go), else 0
//! - `rarity` = the baseline's rarity of the server (its address or its Host's registrable
//!   domain, whichever is more prevalent)
//!
//! ```text
//! score = executable · min(1, base + disguised_weight·disguised
//!                             + cloud_storage_weight·cloud_storage + raw_address_weight·raw_address
//!                             + tool_agent_weight·tool_agent)
//!         · (prevalence_floor + (1 − prevalence_floor)·rarity)
//! ```
//!
//! The weights, `base` and the floor are in the `[payload-download]` section of the thresholds,
//! each in [0, 1] (the cap keeps the middle factor within [0, 1] whatever they sum to).
//!
//! Inputs shown beside them: `downloads`, `bytes` (response bodies), `largest`, `prevalence`.
//!
//! ATT&CK: Ingress Tool Transfer (TA0011 command and control, T1105).

use super::transfer::{self, size_text, NameKind};
use super::{check, domain, DetectCtx, Detector, Finding, Tactic, Thresholds};
use crate::model::{Event, Fields, HttpFields};
use crate::util::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Body kinds, URIs and user agents remembered per group.
pub const MAX_NAMES: usize = 16;

/// Body kinds of compiled programs.
const PROGRAM_KINDS: &[&str] = &["elf", "pe", "macho"];
/// Body kinds of scripts and bytecode.
const SCRIPT_KINDS: &[&str] = &["script", "java-class"];

/// Content types that declare a program or script.
const EXECUTABLE_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/x-elf",
    "application/x-sharedlib",
    "application/x-mach-binary",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
    "application/java-archive",
    "application/x-java-archive",
    "application/x-sh",
    "application/x-shellscript",
    "text/x-shellscript",
    "text/x-sh",
    "application/x-powershell",
    "application/hta",
    "text/x-python",
    "application/x-python-code",
];

/// Content types that say nothing about what the body is.
const NEUTRAL_TYPES: &[&str] = &[
    "application/octet-stream",
    "binary/octet-stream",
    "application/binary",
    "application/x-binary",
    "application/download",
    "application/force-download",
    "application/x-download",
    "application/unknown",
];

/// User agents of command-line downloaders (lower case, matched as prefixes or substrings).
const TOOL_AGENTS: &[&str] = &[
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "powershell",
    "certutil",
    "libwww-perl",
    "aria2",
    "httpie",
    "winhttp",
];

/// The `[payload-download]` section of the thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    script_weight: f64,
    declared_weight: f64,
    base: f64,
    disguised_weight: f64,
    cloud_storage_weight: f64,
    raw_address_weight: f64,
    tool_agent_weight: f64,
    prevalence_floor: f64,
    min_score: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            script_weight: 0.8,
            declared_weight: 0.6,
            base: 0.65,
            disguised_weight: 0.15,
            cloud_storage_weight: 0.15,
            raw_address_weight: 0.10,
            tool_agent_weight: 0.05,
            prevalence_floor: 0.4,
            min_score: 0.25,
        }
    }
}

impl Config {
    /// The base lies in [0, 1] too (weights, the floor and the cut are the thresholds file's
    /// checks), so the score does.
    fn check(&self) -> Result<(), String> {
        super::check_shares(&[("base", self.base)])
    }
}

pub struct PayloadDownload;

impl Detector for PayloadDownload {
    fn id(&self) -> &'static str {
        "payload-download"
    }

    fn describe(&self) -> &'static str {
        "ELF, PE, Mach-O or script bodies fetched over HTTP, more so from cloud storage and rare hosts"
    }

    fn validate(&self, t: &Thresholds) -> Result<(), String> {
        check::<Config>(t, self.id())?;
        t.try_section::<Config>(self.id())?.check()
    }

    fn run(&self, ctx: &DetectCtx<'_>) -> Vec<Finding> {
        let config: Config = ctx.thresholds.section(self.id());
        downloads(ctx, &config).iter().filter_map(|(key, g)| judge(ctx, &config, key, g)).collect()
    }
}

/// What one response body is, as far as detection is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Payload {
    executable: f64,
    disguised: bool,
}

/// The content type without parameters, lower case.
fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a response body is a program or script, and whether it came disguised.
fn classify(c: &Config, h: &HttpFields) -> Option<Payload> {
    if !h.status.is_some_and(|s| (200..300).contains(&s)) {
        return None;
    }
    // A body of another kind (a page, an image, …) is no payload whatever its type says.
    let body = h.response_body_type.as_deref();
    if !matches!(body, None | Some("text"))
        && !body.is_some_and(|k| PROGRAM_KINDS.contains(&k) || SCRIPT_KINDS.contains(&k))
    {
        return None;
    }
    let ct = h.response_content_type.as_deref().map(media_type).unwrap_or_default();
    let file_kind = transfer::path_file(&h.uri).and_then(transfer::name_kind);
    let declared = EXECUTABLE_TYPES.contains(&ct.as_str()) || file_kind == Some(NameKind::Executable);
    let executable = match body {
        Some(k) if PROGRAM_KINDS.contains(&k) => 1.0,
        Some(k) if SCRIPT_KINDS.contains(&k) => c.script_weight,
        None | Some("text") if declared => c.declared_weight,
        _ => return None,
    };
    let says_inert_name = matches!(file_kind, Some(NameKind::Data | NameKind::Inert));
    let says_inert_type = match body {
        Some(k) if PROGRAM_KINDS.contains(&k) => {
            !ct.is_empty() && !NEUTRAL_TYPES.contains(&ct.as_str()) && !EXECUTABLE_TYPES.contains(&ct.as_str())
        }
        // Scripts are served as text/plain as a matter of course; only media types disguise them.
        Some(k) if SCRIPT_KINDS.contains(&k) => {
            ["image/", "audio/", "video/", "font/"].iter().any(|p| ct.starts_with(p))
        }
        _ => false,
    };
    let recognised = body.is_some_and(|k| PROGRAM_KINDS.contains(&k) || SCRIPT_KINDS.contains(&k));
    Some(Payload { executable, disguised: recognised && (says_inert_name || says_inert_type) })
}

/// Downloads of one client from one server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    client: IpAddr,
    server: IpAddr,
    port: u16,
    /// The Host header without port, lower case, when there was one.
    host: Option<String>,
}

#[derive(Default)]
struct Group<'a> {
    events: Vec<&'a Event>,
    executable: f64,
    disguised: bool,
    raw_address: bool,
    tool_agent: bool,
    bytes: u64,
    largest: u64,
    first: Timestamp,
    last: Timestamp,
    kinds: BTreeSet<String>,
    content_types: BTreeSet<String>,
    uris: BTreeSet<String>,
    user_agents: BTreeSet<String>,
}

fn remember(set: &mut BTreeSet<String>, value: &str) {
    if set.len() < MAX_NAMES {
        set.insert(value.to_string());
    }
}

fn is_tool_agent(ua: &str) -> bool {
    let ua = ua.to_ascii_lowercase();
    TOOL_AGENTS.iter().any(|t| ua.contains(t))
}

fn downloads<'a>(ctx: &DetectCtx<'a>, c: &Config) -> BTreeMap<Key, Group<'a>> {
    let mut groups: BTreeMap<Key, Group<'a>> = BTreeMap::new();
    for &e in &ctx.http {
        let (Fields::Http(h), Some(net)) = (&e.fields, &e.net) else { continue };
        if !ctx.is_internal(net.src_ip) || ctx.is_internal(net.dst_ip) {
            continue;
        }
        let Some(payload) = classify(c, h) else { continue };
        let raw = h.host.as_deref().unwrap_or("");
        let key = Key { client: net.src_ip, server: net.dst_ip, port: net.dst_port, host: transfer::host_name(raw) };
        let raw_address = key.host.is_none();
        let g = groups.entry(key).or_default();
        if g.events.is_empty() {
            g.first = e.ts;
        }
        g.first = g.first.min(e.ts);
        g.last = g.last.max(e.ts);
        g.events.push(e);
        g.executable = g.executable.max(payload.executable);
        g.disguised |= payload.disguised;
        g.raw_address |= raw_address;
        g.bytes += h.response_body_len;
        g.largest = g.largest.max(h.response_body_len);
        if let Some(k) = &h.response_body_type {
            remember(&mut g.kinds, k);
        }
        if let Some(ct) = &h.response_content_type {
            remember(&mut g.content_types, &media_type(ct));
        }
        remember(&mut g.uris, &h.uri);
        if let Some(ua) = &h.user_agent {
            g.tool_agent |= is_tool_agent(ua);
            remember(&mut g.user_agents, ua);
        }
    }
    groups
}

/// The parts of a group's score.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Parts {
    executable: f64,
    disguised: f64,
    cloud_storage: f64,
    raw_address: f64,
    tool_agent: f64,
    rarity: f64,
}

impl Parts {
    fn context(&self, c: &Config) -> f64 {
        (c.base
            + c.disguised_weight * self.disguised
            + c.cloud_storage_weight * self.cloud_storage
            + c.raw_address_weight * self.raw_address
            + c.tool_agent_weight * self.tool_agent)
            .min(1.0)
    }

    fn score(&self, c: &Config) -> f64 {
        self.executable * self.context(c) * (c.prevalence_floor + (1.0 - c.prevalence_floor) * self.rarity)
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn judge(ctx: &DetectCtx<'_>, c: &Config, key: &Key, g: &Group<'_>) -> Option<Finding> {
    let provider = key.host.as_deref().and_then(transfer::storage_provider);
    let prevalence = ctx
        .baseline
        .ip_prevalence(key.server)
        .max(key.host.as_deref().map_or(0.0, |h| ctx.baseline.domain_prevalence(&domain::registrable(h))));
    let parts = Parts {
        executable: g.executable,
        disguised: flag(g.disguised),
        cloud_storage: flag(provider.is_some()),
        raw_address: flag(g.raw_address),
        tool_agent: flag(g.tool_agent),
        rarity: ctx.baseline.rarity(prevalence),
    };
    let score = parts.score(c);
    if score < c.min_score {
        return None;
    }
    let flows: Vec<_> = g.events.iter().filter_map(|e| ctx.flow_of(e)).collect();
    let evidence: Vec<_> =
        g.events.iter().map(|e| ctx.event_evidence(e)).chain(flows.iter().map(|f| ctx.flow_evidence(f))).collect();
    let mut f = Finding::new("payload-download", Tactic::CommandAndControl, "T1105", score)
        .component("executable", parts.executable)
        .component("disguised", parts.disguised)
        .component("cloud_storage", parts.cloud_storage)
        .component("raw_address", parts.raw_address)
        .component("tool_agent", parts.tool_agent)
        .component("rarity", parts.rarity)
        .component("downloads", g.events.len() as f64)
        .component("bytes", g.bytes as f64)
        .component("largest", g.largest as f64)
        .component("prevalence", prevalence)
        .window(g.first, g.last)
        .summary(summary(key, g, provider))
        .evidence(evidence);
    f.host = ctx.host(key.client);
    f.peer.ip = Some(key.server);
    f.peer.domain = key.host.clone();
    f.peer.port = Some(key.port);
    f.process = ctx.process_of(flows);
    f.keys = g.user_agents.iter().cloned().collect();
    Some(f)
}

fn summary(key: &Key, g: &Group<'_>, provider: Option<&str>) -> String {
    let kinds: Vec<&str> = g.kinds.iter().map(String::as_str).filter(|k| *k != "text").collect();
    let what = if kinds.is_empty() { "executable".to_string() } else { kinds.join("/").to_uppercase() };
    let uri = g.uris.iter().next().map(String::as_str).unwrap_or("");
    let server = crate::util::net::endpoint_text(key.server, key.port);
    let from = match &key.host {
        Some(h) => format!("{h}{uri} ({server})"),
        None => format!("{server}{uri}"),
    };
    let mut s = format!("{} fetched {what} ({}) from {from}", key.client, size_text(g.largest));
    if g.events.len() > 1 {
        s.push_str(&format!(" and {} more", g.events.len() - 1));
    }
    if !g.content_types.is_empty() {
        let cts: Vec<&str> = g.content_types.iter().map(String::as_str).collect();
        s.push_str(&format!(", served as {}", cts.join(", ")));
    }
    if g.disguised {
        s.push_str(", disguised");
    }
    if let Some(p) = provider {
        s.push_str(&format!("; {p}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::{background, ip, Bundle};
    use crate::detect::Severity;

    const HOST: &str = "10.0.0.1";
    const S3: &str = "52.216.8.9";

    #[test]
    fn config_default_matches_the_thresholds_file() {
        let t = Thresholds::defaults();
        assert_eq!(t.try_section::<Config>("payload-download"), Ok(Config::default()));
    }

    /// One GET on port 80 by Wget at `at` seconds, answered with a 600 KB body of `kind`
    /// served as `content_type`.
    struct Fetch<'s> {
        client: &'s str,
        server: &'s str,
        at: f64,
        host: &'s str,
        uri: &'s str,
        kind: &'s str,
        content_type: &'s str,
    }

    impl Fetch<'_> {
        fn add(&self, b: &mut Bundle) {
            let fl = b.tcp(self.client, self.server, 80, self.at, 2.0, 200, 600_000);
            let h = b.http(fl, "GET", self.host, self.uri);
            h.user_agent = Some("Wget/1.21.3".into());
            h.response_body_len = 600_000;
            h.response_body_type = Some(self.kind.to_string().into());
            h.response_content_type = Some(self.content_type.into());
        }
    }

    #[test]
    fn elf_from_an_s3_bucket_is_high() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        Fetch {
            client: HOST,
            server: S3,
            at: 1000.0,
            host: "update-cdn-17.s3.amazonaws.com",
            uri: "/x86_64/agent",
            kind: "elf",
            content_type: "binary/octet-stream",
        }
        .add(&mut b);
        let found = b.run(&PayloadDownload);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert!(f.severity >= Severity::High, "{f:#?}");
        assert_eq!(f.peer.ip, Some(ip(S3)));
        assert_eq!(f.peer.port, Some(80));
        assert_eq!(f.peer.domain.as_deref(), Some("update-cdn-17.s3.amazonaws.com"));
        assert_eq!(f.components["cloud_storage"], 1.0);
        assert_eq!(f.components["disguised"], 0.0);
        assert_eq!(f.components["tool_agent"], 1.0);
        assert_eq!(f.technique, "T1105");
        assert!(f.summary.contains("ELF") && f.summary.contains("Amazon S3"), "{}", f.summary);
        assert_eq!(f.keys, vec!["Wget/1.21.3".to_string()]);
    }

    #[test]
    fn pe_disguised_as_an_image_from_a_bare_address_is_high() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        let server = "198.18.3.4";
        Fetch {
            client: HOST,
            server,
            at: 1000.0,
            host: server,
            uri: "/img/logo.png",
            kind: "pe",
            content_type: "image/png",
        }
        .add(&mut b);
        let found = b.run(&PayloadDownload);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.components["disguised"], 1.0);
        assert_eq!(f.components["raw_address"], 1.0);
        assert_eq!(f.peer.domain, None);
        assert!(f.severity >= Severity::High, "{f:#?}");
    }

    #[test]
    fn images_and_popular_update_downloads_stay_quiet() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        // Near miss 1: a rare host serves a real image.
        let server = "198.18.3.4";
        let (host, uri) = ("cdn.example.net", "/logo.png");
        Fetch { client: HOST, server, at: 1000.0, host, uri, kind: "png", content_type: "image/png" }.add(&mut b);
        // Near miss 2: every workstation fetches the same PE from the popular update service.
        popular_fetches(&mut b);
        let found = b.run(&PayloadDownload);
        assert!(found.iter().all(|f| f.severity <= Severity::Low), "{found:#?}");
        assert!(found.iter().all(|f| f.peer.ip != Some(ip("198.18.3.4"))), "{found:#?}");
    }

    #[test]
    fn internal_software_distribution_is_not_judged() {
        let mut b = Bundle::default();
        background(&mut b, 10);
        let (host, uri) = ("wsus.corp.example", "/x/agent.exe");
        Fetch { client: HOST, server: "10.0.0.9", at: 1000.0, host, uri, kind: "pe", content_type: "image/gif" }
            .add(&mut b);
        assert!(b.run(&PayloadDownload).is_empty());
    }

    fn http(uri: &str, status: Option<u16>, kind: Option<&str>, ct: Option<&str>) -> HttpFields {
        HttpFields {
            method: "GET".into(),
            host: Some("example.net".into()),
            uri: uri.into(),
            version: "1.1".into(),
            user_agent: None,
            referrer: None,
            request_content_type: None,
            request_body_len: 0,
            request_body_type: None,
            status,
            reason: None,
            response_content_type: ct.map(String::from),
            response_body_len: 1000,
            response_body_type: kind.map(|k| k.to_string().into()),
            server: None,
            location: None,
            anomalies: Box::default(),
        }
    }

    #[test]
    fn classification_by_hand() {
        let c = Config::default();
        let p = |uri, status, kind, ct| classify(&c, &http(uri, status, kind, ct));
        assert_eq!(p("/a", Some(200), Some("elf"), None), Some(Payload { executable: 1.0, disguised: false }));
        assert_eq!(
            p("/a.sh", Some(200), Some("script"), Some("text/plain")),
            Some(Payload { executable: 0.8, disguised: false })
        );
        assert_eq!(
            p("/a.jpg", Some(200), Some("pe"), Some("application/octet-stream")),
            Some(Payload { executable: 1.0, disguised: true })
        );
        assert_eq!(
            p("/a", Some(200), Some("macho"), Some("text/html; charset=utf-8")),
            Some(Payload { executable: 1.0, disguised: true })
        );
        assert_eq!(
            p("/a", Some(200), Some("elf"), Some("application/x-executable")),
            Some(Payload { executable: 1.0, disguised: false })
        );
        // Declared only: an .exe whose body was not recognised, a .ps1 served as text.
        assert_eq!(p("/setup.exe", Some(200), None, None), Some(Payload { executable: 0.6, disguised: false }));
        assert_eq!(
            p("/run.ps1", Some(200), Some("text"), Some("text/plain")),
            Some(Payload { executable: 0.6, disguised: false })
        );
        assert_eq!(
            p("/a", Some(200), None, Some("application/x-msdownload")),
            Some(Payload { executable: 0.6, disguised: false })
        );
        // Not payloads: an error page for an .exe, a failed request, an image, unknown binary.
        assert_eq!(p("/setup.exe", Some(200), Some("html"), Some("text/html")), None);
        assert_eq!(p("/a", Some(404), Some("elf"), None), None);
        assert_eq!(p("/a", None, None, None), None);
        assert_eq!(p("/a.png", Some(200), Some("png"), Some("image/png")), None);
        assert_eq!(p("/a", Some(200), None, Some("application/octet-stream")), None);
    }

    #[test]
    fn score_by_hand() {
        let p = Parts {
            executable: 1.0,
            disguised: 0.0,
            cloud_storage: 1.0,
            raw_address: 0.0,
            tool_agent: 1.0,
            rarity: 0.9,
        };
        let c = Config::default();
        // 1 · (0.65 + 0.15 + 0.05) · (0.4 + 0.54) = 0.85 · 0.94
        assert!((p.context(&c) - 0.85).abs() < 1e-12);
        assert!((p.score(&c) - 0.85 * 0.94).abs() < 1e-12);
        let all = Parts { disguised: 1.0, raw_address: 1.0, rarity: 1.0, ..p };
        assert_eq!(all.context(&c), 1.0, "capped at 1");
        // A script declared only, popular server: 0.6 · 0.65 · 0.4.
        let q = Parts { executable: 0.6, cloud_storage: 0.0, tool_agent: 0.0, rarity: 0.0, ..p };
        assert!((q.score(&c) - 0.6 * 0.65 * 0.4).abs() < 1e-12);
    }

    /// Every workstation fetches the same PE from the popular update service.
    fn popular_fetches(b: &mut Bundle) {
        for h in 0..10 {
            let client = format!("10.0.0.{}", 100 + h);
            Fetch {
                client: &client,
                server: "23.45.100.10",
                at: 2000.0 + h as f64,
                host: "www.microsoft.com",
                uri: "/update/kb123.exe",
                kind: "pe",
                content_type: "application/octet-stream",
            }
            .add(b);
        }
    }

    /// Every workstation fetches the same PE from a popular update service with Wget: the
    /// first client's finding as the thresholds weigh it.
    fn popular_download(t: &Thresholds) -> Finding {
        let mut b = Bundle::default();
        background(&mut b, 10);
        popular_fetches(&mut b);
        let found = b.run_with(&PayloadDownload, t);
        let first = found.into_iter().find(|f| f.host.ip == Some(ip("10.0.0.100")));
        first.expect("the first client's download")
    }

    #[test]
    fn weights_and_floor_come_from_the_thresholds_file() {
        // By default: executable 1 · (base 0.65 + tool_agent 0.05) · (0.4 + 0.6·rarity).
        let f = popular_download(&Thresholds::defaults());
        let rarity = f.components["rarity"];
        assert!(rarity < 0.5, "a popular server: {rarity}");
        assert!((f.score - 0.7 * (0.4 + 0.6 * rarity)).abs() < 1e-4, "{f:#?}");
        // A file that weighs the context fully and does not discount prevalence scores it 1.
        let t = Thresholds::overlay("[payload-download]\nbase = 1.0\nprevalence_floor = 1.0\n", "t.toml")
            .expect("valid thresholds");
        assert!((popular_download(&t).score - 1.0).abs() < 1e-4);
        // A heavier tool agent: the context reaches its cap of 1.
        let t = Thresholds::overlay("[payload-download]\ntool_agent_weight = 0.35\n", "t.toml").expect("valid");
        assert!((popular_download(&t).score - (0.4 + 0.6 * rarity)).abs() < 1e-4);
    }

    #[test]
    fn weights_outside_zero_to_one_are_refused() {
        for bad in ["base = 1.2", "tool_agent_weight = -0.05", "script_weight = 1.5", "prevalence_floor = -1.0"] {
            let e = Thresholds::overlay(&format!("[payload-download]\n{bad}\n"), "t.toml").expect_err(bad).to_string();
            assert!(e.contains("[payload-download]") && e.contains("must lie in [0, 1]"), "{e}");
        }
    }

    #[test]
    fn tool_agents() {
        assert!(is_tool_agent("Wget/1.21.3"));
        assert!(is_tool_agent("curl/8.4.0"));
        assert!(is_tool_agent("Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1"));
        assert!(!is_tool_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"));
    }
}
