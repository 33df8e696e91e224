//! `seam investigate` against generated bundles with known truth: every injected stage a
//! written detector covers is a stage of an incident, on the right host, with the right peer
//! (address or domain) and process when the truth names them; the attack is ONE incident
//! spanning the appliance, FS01 and db01, its stages in the truth's time order; `benign` has no
//! incident above `low`; and `seam check` passes the `expect.toml` that `seam synth` writes.
//!
//! Seeds 1..=5 by default (capture length 2, 3 or 6 hours by seed); `SEAM_INVESTIGATE_SEEDS=20`
//! runs the full sweep. Also: `--timeline` writes what `seam timeline` writes, and the demo
//! bundle's JSON report is pinned by a snapshot (`tests/snapshots/`).

use crate::support::bundles::{detectors, rank, seam, synth};
use serde_json::Value;
use std::path::Path;

fn investigate(dir: &Path) -> Value {
    let out = seam().arg("investigate").arg(dir).args(["-f", "json", "-q"]).output().expect("seam runs");
    assert!(out.status.success(), "investigate failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(doc["schema"], "seam.investigate/1");
    doc
}

fn nanos(rfc3339: &Value) -> i64 {
    let text = rfc3339.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or_else(|| panic!("not a time: {text}"))
}

/// Whether incident stage `st` is the truth stage `s`: same detector and host, and the peer
/// address, domain and process executable the truth names, when it names them.
fn matches(st: &Value, s: &Value) -> bool {
    if st["detector"] != s["behaviour"] || st["host"]["ip"] != s["host"] {
        return false;
    }
    let peer_ok = s["peer"].is_null() || st["peer"]["ip"] == s["peer"];
    let domain_ok = s["domain"].is_null()
        || st["peer"]["domain"].as_str().is_some_and(|d| {
            let want = s["domain"].as_str().unwrap_or_default();
            d == want || want.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{want}"))
        });
    let process_ok = s["process"].is_null() || st["process"]["executable"] == s["process"];
    peer_ok && domain_ok && process_ok
}

/// Checks one `appliance-compromise` bundle; returns the problems found.
fn check_attack(seed: u64, hours: f64, known: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = synth(dir.path(), "appliance-compromise", seed, hours);
    let report = investigate(dir.path());
    let case = format!("appliance-compromise seed {seed} {hours} h");
    let mut problems = Vec::new();
    let incidents = report["incidents"].as_array().cloned().unwrap_or_default();
    let stages: Vec<&Value> = truth["stages"]
        .as_array()
        .map(|a| a.iter().filter(|s| known.iter().any(|k| s["behaviour"] == k.as_str())).collect())
        .unwrap_or_default();
    if stages.len() < 10 {
        problems.push(format!("{case}: only {} truth stages have a written detector", stages.len()));
    }
    for s in &stages {
        if !incidents.iter().any(|i| i["stages"].as_array().is_some_and(|st| st.iter().any(|st| matches(st, s)))) {
            problems.push(format!(
                "{case}: no incident has the {} stage {} → {} {} {}",
                s["behaviour"], s["host"], s["peer"], s["domain"], s["process"]
            ));
        }
    }
    // One incident holds every stage.
    let whole = incidents.iter().find(|i| {
        let st = i["stages"].as_array().cloned().unwrap_or_default();
        stages.iter().all(|s| st.iter().any(|x| matches(x, s)))
    });
    let Some(incident) = whole else {
        let summaries: Vec<String> = incidents.iter().map(|i| format!("{} {}", i["severity"], i["summary"])).collect();
        problems.push(format!("{case}: no single incident holds every stage; incidents: {summaries:#?}"));
        return problems;
    };
    if rank(incident) < 3 {
        problems.push(format!("{case}: the attack incident is only {}", incident["severity"]));
    }
    // The appliance, FS01 and db01 are among its hosts, by address and by name.
    let hosts = incident["hosts"].as_array().cloned().unwrap_or_default();
    for s in &stages {
        if !hosts.iter().any(|h| h["ip"] == s["host"]) {
            problems.push(format!("{case}: the incident's hosts lack {} ({})", s["host"], s["behaviour"]));
        }
    }
    for name in ["fs01", "db01"] {
        let named = hosts
            .iter()
            .any(|h| h["name"].as_str().is_some_and(|n| n.to_ascii_lowercase().split('.').next() == Some(name)));
        if !named {
            problems.push(format!("{case}: the incident's hosts lack {name}: {hosts:?}"));
        }
    }
    // Stage order follows the truth's time order: each truth stage is placed at its matching
    // stage nearest in time, and stages that start apart in the truth keep their order.
    let st = incident["stages"].as_array().cloned().unwrap_or_default();
    let placed: Vec<(i64, usize, String)> = stages
        .iter()
        .filter_map(|s| {
            let first = s["first"].as_i64().unwrap_or_default();
            let pos = (0..st.len())
                .filter(|&k| matches(&st[k], s))
                .min_by_key(|&k| ((nanos(&st[k]["time"]) - first).abs(), k))?;
            Some((first, pos, format!("{} {} → {}", s["behaviour"], s["host"], s["peer"])))
        })
        .collect();
    for a in &placed {
        for b in &placed {
            if a.0 < b.0 && a.1 > b.1 {
                problems.push(format!(
                    "{case}: {} (stage {}) comes after {} (stage {}) though it started first",
                    a.2, a.1, b.2, b.1
                ));
            }
        }
    }
    // The expectations `seam synth` wrote pass `seam check`.
    let check = seam()
        .arg("check")
        .arg(dir.path())
        .arg("--expect")
        .arg(dir.path().join("expect.toml"))
        .arg("-q")
        .output()
        .expect("seam runs");
    if check.status.code() != Some(0) {
        problems.push(format!(
            "{case}: seam check exited {:?}:\n{}{}",
            check.status.code(),
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    problems
}

/// Checks one `benign` bundle: no incident above low.
fn check_benign(seed: u64, hours: f64) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "benign", seed, hours);
    let report = investigate(dir.path());
    report["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| rank(i) > 1)
        .map(|i| format!("benign seed {seed} {hours} h: {} incident {}", i["severity"], i["summary"]))
        .collect()
}

fn seeds() -> u64 {
    std::env::var("SEAM_INVESTIGATE_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

#[test]
fn attack_stages_form_one_ordered_incident_and_benign_stays_low() {
    let known = detectors();
    let mut problems = Vec::new();
    for seed in 1..=seeds() {
        let hours = [2.0, 3.0, 6.0][(seed % 3) as usize];
        problems.extend(check_attack(seed, hours, &known));
        problems.extend(check_benign(seed, hours));
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn check_reports_misses_and_bad_expectations() {
    let dir = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "appliance-compromise", 3, 2.0);
    let expect = dir.path().join("mine.toml");
    let run = |text: &str| {
        std::fs::write(&expect, text).expect("write expectations");
        let out = seam().arg("check").arg(dir.path()).arg("--expect").arg(&expect).arg("-q").output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = run("[[finding]]\ndetector = \"cryptominer\"\nhost = \"db01\"\nprocess = \"xmrig\"\n");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("✓ cryptominer on db01 by xmrig") && stdout.contains("PASSED"), "{stdout}");

    // A missing finding, an order the incident does not have, and findings nothing expects.
    let (code, stdout, _) = run("unexpected_above = \"low\"\n[[finding]]\ndetector = \"exfil\"\nhost = \"db01\"\n\
         [[incident]]\norder = [\"cryptominer\", \"scan\"]\n");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("✗ exfil on db01") && stdout.contains("none matches; exfil made"), "{stdout}");
    assert!(stdout.contains("✗ incident stages in order cryptominer → scan"), "{stdout}");
    assert!(stdout.contains("no `scan` stage after cryptominer"), "{stdout}");
    assert!(stdout.contains("✗ finding critical beacon"), "{stdout}");
    assert!(stdout.contains("FAILED  2 of 2 expectation(s) not met"), "{stdout}");

    // A bad file is a usage error naming the file and the key.
    let (code, _, stderr) = run("[[finding]]\ndetector = \"beacon\"\nmin_severty = \"high\"\n");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("mine.toml") && stderr.contains("unknown field `min_severty`"), "{stderr}");
    let (code, _, stderr) = run("[[incident]]\norder = [\"beacon\", \"bacon\"]\n");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("[[incident]] 1 order: unknown detector `bacon`"), "{stderr}");
}

#[test]
fn timeline_beside_the_report_is_the_timeline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "appliance-compromise", 4, 2.0);
    for ext in ["jsonl", "csv", "parquet"] {
        let beside = out.path().join(format!("beside.{ext}"));
        let alone = out.path().join(format!("alone.{ext}"));
        let report = out.path().join("report.json");
        seam()
            .arg("investigate")
            .arg(dir.path())
            .args(["-q", "-f", "json", "-o"])
            .arg(&report)
            .arg("--timeline")
            .arg(&beside)
            .assert()
            .success();
        seam().arg("timeline").arg(dir.path()).args(["-q", "-f", ext, "-o"]).arg(&alone).assert().success();
        let (a, b) = (std::fs::read(&beside).expect("timeline written"), std::fs::read(&alone).expect("written"));
        assert!(a == b, "--timeline {ext} differs from seam timeline ({} vs {} bytes)", a.len(), b.len());
        // The report is what it is without --timeline.
        let plain = seam().arg("investigate").arg(dir.path()).args(["-q", "-f", "json"]).output().expect("runs");
        assert_eq!(std::fs::read(&report).expect("report written"), plain.stdout);
    }
    // Flows are in it.
    let text = std::fs::read_to_string(out.path().join("beside.jsonl")).expect("jsonl");
    assert!(text.lines().any(|l| l.contains("\"kind\":\"flow\"")), "no flow events");
    // Unknown extensions are refused before anything is read.
    let bad = seam()
        .arg("investigate")
        .arg(dir.path().join("missing"))
        .arg("--timeline")
        .arg(out.path().join("t.json"))
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".parquet, .csv or .jsonl"));
    assert!(std::fs::read_dir(out.path()).expect("dir").flatten().all(|e| e.file_name() != "t.json"));
}

/// Replaces the checkout's absolute path in every string (there should be none: the bundle is
/// named by a relative path), so the snapshot does not depend on where the tests run.
fn redact(v: &mut Value, root: &str) {
    match v {
        Value::String(s) if s.contains(root) => *s = s.replace(root, "[root]"),
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, root)),
        Value::Object(o) => o.values_mut().for_each(|x| redact(x, root)),
        _ => {}
    }
}

#[test]
fn demo_report_json_is_pinned() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = seam()
        .current_dir(root)
        .args(["investigate", "testdata/demo", "-f", "json", "-q"])
        .output()
        .expect("seam runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut doc: Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    redact(&mut doc, root);
    insta::assert_json_snapshot!("demo_report", doc);
}

#[test]
fn the_report_is_the_same_whatever_the_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "appliance-compromise", 11, 6.0);
    let run = |threads: &str| {
        let out = seam()
            .args(["--threads", threads, "investigate", "-q", "-f", "json"])
            .arg(dir.path())
            .output()
            .expect("runs");
        assert!(out.status.success());
        out.stdout
    };
    let one = run("1");
    assert!(String::from_utf8_lossy(&one).contains("\"incidents\""));
    assert_eq!(one, run("4"));
}

/// The report's span is the evidence on the capture's clock: an endpoint log moved by its
/// clock offset moves the span with it, so every incident lies within it.
#[test]
fn the_span_follows_corrected_clocks() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let out = seam()
        .arg("investigate")
        .arg(&demo)
        .args(["--clock-offset", "db01=-2h", "-f", "json", "-q"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let (first, last) = (nanos(&doc["summary"]["first"]), nanos(&doc["summary"]["last"]));
    for incident in doc["incidents"].as_array().expect("incidents") {
        assert!(nanos(&incident["first_seen"]) >= first && nanos(&incident["last_seen"]) <= last, "{incident:#}");
    }
}
