//! Layers import only to their left (ARCHITECTURE.md): a scan of every `crate::` path in `src/`.

use std::collections::BTreeMap;
use std::path::Path;

/// Each layer and the crate modules it may use.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    const L0: &[&str] = &["util", "diag", "model"];
    let mut m: BTreeMap<&'static str, &'static [&'static str]> = BTreeMap::new();
    m.insert("util", &[]);
    m.insert("diag", &["util"]);
    m.insert("model", &["util"]);
    m.insert("evidence", L0);
    m.insert("sources", L0);
    m.insert("decode", L0);
    m.insert("flows", &["util", "diag", "model", "decode"]);
    m.insert("normalize", &["util", "diag", "model", "decode", "flows"]);
    m.insert("timeline", L0);
    m.insert("entities", &["util", "diag", "model", "timeline"]);
    m.insert("detect", &["util", "diag", "model", "timeline", "entities"]);
    m.insert("chains", &["util", "diag", "model", "timeline", "entities", "detect"]);
    m.insert("check", &["util", "diag", "model", "timeline", "entities", "detect", "chains"]);
    m.insert(
        "report",
        &["util", "diag", "model", "evidence", "normalize", "timeline", "entities", "detect", "chains", "check"],
    );
    m.insert("synth", &["util"]);
    m
}

fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i + 7..];
        let name: String = tail.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
        if !name.is_empty() {
            found.push(name);
        }
        rest = tail;
    }
    found
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = entry.path();
        if p.is_dir() {
            visit(&p, files);
        } else if p.extension().is_some_and(|e| e == "rs") {
            files.push(p);
        }
    }
}

#[test]
fn layers_import_only_to_their_left() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    let rules = allowed();
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let layer = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let Some(ok) = rules.get(layer.as_str()) else { continue };
        let text = std::fs::read_to_string(&file).expect("read source");
        for used in crate_paths(&text) {
            if used != layer && !ok.contains(&used.as_str()) {
                violations.push(format!("{} uses crate::{used}", rel.display()));
            }
        }
    }
    assert!(violations.is_empty(), "layer violations:\n{}", violations.join("\n"));
}
