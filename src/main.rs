//! The `seam` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;
use seam::app::{self, Outcome};
use seam::cli::{Cli, RunConfig};
use std::process::ExitCode;

/// Parsing evidence allocates many small strings from several threads at once; mimalloc's
/// per-thread heaps make that several times cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    seam::report::output::pending::remove_on_signal();
    let result = RunConfig::from_cli(cli).and_then(app::run);
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Findings | Outcome::ExpectationsFailed) => ExitCode::from(1),
        Ok(Outcome::StrictFailure) => {
            seam::note!("seam: input problems found and --strict given");
            ExitCode::from(2)
        }
        Err(e) => {
            // Paths and names in the message may be an attacker's: escaped, line by line.
            let text = format!("{e:#}");
            let lines: Vec<_> = text.lines().map(seam::util::escape::terminal_safe).collect();
            seam::note!("seam: {}", lines.join("\n"));
            ExitCode::from(2)
        }
    }
}
