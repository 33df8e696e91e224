//! The `seam investigate` report: the evidence, the incidents, the hosts and what they did, the
//! notable application-layer facts, and the diagnostics — as a terminal report or one JSON
//! document: `{"schema": "seam.investigate/1", "evidence": [inventory rows with hashes and clock
//! offsets], "hosts": [rows as `seam assets` gives them], "incidents": [incidents with their
//! ordered stages, each naming its finding id], "findings": [as `seam hunt` gives them],
//! "summary": {…}, "diagnostics": {…}}`.

use super::output::ReportError;
use super::render::{diagnostics_json, Format};
use crate::diag::Diagnostics;
use crate::model::{EndpointFields, Event, EventKind, Fields, FlowRecord, InventoryEntry, Service};
use crate::timeline::schema::{row_json, ASSET_COLUMNS, INVENTORY_COLUMNS};
use crate::timeline::RowCtx;
use crate::util::escape::terminal_safe;
use crate::util::time::rfc3339;
use crate::util::Timestamp;
use comfy_table::{presets, ContentArrangement, Table};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Rows shown per section of the terminal report.
const TOP_N: usize = 10;
/// Entries kept per ranked list in the JSON report (the distinct count is reported in full).
const MAX_LIST: usize = 100;

pub use crate::util::net::is_internal;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HostSummary {
    pub ip: String,
    pub internal: bool,
    pub flows_out: u64,
    pub flows_in: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub peers: u64,
    pub failed_attempts: u64,
    pub services: Vec<String>,
}

/// What the endpoint logs of one host hold.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EndpointHost {
    pub name: String,
    /// Logs the events came from (sysmon, security, auditd, …).
    pub sources: Vec<String>,
    pub events: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub process_starts: u64,
    pub connections: u64,
    pub logons: u64,
    pub failed_logons: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

/// The most frequent values of a field, with how many distinct values there were.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ranked {
    pub distinct: usize,
    pub top: Vec<Count>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Notable {
    /// Sort key: `time` in nanoseconds.
    #[serde(skip)]
    pub ts: i64,
    pub time: String,
    pub what: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// The first and last moments of the evidence, on the capture's clock: endpoint events
    /// after their clock offsets are subtracted, as the findings tell them.
    pub first: Option<String>,
    pub last: Option<String>,
    /// The same, in nanoseconds.
    #[serde(skip)]
    pub span: Option<(Timestamp, Timestamp)>,
    pub files: usize,
    pub packets: u64,
    pub flows: usize,
    pub events: usize,
    pub hosts: Vec<HostSummary>,
    /// Hosts named by endpoint logs, by name.
    pub endpoints: Vec<EndpointHost>,
    /// Per host and log: endpoint connections and lookups joined to the capture's flows.
    pub attribution: Vec<crate::entities::AttributionRate>,
    /// Flows whose process is known.
    pub flows_attributed: usize,
    /// Endpoint logs' clock offsets against the capture, as applied.
    pub clock_offsets: Vec<crate::entities::ClockOffset>,
    pub dns_names: Ranked,
    pub tls_server_names: Ranked,
    pub http_hosts: Ranked,
    /// Executable or script bodies moved over HTTP, SSH sessions, Stratum sessions, and
    /// endpoint events that change the system or its logging (logs cleared, audit and Sysmon
    /// configuration, services and drivers installed, accounts created).
    pub notable: Vec<Notable>,
    /// Everything the hunt found (written at the top level of the JSON document).
    #[serde(skip)]
    pub findings: Vec<crate::detect::Finding>,
    /// The findings chained into incidents, highest first (top level of the JSON document).
    #[serde(skip)]
    pub incidents: Vec<crate::chains::Incident>,
    /// The internal hosts as `seam assets` lists them (top level of the JSON document).
    #[serde(skip)]
    pub assets: Vec<crate::model::Asset>,
}

impl Summary {
    pub fn build(inventory: &[InventoryEntry], flows: &[FlowRecord], events: &[Event]) -> Summary {
        // The span of what was read, on the capture's clock: flows and events as corrected.
        // Files that gave neither (a log of records seam could not place) count as listed.
        let times = flows.iter().flat_map(|f| [f.start, f.end.max(f.start)]).chain(events.iter().map(|e| e.ts));
        let read =
            times.fold(None, |span: Option<(i64, i64)>, t| Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t)))));
        let listed =
            inventory.iter().filter_map(|e| e.first_ts).min().zip(inventory.iter().filter_map(|e| e.last_ts).max());
        let span = read.or(listed);
        let (first, last) = (span.map(|s| s.0), span.map(|s| s.1));
        let (hosts, activity) = rayon::join(|| host_summaries(flows), || Activity::gather(inventory, events));
        let Activity { dns, sni, http_hosts, notable, endpoints } = activity;
        Summary {
            first: first.map(rfc3339),
            last: last.map(rfc3339),
            span,
            files: inventory.len(),
            packets: inventory
                .iter()
                .filter(|e| matches!(e.kind.as_str(), "pcap" | "pcapng"))
                .filter_map(|e| e.records)
                .sum(),
            flows: flows.len(),
            events: events.len(),
            hosts,
            endpoints,
            attribution: Vec::new(),
            clock_offsets: Vec::new(),
            findings: Vec::new(),
            incidents: Vec::new(),
            assets: Vec::new(),
            flows_attributed: flows.iter().filter(|f| f.process.is_some()).count(),
            dns_names: top(dns),
            tls_server_names: top(sni),
            http_hosts: top(http_hosts),
            notable,
        }
    }
}

/// What the flows say of each host that took part in them, busiest internal hosts first.
fn host_summaries(flows: &[FlowRecord]) -> Vec<HostSummary> {
    // Hosts by number in order of appearance; peers as (host, peer) number pairs, counted once
    // each after a sort, rather than a set per host.
    let mut numbers: FxHashMap<IpAddr, u32> = FxHashMap::default();
    let mut hosts: Vec<(IpAddr, HostSummary, u16)> = Vec::new();
    let mut pairs: Vec<u64> = Vec::with_capacity(flows.len() * 2);
    for f in flows {
        let failed = f.conn_state.is_failed_attempt();
        let [o, r] = [f.orig_ip, f.resp_ip].map(|ip| {
            *numbers.entry(ip).or_insert_with(|| {
                hosts.push((ip, HostSummary::default(), 0));
                (hosts.len() - 1) as u32
            })
        });
        pairs.push(u64::from(o) << 32 | u64::from(r));
        pairs.push(u64::from(r) << 32 | u64::from(o));
        let (_, h, services) = &mut hosts[o as usize];
        h.flows_out += 1;
        h.bytes_out += f.orig.bytes;
        h.bytes_in += f.resp.bytes;
        h.failed_attempts += u64::from(failed);
        *services |= f.services.iter().fold(0u16, |m, s| m | 1 << (*s as u16));
        let (_, h, _) = &mut hosts[r as usize];
        h.flows_in += 1;
        h.bytes_in += f.orig.bytes;
        h.bytes_out += f.resp.bytes;
    }
    pairs.sort_unstable();
    pairs.dedup();
    for pair in pairs {
        hosts[(pair >> 32) as usize].1.peers += 1;
    }
    let mut hosts: Vec<HostSummary> = hosts
        .into_iter()
        .map(|(ip, mut h, services)| {
            h.ip = ip.to_string();
            h.internal = is_internal(ip);
            let mut names: Vec<&str> =
                Service::ALL.iter().filter(|s| services & 1 << (**s as u16) != 0).map(|s| s.as_str()).collect();
            names.sort_unstable();
            h.services = names.into_iter().map(String::from).collect();
            h
        })
        .collect();
    hosts.sort_by(|a, b| {
        (b.internal, b.bytes_out + b.bytes_in, &a.ip).cmp(&(a.internal, a.bytes_out + a.bytes_in, &b.ip))
    });
    hosts
}

/// What the application-layer and endpoint events say: names looked up and served, notable
/// events, and each endpoint host's activity.
struct Activity<'a> {
    dns: FxHashMap<&'a str, u64>,
    sni: FxHashMap<&'a str, u64>,
    http_hosts: FxHashMap<&'a str, u64>,
    notable: Vec<Notable>,
    endpoints: Vec<EndpointHost>,
}

impl<'a> Activity<'a> {
    fn gather(inventory: &[InventoryEntry], events: &'a [Event]) -> Activity<'a> {
        // Counted by name as seen, folded to lower case once per distinct name at the end.
        let mut dns: FxHashMap<&'a str, u64> = FxHashMap::default();
        let mut sni: FxHashMap<&'a str, u64> = FxHashMap::default();
        let mut http_hosts: FxHashMap<&'a str, u64> = FxHashMap::default();
        let mut notable = Vec::new();
        let mut endpoints: BTreeMap<String, (EndpointHost, BTreeSet<&'static str>, i64, i64)> = BTreeMap::new();
        for e in events {
            let file = inventory.get(e.provenance.file as usize).map_or("?", |f| f.path.as_str());
            let evidence = || format!("{file} {} {}", e.provenance.locator.kind(), e.provenance.locator.value());
            match &e.fields {
                Fields::Dns(d) => *dns.entry(&d.query).or_default() += 1,
                Fields::Tls(t) => {
                    if let Some(n) = t.server_name.as_ref().filter(|n| !n.is_empty()) {
                        *sni.entry(n).or_default() += 1;
                    }
                }
                Fields::Http(h) => {
                    if let Some(host) = &h.host {
                        *http_hosts.entry(host).or_default() += 1;
                    }
                    for (dir, kind, len) in [
                        ("downloaded", &h.response_body_type, h.response_body_len),
                        ("uploaded", &h.request_body_type, h.request_body_len),
                    ] {
                        if let Some(k) =
                            kind.as_deref().filter(|k| matches!(*k, "elf" | "pe" | "macho" | "script" | "java-class"))
                        {
                            notable.push(Notable {
                                ts: e.ts,
                                time: rfc3339(e.ts),
                                what: format!(
                                    "{k} {dir} over http: {} {}{} ({len} bytes)",
                                    h.method,
                                    h.host.as_deref().unwrap_or(""),
                                    h.uri
                                ),
                                evidence: evidence(),
                            });
                        }
                    }
                }
                Fields::Ssh(_) => notable.push(Notable {
                    ts: e.ts,
                    time: rfc3339(e.ts),
                    what: format!("ssh session {}", crate::timeline::schema::message(e).trim_start_matches("ssh ")),
                    evidence: evidence(),
                }),
                Fields::Stratum(s) => notable.push(Notable {
                    ts: e.ts,
                    time: rfc3339(e.ts),
                    what: format!(
                        "cryptocurrency mining protocol (stratum) {} agent {}",
                        s.methods.join(","),
                        s.agent.as_deref().unwrap_or("-")
                    ),
                    evidence: evidence(),
                }),
                Fields::Endpoint(x) => {
                    let name = e.host.as_ref().and_then(|h| h.name.clone()).unwrap_or_else(|| "(unnamed)".into());
                    let (h, sources, first, last) =
                        endpoints.entry(name).or_insert_with(|| (EndpointHost::default(), BTreeSet::new(), e.ts, e.ts));
                    h.events += 1;
                    sources.insert(x.source.as_str());
                    (*first, *last) = ((*first).min(e.ts), (*last).max(e.ts));
                    match e.kind {
                        EventKind::Process if x.action == "process-start" => h.process_starts += 1,
                        EventKind::Connection => h.connections += 1,
                        EventKind::Logon if x.action == "logon" => {
                            h.logons += 1;
                            h.failed_logons += u64::from(x.outcome == Some("failure"));
                        }
                        EventKind::Logon if x.action == "logon-failed" => h.failed_logons += 1,
                        _ => {}
                    }
                    if is_notable_endpoint(e.kind, x) {
                        notable.push(Notable {
                            ts: e.ts,
                            time: rfc3339(e.ts),
                            what: format!(
                                "{}: {}",
                                e.host.as_ref().and_then(|h| h.name.as_deref()).unwrap_or("-"),
                                crate::timeline::schema::message(e)
                            ),
                            evidence: evidence(),
                        });
                    }
                }
                _ => {}
            }
        }
        let endpoints: Vec<EndpointHost> = endpoints
            .into_iter()
            .map(|(name, (mut h, sources, first, last))| {
                h.name = name;
                h.sources = sources.into_iter().map(String::from).collect();
                h.first = Some(rfc3339(first));
                h.last = Some(rfc3339(last));
                h
            })
            .collect();
        notable.sort_by(|a, b| (a.ts, &a.evidence).cmp(&(b.ts, &b.evidence)));
        Activity { dns, sni, http_hosts, notable, endpoints }
    }
}

/// Endpoint events that change the system or its logging, worth a line of the report whatever
/// else happened.
fn is_notable_endpoint(kind: EventKind, x: &EndpointFields) -> bool {
    match kind {
        EventKind::Audit => x.action != "audit-daemon-started" && x.action != "audit-log-rotated",
        EventKind::Service => x.action == "service-installed",
        EventKind::Account => matches!(x.action, "account-created" | "group-member-added"),
        EventKind::Module => {
            x.action == "kernel-module-load" || (x.action == "driver-load" && x.outcome == Some("failure"))
        }
        EventKind::Task => x.action == "task-created",
        EventKind::Firewall => x.action.ends_with("-changed"),
        _ => false,
    }
}

/// The most frequent names, case folded (names that differ only in case count as one).
fn top(seen: FxHashMap<&str, u64>) -> Ranked {
    let mut m: FxHashMap<String, u64> = FxHashMap::default();
    for (name, n) in seen {
        let folded = name.is_ascii() && !name.bytes().any(|b| b.is_ascii_uppercase());
        let name = if folded { name.to_string() } else { name.to_lowercase() };
        *m.entry(name).or_default() += n;
    }
    let distinct = m.len();
    let mut v: Vec<Count> = m.into_iter().map(|(name, count)| Count { name, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v.truncate(MAX_LIST);
    Ranked { distinct, top: v }
}

/// Renders the report.
pub fn render(
    s: &Summary,
    inventory: &[InventoryEntry],
    diags: &Diagnostics,
    ctx: &RowCtx,
    format: Format,
    width: u16,
    color: bool,
) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Json | Format::Jsonl => {
            // Serialised as it stands: the findings and the per-host summary are the bulk of
            // the document and need no intermediate tree. The hosts' rows (ten thousand on a
            // large capture) are built on the pool.
            let doc = Document {
                schema: "seam.investigate/1",
                evidence: inventory.iter().map(|r| row_json(r, INVENTORY_COLUMNS, ctx)).collect(),
                hosts: s.assets.par_iter().map(|a| row_json(a, ASSET_COLUMNS, ctx)).collect(),
                incidents: &s.incidents,
                findings: &s.findings,
                summary: s,
                diagnostics: diagnostics_json(diags),
            };
            let mut out =
                if format == Format::Json { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) }
                    .unwrap_or_default();
            out.push(b'\n');
            Ok(out)
        }
        Format::Table => Ok(text(s, inventory, diags, width, color).into_bytes()),
        other => Err(ReportError::Unsupported {
            format: other.name(),
            what: "investigate reports (use table or json; --timeline exports rows)",
        }),
    }
}

/// The JSON report, in the order its fields are written.
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    evidence: Vec<serde_json::Value>,
    hosts: Vec<serde_json::Value>,
    incidents: &'a [crate::chains::Incident],
    findings: &'a [crate::detect::Finding],
    summary: &'a Summary,
    diagnostics: serde_json::Value,
}

/// Incidents, highest first, each as its chain of stages in order: one line per stage (time,
/// tactic, host → peer, process), its summary and first evidence below it, wrapped to the width.
fn incidents_text(out: &mut String, s: &Summary, width: u16, color: bool) {
    let above_info: Vec<&crate::chains::Incident> =
        s.incidents.iter().filter(|i| i.severity > crate::detect::Severity::Info).collect();
    out.push_str(&format!(
        "INCIDENTS  {} ({} findings; `seam hunt` lists them all)\n",
        above_info.len(),
        s.findings.len()
    ));
    if above_info.is_empty() {
        out.push_str("  none above info\n\n");
        return;
    }
    let wrap = usize::from(width).saturating_sub(8).max(40);
    for i in above_info {
        out.push_str(&format!(
            "\n{}  {}  score {:.2}  {}\n",
            super::render::severity_label(i.severity, color).trim_end(),
            i.id,
            i.score,
            terminal_safe(&i.summary)
        ));
        for st in &i.stages {
            let (host, peer, process) = (
                super::render::host_label(&st.host),
                super::render::peer_arrow(&st.peer),
                super::render::process_tag(st.process.as_ref()),
            );
            let time = rfc3339(st.time).chars().take(19).collect::<String>().replace('T', " ");
            out.push_str(&format!(
                "  {time}  {:<20} {}{}{}\n",
                st.tactic.as_str(),
                terminal_safe(&host),
                terminal_safe(&peer),
                terminal_safe(&process)
            ));
            let what = format!("{}: {}", st.detector, st.summary);
            for line in wrap_words(&terminal_safe(&what), wrap) {
                out.push_str(&format!("      {line}\n"));
            }
            if let Some(e) = &st.evidence {
                out.push_str(&format!("      evidence {}\n", terminal_safe(e)));
            }
        }
    }
    out.push('\n');
}

/// Words joined into lines of at most `width` characters (a longer word gets a line of its own).
pub(crate) fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn table(width: u16) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_width(width);
    t
}

fn text(s: &Summary, inventory: &[InventoryEntry], diags: &Diagnostics, width: u16, color: bool) -> String {
    let mut out = String::new();
    out.push_str("EVIDENCE\n");
    let mut t = table(width);
    t.set_header(["file", "kind", "size", "records", "clock", "sha256"]);
    for e in inventory {
        t.add_row([
            terminal_safe(&e.path).into_owned(),
            if e.gzip { format!("{} (gzip)", e.kind) } else { e.kind.clone() },
            e.size.to_string(),
            e.records.map_or("-".into(), |r| r.to_string()),
            e.clock_offset.map_or("-".into(), |o| format!("{:+.3}s", o as f64 / 1e9)),
            e.sha256.as_deref().map_or("-".into(), |h| h.chars().take(16).collect::<String>() + "…"),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    incidents_text(&mut out, s, width, color);
    out.push_str(&format!(
        "span {} → {}   {} files, {} packets, {} flows, {} events\n\n",
        s.first.as_deref().unwrap_or("-"),
        s.last.as_deref().unwrap_or("-"),
        s.files,
        s.packets,
        s.flows,
        s.events
    ));
    let internal = s.hosts.iter().filter(|h| h.internal).count();
    out.push_str(&format!(
        "HOSTS  {} internal, {} external (internal by traffic volume)\n",
        internal,
        s.hosts.len() - internal
    ));
    let mut t = table(width);
    t.set_header(["host", "flows out", "flows in", "bytes out", "bytes in", "peers", "failed", "services"]);
    for h in s.hosts.iter().filter(|h| h.internal).take(TOP_N) {
        t.add_row([
            h.ip.clone(),
            h.flows_out.to_string(),
            h.flows_in.to_string(),
            h.bytes_out.to_string(),
            h.bytes_in.to_string(),
            h.peers.to_string(),
            h.failed_attempts.to_string(),
            h.services.join(","),
        ]);
    }
    out.push_str(&format!("{t}\n\n"));
    for (title, list) in
        [("DNS NAMES", &s.dns_names), ("TLS SERVER NAMES", &s.tls_server_names), ("HTTP HOSTS", &s.http_hosts)]
    {
        if list.top.is_empty() {
            continue;
        }
        out.push_str(&format!("{title}  {} distinct\n", list.distinct));
        for c in list.top.iter().take(TOP_N) {
            out.push_str(&format!("  {:>6}  {}\n", c.count, terminal_safe(&c.name)));
        }
        out.push('\n');
    }
    if !s.endpoints.is_empty() {
        out.push_str(&format!("ENDPOINT LOGS  {} hosts\n", s.endpoints.len()));
        let mut t = table(width);
        t.set_header(["host", "logs", "events", "first", "last", "processes", "connections", "logons", "failed"]);
        for h in s.endpoints.iter().take(TOP_N) {
            t.add_row([
                terminal_safe(&h.name).into_owned(),
                h.sources.join(","),
                h.events.to_string(),
                h.first.clone().unwrap_or_default(),
                h.last.clone().unwrap_or_default(),
                h.process_starts.to_string(),
                h.connections.to_string(),
                h.logons.to_string(),
                h.failed_logons.to_string(),
            ]);
        }
        out.push_str(&format!("{t}\n\n"));
    }
    if !s.attribution.is_empty() {
        out.push_str(&format!("PROCESS ATTRIBUTION  {} of {} flows have their process\n", s.flows_attributed, s.flows));
        for o in &s.clock_offsets {
            let how = if o.forced {
                "set".to_string()
            } else {
                format!("{} pairs, spread {:.3}s", o.pairs, o.spread as f64 / 1e9)
            };
            let host = if o.host.is_empty() { "(unnamed)" } else { o.host.as_str() };
            out.push_str(&format!(
                "  clock {} [{}]: {:+.3}s ({how})\n",
                terminal_safe(host),
                o.source,
                o.offset as f64 / 1e9
            ));
        }
        for r in &s.attribution {
            let pct = if r.records == 0 { 0.0 } else { 100.0 * r.attributed as f64 / r.records as f64 };
            let host = if r.host.is_empty() { "(unnamed)" } else { r.host.as_str() };
            out.push_str(&format!(
                "  {} [{}]: {} of {} connections and lookups joined to flows ({pct:.0} %)\n",
                terminal_safe(host),
                r.source,
                r.attributed,
                r.records
            ));
        }
        out.push('\n');
    }
    if !s.notable.is_empty() {
        out.push_str("NOTABLE\n");
        for n in &s.notable {
            out.push_str(&format!("  {}  {}  [{}]\n", n.time, terminal_safe(&n.what), terminal_safe(&n.evidence)));
        }
        out.push('\n');
    }
    out.push_str("DIAGNOSTICS\n");
    if diags.is_empty() {
        out.push_str("  none: every record was read\n");
    }
    for (file, kinds) in &diags.by_file {
        for (kind, summary) in kinds {
            out.push_str(&format!("  {}: {} × {}\n", terminal_safe(file), summary.count, kind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testkit::Bundle;
    use crate::model::ConnState;

    #[test]
    fn host_summaries_count_flows_peers_services_and_failures_per_host() {
        let mut b = Bundle::default();
        let web = b.tcp("10.0.0.5", "93.184.216.34", 443, 0.0, 1.0, 100, 5000);
        b.service(web, Service::Tls);
        // The same peer again does not count twice; a second service joins the first.
        let again = b.tcp("10.0.0.5", "93.184.216.34", 80, 5.0, 1.0, 200, 300);
        b.service(again, Service::Http);
        b.udp("10.0.0.5", "10.0.0.1", 53, 6.0, 0.1, 40, 80);
        let refused = b.tcp("10.0.0.9", "10.0.0.5", 22, 7.0, 0.0, 0, 0);
        b.flows[refused].conn_state = ConnState::REJ;
        // A host talking to itself is its own one peer.
        b.udp("10.0.0.1", "10.0.0.1", 123, 8.0, 0.0, 48, 48);

        let hosts = host_summaries(&b.flows);
        let ips: Vec<&str> = hosts.iter().map(|h| h.ip.as_str()).collect();
        // Internal hosts first, busiest first; then the rest.
        assert_eq!(ips, ["10.0.0.5", "10.0.0.1", "10.0.0.9", "93.184.216.34"]);
        let h = &hosts[0];
        assert_eq!((h.flows_out, h.flows_in, h.peers, h.failed_attempts), (3, 1, 3, 0));
        assert_eq!((h.bytes_out, h.bytes_in), (340, 5380));
        assert_eq!(h.services, ["http", "ssl"]);
        let resolver = &hosts[1];
        assert_eq!((resolver.flows_out, resolver.flows_in, resolver.peers), (1, 2, 2));
        assert_eq!(resolver.services, Vec::<String>::new());
        assert_eq!((hosts[2].failed_attempts, hosts[2].peers), (1, 1));
        let remote = &hosts[3];
        assert!(!remote.internal);
        assert_eq!((remote.flows_in, remote.peers, remote.bytes_out), (2, 1, 5300));
    }
}
