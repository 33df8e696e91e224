//! `seam investigate --html FILE`: the report of the demo bundle holds every incident with its
//! stage count, references nothing on the network, is well formed enough for a browser, is the
//! same bytes on every run, and stays out of evidence directories unless allowed. When a
//! Chromium or Chrome is installed, a headless browser opens it, its DOM holds the incidents
//! and it logs nothing to the console (the report has no script, so any console line is a
//! blocked fetch or an error); a screenshot is left in the temporary directory.

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn seam() -> Command {
    Command::cargo_bin("seam").expect("binary built")
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo")
}

/// Runs the investigation of the demo bundle with the JSON report and the HTML report in `dir`;
/// returns the HTML and the JSON document.
fn investigate_demo(dir: &Path, extra: &[&str]) -> (String, Value) {
    let html = dir.join("report.html");
    let json = dir.join("report.json");
    seam()
        .arg("investigate")
        .arg(demo())
        .arg("--html")
        .arg(&html)
        .args(["-q", "-f", "json", "-o"])
        .arg(&json)
        .args(extra)
        .assert()
        .success();
    let text = std::fs::read_to_string(&html).expect("html report written");
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).expect("json report written")).expect("json");
    (text, doc)
}

/// `(id, stages)` of every incident in the JSON report.
fn incidents(doc: &Value) -> Vec<(String, usize)> {
    doc["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| (i["id"].as_str().expect("id").to_string(), i["stages"].as_array().map_or(0, |s| s.len())))
        .collect()
}

#[test]
fn html_report_holds_every_incident_and_fetches_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (html, doc) = investigate_demo(dir.path(), &[]);
    let incidents = incidents(&doc);
    assert!(!incidents.is_empty(), "the demo bundle has incidents");
    for (id, stages) in &incidents {
        assert!(html.contains(&format!("id=\"{id}\" data-stages=\"{stages}\"")), "incident {id} ({stages} stages)");
        assert!(html.contains(&format!("{stages} stage(s)")), "stage count of {id}");
    }
    // One timeline and one graph per incident, each with one mark per stage.
    let stages: usize = incidents.iter().map(|(_, n)| n).sum();
    assert_eq!(html.matches("<g class=\"mark\"").count(), stages);
    assert_eq!(html.matches("<svg").count(), 2 * incidents.len());
    // Every finding is listed; the evidence files are named with their hashes.
    for f in doc["findings"].as_array().expect("findings") {
        assert!(html.contains(f["id"].as_str().expect("finding id")));
    }
    for e in doc["evidence"].as_array().expect("evidence") {
        if let Some(h) = e["file"]["hash"]["sha256"].as_str() {
            assert!(html.contains(h), "sha256 {h}");
        }
    }

    let lower = html.to_ascii_lowercase();
    for forbidden in [
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "href=\"//",
        "src=\"//",
        "url(http",
        "url(//",
        "url('http",
        "url(\"http",
        "@import",
        "<script",
        "<iframe",
        "<object",
        "<embed",
    ] {
        assert!(!lower.contains(forbidden), "the report contains {forbidden}");
    }
    assert!(lower.contains("content-security-policy") && lower.contains("default-src 'none'"));

    // Well formed enough: paired containers and one document.
    for tag in ["svg", "table", "details", "article", "section", "g", "tr"] {
        let open = lower.matches(&format!("<{tag}>")).count() + lower.matches(&format!("<{tag} ")).count();
        let close = lower.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}> opened {open} times, closed {close}");
    }
    assert!(lower.starts_with("<!doctype html>") && lower.trim_end().ends_with("</html>"));
    assert_eq!(lower.matches("<html").count(), 1);

    // Written atomically: no temporary file is left beside it.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(names, ["report.html", "report.json"]);
}

#[test]
fn html_report_is_the_same_bytes_on_every_run() {
    let a = tempfile::tempdir().expect("temporary directory");
    let b = tempfile::tempdir().expect("temporary directory");
    let (first, _) = investigate_demo(a.path(), &["--threads", "1"]);
    let (second, _) = investigate_demo(b.path(), &["--threads", "3"]);
    assert!(first == second, "the HTML report differs between runs");
}

#[test]
fn html_report_stays_out_of_evidence_directories_unless_allowed() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let evidence = dir.path().join("case");
    std::fs::create_dir(&evidence).expect("evidence directory");
    let log = evidence.join("db01-audit.log");
    std::fs::copy(demo().join("db01-audit.log"), &log).expect("copy evidence");
    let original = std::fs::read(&log).expect("read evidence");
    let run = |html: &Path, extra: &[&str]| {
        seam()
            .arg("investigate")
            .arg(&evidence)
            .arg("--html")
            .arg(html)
            .args(["-q", "-o", "/dev/null"])
            .args(extra)
            .assert()
    };

    let inside = evidence.join("report.html");
    run(&inside, &[]).code(2).stderr(
        predicates::str::contains("inside the evidence directory")
            .and(predicates::str::contains("--allow-evidence-dir")),
    );
    assert!(!inside.exists());
    // Through `..` and a subdirectory it is still inside.
    let sneaky = evidence.join("sub").join("..").join("report.html");
    std::fs::create_dir(evidence.join("sub")).expect("subdirectory");
    run(&sneaky, &[]).code(2);
    std::fs::remove_dir(evidence.join("sub")).expect("remove subdirectory");

    run(&inside, &["--allow-evidence-dir"]).success();
    assert!(std::fs::read_to_string(&inside).expect("report").starts_with("<!DOCTYPE html>"));
    // An earlier report may be replaced; a file of the bundle never.
    run(&inside, &["--allow-evidence-dir"]).success();
    run(&log, &["--allow-evidence-dir"]).code(2).stderr(predicates::str::contains("would overwrite"));
    assert_eq!(std::fs::read(&log).expect("evidence"), original, "the evidence file is untouched");

    // A directory, a missing directory, and --allow-evidence-dir without a file to write are refused.
    run(dir.path(), &[]).code(2).stderr(predicates::str::contains("is a directory"));
    run(&dir.path().join("missing/report.html"), &[]).code(2);
    seam()
        .arg("investigate")
        .arg(&evidence)
        .args(["--allow-evidence-dir", "-q", "-f", "json"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("applies to -o, --html and --timeline"));
    // Beside the bundle is fine.
    run(&dir.path().join("report.html"), &[]).success();
}

/// The first Chromium-family browser on PATH.
fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Headless browser arguments: no GPU, no sandbox (tests may run as root), a profile of its
/// own so that parallel runs do not share one.
fn headless(browser: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args(["--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .timeout(Duration::from_secs(120));
    cmd
}

#[test]
fn html_report_renders_in_a_headless_browser() {
    let Some(browser) = browser() else {
        eprintln!("skipped: no chromium, chromium-browser or google-chrome on PATH");
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_, doc) = investigate_demo(dir.path(), &[]);
    let url = format!("file://{}", dir.path().join("report.html").display());

    let out =
        headless(&browser, &dir.path().join("profile-dom")).arg("--dump-dom").arg(&url).output().expect("browser");
    assert!(out.status.success(), "{} --dump-dom failed: {}", browser.display(), String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout);
    for (id, stages) in incidents(&doc) {
        assert!(dom.contains(&format!("id=\"{id}\"")), "the rendered DOM lacks incident {id}");
        assert!(dom.contains(&format!("data-stages=\"{stages}\"")));
    }
    assert!(dom.contains("<svg"), "the charts are in the DOM");

    let shot = std::env::temp_dir().join("seam-report.png");
    let out = headless(&browser, &dir.path().join("profile-shot"))
        .args(["--enable-logging=stderr", "--v=0", "--window-size=1280,2000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("browser");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} --screenshot failed: {log}", browser.display());
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("console error"))
        .collect();
    assert!(console.is_empty(), "the report logged to the browser console: {console:#?}");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot {} is {size} bytes", shot.display());
    eprintln!("screenshot of the HTML report: {}", shot.display());
}
