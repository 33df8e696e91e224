//! The man pages in `man/` are generated from the clap definitions; this test fails when they
//! are stale. Regenerate with `SEAM_UPDATE_MAN=1 cargo test --test tests man`.

use clap::CommandFactory;
use std::path::PathBuf;

fn render(cmd: &clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out).expect("render man page");
    out
}

/// (file name, page) for `seam` and each subcommand.
fn pages() -> Vec<(String, Vec<u8>)> {
    // Built, so that the global flags (--threads, --quiet, --strict, …) reach every
    // subcommand's page as they reach its --help.
    let mut root = seam::cli::Cli::command();
    root.build();
    let mut pages = vec![("seam.1".to_string(), render(&root))];
    for sub in root.get_subcommands() {
        let name = format!("seam-{}", sub.get_name());
        let cmd = sub.clone().name(name.clone()).version(root.get_version().unwrap_or_default().to_string());
        pages.push((format!("{name}.1"), render(&cmd)));
    }
    pages
}

#[test]
fn man_pages_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("SEAM_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (name, page) in pages() {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).expect("create man/");
            std::fs::write(&path, &page).expect("write man page");
        } else if std::fs::read(&path).ok().as_deref() != Some(page.as_slice()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "stale man pages {stale:?}: run SEAM_UPDATE_MAN=1 cargo test --test tests man");
}
