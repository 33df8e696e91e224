//! `seam hunt` output: findings as the contract in [`crate::detect::finding`] describes them.
//!
//! JSON: `{"schema":"seam.findings/1","findings":[…],"diagnostics":{…}}` with one finding per
//! line and every member of `host`, `peer` and `process` present (null when unknown). JSON
//! Lines: one finding per line, the same objects. Table: one line per finding (severity,
//! score, detector, time, host → peer, process), its summary wrapped below it and its first
//! evidence. CSV and Parquet: the flat columns below (components as one JSON text, evidence
//! as `file#packet` / `file@record N` / `file:line` references).

use super::output::{Output, ReportError};
use super::render::{diagnostics_json, render, Format, Rendered};
use crate::detect::Finding;
use crate::diag::Diagnostics;
use crate::timeline::schema::{ColType, Column, Value};
use crate::timeline::RowCtx;
use std::borrow::Cow;
use std::io::Write;

pub const SCHEMA: &str = "seam.findings/1";

fn text(s: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(s))
}

fn opt(s: Option<&str>) -> Value<'_> {
    s.map_or(Value::Null, text)
}

/// The flat columns of a finding.
pub const FINDING_COLUMNS: &[Column<Finding>] = &[
    Column { name: "finding.id", ty: ColType::Str, doc: "Stable id of the finding", get: |f, _| text(&f.id) },
    Column {
        name: "finding.severity",
        ty: ColType::Str,
        doc: "info, low, medium, high, critical",
        get: |f, _| text(f.severity.as_str()),
    },
    Column { name: "finding.score", ty: ColType::Float, doc: "Score in [0, 1]", get: |f, _| Value::Float(f.score) },
    Column { name: "finding.detector", ty: ColType::Str, doc: "Detector id", get: |f, _| text(f.detector) },
    Column {
        name: "host.ip",
        ty: ColType::Str,
        doc: "Internal host that acted",
        get: |f, _| f.host.ip.map_or(Value::Null, Value::Ip),
    },
    Column {
        name: "host.name",
        ty: ColType::Str,
        doc: "Its name, when known",
        get: |f, _| opt(f.host.name.as_deref()),
    },
    Column {
        name: "host.managed",
        ty: ColType::Bool,
        doc: "Whether the bundle has its endpoint telemetry",
        get: |f, _| Value::Bool(f.host.managed),
    },
    Column {
        name: "peer.ip",
        ty: ColType::Str,
        doc: "Address of the other side",
        get: |f, _| f.peer.ip.map_or(Value::Null, Value::Ip),
    },
    Column {
        name: "peer.domain",
        ty: ColType::Str,
        doc: "Domain of the other side",
        get: |f, _| opt(f.peer.domain.as_deref()),
    },
    Column {
        name: "peer.port",
        ty: ColType::UInt,
        doc: "Port of the other side",
        get: |f, _| f.peer.port.map_or(Value::Null, |p| Value::UInt(u64::from(p))),
    },
    Column { name: "peer.cidr", ty: ColType::Str, doc: "Range swept (scans)", get: |f, _| opt(f.peer.cidr.as_deref()) },
    Column {
        name: "finding.first_seen",
        ty: ColType::Time,
        doc: "First evidence",
        get: |f, _| Value::Time(f.first_seen),
    },
    Column { name: "finding.last_seen", ty: ColType::Time, doc: "Last evidence", get: |f, _| Value::Time(f.last_seen) },
    Column { name: "threat.tactic.name", ty: ColType::Str, doc: "ATT&CK tactic", get: |f, _| text(f.tactic.as_str()) },
    Column { name: "threat.technique.id", ty: ColType::Str, doc: "ATT&CK technique", get: |f, _| text(f.technique) },
    Column {
        name: "process.pid",
        ty: ColType::UInt,
        doc: "Process an endpoint log ties to it",
        get: |f, _| f.process.as_ref().and_then(|p| p.pid).map_or(Value::Null, Value::UInt),
    },
    Column {
        name: "process.executable",
        ty: ColType::Str,
        doc: "Its image",
        get: |f, _| opt(f.process.as_ref().and_then(|p| p.executable.as_deref())),
    },
    Column {
        name: "process.command_line",
        ty: ColType::Str,
        doc: "Its command line",
        get: |f, _| opt(f.process.as_ref().and_then(|p| p.command_line.as_deref())),
    },
    Column {
        name: "process.source",
        ty: ColType::Str,
        doc: "Log and join that named it",
        get: |f, _| opt(f.process.as_ref().map(|p| p.source.as_str())),
    },
    Column { name: "message", ty: ColType::Str, doc: "One-line summary", get: |f, _| text(&f.summary) },
    Column {
        name: "finding.components",
        ty: ColType::Str,
        doc: "Parts of the score, as JSON",
        get: |f, _| Value::Str(Cow::Owned(components_json(f))),
    },
    Column {
        name: "finding.evidence",
        ty: ColType::StrList,
        doc: "Evidence references (at most 20)",
        get: |f, _| Value::List(f.evidence.iter().map(|e| e.text()).collect()),
    },
    Column {
        name: "finding.evidence_total",
        ty: ColType::UInt,
        doc: "How many evidence references there were",
        get: |f, _| Value::UInt(f.evidence_total),
    },
];

fn components_json(f: &Finding) -> String {
    let v = serde_json::to_value(f).ok().and_then(|v| v.get("components").cloned()).unwrap_or_default();
    v.to_string()
}

/// The terminal form: one line per finding (severity, score, detector, host → peer, time), its
/// summary wrapped to the width below it, then its first evidence and how many more there are.
fn table(findings: &[Finding], width: u16, color: bool) -> String {
    use crate::util::escape::terminal_safe;
    let mut out = String::new();
    let wrap = usize::from(width).saturating_sub(6).max(40);
    for f in findings {
        let (host, peer, process) = (
            super::render::host_label(&f.host),
            super::render::peer_arrow(&f.peer),
            super::render::process_tag(f.process.as_ref()),
        );
        let time = crate::util::time::rfc3339(f.first_seen).chars().take(19).collect::<String>().replace('T', " ");
        out.push_str(&format!(
            "{} {:.2}  {:<23} {time}  {}{}{}\n",
            super::render::severity_label(f.severity, color),
            f.score,
            f.detector,
            terminal_safe(&host),
            terminal_safe(&peer),
            terminal_safe(&process)
        ));
        for line in super::investigate::wrap_words(&terminal_safe(&f.summary), wrap) {
            out.push_str(&format!("    {line}\n"));
        }
        if let Some(e) = f.evidence.first() {
            let more = f.evidence_total.saturating_sub(1);
            let more = if more > 0 { format!(" (+{more} more)") } else { String::new() };
            out.push_str(&format!("    evidence {}{more}  id {}\n", terminal_safe(&e.text()), f.id));
        }
    }
    out.push_str(&format!("{} findings\n", findings.len()));
    out
}

/// Writes findings in `format`.
pub fn write(
    findings: &[Finding],
    diags: &Diagnostics,
    ctx: &RowCtx,
    format: Format,
    width: u16,
    color: bool,
    out: &mut Output,
) -> Result<(), ReportError> {
    let line = |f: &Finding| serde_json::to_vec(f).unwrap_or_default();
    match format {
        Format::Json => {
            let mut buf = format!("{{\"schema\":\"{SCHEMA}\",\"findings\":[").into_bytes();
            for (i, f) in findings.iter().enumerate() {
                buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                buf.extend(line(f));
            }
            buf.extend(format!("\n],\"diagnostics\":{}}}\n", diagnostics_json(diags)).into_bytes());
            out.write_json(&buf)
        }
        Format::Jsonl => {
            for f in findings {
                let mut l = line(f);
                l.push(b'\n');
                out.write_json(&l)?;
            }
            Ok(())
        }
        Format::Timesketch => {
            Err(ReportError::Unsupported { format: format.name(), what: "findings (use json, jsonl, csv or parquet)" })
        }
        Format::Table => {
            let text = table(findings, width, color);
            out.writer.write_all(text.as_bytes()).map_err(|e| out.error(e))
        }
        Format::Csv | Format::Parquet => {
            let r = Rendered {
                rows: findings,
                cols: FINDING_COLUMNS,
                ctx,
                schema: SCHEMA,
                key: "findings",
                table_cols: &[
                    "finding.severity",
                    "finding.score",
                    "finding.detector",
                    "host.ip",
                    "peer.ip",
                    "peer.domain",
                    "finding.first_seen",
                    "message",
                ],
                diagnostics: Some(diags),
                timesketch: None,
                width,
            };
            render(&r, format, out)
        }
    }
}
