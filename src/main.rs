//! The `seam` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;
use seam::app::{self, Outcome};
use seam::cli::{Cli, RunConfig};
use std::process::ExitCode;

/// Parsing evidence allocates many small strings from several threads at once; mimalloc's
/// per-thread heaps make that several times cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same index in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of handing it back to the system. By default mimalloc
/// returns memory freed for a second, and the next allocation faults it back in, zeroed; as
/// read buffers, flow tables, application records and detection maps are built and dropped in
/// turn, that cost as much system time as a third of decoding (2 GB capture, `seam hunt`).
/// seam is a batch process that exits when done; its peak memory is the same either way.
fn keep_freed_memory() {
    // SAFETY: sets one integer option of the allocator; any value is valid for it.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

fn main() -> ExitCode {
    keep_freed_memory();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // mimalloc 3's default purge delay is 1000 ms, a default the options around it do not
        // share: a wrong index (another mimalloc) shows here. The environment may override it.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one integer option.
            assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
        }
        keep_freed_memory();
        // SAFETY: as above.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }, -1);
    }
}
