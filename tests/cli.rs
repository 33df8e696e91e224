//! The binary's contract: exit codes, stdout and stderr.

use assert_cmd::Command;

fn seam() -> Command {
    Command::cargo_bin("seam").expect("binary built")
}

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let out = seam().arg("--help").assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    for word in ["investigate", "inventory", "flows", "timeline", "Exit codes"] {
        assert!(text.contains(word), "--help lacks {word}");
    }
}

#[test]
fn missing_input_is_fatal() {
    seam().args(["flows", "/nonexistent/path/x.pcap"]).assert().code(2);
}

/// `-o /dev/null` must write to the device, not replace it with a file (output files are
/// otherwise written to a temporary file and renamed into place).
#[test]
fn output_to_a_device_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    seam().arg("flows").arg(&demo).args(["--format", "jsonl", "-o", "/dev/null"]).assert().success();
    let meta = std::fs::metadata("/dev/null").expect("/dev/null exists");
    assert!(meta.file_type().is_char_device(), "/dev/null is no longer a device");
}

/// Evidence a directory reaches through a link (to a file, or to another directory) is
/// evidence too: `-o` may not replace it, nor write into the linked directory unasked.
#[test]
fn outputs_never_replace_evidence_reached_through_links() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let (case, store) = (dir.path().join("case"), dir.path().join("store"));
    std::fs::create_dir_all(&case).expect("mkdir");
    std::fs::create_dir_all(&store).expect("mkdir");
    let real = store.join("real.pcap");
    std::fs::copy(demo.join("network.pcap"), &real).expect("copy");
    let before = std::fs::read(&real).expect("read");
    std::os::unix::fs::symlink(&real, case.join("net.pcap")).expect("file link");
    for cmd in ["flows", "timeline", "hunt"] {
        seam()
            .arg(cmd)
            .arg(&case)
            .args(["--format", "json", "-o"])
            .arg(&real)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("would overwrite a file of the evidence"));
    }
    // A directory linked into the case: its files are evidence, and a new report inside it
    // would be read as evidence next time.
    let other = dir.path().join("case2");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::os::unix::fs::symlink(&store, other.join("sub")).expect("directory link");
    seam().arg("timeline").arg(&other).args(["--format", "json", "-o"]).arg(&real).assert().code(2);
    seam()
        .arg("investigate")
        .arg(&other)
        .args(["--format", "json", "-o"])
        .arg(store.join("report.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inside an evidence directory (reached through a link)"));
    assert_eq!(std::fs::read(&real).expect("read"), before, "the evidence is unchanged");
}

/// No command's `-o` replaces evidence, whatever the spelling of its path; two outputs of one
/// investigation may not name one file.
#[test]
fn outputs_never_replace_evidence_or_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let pcap = dir.path().join("net.pcap");
    std::fs::copy(demo.join("network.pcap"), &pcap).expect("copy");
    let before = std::fs::read(&pcap).expect("read");
    let spelled = dir.path().join(".").join("net.pcap");
    for cmd in ["flows", "timeline", "inventory", "assets", "hunt"] {
        seam()
            .arg(cmd)
            .arg(&pcap)
            .args(["--format", "json", "-o"])
            .arg(&spelled)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("would overwrite the evidence file"));
    }
    seam().arg("learn").arg(&pcap).arg("-o").arg(&pcap).assert().code(2);
    assert_eq!(std::fs::read(&pcap).expect("read"), before, "the evidence is unchanged");
    let report = dir.path().join("out").join("r.jsonl");
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");
    let same = dir.path().join("out").join("..").join("out").join("r.jsonl");
    seam()
        .arg("investigate")
        .arg(&pcap)
        .args(["--format", "json", "-o"])
        .arg(&report)
        .arg("--timeline")
        .arg(&same)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("-o and --timeline name the same file"));
}

/// A file reached under two spellings, through a link, or through a link back up the tree is
/// read once: volumes and counts do not double.
#[test]
fn one_file_reached_twice_is_read_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let ev = dir.path().join("ev");
    std::fs::create_dir(&ev).expect("mkdir");
    std::fs::copy(demo.join("network.pcap"), ev.join("net.pcap")).expect("copy");
    std::os::unix::fs::symlink(ev.join("net.pcap"), ev.join("alias.pcap")).expect("link");
    std::os::unix::fs::symlink("..", ev.join("up")).expect("link");
    let count = |args: &[&std::path::Path]| {
        let out = seam().arg("flows").args(args).args(["--format", "jsonl", "-q"]).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).lines().count()
    };
    let once = count(&[&ev.join("net.pcap")]);
    assert!(once > 0);
    let spelled = ev.join(".").join("net.pcap");
    assert_eq!(count(&[&ev, &ev.join("net.pcap"), &spelled, dir.path()]), once);
    let out = seam().arg("inventory").arg(&ev).args(["--format", "json"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(text.contains("the same file as"), "{text}");
}

/// `--log-host NAME=HOST` by file name alone must name one file of the bundle.
#[test]
fn a_log_host_by_a_name_two_files_share_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    for host in ["web1", "web2"] {
        std::fs::create_dir(dir.path().join(host)).expect("mkdir");
        std::fs::copy(demo.join("db01-audit.log"), dir.path().join(host).join("audit.log")).expect("copy");
    }
    seam()
        .arg("timeline")
        .arg(dir.path())
        .args(["--log-host", "audit.log=web1", "-f", "jsonl"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("names 2 files"));
    let one = dir.path().join("web1").join("audit.log");
    seam()
        .arg("timeline")
        .arg(dir.path())
        .arg("--log-host")
        .arg(format!("{}=web1", one.display()))
        .args(["-f", "jsonl", "-q"])
        .assert()
        .success();
}

/// A reader that stops reading (`seam … 2>&1 | head`, `… --format parquet | head -c 10`) is
/// not an error: seam neither panics on its closed stderr nor fails on its closed stdout.
#[test]
fn closed_pipes_are_not_failures() {
    use std::process::{Command, Stdio};
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let bin = assert_cmd::cargo::cargo_bin("seam");
    // stderr closed before seam writes its notes on clocks and attribution.
    let mut child = Command::new(&bin)
        .args(["timeline", "--format", "jsonl"])
        .arg(&demo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("seam starts");
    drop(child.stderr.take());
    assert_eq!(child.wait().expect("seam ends").code(), Some(0));
    for format in ["parquet", "jsonl", "csv"] {
        let mut child = Command::new(&bin)
            .args(["timeline", "--format", format])
            .arg(&demo)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("seam starts");
        drop(child.stdout.take());
        assert_eq!(child.wait().expect("seam ends").code(), Some(0), "--format {format}");
    }
}

/// A bundle with nothing seam can read is an error for the commands that analyse it, not an
/// empty success; a file named like evidence whose first bytes are not is said to be so.
#[test]
fn unreadable_bundles_and_misnamed_files_are_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("readme.txt"), "case notes\n").expect("write");
    for cmd in ["flows", "timeline", "hunt", "investigate"] {
        seam()
            .arg(cmd)
            .arg(dir.path())
            .args(["--format", "json"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("no capture, event log or audit log in"));
    }
    seam().arg("inventory").arg(dir.path()).args(["--format", "json"]).assert().success();
    // A capture whose magic was zeroed: listed as unknown, with a problem naming it.
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let mut bytes = std::fs::read(demo.join("network.pcap")).expect("read");
    bytes[..4].fill(0);
    std::fs::write(dir.path().join("net.pcap"), bytes).expect("write");
    let out = seam().arg("inventory").arg(dir.path()).args(["--format", "json"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("named like a capture but its first bytes are not one"), "{stderr}");
    seam().args(["--strict", "inventory"]).arg(dir.path()).args(["--format", "json"]).assert().code(2);
}

/// `-o` through a link to an open descriptor (`/dev/stdout`, `/proc/self/fd/1`) writes to the
/// descriptor; renaming a file over the link would replace it and lose the output.
#[test]
fn output_through_a_link_to_a_descriptor_writes_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("out");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).expect("link");
    let demo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo/network.pcap");
    // stdout on a regular file, as `seam … -o /dev/stdout > flows.jsonl` has it.
    let captured = dir.path().join("captured.jsonl");
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("seam"))
        .arg("flows")
        .arg(&demo)
        .args(["--format", "jsonl", "-o"])
        .arg(&link)
        .stdout(std::fs::File::create(&captured).expect("create"))
        .status()
        .expect("seam runs");
    assert!(status.success());
    assert!(std::fs::metadata(&captured).expect("captured").len() > 1000, "the flows went to stdout");
    let meta = std::fs::symlink_metadata(&link).expect("still there");
    assert!(meta.file_type().is_symlink(), "the link is left as it was");
}
