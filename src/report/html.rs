//! The `seam investigate --html FILE` report: one self-contained HTML file an analyst can open
//! offline, attach to a ticket or print.
//!
//! Input: the investigate [`Summary`] (findings, incidents and the internal hosts, its
//! [`Asset`](crate::model::Asset)s, included), the evidence inventory and the diagnostics.
//! Output: the bytes of one HTML document.
//! May use `util`, `diag`, `model`, `detect` and `chains` (report layer).
//!
//! Contract:
//! - **Self-contained**: inline CSS and inline SVG only; no script, no external font, image or
//!   style sheet. A `Content-Security-Policy` meta tag (`default-src 'none'`) makes the browser
//!   refuse any fetch should one ever slip in.
//! - **Escaped**: every string that came from evidence (host and domain names, command lines,
//!   summaries, file names) goes through [`escape`]: `& < > " '` become entities and control
//!   and bidirectional-override characters become visible `\xNN` / `\u{NNNN}` text.
//! - **Deterministic**: the same input gives the same bytes — no current time, no random ids,
//!   coordinates printed with one decimal.
//!
//! Layout, top to bottom: the bundle (files with SHA-256, time span, internal hosts managed or
//! not, clock offsets), an overview of the incidents ranked by score, then per incident a
//! timeline chart (one lane per host, one numbered mark per stage coloured by tactic), the chain
//! as a graph across hosts (host cards, an edge from the acting host to each peer it reached —
//! arcs between hosts for lateral movement — labelled with the stage numbers), and the table of
//! stages; then every finding (collapsed) and the diagnostics.

use super::investigate::Summary;
use crate::chains::{Incident, Stage};
use crate::detect::{Finding, FindingHost, FindingProcess, Peer, Severity, Tactic};
use crate::diag::Diagnostics;
use crate::model::InventoryEntry;
use crate::util::escape::terminal_safe;
use crate::util::net::is_internal;
use crate::util::time::{rfc3339, NANOS_PER_SEC};
use std::collections::BTreeMap;

/// Width of every chart's view box (the browser scales it to the page).
const CHART_WIDTH: f64 = 1000.0;
/// Timeline: room for the host labels left of the plot.
const LABEL_WIDTH: f64 = 190.0;
const PLOT_RIGHT_MARGIN: f64 = 24.0;
const CHART_TOP: f64 = 12.0;
/// Timeline: height of one row of marks inside a lane, and the padding above and below rows.
const ROW_HEIGHT: f64 = 22.0;
const LANE_PADDING: f64 = 8.0;
const MARK_RADIUS: f64 = 8.5;
/// Rows of marks per lane before crowded marks are allowed to overlap.
const MAX_ROWS: usize = 8;
/// Timeline: the narrowest span shown (an incident of one instant still gets an axis).
const MIN_SPAN: i64 = 60 * NANOS_PER_SEC;
/// Timeline: at most this many labelled ticks.
const MAX_TICKS: i64 = 8;
/// Graph: horizontal room a peer node asks for, its height, and the gap between peer rows.
const PEER_SLOT: f64 = 170.0;
const PEER_HEIGHT: f64 = 34.0;
const PEER_ROW_GAP: f64 = 22.0;
/// Graph: vertical room between the peers and the hosts for edges and their labels.
const EDGE_SPACE: f64 = 120.0;
/// Graph: a host card's height without notes, and per note line.
const HOST_HEIGHT: f64 = 42.0;
const NOTE_HEIGHT: f64 = 14.0;
/// Graph: stages without a peer listed on their host's card before "+N more".
const MAX_NOTES: usize = 6;
const GRAPH_MARGIN: f64 = 20.0;
/// Characters of a node label before it is cut with an ellipsis (the full text is its tooltip).
const MAX_LABEL_CHARS: usize = 26;

/// HTML-escapes attacker-controlled text for element content and quoted attribute values
/// (HTML and inline SVG alike): control characters and bidirectional overrides become visible
/// `\xNN` / `\u{NNNN}` escapes first, then `& < > " '` become character references.
pub fn escape(s: &str) -> String {
    let safe = terminal_safe(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The colour of a tactic, the same in every chart, table and legend.
pub fn tactic_color(t: Tactic) -> &'static str {
    match t {
        Tactic::Reconnaissance => "#6b7280",
        Tactic::InitialAccess => "#d97706",
        Tactic::Execution => "#db2777",
        Tactic::Persistence => "#9333ea",
        Tactic::PrivilegeEscalation => "#c026d3",
        Tactic::DefenseEvasion => "#475569",
        Tactic::CredentialAccess => "#a16207",
        Tactic::Discovery => "#0891b2",
        Tactic::LateralMovement => "#e11d48",
        Tactic::Collection => "#65a30d",
        Tactic::CommandAndControl => "#2563eb",
        Tactic::Exfiltration => "#047857",
        Tactic::Impact => "#7f1d1d",
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#dc2626",
        Severity::Medium => "#d97706",
        Severity::Low => "#2563eb",
        Severity::Info => "#6b7280",
    }
}

/// Renders the whole report.
pub fn render(s: &Summary, inventory: &[InventoryEntry], diags: &Diagnostics) -> Vec<u8> {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    out.push_str(&format!("<title>seam investigation — {} incident(s)</title>\n", s.incidents.len()));
    out.push_str("<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(&format!(
        "<header><h1>seam investigation</h1><p class=\"muted\">seam {} · {} incident(s) · {} finding(s) · times in UTC</p></header>\n",
        escape(env!("CARGO_PKG_VERSION")),
        s.incidents.len(),
        s.findings.len()
    ));
    bundle_section(&mut out, s, inventory);
    incidents_section(&mut out, s);
    findings_section(&mut out, &s.findings);
    diagnostics_section(&mut out, diags);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

const CSS: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#111827;background:#fff;margin:0 auto;padding:16px 24px;max-width:1280px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}
h3{font-size:16px;margin:8px 0}h4{font-size:14px;margin:14px 0 6px;color:#374151}
.muted{color:#6b7280}code,.mono{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}th,td{border-bottom:1px solid #e5e7eb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600;white-space:nowrap}td.num{text-align:right;white-space:nowrap}td.nowrap{white-space:nowrap}
td{overflow-wrap:break-word}td.mono,td.wrap{overflow-wrap:anywhere}td.time{min-width:7.5em}td.wrap{min-width:8.5em}td.tactic{min-width:8.5em}table.stages td.mono{min-width:9em}
.scroll{overflow-x:auto}.sha{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;overflow-wrap:anywhere}
.badge{display:inline-block;white-space:nowrap;color:#fff;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;text-transform:uppercase}
.swatch{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:baseline}
.incident{border:1px solid #d1d5db;border-radius:6px;padding:10px 14px;margin:18px 0;break-inside:avoid-page}
.incident header{display:flex;flex-wrap:wrap;gap:10px;align-items:baseline}
.chain{margin:4px 0}.chain span{white-space:nowrap}
svg.chart{display:block;width:100%;height:auto;margin:4px 0 8px;background:#fff}
svg.chart text{font-family:system-ui,sans-serif}
.legend span{margin-right:12px;white-space:nowrap;font-size:12px}
.cmd{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;color:#4b5563}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
.unmanaged{color:#b91c1c;font-weight:600}.managed{color:#15803d}
@media print{details{display:block}body{padding:0}}
";

fn bundle_section(out: &mut String, s: &Summary, inventory: &[InventoryEntry]) {
    let assets = &s.assets;
    out.push_str("<section id=\"bundle\">\n<h2>Evidence bundle</h2>\n");
    out.push_str(&format!(
        "<p>Span <b>{}</b> → <b>{}</b>{} · {} file(s), {} packet(s), {} flow(s), {} event(s)</p>\n",
        escape(s.first.as_deref().unwrap_or("-")),
        escape(s.last.as_deref().unwrap_or("-")),
        match s.span {
            Some((a, b)) => format!(" ({})", duration_text(b - a)),
            None => String::new(),
        },
        s.files,
        s.packets,
        s.flows,
        s.events
    ));
    out.push_str("<table class=\"files\"><thead><tr><th>file</th><th>kind</th><th>size</th><th>records</th><th>first</th><th>last</th><th>clock offset</th><th>problems</th><th>sha256</th></tr></thead><tbody>\n");
    for e in inventory {
        out.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"sha\">{}</td></tr>\n",
            escape(&e.path),
            escape(&if e.gzip { format!("{} (gzip)", e.kind) } else { e.kind.clone() }),
            e.size,
            e.records.map_or("-".into(), |r| r.to_string()),
            e.first_ts.map_or("-".into(), rfc3339),
            e.last_ts.map_or("-".into(), rfc3339),
            e.clock_offset.map_or("-".into(), seconds_text),
            e.problems,
            escape(e.sha256.as_deref().unwrap_or("-"))
        ));
    }
    out.push_str("</tbody></table>\n");

    let managed = assets.iter().filter(|a| a.managed).count();
    out.push_str(&format!(
        "<h4>Internal hosts</h4>\n<p>{} internal host(s): <span class=\"managed\">{managed} managed</span> (endpoint telemetry in the bundle), <span class=\"unmanaged\">{} unmanaged</span> (network evidence only).</p>\n",
        assets.len(),
        assets.len() - managed
    ));
    if !assets.is_empty() {
        let open = if assets.len() <= 30 { " open" } else { "" };
        out.push_str(&format!("<details{open}><summary>Hosts ({})</summary>\n", assets.len()));
        out.push_str("<table><thead><tr><th>address</th><th>names</th><th>telemetry</th><th>roles</th><th>first seen</th><th>last seen</th><th>flows out</th><th>flows in</th><th>clock offset</th></tr></thead><tbody>\n");
        for a in assets {
            out.push_str(&format!(
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                escape(&a.ip.to_string()),
                escape(&a.names.join(", ")),
                if a.managed { "<span class=\"managed\">managed</span>" } else { "<span class=\"unmanaged\">unmanaged</span>" },
                escape(&a.roles.join(", ")),
                rfc3339(a.first_seen),
                rfc3339(a.last_seen),
                a.flows_out,
                a.flows_in,
                a.clock_offset.map_or("-".into(), seconds_text)
            ));
        }
        out.push_str("</tbody></table></details>\n");
    }

    out.push_str("<h4>Clock offsets</h4>\n");
    if s.clock_offsets.is_empty() {
        out.push_str("<p class=\"muted\">No endpoint log's clock offset was estimated or set.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>host</th><th>log</th><th>offset (host − capture)</th><th>how</th></tr></thead><tbody>\n");
        for o in &s.clock_offsets {
            let how = if o.forced {
                "set by the analyst".to_string()
            } else {
                format!("{} pairs, spread {:.3} s", o.pairs, o.spread as f64 / NANOS_PER_SEC as f64)
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                escape(if o.host.is_empty() { "(unnamed)" } else { &o.host }),
                escape(&o.source),
                seconds_text(o.offset),
                escape(&how)
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
}

fn incidents_section(out: &mut String, s: &Summary) {
    out.push_str(&format!("<section id=\"incidents\">\n<h2>Incidents ({})</h2>\n", s.incidents.len()));
    if s.incidents.is_empty() {
        out.push_str("<p>No incidents: no finding above info.</p>\n</section>\n");
        return;
    }
    out.push_str("<p class=\"muted\">Ranked by severity and score. Stage numbers are the same in each incident's timeline, graph and table.</p>\n");
    out.push_str("<table><thead><tr><th>rank</th><th>incident</th><th>severity</th><th>score</th><th>stages</th><th>hosts</th><th>first seen</th><th>duration</th><th>tactics</th></tr></thead><tbody>\n");
    for (rank, i) in s.incidents.iter().enumerate() {
        out.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td class=\"mono\"><a href=\"#{id}\">{id}</a></td><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td>{}</td></tr>\n",
            rank + 1,
            badge(i.severity),
            i.score,
            i.stages.len(),
            i.hosts.len(),
            rfc3339(i.first_seen),
            duration_text(i.last_seen - i.first_seen),
            escape(&i.tactics.join(" → ")),
            id = escape(&i.id),
        ));
    }
    out.push_str("</tbody></table>\n");
    for (rank, i) in s.incidents.iter().enumerate() {
        incident_html(out, rank + 1, i);
    }
    out.push_str("</section>\n");
}

fn badge(s: Severity) -> String {
    format!("<span class=\"badge\" style=\"background:{}\">{}</span>", severity_color(s), s.as_str())
}

fn incident_html(out: &mut String, rank: usize, i: &Incident) {
    let id = escape(&i.id);
    out.push_str(&format!(
        "<article class=\"incident\" id=\"{id}\" data-stages=\"{}\">\n<header><h3>#{rank} {id}</h3>{}<span>score <b>{:.2}</b></span><span>{} stage(s) on {} host(s)</span><span class=\"muted\">{} → {} ({})</span></header>\n",
        i.stages.len(),
        badge(i.severity),
        i.score,
        i.stages.len(),
        i.hosts.len(),
        rfc3339(i.first_seen),
        rfc3339(i.last_seen),
        duration_text(i.last_seen - i.first_seen),
    ));
    out.push_str(&format!("<p>{}</p>\n", escape(&i.summary)));
    let components: Vec<String> =
        i.components.iter().map(|(k, v)| format!("{} {}", escape(k), crate::detect::finding::round4(*v))).collect();
    out.push_str(&format!("<p class=\"muted\">score components: {}</p>\n", components.join(" · ")));
    out.push_str("<p class=\"chain\">");
    let chain: Vec<String> = i
        .tactics
        .iter()
        .map(|t| {
            let color = i.stages.iter().find(|s| s.tactic.as_str() == *t).map_or("#6b7280", |s| tactic_color(s.tactic));
            format!("<span><span class=\"swatch\" style=\"background:{color}\"></span>{}</span>", escape(t))
        })
        .collect();
    out.push_str(&chain.join(" → "));
    out.push_str("</p>\n");

    out.push_str("<h4>Timeline</h4>\n");
    let chart = TimelineChart::layout(i);
    out.push_str(&chart.svg(i));
    out.push_str("<h4>Chain across hosts</h4>\n");
    let graph = ChainGraph::layout(i);
    out.push_str(&graph.svg(i));

    out.push_str("<h4>Stages</h4>\n");
    out.push_str("<div class=\"scroll\"><table class=\"stages\"><thead><tr><th>#</th><th>time</th><th>tactic</th><th>technique</th><th>host</th><th>peer</th><th>process</th><th>detector</th><th>summary</th><th>evidence</th></tr></thead><tbody>\n");
    for (n, st) in i.stages.iter().enumerate() {
        out.push_str(&format!(
            "<tr id=\"{id}-{num}\"><td class=\"num\">{num}</td><td class=\"time\">{}</td><td class=\"tactic\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td>{} {}</td><td>{}</td><td class=\"mono\">{}</td></tr>\n",
            cell_time(st.time),
            tactic_color(st.tactic),
            st.tactic.as_str(),
            escape(st.technique),
            escape(&super::render::host_label(&st.host)),
            escape(&peer_text(&st.peer)),
            process_html(st.process.as_ref()),
            escape(st.detector),
            badge(st.severity),
            escape(&st.summary),
            escape(st.evidence.as_deref().unwrap_or("-")),
            num = n + 1,
        ));
    }
    out.push_str("</tbody></table></div>\n</article>\n");
}

fn process_html(p: Option<&FindingProcess>) -> String {
    let Some(p) = p else { return "-".into() };
    let mut s = escape(p.executable.as_deref().unwrap_or("?"));
    if let Some(pid) = p.pid {
        s.push_str(&format!(" ({pid})"));
    }
    if let Some(cmd) = p.command_line.as_deref().filter(|c| !c.is_empty()) {
        s.push_str(&format!("<div class=\"cmd\">{}</div>", escape(cmd)));
    }
    s
}

fn findings_section(out: &mut String, findings: &[Finding]) {
    out.push_str(&format!(
        "<section id=\"findings\">\n<h2>Findings ({})</h2>\n<details><summary>All findings ({})</summary>\n",
        findings.len(),
        findings.len()
    ));
    out.push_str("<div class=\"scroll\"><table><thead><tr><th>id</th><th>severity</th><th>score</th><th>detector</th><th>tactic</th><th>technique</th><th>first seen</th><th>last seen</th><th>host</th><th>peer</th><th>process</th><th>summary</th><th>evidence</th></tr></thead><tbody>\n");
    for f in findings {
        let evidence: Vec<String> = f.evidence.iter().map(|e| escape(&e.text())).collect();
        let more = if f.evidence_total > f.evidence.len() as u64 {
            format!("<br>({} of {})", f.evidence.len(), f.evidence_total)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{:.2}</td><td>{}</td><td class=\"tactic\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td class=\"time\">{}</td><td class=\"time\">{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td><td>{}</td><td class=\"mono\">{}{more}</td></tr>\n",
            escape(&f.id),
            badge(f.severity),
            f.score,
            escape(f.detector),
            tactic_color(f.tactic),
            f.tactic.as_str(),
            escape(f.technique),
            cell_time(f.first_seen),
            cell_time(f.last_seen),
            escape(&super::render::host_label(&f.host)),
            escape(&peer_text(&f.peer)),
            process_html(f.process.as_ref()),
            escape(&f.summary),
            evidence.join("<br>"),
        ));
    }
    out.push_str("</tbody></table></div></details>\n</section>\n");
}

fn diagnostics_section(out: &mut String, diags: &Diagnostics) {
    out.push_str("<section id=\"diagnostics\">\n<h2>Diagnostics</h2>\n");
    if diags.is_empty() {
        out.push_str("<p>None: every record was read.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table><thead><tr><th>file</th><th>kind</th><th>count</th><th>first example</th></tr></thead><tbody>\n",
    );
    for (file, kinds) in &diags.by_file {
        for (kind, summary) in kinds {
            let example = summary.examples.first().map_or(String::new(), |d| match d.offset {
                Some(off) => format!("offset {off}: {}", d.detail),
                None => d.detail.clone(),
            });
            out.push_str(&format!(
                "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                escape(file),
                kind.as_str(),
                summary.count,
                escape(&example)
            ));
        }
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// `evil.example (45.1.1.1):443`, a range, or `-`.
fn peer_text(p: &Peer) -> String {
    let base = match (&p.domain, p.ip, &p.cidr) {
        (Some(d), Some(ip), _) => format!("{d} ({ip})"),
        (Some(d), None, _) => d.clone(),
        (None, Some(ip), _) => ip.to_string(),
        (None, None, Some(c)) => c.clone(),
        (None, None, None) => return "-".into(),
    };
    match p.port {
        Some(port) => format!("{base}:{port}"),
        None => base,
    }
}

/// A time for a table cell: RFC 3339 with a space for the `T`, so that a narrow column wraps
/// between date and time.
fn cell_time(t: i64) -> String {
    rfc3339(t).replacen('T', " ", 1)
}

/// `+1.500 s`.
fn seconds_text(ns: i64) -> String {
    format!("{:+.3} s", ns as f64 / NANOS_PER_SEC as f64)
}

/// `42 s`, `17 min 3 s`, `2 h 5 min`, `3 d 4 h`.
fn duration_text(ns: i64) -> String {
    let s = ns.max(0) / NANOS_PER_SEC;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Whether two hosts are the same: by address when both have one, else by name.
fn same_host(a: &FindingHost, b: &FindingHost) -> bool {
    match (a.ip, b.ip) {
        (Some(x), Some(y)) => x == y,
        _ => match (&a.name, &b.name) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => false,
        },
    }
}

/// The incident's hosts, with any stage host missing from them appended (so every stage has a
/// lane and a card).
fn incident_hosts(i: &Incident) -> Vec<FindingHost> {
    let mut hosts = i.hosts.clone();
    for st in &i.stages {
        if !hosts.iter().any(|h| same_host(h, &st.host)) {
            hosts.push(st.host.clone());
        }
    }
    hosts
}

fn host_index(hosts: &[FindingHost], h: &FindingHost) -> usize {
    hosts.iter().position(|k| same_host(k, h)).unwrap_or(0)
}

/// Cuts a label to [`MAX_LABEL_CHARS`] characters with an ellipsis.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// One host's lane in a timeline chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub label: String,
    pub sublabel: String,
    pub managed: bool,
    pub top: f64,
    pub height: f64,
}

/// One stage's mark: centre and the stage it stands for (index into the incident's stages).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub stage: usize,
    pub lane: usize,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

/// The geometry of an incident's timeline chart, computed before it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineChart {
    pub width: f64,
    pub height: f64,
    pub lanes: Vec<Lane>,
    pub marks: Vec<Mark>,
    pub ticks: Vec<Tick>,
    /// Where the time axis is drawn.
    pub axis_y: f64,
    /// The time range the plot spans (nanoseconds), padded around the incident's.
    pub from: i64,
    pub to: i64,
}

impl TimelineChart {
    pub fn layout(i: &Incident) -> TimelineChart {
        let hosts = incident_hosts(i);
        let first = i.stages.iter().map(|s| s.time).min().unwrap_or(i.first_seen).min(i.first_seen);
        let last = i.stages.iter().map(|s| s.time).max().unwrap_or(i.last_seen).max(i.last_seen);
        let pad = (last - first) / 25;
        let (mut from, mut to) = (first - pad, last + pad);
        if to - from < MIN_SPAN {
            let mid = from + (to - from) / 2;
            (from, to) = (mid - MIN_SPAN / 2, mid + MIN_SPAN / 2);
        }
        let plot_left = LABEL_WIDTH;
        let plot_width = CHART_WIDTH - LABEL_WIDTH - PLOT_RIGHT_MARGIN;
        let x_of = |t: i64| -> f64 {
            let f = (t.saturating_sub(from)) as f64 / (to - from) as f64;
            plot_left + f.clamp(0.0, 1.0) * plot_width
        };

        // Rows inside each lane: a mark takes the first row where it does not touch the
        // previous mark; when all are taken, the row whose last mark is furthest left.
        let min_gap = 2.0 * MARK_RADIUS + 2.0;
        let mut rows: Vec<Vec<f64>> = vec![Vec::new(); hosts.len()];
        let mut placed: Vec<(usize, usize, f64)> = Vec::with_capacity(i.stages.len());
        for st in &i.stages {
            let lane = host_index(&hosts, &st.host);
            let x = x_of(st.time);
            let lane_rows = &mut rows[lane];
            let row = match lane_rows.iter().position(|&last| last + min_gap <= x) {
                Some(r) => r,
                None if lane_rows.len() < MAX_ROWS => {
                    lane_rows.push(f64::NEG_INFINITY);
                    lane_rows.len() - 1
                }
                None => lane_rows.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(r, _)| r),
            };
            lane_rows[row] = x;
            placed.push((lane, row, x));
        }
        let mut lanes = Vec::with_capacity(hosts.len());
        let mut top = CHART_TOP;
        for (h, r) in hosts.iter().zip(&rows) {
            let height = 2.0 * LANE_PADDING + r.len().max(1) as f64 * ROW_HEIGHT;
            let (label, sublabel) = match (&h.name, h.ip) {
                (Some(n), Some(ip)) => (n.clone(), ip.to_string()),
                (Some(n), None) => (n.clone(), String::new()),
                (None, Some(ip)) => (ip.to_string(), String::new()),
                (None, None) => ("?".into(), String::new()),
            };
            lanes.push(Lane { label, sublabel, managed: h.managed, top, height });
            top += height;
        }
        let marks = placed
            .iter()
            .enumerate()
            .map(|(stage, &(lane, row, x))| Mark {
                stage,
                lane,
                x,
                y: lanes[lane].top + LANE_PADDING + row as f64 * ROW_HEIGHT + ROW_HEIGHT / 2.0,
            })
            .collect();
        let axis_y = top;
        let ticks = ticks(from, to).into_iter().map(|(t, label)| Tick { x: x_of(t), label }).collect();
        TimelineChart { width: CHART_WIDTH, height: axis_y + 44.0, lanes, marks, ticks, axis_y, from, to }
    }

    pub fn svg(&self, i: &Incident) -> String {
        let id = escape(&i.id);
        let mut o = format!(
            "<svg class=\"chart timeline\" viewBox=\"0 0 {} {}\" width=\"{}\" role=\"img\" aria-label=\"timeline of incident {id}\">\n",
            f1(self.width),
            f1(self.height),
            f1(self.width)
        );
        for (n, lane) in self.lanes.iter().enumerate() {
            let fill = if n % 2 == 0 { "#f9fafb" } else { "#ffffff" };
            o.push_str(&format!(
                "<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>\n",
                f1(lane.top),
                f1(self.width),
                f1(lane.height)
            ));
            let mid = lane.top + lane.height / 2.0;
            let (label_y, sub_y) = if lane.sublabel.is_empty() { (mid + 4.0, 0.0) } else { (mid - 2.0, mid + 12.0) };
            o.push_str(&format!(
                "<text x=\"8\" y=\"{}\" font-size=\"12\" font-weight=\"600\"{}><title>{}</title>{}</text>\n",
                f1(label_y),
                if lane.managed { "" } else { " fill=\"#b91c1c\"" },
                escape(&format!(
                    "{} {} ({})",
                    lane.label,
                    lane.sublabel,
                    if lane.managed { "managed" } else { "unmanaged" }
                )),
                escape(&short(&lane.label, 24))
            ));
            if !lane.sublabel.is_empty() {
                o.push_str(&format!(
                    "<text x=\"8\" y=\"{}\" font-size=\"11\" fill=\"#6b7280\">{}{}</text>\n",
                    f1(sub_y),
                    escape(&short(&lane.sublabel, 22)),
                    if lane.managed { "" } else { " · unmanaged" }
                ));
            } else if !lane.managed {
                o.push_str(&format!(
                    "<text x=\"8\" y=\"{}\" font-size=\"11\" fill=\"#6b7280\">unmanaged</text>\n",
                    f1(mid + 16.0)
                ));
            }
        }
        for t in &self.ticks {
            o.push_str(&format!(
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#e5e7eb\"/>\n<text x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#374151\">{}</text>\n",
                f1(CHART_TOP),
                f1(self.axis_y + 5.0),
                f1(self.axis_y + 18.0),
                escape(&t.label),
                x = f1(t.x)
            ));
        }
        o.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#9ca3af\"/>\n",
            f1(LABEL_WIDTH),
            f1(self.width - PLOT_RIGHT_MARGIN),
            y = f1(self.axis_y)
        ));
        o.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#6b7280\">{} → {} UTC</text>\n",
            f1(LABEL_WIDTH),
            f1(self.axis_y + 36.0),
            // The axis is padded past the first and last stage: its ends to the second.
            escape(&rfc3339(self.from.div_euclid(NANOS_PER_SEC) * NANOS_PER_SEC)),
            escape(&rfc3339(self.to.div_euclid(NANOS_PER_SEC).saturating_add(1).saturating_mul(NANOS_PER_SEC)))
        ));
        for m in &self.marks {
            let Some(st) = i.stages.get(m.stage) else { continue };
            o.push_str(&format!(
                "<g class=\"mark\" data-stage=\"{n}\"><title>{}</title><circle cx=\"{x}\" cy=\"{y}\" r=\"{}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.5\"/><text x=\"{x}\" y=\"{}\" font-size=\"9.5\" font-weight=\"700\" text-anchor=\"middle\" fill=\"#fff\">{n}</text></g>\n",
                escape(&stage_title(m.stage + 1, st)),
                f1(MARK_RADIUS),
                tactic_color(st.tactic),
                f1(m.y + 3.3),
                n = m.stage + 1,
                x = f1(m.x),
                y = f1(m.y),
            ));
        }
        o.push_str("</svg>\n");
        o.push_str(&legend(i));
        o
    }
}

/// `#3 2024-… lateral-movement (T1021) lateral-movement: …` — a mark's or an edge's tooltip.
fn stage_title(n: usize, st: &Stage) -> String {
    format!(
        "#{n} {} {} ({}) {} → {}: {}",
        rfc3339(st.time),
        st.tactic.as_str(),
        st.technique,
        super::render::host_label(&st.host),
        peer_text(&st.peer),
        st.summary
    )
}

fn legend(i: &Incident) -> String {
    let mut tactics: Vec<Tactic> = i.stages.iter().map(|s| s.tactic).collect();
    tactics.sort();
    tactics.dedup();
    let items: Vec<String> = tactics
        .iter()
        .map(|t| {
            format!(
                "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
                tactic_color(*t),
                t.as_str()
            )
        })
        .collect();
    format!("<p class=\"legend\">{}</p>\n", items.join(""))
}

/// Tick times and labels between `from` and `to`: a round step giving at most [`MAX_TICKS`].
fn ticks(from: i64, to: i64) -> Vec<(i64, String)> {
    const STEPS: &[i64] =
        &[1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];
    let span_s = ((to - from) / NANOS_PER_SEC).max(1);
    let step_s = STEPS
        .iter()
        .copied()
        .find(|s| span_s / s <= MAX_TICKS)
        .unwrap_or_else(|| 86_400 * (span_s / 86_400 / MAX_TICKS + 1));
    let step = step_s * NANOS_PER_SEC;
    let mut t = from.div_euclid(step) * step;
    if t < from {
        t += step;
    }
    let mut out = Vec::new();
    while t <= to && out.len() <= MAX_TICKS as usize + 1 {
        let text = rfc3339(t);
        let label = if step_s >= 86_400 {
            text.chars().take(10).collect()
        } else if step_s >= 60 {
            text.chars().skip(11).take(5).collect()
        } else {
            text.chars().skip(11).take(8).collect()
        };
        out.push((t, label));
        t += step;
    }
    out
}

/// What a graph node stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A host of the incident (it acted, or lateral movement reached it).
    Host { managed: bool },
    /// Something a stage reached that is not one of the incident's hosts: an external address
    /// or domain, a swept range, an internal service.
    Peer { internal: bool },
}

/// A node: its centre column, top, size, label and the lines listed on it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub kind: NodeKind,
    pub label: String,
    pub sublabel: String,
    /// Stages of a host that reached no peer (`#4 unmanaged-asset`).
    pub notes: Vec<String>,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// An edge from the host that acted to what it reached, as a quadratic curve.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    /// Stage indexes (0-based) along this edge, in order.
    pub stages: Vec<usize>,
    pub tactic: Tactic,
    /// Between two hosts (lateral movement), drawn as an arc below the host row.
    pub lateral: bool,
    pub start: (f64, f64),
    pub control: (f64, f64),
    pub end: (f64, f64),
    pub label_at: (f64, f64),
}

/// The geometry of an incident's chain graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainGraph {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// The far end of an edge while the graph is laid out: a host or a peer, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeEnd {
    Host(usize),
    Peer(usize),
}

/// Where a stage leads: one of the incident's hosts, or a peer node by key.
enum Target {
    Host(usize),
    Peer { key: String, label: String, internal: bool },
}

fn target(st: &Stage, hosts: &[FindingHost]) -> Option<Target> {
    let p = &st.peer;
    if let Some(ip) = p.ip.filter(|ip| is_internal(*ip)) {
        if let Some(h) = hosts.iter().position(|h| h.ip == Some(ip)) {
            return Some(Target::Host(h));
        }
    }
    if let Some(d) = p.domain.as_deref().filter(|d| !d.is_empty()) {
        // A name is where the stage was going (a tunnel's domain, not the resolver it went via).
        return Some(Target::Peer {
            key: format!("domain:{}", d.to_ascii_lowercase()),
            label: d.to_string(),
            internal: false,
        });
    }
    if let Some(ip) = p.ip {
        return Some(Target::Peer { key: format!("ip:{ip}"), label: ip.to_string(), internal: is_internal(ip) });
    }
    if let Some(c) = p.cidr.as_deref().filter(|c| !c.is_empty()) {
        let internal = c.split('/').next().and_then(|a| a.parse().ok()).is_some_and(is_internal);
        return Some(Target::Peer { key: format!("cidr:{c}"), label: c.to_string(), internal });
    }
    None
}

impl ChainGraph {
    pub fn layout(i: &Incident) -> ChainGraph {
        let hosts = incident_hosts(i);
        let usable = CHART_WIDTH - 2.0 * GRAPH_MARGIN;

        // Peers, edges (one per acting host and target, with its stages) and peerless notes.
        struct PeerAcc {
            key: String,
            label: String,
            internal: bool,
            first_stage: usize,
            first_host: usize,
        }
        let mut peers: Vec<PeerAcc> = Vec::new();
        let mut notes: Vec<Vec<String>> = vec![Vec::new(); hosts.len()];
        // (from host, to) → stages
        let mut edges: BTreeMap<(usize, EdgeEnd), Vec<usize>> = BTreeMap::new();
        for (n, st) in i.stages.iter().enumerate() {
            let from = host_index(&hosts, &st.host);
            match target(st, &hosts) {
                Some(Target::Host(h)) if h != from => edges.entry((from, EdgeEnd::Host(h))).or_default().push(n),
                Some(Target::Peer { key, label, internal }) => {
                    let p = match peers.iter().position(|p| p.key == key) {
                        Some(p) => p,
                        None => {
                            peers.push(PeerAcc { key, label, internal, first_stage: n, first_host: from });
                            peers.len() - 1
                        }
                    };
                    edges.entry((from, EdgeEnd::Peer(p))).or_default().push(n);
                }
                _ => notes[from].push(format!("#{} {}", n + 1, st.detector)),
            }
        }
        // Peers ordered by the column of the host that first reached them, then by stage, so
        // that edges cross as little as a row layout allows.
        let mut peer_order: Vec<usize> = (0..peers.len()).collect();
        peer_order.sort_by_key(|&p| (peers[p].first_host, peers[p].first_stage));

        let mut nodes: Vec<GraphNode> = Vec::with_capacity(hosts.len() + peers.len());
        let max_per_row = ((usable / PEER_SLOT).floor() as usize).max(1);
        let peer_rows = peers.len().div_ceil(max_per_row);
        let per_row = peers.len().div_ceil(peer_rows.max(1)).max(1);
        let mut peer_node = vec![0usize; peers.len()];
        for (k, &p) in peer_order.iter().enumerate() {
            let row = k / per_row;
            let col = k % per_row;
            // With several rows, every other row is shifted by half a slot, so that edges to a
            // far row pass between the nodes of a nearer one.
            let (slot, x) = if peer_rows > 1 {
                let slot = usable / (per_row as f64 + 0.5);
                (slot, GRAPH_MARGIN + slot * (col as f64 + 0.5 + 0.5 * (row % 2) as f64))
            } else {
                let slot = usable / peers.len() as f64;
                (slot, GRAPH_MARGIN + slot * (col as f64 + 0.5))
            };
            let w = (slot - 14.0).min(PEER_SLOT - 14.0);
            peer_node[p] = hosts.len() + k;
            nodes.push(GraphNode {
                kind: NodeKind::Peer { internal: peers[p].internal },
                label: peers[p].label.clone(),
                sublabel: String::new(),
                notes: Vec::new(),
                x,
                y: CHART_TOP + row as f64 * (PEER_HEIGHT + PEER_ROW_GAP),
                w,
                h: PEER_HEIGHT,
            });
        }
        let hosts_top = if peers.is_empty() {
            CHART_TOP
        } else {
            CHART_TOP + peer_rows as f64 * (PEER_HEIGHT + PEER_ROW_GAP) - PEER_ROW_GAP + EDGE_SPACE
        };
        let host_slot = usable / hosts.len().max(1) as f64;
        let mut host_nodes: Vec<GraphNode> = hosts
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let mut lines = notes[k].clone();
                if lines.len() > MAX_NOTES {
                    let more = lines.len() - (MAX_NOTES - 1);
                    lines.truncate(MAX_NOTES - 1);
                    lines.push(format!("+{more} more"));
                }
                let (label, sublabel) = match (&h.name, h.ip) {
                    (Some(n), Some(ip)) => (n.clone(), ip.to_string()),
                    (Some(n), None) => (n.clone(), String::new()),
                    (None, Some(ip)) => (ip.to_string(), String::new()),
                    (None, None) => ("?".into(), String::new()),
                };
                GraphNode {
                    kind: NodeKind::Host { managed: h.managed },
                    label,
                    sublabel,
                    x: GRAPH_MARGIN + host_slot * (k as f64 + 0.5),
                    y: hosts_top,
                    w: (host_slot - 24.0).min(230.0),
                    h: HOST_HEIGHT + lines.len() as f64 * NOTE_HEIGHT,
                    notes: lines,
                }
            })
            .collect();
        host_nodes.append(&mut nodes);
        let mut nodes = host_nodes;

        // Edge geometry. Edges up to peers leave the top of their host card spread across its
        // width; arcs between hosts leave and enter the bottom, deeper the further they go.
        let mut out_edges: Vec<GraphEdge> = Vec::with_capacity(edges.len());
        let mut ordered: Vec<((usize, EdgeEnd), Vec<usize>)> = edges.into_iter().collect();
        ordered.sort_by_key(|(_, stages)| stages.first().copied().unwrap_or(0));
        let mut up_count = vec![0usize; hosts.len()];
        for ((from, to), _) in &ordered {
            if matches!(to, EdgeEnd::Peer(_)) {
                up_count[*from] += 1;
            }
        }
        let mut up_seen = vec![0usize; hosts.len()];
        let cards_bottom = nodes.iter().take(hosts.len()).map(|n| n.y + n.h).fold(hosts_top, f64::max);
        let mut lateral_seen = 0usize;
        for ((from, to), stages) in ordered {
            let tactic = stages.first().and_then(|&s| i.stages.get(s)).map_or(Tactic::Impact, |s| s.tactic);
            let src = &nodes[from];
            match to {
                EdgeEnd::Peer(p) => {
                    let k = up_seen[from];
                    up_seen[from] += 1;
                    let spread = src.w * 0.8;
                    let dx = (k as f64 + 1.0) / (up_count[from] as f64 + 1.0) * spread - spread / 2.0;
                    let start = (src.x + dx, src.y);
                    let dst = &nodes[peer_node[p]];
                    let end = (dst.x, dst.y + dst.h);
                    let control = ((start.0 + end.0) / 2.0, (start.1 + end.1) / 2.0);
                    let label_at = (end.0 + (start.0 - end.0) * 0.3, end.1 + (start.1 - end.1) * 0.3);
                    out_edges.push(GraphEdge {
                        from,
                        to: peer_node[p],
                        stages,
                        tactic,
                        lateral: false,
                        start,
                        control,
                        end,
                        label_at,
                    });
                }
                EdgeEnd::Host(h) => {
                    let dst = &nodes[h];
                    // Opposite directions between the same pair do not share a path.
                    let shift = if from < h { -8.0 } else { 8.0 };
                    let start = (src.x + shift, src.y + src.h);
                    let end = (dst.x + shift, dst.y + dst.h);
                    let distance = from.abs_diff(h) as f64;
                    let depth = 40.0 + 30.0 * distance + 12.0 * (lateral_seen % 3) as f64;
                    lateral_seen += 1;
                    let control = ((start.0 + end.0) / 2.0, cards_bottom + 2.0 * depth);
                    let label_at = (
                        0.25 * start.0 + 0.5 * control.0 + 0.25 * end.0,
                        0.25 * start.1 + 0.5 * control.1 + 0.25 * end.1,
                    );
                    out_edges.push(GraphEdge {
                        from,
                        to: h,
                        stages,
                        tactic,
                        lateral: true,
                        start,
                        control,
                        end,
                        label_at,
                    });
                }
            }
        }
        let lowest = out_edges.iter().filter(|e| e.lateral).map(|e| e.label_at.1 + 16.0).fold(cards_bottom, f64::max);
        let height = lowest + 24.0;
        // Node boxes never leave the view box, even for a very narrow slot.
        for n in &mut nodes {
            n.w = n.w.max(40.0);
        }
        ChainGraph { width: CHART_WIDTH, height, nodes, edges: out_edges }
    }

    pub fn svg(&self, i: &Incident) -> String {
        let id = escape(&i.id);
        let mut o = format!(
            "<svg class=\"chart graph\" viewBox=\"0 0 {} {}\" width=\"{}\" role=\"img\" aria-label=\"chain of incident {id} across hosts\">\n<defs>\n",
            f1(self.width),
            f1(self.height),
            f1(self.width)
        );
        let mut tactics: Vec<Tactic> = self.edges.iter().map(|e| e.tactic).collect();
        tactics.sort();
        tactics.dedup();
        for t in &tactics {
            o.push_str(&format!(
                "<marker id=\"{id}-arrow-{}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>\n",
                t.as_str(),
                tactic_color(*t)
            ));
        }
        o.push_str("</defs>\n");
        for e in &self.edges {
            let titles: Vec<String> =
                e.stages.iter().filter_map(|&s| i.stages.get(s).map(|st| stage_title(s + 1, st))).collect();
            o.push_str(&format!(
                "<path class=\"edge\" data-stages=\"{}\" d=\"M{},{} Q{},{} {},{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" marker-end=\"url(#{id}-arrow-{})\"{}><title>{}</title></path>\n",
                e.stages.iter().map(|s| (s + 1).to_string()).collect::<Vec<_>>().join(" "),
                f1(e.start.0),
                f1(e.start.1),
                f1(e.control.0),
                f1(e.control.1),
                f1(e.end.0),
                f1(e.end.1),
                tactic_color(e.tactic),
                if e.lateral { "2.5" } else { "1.6" },
                e.tactic.as_str(),
                if e.lateral { "" } else { " stroke-opacity=\"0.85\"" },
                escape(&titles.join("\n"))
            ));
        }
        for n in &self.nodes {
            let left = n.x - n.w / 2.0;
            let (fill, stroke, dash) = match n.kind {
                NodeKind::Host { managed: true } => ("#ecfdf5", "#15803d", ""),
                NodeKind::Host { managed: false } => ("#fef2f2", "#b91c1c", " stroke-dasharray=\"5 3\""),
                NodeKind::Peer { internal: true } => ("#f3f4f6", "#6b7280", ""),
                NodeKind::Peer { internal: false } => ("#fff7ed", "#9a3412", ""),
            };
            let kind = match n.kind {
                NodeKind::Host { managed: true } => "managed host",
                NodeKind::Host { managed: false } => "unmanaged host",
                NodeKind::Peer { internal: true } => "internal peer",
                NodeKind::Peer { internal: false } => "external peer",
            };
            let chars = ((n.w / 7.0) as usize).clamp(6, MAX_LABEL_CHARS);
            o.push_str(&format!(
                "<g class=\"node\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{dash}/>\n",
                escape(&format!("{} {} ({kind})", n.label, n.sublabel)),
                f1(left),
                f1(n.y),
                f1(n.w),
                f1(n.h)
            ));
            let label_y = if matches!(n.kind, NodeKind::Host { .. }) { n.y + 17.0 } else { n.y + 21.0 };
            o.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"600\" text-anchor=\"middle\">{}</text>\n",
                f1(n.x),
                f1(label_y),
                escape(&short(&n.label, chars))
            ));
            if let NodeKind::Host { managed } = n.kind {
                let sub = match (n.sublabel.is_empty(), managed) {
                    (true, true) => "managed".to_string(),
                    (true, false) => "unmanaged".to_string(),
                    (false, true) => format!("{} · managed", n.sublabel),
                    (false, false) => format!("{} · unmanaged", n.sublabel),
                };
                o.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#4b5563\">{}</text>\n",
                    f1(n.x),
                    f1(n.y + 32.0),
                    escape(&short(&sub, chars + 4))
                ));
                for (k, note) in n.notes.iter().enumerate() {
                    o.push_str(&format!(
                        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#111827\">{}</text>\n",
                        f1(left + 8.0),
                        f1(n.y + HOST_HEIGHT + 8.0 + k as f64 * NOTE_HEIGHT),
                        escape(&short(note, chars + 4))
                    ));
                }
            }
            o.push_str("</g>\n");
        }
        for e in &self.edges {
            let text: Vec<String> = e.stages.iter().map(|s| format!("#{}", s + 1)).collect();
            o.push_str(&format!(
                "<text class=\"edge-label\" x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"700\" text-anchor=\"middle\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
                f1(e.label_at.0),
                f1(e.label_at.1 + 4.0),
                tactic_color(e.tactic),
                escape(&short(&text.join(" "), 40))
            ));
        }
        o.push_str("</svg>\n");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::SeverityCuts;

    #[test]
    fn escape_neutralises_markup_quotes_ampersands_and_controls() {
        assert_eq!(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape(r#"a" onload="x"#), "a&quot; onload=&quot;x");
        assert_eq!(escape("it's"), "it&#39;s");
        assert_eq!(escape("AT&T &amp;"), "AT&amp;T &amp;amp;");
        assert_eq!(escape("bell\x07 esc\x1b[31m nul\0"), "bell\\x07 esc\\x1b[31m nul\\x00");
        assert_eq!(escape("line\nbreak"), "line\\x0abreak");
        assert_eq!(escape("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert_eq!(escape("plain ünïcode → ok"), "plain ünïcode → ok");
    }

    fn stage(n: usize, t: i64, tactic: Tactic, detector: &'static str, host: &str, peer: Peer) -> Stage {
        Stage {
            finding: format!("F{n}"),
            detector,
            severity: Severity::High,
            tactic,
            technique: "T0000",
            time: t,
            host: FindingHost { ip: host.parse().ok(), name: None, managed: host != "10.0.0.1" },
            peer,
            process: None,
            summary: format!("stage {n} <b>"),
            evidence: Some("a.pcap#1".into()),
        }
    }

    fn ip_peer(ip: &str, port: u16) -> Peer {
        Peer { ip: ip.parse().ok(), domain: None, port: Some(port), cidr: None }
    }

    /// An appliance beacons out, moves to two servers, one of which then mines; three stages
    /// in the same second crowd one lane.
    fn incident() -> Incident {
        let s = NANOS_PER_SEC;
        let t0 = 1_714_636_800 * s;
        let stages = vec![
            stage(1, t0, Tactic::InitialAccess, "unmanaged-asset", "10.0.0.1", Peer::default()),
            stage(2, t0 + 60 * s, Tactic::CommandAndControl, "beacon", "10.0.0.1", ip_peer("45.1.1.1", 443)),
            stage(
                3,
                t0 + 600 * s,
                Tactic::Discovery,
                "scan",
                "10.0.0.1",
                Peer { cidr: Some("10.0.0.0/24".into()), ..Peer::default() },
            ),
            stage(4, t0 + 900 * s, Tactic::LateralMovement, "lateral-movement", "10.0.0.1", ip_peer("10.0.0.50", 445)),
            stage(5, t0 + 905 * s, Tactic::LateralMovement, "lateral-movement", "10.0.0.1", ip_peer("10.0.0.60", 22)),
            stage(
                6,
                t0 + 1800 * s,
                Tactic::CommandAndControl,
                "long-connection",
                "10.0.0.60",
                ip_peer("94.1.1.1", 3333),
            ),
            stage(7, t0 + 1800 * s, Tactic::Impact, "cryptominer", "10.0.0.60", ip_peer("94.1.1.1", 3333)),
            stage(
                8,
                t0 + 1800 * s,
                Tactic::CommandAndControl,
                "process-network-anomaly",
                "10.0.0.60",
                ip_peer("94.1.1.1", 3333),
            ),
            stage(9, t0 + 3600 * s, Tactic::DefenseEvasion, "edr-tamper", "10.0.0.50", Peer::default()),
        ];
        let hosts = ["10.0.0.1", "10.0.0.50", "10.0.0.60"]
            .iter()
            .map(|h| FindingHost { ip: h.parse().ok(), name: None, managed: *h != "10.0.0.1" })
            .collect();
        Incident {
            id: "Itest".into(),
            severity: SeverityCuts::default().of(0.95),
            score: 0.95,
            components: BTreeMap::new(),
            first_seen: t0,
            last_seen: t0 + 3600 * s,
            hosts,
            tactics: vec!["initial-access", "discovery", "lateral-movement", "command-and-control", "impact"],
            stages,
            summary: "9 stages".into(),
        }
    }

    #[test]
    fn timeline_has_one_mark_per_stage_inside_the_view_box_on_its_host_lane() {
        let i = incident();
        let c = TimelineChart::layout(&i);
        assert_eq!(c.lanes.len(), 3);
        assert_eq!(c.marks.len(), i.stages.len());
        for (m, st) in c.marks.iter().zip(&i.stages) {
            assert!(m.x - MARK_RADIUS >= 0.0 && m.x + MARK_RADIUS <= c.width, "{m:?}");
            assert!(m.y - MARK_RADIUS >= 0.0 && m.y + MARK_RADIUS <= c.height, "{m:?}");
            assert!(m.x >= LABEL_WIDTH && m.x <= c.width - PLOT_RIGHT_MARGIN, "{m:?}");
            let lane = &c.lanes[m.lane];
            assert!(m.y > lane.top && m.y < lane.top + lane.height, "{m:?} {lane:?}");
            assert_eq!(lane.label, st.host.ip.map(|ip| ip.to_string()).unwrap_or_default());
        }
        // Later stages are further right.
        for w in c.marks.windows(2) {
            assert!(w[0].x <= w[1].x);
        }
        // The three simultaneous stages on 10.0.0.60 take three rows, not one spot.
        let crowded: Vec<&Mark> = c.marks.iter().filter(|m| (5..=7).contains(&m.stage)).collect();
        assert!(crowded[0].y < crowded[1].y && crowded[1].y < crowded[2].y, "{crowded:?}");
        assert!(!c.ticks.is_empty() && c.ticks.len() <= MAX_TICKS as usize + 1);
        for t in &c.ticks {
            assert!(t.x >= LABEL_WIDTH && t.x <= c.width);
        }
        let svg = c.svg(&i);
        assert_eq!(svg.matches("<g class=\"mark\"").count(), i.stages.len());
        assert!(svg.contains("stage 1 &lt;b&gt;") && !svg.contains("<b>"));
        // The padded axis is named to the second, without the padding's fraction (a span of
        // 3601 s pads by 144.04 s).
        let mut odd = incident();
        if let Some(last) = odd.stages.last_mut() {
            last.time += NANOS_PER_SEC;
        }
        let svg = TimelineChart::layout(&odd).svg(&odd);
        let range = svg.split("fill=\"#6b7280\">").find(|t| t.contains(" UTC</text>")).unwrap_or_default();
        let range = range.split(" UTC").next().unwrap_or_default();
        let (from, to) = range.split_once(" → ").unwrap_or_default();
        for end in [from, to] {
            assert!(end.len() == 20 && end.ends_with('Z') && !end.contains('.'), "{range}");
        }
        assert!(from <= "2024-05-02T08:00:00Z" && to >= "2024-05-02T09:00:00Z", "{range}");
    }

    #[test]
    fn graph_draws_hosts_peers_and_ordered_edges_inside_the_view_box() {
        let i = incident();
        let g = ChainGraph::layout(&i);
        let hosts: Vec<&GraphNode> = g.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Host { .. })).collect();
        let peers: Vec<&GraphNode> = g.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Peer { .. })).collect();
        assert_eq!(hosts.len(), 3);
        // 45.1.1.1, the swept range, 94.1.1.1.
        assert_eq!(peers.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["45.1.1.1", "10.0.0.0/24", "94.1.1.1"]);
        for n in &g.nodes {
            assert!(n.x - n.w / 2.0 >= 0.0 && n.x + n.w / 2.0 <= g.width, "{n:?}");
            assert!(n.y >= 0.0 && n.y + n.h <= g.height, "{n:?}");
        }
        // Each edge's curve (sampled; its control point may lie outside) and label stay inside.
        for e in &g.edges {
            let on_curve = (0..=20).map(|k| {
                let t = f64::from(k) / 20.0;
                let b = |p0: f64, c: f64, p2: f64| (1.0 - t) * (1.0 - t) * p0 + 2.0 * (1.0 - t) * t * c + t * t * p2;
                (b(e.start.0, e.control.0, e.end.0), b(e.start.1, e.control.1, e.end.1))
            });
            for (x, y) in on_curve.chain([e.label_at]) {
                assert!((0.0..=g.width).contains(&x) && (0.0..=g.height).contains(&y), "{e:?}");
            }
        }
        // Every stage with a peer is on exactly one edge; the others are notes on their host.
        let mut on_edges: Vec<usize> = g.edges.iter().flat_map(|e| e.stages.clone()).collect();
        on_edges.sort_unstable();
        assert_eq!(on_edges, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(hosts[0].notes, ["#1 unmanaged-asset"]);
        assert_eq!(hosts[1].notes, ["#9 edr-tamper"]);
        // Lateral movement: arcs from the appliance to both servers, in stage order.
        let lateral: Vec<&GraphEdge> = g.edges.iter().filter(|e| e.lateral).collect();
        assert_eq!(lateral.len(), 2);
        assert_eq!((lateral[0].from, lateral[0].to, lateral[0].stages.clone()), (0, 1, vec![3]));
        assert_eq!((lateral[1].from, lateral[1].to, lateral[1].stages.clone()), (0, 2, vec![4]));
        // Edges are listed in the order of their first stage.
        let firsts: Vec<usize> = g.edges.iter().map(|e| e.stages[0]).collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]), "{firsts:?}");
        let svg = g.svg(&i);
        assert_eq!(svg.matches("<path class=\"edge\"").count(), g.edges.len());
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    }

    #[test]
    fn many_peers_wrap_into_rows_and_stay_inside() {
        let mut i = incident();
        let t0 = i.first_seen;
        for k in 0..15u8 {
            i.stages.push(stage(
                20 + usize::from(k),
                t0 + i64::from(k) * NANOS_PER_SEC,
                Tactic::CommandAndControl,
                "beacon",
                "10.0.0.1",
                Peer { domain: Some(format!("very-long-subdomain-name-{k}.attacker.example")), ..Peer::default() },
            ));
        }
        let g = ChainGraph::layout(&i);
        let rows: std::collections::BTreeSet<i64> =
            g.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Peer { .. })).map(|n| n.y as i64).collect();
        assert!(rows.len() > 1);
        for n in &g.nodes {
            assert!(n.x - n.w / 2.0 >= 0.0 && n.x + n.w / 2.0 <= g.width && n.y + n.h <= g.height, "{n:?}");
        }
        let c = TimelineChart::layout(&i);
        assert_eq!(c.marks.len(), i.stages.len());
        assert!(c.marks.iter().all(|m| m.y + MARK_RADIUS <= c.height));
    }

    #[test]
    fn ticks_are_round_and_few() {
        let s = NANOS_PER_SEC;
        let t0 = 1_714_636_800 * s; // 2024-05-02T08:00:00Z
        let t = ticks(t0 - 30 * s, t0 + 3600 * s);
        assert_eq!(t.first().map(|x| x.1.as_str()), Some("08:00"));
        assert!(t.len() <= MAX_TICKS as usize + 1);
        let t = ticks(t0, t0 + 40 * s);
        assert_eq!(t[0].1, "08:00:00");
        let t = ticks(t0, t0 + 30 * 86_400 * s);
        assert_eq!(t[0].1.len(), 10);
    }

    #[test]
    fn report_is_deterministic_and_self_contained() {
        let s = Summary { incidents: vec![incident()], ..Summary::default() };
        let a = render(&s, &[], &Diagnostics::new());
        let b = render(&s, &[], &Diagnostics::new());
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap_or_default();
        assert!(text.contains("id=\"Itest\"") && text.contains("data-stages=\"9\""));
        assert!(!text.contains("src=\"http") && !text.contains("href=\"http") && !text.contains("<script"));
        assert_eq!(text.matches("<svg").count(), 2);
        assert_eq!(text.matches("</svg>").count(), 2);
    }
}
