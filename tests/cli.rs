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
