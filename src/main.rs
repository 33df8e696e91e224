//! The `seam` binary: parse the command line, run, map the outcome to an exit code.

use clap::Parser;
use seam::app::{self, Outcome};
use seam::cli::{Cli, RunConfig};
use std::process::ExitCode;

/// Parsing evidence allocates many small strings from several threads at once; mimalloc's
/// per-thread heaps make that several times cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc keeps memory it no longer uses for a second before giving it back (its default
/// purge delay). Reading a capture frees most of what it allocates (flow tables, reassembly
/// buffers, packet batches) while keeping the flows and records, and the pages it frees are
/// not the ones the next stage fills: held back, they raised the peak RSS of `seam
/// investigate` on a 2 GiB capture by about 45 MB. Given back at once, the peak follows the
/// live data. `MIMALLOC_PURGE_DELAY` in the environment still decides, when set.
fn tune_allocator() {
    seam::util::alloc::set_purge_delay(0);
}

fn main() -> ExitCode {
    tune_allocator();
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
    /// Guards the option's place in `mi_option_t` against an update of libmimalloc-sys that
    /// moves it: the place must still hold the purge delay, whose default is 1000 ms in v3.
    #[test]
    fn purge_delay_option_is_where_seam_sets_it() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            eprintln!("skipped: MIMALLOC_PURGE_DELAY is set in the environment");
            return;
        }
        // SAFETY: reads two integer options through the allocator's own API.
        let (delay, next) = unsafe {
            (
                libmimalloc_sys::mi_option_get(seam::util::alloc::MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(seam::util::alloc::MI_OPTION_PURGE_DELAY + 1),
            )
        };
        assert_eq!(delay, 1000, "option {} is not mimalloc's purge delay", seam::util::alloc::MI_OPTION_PURGE_DELAY);
        // The next option, `use_numa_nodes`, is a count that defaults to 0, not a delay.
        assert_eq!(next, 0);
    }
}
