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
