//! The `seam check` report: one line per expectation (✓ met, ✗ not, with the finding or
//! incident that met it or the nearest miss below), then what nothing expected, then the
//! verdict. Every text that came from evidence or from the expectations file is escaped.
//!
//! ```text
//! FINDINGS  2 of 3 met
//!   ✓ beacon on 10.113.0.1 → 45.77.8.39, at least medium
//!       high beacon 10.113.0.1 → 45.77.8.39:443  10.113.0.1 → 45.77.8.39:443 every 212 s …  [F3c1d…]
//!   ✗ exfil on 10.113.0.1, at least medium
//!       only low: exfil 10.113.0.1 → 45.77.8.39:8080  …  [F09ab…]
//! INCIDENTS  1 of 1 met
//!   ✓ incident with 10.113.0.1, db01; stages in order oast → scan → cryptominer; at least high
//!       critical I5e2f…  score 1.00  20 stage(s) on 3 host(s) …
//! UNEXPECTED  above low: 0 findings, 0 incidents
//! FAILED  1 of 4 expectations not met, nothing unexpected
//! ```

use crate::chains::Incident;
use crate::check::{CheckResult, FindingExpectation, IncidentExpectation};
use crate::detect::Finding;
use crate::util::escape::terminal_safe;

/// The report as text.
pub fn text(r: &CheckResult, expect_label: &str) -> String {
    let mut out = String::new();
    let mut line = |indent: &str, text: String| {
        out.push_str(indent);
        out.push_str(&terminal_safe(&text));
        out.push('\n');
    };
    line("", format!("seam check against {expect_label}"));
    let met = r.findings.iter().filter(|v| v.met.is_some()).count();
    line("", format!("FINDINGS  {met} of {} met", r.findings.len()));
    for v in &r.findings {
        let mark = if v.met.is_some() { "✓" } else { "✗" };
        line("  ", format!("{mark} {}", describe_finding(&v.expect)));
        match (&v.met, &v.below) {
            (Some(f), _) => line("      ", finding_line(f)),
            (None, Some(f)) => line("      ", format!("only {}: {}", f.severity.as_str(), finding_line(f))),
            (None, None) if v.of_detector == 0 => line("      ", format!("no {} finding at all", v.expect.detector)),
            (None, None) => {
                line(
                    "      ",
                    format!("none matches; {} made {} finding(s), such as:", v.expect.detector, v.of_detector),
                );
                for f in &v.others {
                    line("        ", finding_line(f));
                }
            }
        }
    }
    let met = r.incidents.iter().filter(|v| v.met()).count();
    line("", format!("INCIDENTS  {met} of {} met", r.incidents.len()));
    for v in &r.incidents {
        let mark = if v.met() { "✓" } else { "✗" };
        line("  ", format!("{mark} {}", describe_incident(&v.expect)));
        match &v.nearest {
            None => line("      ", "no incident at all".into()),
            Some((i, _)) if v.met() => line("      ", incident_line(i)),
            Some((i, fit)) => {
                line("      ", format!("nearest: {}", incident_line(i)));
                if !fit.missing_hosts.is_empty() {
                    line("      ", format!("lacks host(s) {}", fit.missing_hosts.join(", ")));
                }
                if fit.order_matched < v.expect.order.len() {
                    let stages: Vec<&str> = i.stages.iter().map(|s| s.detector).collect();
                    line(
                        "      ",
                        format!(
                            "no `{}` stage after {}; its stages: {}",
                            v.expect.order[fit.order_matched],
                            match fit.order_matched {
                                0 => "the start".to_string(),
                                n => v.expect.order[..n].join(" → "),
                            },
                            stages.join(", ")
                        ),
                    );
                }
                if !fit.severity_ok {
                    if let Some(m) = v.expect.min_severity {
                        line("      ", format!("severity {} is below {}", i.severity.as_str(), m.as_str()));
                    }
                }
            }
        }
    }
    match r.unexpected_above {
        None => line("", "UNEXPECTED  not checked (no unexpected_above)".into()),
        Some(above) => {
            line(
                "",
                format!(
                    "UNEXPECTED  above {}: {} finding(s), {} incident(s)",
                    above.as_str(),
                    r.unexpected_findings.len(),
                    r.unexpected_incidents.len()
                ),
            );
            for i in &r.unexpected_incidents {
                line("  ✗ incident ", incident_line(i));
            }
            for f in &r.unexpected_findings {
                line("  ✗ finding ", finding_line(f));
            }
        }
    }
    let total = r.findings.len() + r.incidents.len();
    let failed = total - r.findings.iter().filter(|v| v.met.is_some()).count() - met;
    let unexpected = r.unexpected_findings.len() + r.unexpected_incidents.len();
    if r.passed() {
        line("", format!("PASSED  {total} expectation(s) met, nothing unexpected"));
    } else {
        line("", format!("FAILED  {failed} of {total} expectation(s) not met, {unexpected} unexpected"));
    }
    out
}

fn describe_finding(e: &FindingExpectation) -> String {
    let mut s = e.detector.clone();
    if let Some(h) = &e.host {
        s.push_str(&format!(" on {h}"));
    }
    if let Some(p) = &e.peer {
        s.push_str(&format!(" → {p}"));
    }
    if let Some(p) = &e.process {
        s.push_str(&format!(" by {p}"));
    }
    if let Some(m) = e.min_severity {
        s.push_str(&format!(", at least {}", m.as_str()));
    }
    s
}

fn describe_incident(e: &IncidentExpectation) -> String {
    let mut parts = Vec::new();
    if !e.hosts.is_empty() {
        parts.push(format!("with {}", e.hosts.join(", ")));
    }
    if !e.order.is_empty() {
        parts.push(format!("stages in order {}", e.order.join(" → ")));
    }
    if let Some(m) = e.min_severity {
        parts.push(format!("at least {}", m.as_str()));
    }
    if parts.is_empty() {
        "an incident".into()
    } else {
        format!("incident {}", parts.join("; "))
    }
}

/// `high beacon 10.0.0.1 → 45.77.8.39:443  <summary>  [F…]`
fn finding_line(f: &Finding) -> String {
    let (host, peer) = (super::render::host_label(&f.host), super::render::peer_arrow(&f.peer));
    format!("{} {} {host}{peer}  {}  [{}]", f.severity.as_str(), f.detector, f.summary, f.id)
}

/// `critical I5e2f…  score 1.00  <summary>`
fn incident_line(i: &Incident) -> String {
    format!("{} {}  score {:.2}  {}", i.severity.as_str(), i.id, i.score, i.summary)
}
