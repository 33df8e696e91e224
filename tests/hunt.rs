//! `seam hunt` against generated bundles with known truth: every injected behaviour a written
//! detector covers is found on the right host and peer (and process, when the truth names
//! one), and nothing above `low` is said about a host that did nothing wrong.
//!
//! Each case generates a bundle with `seam synth` (seed and capture length in the case list),
//! hunts it, and compares the findings with `truth.json`. `SEAM_HUNT_SEEDS=N` widens the sweep
//! to seeds 1..=N at 2, 6 and 24 hours.

use crate::support::bundles::{detectors, rank, seam, synth, synth_with};
use serde_json::Value;
use std::path::Path;

fn hunt(dir: &Path, extra: &[&str]) -> Vec<Value> {
    let out = seam().arg("hunt").arg(dir).args(["-q", "-f", "json"]).args(extra).output().expect("seam runs");
    assert!(out.status.success(), "hunt failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("findings JSON");
    assert_eq!(doc["schema"], "seam.findings/1");
    doc["findings"].as_array().cloned().unwrap_or_default()
}

/// Whether finding `f` is the stage `s` of the truth: same behaviour and host, and the peer
/// (address or domain) the truth names, when it names one.
fn matches(f: &Value, s: &Value) -> bool {
    if f["detector"] != s["behaviour"] || f["host"]["ip"] != s["host"] {
        return false;
    }
    let peer_ok = s["peer"].is_null() || f["peer"]["ip"] == s["peer"];
    let domain_ok = s["domain"].is_null()
        || f["peer"]["domain"].as_str().is_some_and(|d| {
            let want = s["domain"].as_str().unwrap_or_default();
            d == want || want.ends_with(&format!(".{d}")) || d.ends_with(&format!(".{want}"))
        });
    let process_ok = s["process"].is_null() || f["process"]["executable"] == s["process"];
    peer_ok && domain_ok && process_ok
}

/// Checks one generated bundle; returns the problems found.
fn check_case(scenario: &str, seed: u64, hours: f64) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = synth(dir.path(), scenario, seed, hours);
    let case = format!("{scenario} seed {seed} {hours} h");
    check_findings(&case, &truth, &hunt(dir.path(), &[]))
}

/// The problems of `findings` against `truth`: a stage missed or below medium, a host that
/// did nothing wrong with a finding above low.
fn check_findings(case: &str, truth: &Value, findings: &[Value]) -> Vec<String> {
    let known = detectors();
    let mut problems = Vec::new();
    let stages = truth["stages"].as_array().cloned().unwrap_or_default();
    for s in &stages {
        let behaviour = s["behaviour"].as_str().unwrap_or_default();
        if !known.iter().any(|k| k == behaviour) {
            continue;
        }
        match findings.iter().filter(|f| matches(f, s)).max_by_key(|f| rank(f)) {
            None => problems.push(format!("{case}: missed {behaviour} {} → {} {}", s["host"], s["peer"], s["domain"])),
            Some(f) if rank(f) < 2 => problems.push(format!(
                "{case}: {behaviour} {} → {} found only at {} ({})",
                s["host"], s["peer"], f["severity"], f["score"]
            )),
            Some(_) => {}
        }
    }
    let acting: Vec<&Value> = stages.iter().map(|s| &s["host"]).collect();
    for f in findings {
        if rank(f) > 1 && !acting.contains(&&f["host"]["ip"]) {
            problems.push(format!(
                "{case}: benign host {} has a {} {} finding: {}",
                f["host"]["ip"], f["severity"], f["detector"], f["summary"]
            ));
        }
    }
    problems
}

fn cases() -> Vec<(&'static str, u64, f64)> {
    let mut cases = vec![
        ("appliance-compromise", 1, 2.0),
        ("appliance-compromise", 2, 6.0),
        ("appliance-compromise", 3, 3.0),
        ("benign", 4, 4.0),
    ];
    if let Some(n) = std::env::var("SEAM_HUNT_SEEDS").ok().and_then(|s| s.parse::<u64>().ok()) {
        for seed in 1..=n {
            for hours in [2.0, 6.0, 24.0] {
                cases.push(("appliance-compromise", seed, hours));
            }
            cases.push(("benign", seed, 12.0));
        }
    }
    cases
}

#[test]
fn injected_behaviours_are_found_and_benign_hosts_stay_low() {
    let problems: Vec<String> = cases().into_iter().flat_map(|(s, seed, h)| check_case(s, seed, h)).collect();
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// One workstation (`--hosts 1`): three internal hosts, and the workstation alone keeps time
/// with its NTP server, so that server is used by one internal host in three — exactly as rare
/// as the appliance's C2 servers. Prevalence cannot tell the two apart; NTP polling, periodic
/// by design, must not be reported as a beacon, and the C2 beacons must still be found.
#[test]
fn one_workstation_keeping_time_is_no_beacon() {
    let mut problems = Vec::new();
    for (scenario, seed, hours) in
        [("appliance-compromise", 1, 6.0), ("appliance-compromise", 2, 24.0), ("benign", 3, 12.0)]
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let truth = synth_with(dir.path(), scenario, seed, hours, &["--hosts", "1"]);
        let case = format!("{scenario} seed {seed} {hours} h, one workstation");
        let findings = hunt(dir.path(), &[]);
        problems.extend(check_findings(&case, &truth, &findings));
        for f in findings.iter().filter(|f| f["detector"] == "beacon" && f["peer"]["port"] == 123) {
            problems.push(format!("{case}: NTP reported as a beacon: {} ({})", f["summary"], f["severity"]));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn same_findings_whatever_the_thread_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "appliance-compromise", 5, 2.0);
    let run = |threads: &str| {
        let out =
            seam().args(["--threads", threads, "hunt", "-q", "-f", "json"]).arg(dir.path()).output().expect("runs");
        assert!(out.status.success());
        out.stdout
    };
    assert_eq!(run("1"), run("4"));
}

#[test]
fn allowlist_baseline_and_fail_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    synth(dir.path(), "appliance-compromise", 6, 2.0);
    let all = hunt(dir.path(), &[]);
    let oast = all.iter().find(|f| f["detector"] == "oast").expect("an oast finding");
    let domain = oast["peer"]["domain"].as_str().expect("oast names its service").to_string();
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, format!("# known scanner service\n*.{domain}\n")).expect("write allowlist");
    let allowed = hunt(dir.path(), &["--allow", allow.to_str().expect("utf-8 path")]);
    assert_eq!(allowed.len(), all.len() - all.iter().filter(|f| f["peer"]["domain"] == *domain).count());

    // A baseline learned from this very bundle makes nothing in it new or rare.
    let baseline = dir.path().join("baseline.json");
    seam().arg("learn").arg(dir.path()).arg("-q").arg("-o").arg(&baseline).assert().success();
    let text = std::fs::read_to_string(&baseline).expect("baseline written");
    assert!(text.contains("\"schema\": \"seam.baseline/1\""));
    hunt(dir.path(), &["--baseline", baseline.to_str().expect("utf-8 path")]);

    let high = all.iter().any(|f| rank(f) >= 3);
    let status =
        seam().arg("hunt").arg(dir.path()).args(["-q", "-f", "jsonl", "--fail-on", "high"]).output().expect("runs");
    assert_eq!(status.status.code(), Some(if high { 1 } else { 0 }));
    let bad = seam().arg("hunt").arg(dir.path()).args(["--detector", "nope"]).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown detector `nope`"));
}

#[test]
fn the_table_reads_at_a_hundred_columns() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let out = seam()
        .arg("hunt")
        .arg(&demo)
        .args(["-q", "-f", "table", "--min-severity", "medium"])
        .env("COLUMNS", "100")
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("CRITICAL") && l.contains("beacon")), "{text}");
    assert!(lines.iter().any(|l| l.contains("[xmrig 31337]")), "the process is named: {text}");
    // Summaries wrap to the width (an evidence path is as long as the checkout's path).
    let summaries = lines.iter().filter(|l| l.starts_with("    ") && !l.starts_with("    evidence "));
    assert!(summaries.clone().all(|l| l.chars().count() <= 100), "{text}");
    assert!(summaries.count() > 0);
    assert!(lines.last().is_some_and(|l| l.ends_with(" findings")));
}
