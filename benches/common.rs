//! Helpers both benchmarks use (included by path: each benchmark is its own crate).
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The cargo target directory the benchmark runs from (its data cache lives under it).
pub fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps").then(|| deps.parent()?.parent().map(Path::to_path_buf)).flatten()
    });
    from_exe.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `2G`, `200M`, `512K`, `1.5G` (binary units) or plain bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        (i, 't' | 'T') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then_some((n * mult as f64) as u64)
}

/// The tools write to /dev/null; if it has been replaced by a regular file (as an atomic
/// rename onto it does), every "write" lands in memory and the numbers are wrong.
pub fn check_dev_null() -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if fs::metadata("/dev/null")?.file_type().is_char_device() {
        Ok(())
    } else {
        Err(io::Error::other("/dev/null is not a character device; restore it (mknod -m 666 /dev/null c 1 3)"))
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Seconds of a stage as `seam --timings` prints it on stderr (`seam: timing read 1.234s`,
/// possibly followed by the peak memory so far).
pub fn stage_secs(stderr: &str, stage: &str) -> Option<f64> {
    let prefix = format!("seam: timing {stage} ");
    let value = stderr.lines().find_map(|l| l.strip_prefix(&prefix))?;
    value.split_whitespace().next()?.trim_end_matches('s').parse().ok()
}

/// The last non-blank line of a tool's output, for error messages.
pub fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

/// Looks a program up on PATH and in the sbin directories (tcpdump and ausearch live there).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
