//! `seam hunt` over every EVTX sample of the corpus (EVTX-to-MITRE-Attack and
//! hayabusa-sample-evtx): prints which samples fire which detectors, checks that every written
//! endpoint detector fires on at least one sample and that samples of ordinary activity stay at
//! most `low`. Skips with a printed reason when the corpus is absent.

use assert_cmd::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The detectors that judge endpoint logs alone, each of which must fire on some sample. The
/// cross-domain detectors
/// (`process-network-anomaly`, `telemetry-gap`, `unmanaged-asset`, and `webshell`, whose
/// endpoint half — a web server starting a shell — no corpus sample holds) need a capture
/// beside the logs and are tested on generated bundles (tests/hunt.rs).
const ENDPOINT_DETECTORS: &[&str] = &["edr-tamper", "log-cleared", "suspicious-logon", "lolbin-download"];

/// Samples of ordinary activity, without attack content, that must produce nothing above low:
/// - an Application log of routine application events over three years (record ids contiguous,
///   no clearing);
/// - Defender's routine health-status report;
/// - ordinary RD Gateway logons and logoffs.
const BENIGN: &[&str] = &[
    "hayabusa-sample-evtx/DeepBlueCLI/many-events-application.evtx",
    "EVTX-to-MITRE-Attack/Antivirus/ID1151-Defender health status.evtx",
    "hayabusa-sample-evtx/YamatoSecurity/IntialAccess/ValidAccounts/ID302 RDS Gateway Logon Logoff.evtx",
];

const SETS: &[&str] = &["EVTX-to-MITRE-Attack", "hayabusa-sample-evtx"];

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            evtx_files(&path, out);
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")) {
            out.push(path);
        }
    }
}

/// (detector, severity) of each finding of one sample.
fn hunt(path: &Path) -> Vec<(String, String)> {
    let out = Command::cargo_bin("seam")
        .expect("seam binary")
        .args(["hunt", "--format", "json", "-q", "--threads", "1"])
        .arg(path)
        .output()
        .expect("seam runs");
    assert!(out.status.code() == Some(0), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("findings JSON");
    json["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["detector"].as_str().unwrap_or_default().to_string(),
                        f["severity"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn endpoint_detectors_on_the_evtx_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files = Vec::new();
    for set in SETS {
        evtx_files(&root.join(set), &mut files);
    }
    if files.is_empty() {
        println!("skipped: no EVTX samples under {}", root.display());
        return;
    }
    files.sort();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let results: Mutex<BTreeMap<String, Vec<(String, String)>>> = Mutex::new(BTreeMap::new());
    let next = Mutex::new(0usize);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("counter");
                    *n += 1;
                    *n - 1
                };
                let Some(path) = files.get(i) else { break };
                let found = hunt(path);
                results.lock().expect("results").insert(rel(path), found);
            });
        }
    });
    let results = results.into_inner().expect("results");

    let mut per_detector: BTreeMap<&str, usize> = BTreeMap::new();
    println!("\n{} samples; samples → detectors at medium or above:", results.len());
    for (sample, found) in &results {
        let detectors: BTreeSet<&str> = found.iter().map(|(d, _)| d.as_str()).collect();
        for d in &detectors {
            *per_detector.entry(d).or_default() += 1;
        }
        let strong: BTreeSet<String> = found
            .iter()
            .filter(|(_, s)| matches!(s.as_str(), "medium" | "high" | "critical"))
            .map(|(d, s)| format!("{d} ({s})"))
            .collect();
        if !strong.is_empty() {
            println!("  {sample}: {}", strong.into_iter().collect::<Vec<_>>().join(", "));
        }
    }
    println!("detector → samples with any finding:");
    for (d, n) in &per_detector {
        println!("  {d:<25} {n}");
    }

    for d in ENDPOINT_DETECTORS.iter().map(|d| d.to_string()) {
        assert!(per_detector.contains_key(d.as_str()), "{d} fires on no sample of the corpus");
    }
    for sample in BENIGN {
        let Some(found) = results.get(*sample) else {
            println!("benign sample {sample} absent: not checked");
            continue;
        };
        let loud: Vec<_> = found.iter().filter(|(_, s)| !matches!(s.as_str(), "info" | "low")).collect();
        assert!(loud.is_empty(), "benign sample {sample} gives {loud:?}");
    }
}
