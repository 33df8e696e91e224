//! Endpoint benchmark: `seam timeline` throughput and peak memory on a Windows event log and a
//! Linux audit log, beside evtx_dump (the evtx crate's CLI) and ausearch.
//!
//! Run with `cargo bench --bench endpoint` (quick: `SEAM_BENCH_EVTX_SIZE=16M
//! SEAM_BENCH_AUDIT_SIZE=64M cargo bench --bench endpoint`); `benches/README.md` explains the
//! knobs and how to read the table.
//!
//! 1. Generates, once, into `SEAM_BENCH_DIR` (default `<target dir>/bench-data`), from a fixed
//!    seed:
//!    - **evtx**: `SEAM_BENCH_EVTX_SIZE` bytes (default 64 MiB) of one workstation's events as a
//!      Windows Event Forwarding collector stores them (one file, several channels): Sysmon 1,
//!      3, 5, 11 and 22, Security 4624, 4688 and 5156, System 7045, with the field values those
//!      providers write (process GUIDs and trees, hashes, command lines, logon ids, SIDs,
//!      addresses), ~1 KB records in 64 KiB chunks, by `seam::synth::evtx`.
//!    - **auditd**: `SEAM_BENCH_AUDIT_SIZE` bytes (default 500 MiB) of a Debian web server's
//!      `audit.log` in auditd's ENRICHED format with interleaved events, streamed to disk by
//!      `seam::synth::auditd::generate_background` (cron, systemd timers, nginx and PHP-FPM,
//!      SSH sessions and scanners; ~875 bytes per event), and a quarter-size prefix of it cut at
//!      a line boundary, to show whether seam's peak memory grows with the file.
//! 2. Warms the page cache (one read of each file, counting its records or events), checks that
//!    seam reads the file (one untimed run whose timeline rows are counted; in a build without
//!    audit log support that count is 0 and is printed as such), then times each tool under
//!    `/usr/bin/time -v` with the same thread count (`SEAM_BENCH_THREADS`, default all cores):
//!    `seam --timings timeline FILE --format jsonl --threads N > /dev/null` (stdout, not `-o /dev/null`:
//!    seam renames `-o` files into place), `evtx_dump -t N -o jsonl FILE > /dev/null`,
//!    `ausearch --raw -if FILE > /dev/null` and `ausearch -i -if FILE > /dev/null`.
//! 3. Prints one table (tool, file, MB/s, records or events per second, wall s, peak RSS MB),
//!    the seam/evtx_dump and seam/ausearch ratios, seam's read stage alone (the `read` time
//!    `--timings` reports in the same runs: the log turned into timeline events, without
//!    start-up, sorting and output) beside the peers, and the targets.
//!
//! 4. **correlation**: `seam --timings assets` over the capture benchmark's mixed capture with
//!    the EVTX, the audit log and its prefix: what clock-skew estimation, process trees and
//!    process ↔ flow attribution add to reading everything.
//!
//! This is a benchmark, not a test: it never fails on a slow number. Under `cargo test
//! --benches` (no `--bench` argument) it does nothing.

#[path = "common.rs"]
mod common;

use common::{check_dev_null, cpus, last_line, mb, parse_size, stage_secs, target_dir, which};
use seam::synth::auditd::{generate_background, AuditWriterOptions, BackgroundConfig, LogFormat};
use seam::synth::evtx::{write_evtx, DataValue, EvtxEvent, Guid, Sid};
use seam::synth::rng::Rng;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Bumped whenever the generated files change, so stale cached files are not reused.
const GENERATOR_VERSION: u32 = 1;
const SEED: u64 = 0x5EA4_E4D9_2024_0514;
const DEFAULT_EVTX_SIZE: u64 = 64 << 20;
const DEFAULT_AUDIT_SIZE: u64 = 500 << 20;
const DEFAULT_TIMEOUT_S: u64 = 900;
/// 2024-05-14T07:00:00Z.
const LOG_START_NS: i64 = 1_715_670_000 * 1_000_000_000;
/// The EVTX file covers a working day.
const EVTX_SPAN_NS: i64 = 10 * 3600 * 1_000_000_000;
/// The audit log covers three days.
const AUDIT_SPAN_NS: i64 = 3 * 24 * 3600 * 1_000_000_000;
/// The evtx crate's CLI when the CI cache installed it.
const CI_EVTX_DUMP: &str = "/root/.cache/seam-ci/evtx-dump/bin/evtx_dump";
const AUSEARCH: &str = "/usr/sbin/ausearch";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("endpoint benchmark: run it with `cargo bench --bench endpoint`");
        return;
    }
    // Optional filters after `--`: `evtx`, `auditd`, or both (default).
    let wanted: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with('-')).collect();
    if let Err(e) = run(&wanted) {
        eprintln!("endpoint benchmark: {e}");
        std::process::exit(1);
    }
}

fn run(wanted: &[&str]) -> io::Result<()> {
    let cfg = BenchConfig::from_env()?;
    check_dev_null()?;
    fs::create_dir_all(&cfg.dir)?;
    println!("endpoint benchmark: data in {}, {} threads", cfg.dir.display(), cfg.threads);
    let seam = PathBuf::from(env!("CARGO_BIN_EXE_seam"));
    let tools = Tools::find();
    let want = |name: &str| wanted.is_empty() || wanted.contains(&name);

    let mut rows: Vec<Row> = Vec::new();
    let mut found = SeamFound::default();
    let threads = cfg.threads.to_string();
    let seam_argv = |file: &Path| -> Vec<String> {
        // `--timings` prints each stage's time on stderr: the read stage is the log turned into
        // timeline events, before sorting and output.
        let mut argv =
            vec![seam.display().to_string(), "--timings".into(), "timeline".into(), file.display().to_string()];
        argv.extend(["--format".into(), "jsonl".into(), "--threads".into(), threads.clone()]);
        argv
    };

    if want("evtx") {
        let path = prepare_evtx(&cfg)?;
        println!("\n== evtx ({}) ==", path.display());
        print_load();
        let info = warm_evtx(&path)?;
        println!("  {} records, {:.1} MB, page cache warmed in {:.1} s", info.count, mb(info.bytes), info.secs);
        let file = FileInfo { label: format!("evtx {}", human_size(info.bytes)), path: path.clone(), ..info };
        found.evtx = seam_sanity(&seam, &file.path, cfg.threads, "records", file.count);
        if let Some(dump) = &tools.evtx_dump {
            peer_sanity(dump, &["-t", &threads, "-o", "jsonl"], &file.path, "records", file.count);
        }
        rows.push(measure(&tools, "seam timeline", &file, Some(seam_argv(&file.path)), &cfg));
        let dump = tools.evtx_dump.as_ref().map(|d| {
            let mut argv = vec![d.display().to_string(), "-t".into(), threads.clone(), "-o".into(), "jsonl".into()];
            argv.push(file.path.display().to_string());
            argv
        });
        rows.push(measure_or_skip(&tools, "evtx_dump -o jsonl", &file, dump, tools.evtx_dump_missing.as_deref(), &cfg));
        check_dev_null()?;
    }

    if want("auditd") {
        let path = prepare_audit(&cfg)?;
        println!("\n== auditd ({}) ==", path.display());
        print_load();
        let info = warm_audit(&path)?;
        println!("  {} events, {:.1} MB, page cache warmed in {:.1} s", info.count, mb(info.bytes), info.secs);
        let file = FileInfo { label: format!("auditd {}", human_size(info.bytes)), ..info };
        found.audit = seam_sanity(&seam, &file.path, cfg.threads, "events", file.count);
        rows.push(measure(&tools, "seam timeline", &file, Some(seam_argv(&file.path)), &cfg));
        let ausearch = |mode: &str| {
            tools
                .ausearch
                .as_ref()
                .map(|a| vec![a.display().to_string(), mode.to_string(), "-if".into(), file.path.display().to_string()])
        };
        let missing = tools.ausearch.is_none().then_some("skipped: /usr/sbin/ausearch not installed (auditd)");
        rows.push(measure_or_skip(&tools, "ausearch --raw", &file, ausearch("--raw"), missing, &cfg));
        rows.push(measure_or_skip(&tools, "ausearch -i", &file, ausearch("-i"), missing, &cfg));

        // seam on a quarter of the same log: peak memory should not follow the file size.
        let limit = file.bytes / 4;
        let prefix = path.with_extension(format!("prefix{limit}.log"));
        if !prefix.exists() {
            write_line_prefix(&path, &prefix, limit)?;
        }
        let p = warm_audit(&prefix)?;
        let quarter = FileInfo { label: format!("auditd {} [¼ prefix]", human_size(p.bytes)), ..p };
        found.audit_prefix = seam_sanity(&seam, &quarter.path, cfg.threads, "events", quarter.count);
        rows.push(measure(&tools, "seam timeline", &quarter, Some(seam_argv(&quarter.path)), &cfg));
        check_dev_null()?;
    }

    if want("correlation") {
        correlation(&seam, &cfg)?;
    }

    print_table(&rows, &tools, &found);
    Ok(())
}

/// Correlation against ingestion: `seam --timings assets` over the capture benchmark's mixed
/// capture (~200 k flows at 2 GiB; run `cargo bench --bench capture` once to make it) with this
/// benchmark's EVTX, audit log and its quarter prefix (together ~1 M endpoint events at the
/// default sizes): the clock-skew estimate, process trees and process ↔ flow attribution,
/// beside reading and decoding everything (the target: under 25 %).
fn correlation(seam: &Path, cfg: &BenchConfig) -> io::Result<()> {
    println!("\n== correlation ==");
    let capture = fs::read_dir(&cfg.dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("mixed-v") && name.ends_with(".pcap") && !name.contains("prefix")
        })
        .max_by_key(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let Some(capture) = capture else {
        println!("  skipped: no mixed capture in {} (run `cargo bench --bench capture` once)", cfg.dir.display());
        return Ok(());
    };
    let evtx = prepare_evtx(cfg)?;
    let audit = prepare_audit(cfg)?;
    let files: Vec<PathBuf> = fs::read_dir(&cfg.dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".audit.prefix"))
        .chain([capture, evtx, audit])
        .collect();
    print_load();
    let out = Command::new(seam)
        .args(["--timings", "--threads", &cfg.threads.to_string(), "assets", "-q", "--format", "jsonl"])
        .args(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stage = |name: &str| stage_secs(&stderr, name).unwrap_or(f64::NAN);
    let (read, correlate) = (stage("read"), stage("correlate"));
    for f in &files {
        println!("  input {}", f.display());
    }
    println!(
        "  read+decode {read:.2} s, correlate {correlate:.2} s: correlation adds {:.1} % (target < 25 %)",
        100.0 * correlate / read
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Configuration

struct BenchConfig {
    dir: PathBuf,
    evtx_size: u64,
    audit_size: u64,
    runs: usize,
    threads: usize,
    timeout: Duration,
}

impl BenchConfig {
    fn from_env() -> io::Result<Self> {
        let invalid =
            |what: &str, v: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("invalid {what}: {v:?}"));
        let size_var = |name: &str, default: u64| -> io::Result<u64> {
            match std::env::var(name) {
                Ok(v) => parse_size(&v).filter(|&s| s >= 1 << 20).ok_or_else(|| invalid(name, &v)),
                Err(_) => Ok(default),
            }
        };
        let count_var = |name: &str, default: usize| -> io::Result<usize> {
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => v.parse().ok().filter(|&n| n > 0).ok_or_else(|| invalid(name, &v)),
                _ => Ok(default),
            }
        };
        let timeout = Duration::from_secs(match std::env::var("SEAM_BENCH_TIMEOUT") {
            Ok(v) => v.trim_end_matches('s').parse().map_err(|_| invalid("SEAM_BENCH_TIMEOUT", &v))?,
            Err(_) => DEFAULT_TIMEOUT_S,
        });
        let dir = match std::env::var_os("SEAM_BENCH_DIR") {
            Some(d) => PathBuf::from(d),
            None => target_dir().join("bench-data"),
        };
        Ok(BenchConfig {
            dir,
            evtx_size: size_var("SEAM_BENCH_EVTX_SIZE", DEFAULT_EVTX_SIZE)?,
            audit_size: size_var("SEAM_BENCH_AUDIT_SIZE", DEFAULT_AUDIT_SIZE)?,
            runs: count_var("SEAM_BENCH_RUNS", 3)?,
            threads: count_var("SEAM_BENCH_THREADS", cpus())?,
            timeout,
        })
    }
}

fn human_size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n => format!("{:.0}M", n as f64 / (1u64 << 20) as f64),
    }
}

/// Other work on the machine skews every number; say how busy it was.
fn print_load() {
    if let Ok(load) = fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("  load average before the runs: {} ({} CPUs)", load.join(" "), cpus());
    }
}

// ---------------------------------------------------------------------------------------------
// Files: generation (cached), warming, prefixes

/// Generates the EVTX file unless cached; returns its path.
fn prepare_evtx(cfg: &BenchConfig) -> io::Result<PathBuf> {
    let base = format!("endpoint-v{GENERATOR_VERSION}-{}", cfg.evtx_size);
    let path = cfg.dir.join(format!("{base}.evtx"));
    let meta = cfg.dir.join(format!("{base}.evtx.txt"));
    if path.exists() {
        println!("using cached EVTX file {}", path.display());
    } else {
        println!("generating EVTX file of ~{} → {}", human_size(cfg.evtx_size), path.display());
        let t0 = Instant::now();
        let summary = generate_evtx(&path, cfg.evtx_size)?;
        let summary = format!("{summary}generated in {:.1} s\n", t0.elapsed().as_secs_f64());
        fs::write(&meta, &summary)?;
    }
    if let Ok(s) = fs::read_to_string(&meta) {
        print!("{s}");
    }
    Ok(path)
}

/// Generates the audit log unless cached; returns its path.
fn prepare_audit(cfg: &BenchConfig) -> io::Result<PathBuf> {
    let base = format!("endpoint-v{GENERATOR_VERSION}-{}", cfg.audit_size);
    let path = cfg.dir.join(format!("{base}.audit.log"));
    let meta = cfg.dir.join(format!("{base}.audit.txt"));
    if path.exists() {
        println!("using cached audit log {}", path.display());
    } else {
        println!("generating audit log of {} → {}", human_size(cfg.audit_size), path.display());
        let t0 = Instant::now();
        let tmp = path.with_extension("partial");
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let options =
            AuditWriterOptions { format: LogFormat::Enriched, interleave: true, ..AuditWriterOptions::default() };
        let bg = BackgroundConfig {
            seed: SEED,
            start: LOG_START_NS,
            duration: AUDIT_SPAN_NS,
            target_bytes: cfg.audit_size,
            options,
        };
        let s = generate_background(&bg, &mut out)?;
        out.flush()?;
        drop(out);
        fs::rename(&tmp, &path)?;
        let kinds: Vec<String> = s.by_kind.iter().take(12).map(|(k, n)| format!("{k} {n}")).collect();
        let summary = format!(
            "  events: {}\n  records: {}\n  bytes: {} ({:.0} per event)\n  span: {:.1} h\n  by kind: {}\n  \
             generated in {:.1} s\n",
            s.events,
            s.records,
            s.bytes,
            s.bytes as f64 / s.events.max(1) as f64,
            (s.last - s.first) as f64 / 3.6e12,
            kinds.join(", "),
            t0.elapsed().as_secs_f64()
        );
        fs::write(&meta, &summary)?;
    }
    if let Ok(s) = fs::read_to_string(&meta) {
        print!("{s}");
    }
    Ok(path)
}

#[derive(Clone)]
struct FileInfo {
    label: String,
    path: PathBuf,
    bytes: u64,
    /// EVTX records or audit events.
    count: u64,
    secs: f64,
}

/// Reads the whole EVTX file once and counts its records from the chunk headers (first and
/// last event record number of each chunk).
fn warm_evtx(path: &Path) -> io::Result<FileInfo> {
    const FILE_HEADER: usize = 4096;
    const CHUNK: usize = 65536;
    let t0 = Instant::now();
    let mut f = File::open(path)?;
    let mut header = vec![0u8; FILE_HEADER];
    f.read_exact(&mut header)?;
    let mut chunk = vec![0u8; CHUNK];
    let (mut bytes, mut count) = (FILE_HEADER as u64, 0u64);
    loop {
        let n = read_full(&mut f, &mut chunk)?;
        bytes += n as u64;
        if n < 24 {
            break;
        }
        if &chunk[..8] == b"ElfChnk\0" {
            let first = u64::from_le_bytes(chunk[8..16].try_into().unwrap_or_default());
            let last = u64::from_le_bytes(chunk[16..24].try_into().unwrap_or_default());
            count += last.saturating_sub(first) + 1;
        }
    }
    Ok(FileInfo { label: String::new(), path: path.to_path_buf(), bytes, count, secs: t0.elapsed().as_secs_f64() })
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Reads the whole audit log once and counts its events: distinct `msg=audit(…:SERIAL)`
/// serials, remembering the last few (records of neighbouring events interleave).
fn warm_audit(path: &Path) -> io::Result<FileInfo> {
    let t0 = Instant::now();
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = Vec::new();
    let mut recent = [u64::MAX; 16];
    let (mut bytes, mut count, mut next) = (0u64, 0u64, 0usize);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        let Some(serial) = serial_of(&line) else { continue };
        if !recent.contains(&serial) {
            recent[next % recent.len()] = serial;
            next += 1;
            count += 1;
        }
    }
    Ok(FileInfo { label: String::new(), path: path.to_path_buf(), bytes, count, secs: t0.elapsed().as_secs_f64() })
}

fn serial_of(line: &[u8]) -> Option<u64> {
    let at = line.windows(10).position(|w| w == b"msg=audit(")?;
    let rest = &line[at + 10..];
    let colon = rest.iter().position(|&b| b == b':')?;
    let close = rest.iter().position(|&b| b == b')')?;
    std::str::from_utf8(rest.get(colon + 1..close)?).ok()?.parse().ok()
}

/// Copies whole lines of `src` until `limit` bytes.
fn write_line_prefix(src: &Path, dst: &Path, limit: u64) -> io::Result<()> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(src)?);
    let tmp = dst.with_extension("partial");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    let mut line = Vec::new();
    let mut written = 0u64;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 || written + n as u64 > limit {
            break;
        }
        w.write_all(&line)?;
        written += n as u64;
    }
    w.flush()?;
    drop(w);
    fs::rename(tmp, dst)
}

/// Rows of `seam timeline` per file, from the untimed check runs (`None`: seam failed).
#[derive(Default)]
struct SeamFound {
    evtx: Option<u64>,
    audit: Option<u64>,
    audit_prefix: Option<u64>,
}

/// One untimed run of seam on the file: warms seam's own pages and counts the timeline rows,
/// beside the records or events the file holds.
fn seam_sanity(seam: &Path, file: &Path, threads: usize, what: &str, expect: u64) -> Option<u64> {
    let t0 = Instant::now();
    let args = ["timeline", "--format", "jsonl", "--quiet", "--threads", &threads.to_string()];
    let (lines, err) = count_output_lines(Command::new(seam).args(args).arg(file));
    let secs = t0.elapsed().as_secs_f64();
    match (lines, err) {
        (Some(n), _) => {
            println!("  seam check: {n} timeline rows from {expect} {what} in the file, untimed run {secs:.1} s");
            if n == 0 {
                println!("  seam check: seam found 0 events in this file (this build does not read it yet)");
            }
            Some(n)
        }
        (None, err) => {
            println!("  seam check: {err}");
            None
        }
    }
}

/// An untimed run of a peer, counting its output lines (one per record for `-o jsonl`).
fn peer_sanity(tool: &Path, args: &[&str], file: &Path, what: &str, expect: u64) {
    let (lines, err) = count_output_lines(Command::new(tool).args(args).arg(file));
    match lines {
        Some(n) => println!("  peer check: {} printed {n} lines for {expect} {what}", tool.display()),
        None => println!("  peer check: {err}"),
    }
}

/// Runs the command, counting stdout lines; `None` and the reason when it fails.
fn count_output_lines(cmd: &mut Command) -> (Option<u64>, String) {
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return (None, format!("cannot run: {e}")),
    };
    let mut lines = 0u64;
    if let Some(out) = child.stdout.take() {
        let mut r = BufReader::with_capacity(1 << 20, out);
        let mut buf = Vec::new();
        while matches!(r.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            lines += 1;
            buf.clear();
        }
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    match child.wait() {
        Ok(s) if s.success() => (Some(lines), err),
        Ok(s) => (None, format!("exit {s}: {}", last_line(&err))),
        Err(e) => (None, e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement

struct Tools {
    time: Option<PathBuf>,
    timeout: Option<PathBuf>,
    evtx_dump: Option<PathBuf>,
    /// Why no evtx_dump is used, when none is.
    evtx_dump_missing: Option<String>,
    ausearch: Option<PathBuf>,
}

impl Tools {
    fn find() -> Self {
        let time = Some(PathBuf::from("/usr/bin/time")).filter(|p| p.exists());
        let (evtx_dump, evtx_dump_missing) = match find_evtx_dump() {
            Ok(p) => (Some(p), None),
            Err(why) => (None, Some(why)),
        };
        let ausearch = Some(PathBuf::from(AUSEARCH)).filter(|p| p.is_file());
        Tools { time, timeout: which("timeout"), evtx_dump, evtx_dump_missing, ausearch }
    }
}

/// `$SEAM_EVTX_DUMP`, else the CI cache's, else the first on PATH — only a binary whose
/// `--version` says `EVTX Parser` (python-evtx installs a different script of the same name).
fn find_evtx_dump() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates: Vec<PathBuf> = std::env::var_os("SEAM_EVTX_DUMP")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(CI_EVTX_DUMP)])
        .chain(std::env::split_paths(&path).map(|d| d.join("evtx_dump")))
        .filter(|p| p.is_file())
        .collect();
    let mut rejected = Vec::new();
    for c in candidates {
        let version = Command::new(&c).arg("--version").stdin(Stdio::null()).output();
        match version {
            Ok(out) if String::from_utf8_lossy(&out.stdout).contains("EVTX Parser") => return Ok(c),
            _ => rejected.push(c.display().to_string()),
        }
    }
    if rejected.is_empty() {
        Err("skipped: evtx_dump not installed (cargo install evtx, or set SEAM_EVTX_DUMP)".into())
    } else {
        Err(format!("skipped: no evtx_dump of the evtx crate ({} is not; set SEAM_EVTX_DUMP)", rejected.join(", ")))
    }
}

struct Row {
    tool: String,
    file: FileInfo,
    result: Result<Measured, String>,
}

#[derive(Clone, Copy)]
struct Measured {
    wall: f64,
    rss_kb: Option<u64>,
    /// seam's read stage (`--timings`), median of the runs: the file turned into events.
    read: Option<f64>,
}

fn measure_or_skip(
    tools: &Tools,
    tool: &str,
    file: &FileInfo,
    argv: Option<Vec<String>>,
    why_missing: Option<&str>,
    cfg: &BenchConfig,
) -> Row {
    match argv {
        Some(argv) => measure(tools, tool, file, Some(argv), cfg),
        None => {
            let why = why_missing.unwrap_or("skipped: not installed").to_string();
            println!("  {tool:<22} {why}");
            Row { tool: tool.into(), file: file.clone(), result: Err(why) }
        }
    }
}

/// Times `argv` `cfg.runs` times on a warm cache; reports the median wall time and the largest
/// peak RSS.
fn measure(tools: &Tools, tool: &str, file: &FileInfo, argv: Option<Vec<String>>, cfg: &BenchConfig) -> Row {
    let Some(argv) = argv else {
        return Row { tool: tool.into(), file: file.clone(), result: Err("skipped: not installed".into()) };
    };
    let mut walls = Vec::new();
    let mut reads = Vec::new();
    let mut rss: Option<u64> = None;
    for i in 0..cfg.runs {
        match run_once(tools, &argv, cfg.timeout) {
            Ok(m) => {
                println!(
                    "  {tool:<22} run {}/{}: {:.2} s, peak RSS {}",
                    i + 1,
                    cfg.runs,
                    m.wall,
                    m.rss_kb.map_or("n/a".into(), |k| format!("{:.0} MB", k as f64 * 1024.0 / 1e6))
                );
                walls.push(m.wall);
                reads.extend(m.read);
                rss = match (rss, m.rss_kb) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            Err(e) => {
                println!("  {tool:<22} {e}");
                return Row { tool: tool.into(), file: file.clone(), result: Err(e) };
            }
        }
    }
    walls.sort_by(f64::total_cmp);
    reads.sort_by(f64::total_cmp);
    let wall = walls[walls.len() / 2];
    let read = reads.get(reads.len() / 2).copied();
    Row { tool: tool.into(), file: file.clone(), result: Ok(Measured { wall, rss_kb: rss, read }) }
}

fn run_once(tools: &Tools, argv: &[String], limit: Duration) -> Result<Measured, String> {
    let mut cmd: Vec<String> = Vec::new();
    if let Some(timeout) = &tools.timeout {
        // timeout signals its whole process group, so the tool dies with /usr/bin/time.
        cmd.extend([timeout.display().to_string(), "-k".into(), "10".into(), limit.as_secs().to_string()]);
    }
    if let Some(time) = &tools.time {
        cmd.extend([time.display().to_string(), "-v".into()]);
    }
    cmd.extend(argv.iter().cloned());
    let t0 = Instant::now();
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cmd[0]))?;
    let wall = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if tools.timeout.is_some() && matches!(out.status.code(), Some(124) | Some(137) | None) {
        return Err(format!("timed out after {} s", limit.as_secs()));
    }
    let rss_kb = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):").and_then(|v| v.trim().parse().ok()));
    // /usr/bin/time reports "Command exited with non-zero status N" and exits with N.
    if !out.status.success() {
        let why = stderr
            .lines()
            .take_while(|l| !l.trim_start().starts_with("Command being timed:"))
            .filter(|l| !l.trim().is_empty())
            .last()
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(format!("failed ({}): {why}", out.status));
    }
    Ok(Measured { wall, rss_kb, read: stage_secs(&stderr, "read") })
}

fn rss_mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

fn print_table(rows: &[Row], tools: &Tools, found: &SeamFound) {
    println!("\n== endpoint benchmark (page cache warm; MB = 10^6 bytes of input file, median wall time) ==");
    let header = ["tool", "file", "MB/s", "records or events/s", "wall s", "peak RSS MB"];
    let mut table: Vec<[String; 6]> = Vec::new();
    for r in rows {
        let (rate, per_s, wall, rss) = match &r.result {
            Ok(m) => (
                format!("{:.0}", mb(r.file.bytes) / m.wall),
                format!("{:.0} k", r.file.count as f64 / m.wall / 1e3),
                format!("{:.2}", m.wall),
                m.rss_kb.map_or("n/a".into(), |k| format!("{:.0}", rss_mb(k))),
            ),
            Err(e) => (e.clone(), String::new(), String::new(), String::new()),
        };
        table.push([r.tool.clone(), r.file.label.clone(), rate, per_s, wall, rss]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            // Numbers right-aligned, text left-aligned; a skip note spans the numeric columns.
            if i < 2 || c.starts_with("skipped") || c.starts_with("timed") || c.starts_with("failed") {
                s.push_str(&format!("{c}{}  ", " ".repeat(pad)));
            } else {
                s.push_str(&format!("{}{c}  ", " ".repeat(pad)));
            }
        }
        println!("{}", s.trim_end());
    };
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &table {
        line(row);
    }
    if tools.time.is_none() {
        println!("(peak RSS n/a: /usr/bin/time is not installed)");
    }

    let result = |tool: &str, prefix: &str| -> Option<(&Row, Measured)> {
        let r =
            rows.iter().find(|r| r.tool == tool && r.file.label.starts_with(prefix) && !r.file.label.contains('¼'))?;
        r.result.as_ref().ok().map(|m| (r, *m))
    };
    let rate = |tool: &str, prefix: &str| result(tool, prefix).map(|(r, m)| r.file.bytes as f64 / m.wall);
    let ratio =
        |peer: &str, prefix: &str| -> Option<f64> { Some(rate("seam timeline", prefix)? / rate(peer, prefix)?) };
    let show = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.2}×"));
    let audit_zero = found.audit == Some(0);

    println!("\nratios (throughput, same file):");
    println!("  evtx: seam timeline / evtx_dump -o jsonl = {}", show(ratio("evtx_dump -o jsonl", "evtx")));
    let note = if audit_zero { "  (seam found 0 events: nothing was read)" } else { "" };
    println!("  auditd: seam timeline / ausearch --raw = {}{note}", show(ratio("ausearch --raw", "auditd")));
    println!("  auditd: seam timeline / ausearch -i = {}{note}", show(ratio("ausearch -i", "auditd")));

    // The EVTX target is for "EVTX to timeline events": seam's read stage alone
    // (process start, sorting and JSON output left out) beside the peer's whole run.
    let read_rate = |prefix: &str| {
        result("seam timeline", prefix).and_then(|(r, m)| Some((r.file.bytes as f64 / m.read?, m.read?)))
    };
    println!("\nseam's read stage alone (the log turned into timeline events; no sorting, no output):");
    for (prefix, peers) in [("evtx", &["evtx_dump -o jsonl"][..]), ("auditd", &["ausearch --raw", "ausearch -i"][..])] {
        let Some((read, secs)) = read_rate(prefix) else { continue };
        let against: Vec<String> =
            peers.iter().filter_map(|peer| Some(format!("{:.2}× {peer}", read / rate(peer, prefix)?))).collect();
        println!("  {prefix}: {:.0} MB/s ({secs:.2} s); {}", read / 1e6, against.join(", "));
    }

    println!("\ntargets from the issue (same thread count for every tool):");
    let verdict = |x: Option<f64>, target: f64| match x {
        Some(x) if x >= target => format!("{x:.2}× — met"),
        Some(x) => format!("{x:.2}× — missed"),
        None => "n/a".to_string(),
    };
    if found.evtx.is_some() || rows.iter().any(|r| r.file.label.starts_with("evtx")) {
        println!("  evtx: ≥ 0.9× evtx_dump: {}", verdict(ratio("evtx_dump -o jsonl", "evtx"), 0.9));
    }
    if rows.iter().any(|r| r.file.label.starts_with("auditd")) {
        if audit_zero {
            println!("  auditd: seam found 0 events in the audit log: this build has no audit log support, so");
            println!("          the auditd targets (≥ 2× ausearch --raw, ≥ 20× ausearch -i) are not measured");
        } else {
            println!("  auditd: ≥ 2× ausearch --raw: {}", verdict(ratio("ausearch --raw", "auditd"), 2.0));
            println!("  auditd: ≥ 20× ausearch -i: {}", verdict(ratio("ausearch -i", "auditd"), 20.0));
        }
        let full = result("seam timeline", "auditd").and_then(|(_, m)| m.rss_kb);
        let quarter = rows
            .iter()
            .find(|r| r.tool == "seam timeline" && r.file.label.contains('¼'))
            .and_then(|r| r.result.as_ref().ok())
            .and_then(|m| m.rss_kb);
        match (full, quarter) {
            (Some(f), Some(q)) => {
                // Independent of size: the full file may need at most a quarter more, or 16 MB.
                let ok = rss_mb(f) <= rss_mb(q) * 1.25 || rss_mb(f) <= rss_mb(q) + 16.0;
                let zero = if audit_zero { " (with 0 events read)" } else { "" };
                println!(
                    "  auditd: peak RSS independent of file size: {:.0} MB on the whole log, {:.0} MB on its \
                     quarter — {}{zero}",
                    rss_mb(f),
                    rss_mb(q),
                    if ok { "met" } else { "missed" }
                );
            }
            _ => println!("  auditd: peak RSS independent of file size: n/a"),
        }
    }
    if let Some((r, m)) = result("seam timeline", "evtx") {
        if let Some(kb) = m.rss_kb {
            println!("  evtx: seam peak RSS {:.0} MB on {}", rss_mb(kb), r.file.label);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EVTX generation: one workstation's Sysmon, Security and System events

/// Events, by kind, per 1000: Sysmon 1, 3, 5, 11, 22; Security 4624, 4688, 5156; System 7045.
const EVTX_MIX: [(EvtxKind, f64); 9] = [
    (EvtxKind::ProcessCreate, 200.0),
    (EvtxKind::NetworkConnect, 230.0),
    (EvtxKind::ProcessTerminate, 150.0),
    (EvtxKind::FileCreate, 160.0),
    (EvtxKind::DnsQuery, 140.0),
    (EvtxKind::Logon, 30.0),
    (EvtxKind::ProcessCreation4688, 60.0),
    (EvtxKind::WfpConnection, 28.0),
    (EvtxKind::ServiceInstall, 2.0),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum EvtxKind {
    ProcessCreate,
    NetworkConnect,
    ProcessTerminate,
    FileCreate,
    DnsQuery,
    Logon,
    ProcessCreation4688,
    WfpConnection,
    ServiceInstall,
}

const COMPUTER: &str = "WKS-0142.corp.example.com";
const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";

/// A program the workstation runs, with its version resource as Sysmon reports it.
struct Program {
    image: &'static str,
    version: &'static str,
    description: &'static str,
    product: &'static str,
    company: &'static str,
    original: &'static str,
    args: &'static [&'static str],
    /// Whether it runs as SYSTEM (else as the logged-on user).
    system: bool,
}

const PROGRAMS: &[Program] = &[
    Program {
        image: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        version: "124.0.6367.202",
        description: "Google Chrome",
        product: "Google Chrome",
        company: "Google LLC",
        original: "chrome.exe",
        args: &[
            "--type=renderer --lang=en-US --renderer-client-id=42 --time-ticks-at-unix-epoch=-1715670000 \
             --field-trial-handle=1968,i,12873640912,987213,262144 --variations-seed-version /prefetch:1",
            "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US \
             --service-sandbox-type=none --mojo-platform-channel-handle=2200 /prefetch:3",
            "--type=gpu-process --gpu-preferences=WAAAAAAAAADgAAAMAAAAAAAAAAAAAAAAAABgAAEAAAA4AAAAAAAAAAAAAAAE\
             AAAAAAAAAAEAAAAAAAAAAgAAAAAAAAA --mojo-platform-channel-handle=1900 /prefetch:2",
        ],
        system: false,
    },
    Program {
        image: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
        version: "124.0.2478.97",
        description: "Microsoft Edge",
        product: "Microsoft Edge",
        company: "Microsoft Corporation",
        original: "msedge.exe",
        args: &["--type=renderer --instant-process --lang=en-US --js-flags=--ms-user-locale= \
                 --device-scale-factor=1 --num-raster-threads=2 /prefetch:1"],
        system: false,
    },
    Program {
        image: "C:\\Windows\\System32\\svchost.exe",
        version: "10.0.19041.4355 (WinBuild.160101.0800)",
        description: "Host Process for Windows Services",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "svchost.exe",
        args: &[
            "-k netsvcs -p -s Schedule",
            "-k LocalServiceNetworkRestricted -p -s Dhcp",
            "-k NetworkService -p -s Dnscache",
            "-k wsappx -p -s AppXSvc",
        ],
        system: true,
    },
    Program {
        image: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        version: "10.0.19041.3996 (WinBuild.160101.0800)",
        description: "Windows PowerShell",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "PowerShell.EXE",
        args: &[
            "-NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\IT\\inventory.ps1",
            "-NoLogo -NonInteractive -Command \"Get-ChildItem -Path $env:TEMP -Recurse | \
             Where-Object LastWriteTime -lt (Get-Date).AddDays(-7) | Remove-Item -Force\"",
        ],
        system: false,
    },
    Program {
        image: "C:\\Windows\\System32\\cmd.exe",
        version: "10.0.19041.4355 (WinBuild.160101.0800)",
        description: "Windows Command Processor",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "Cmd.Exe",
        args: &[
            "/c \"C:\\Program Files\\Git\\cmd\\git.exe\" fetch --all --prune",
            "/d /s /c \"npm run build\"",
            "/c echo %USERPROFILE%",
        ],
        system: false,
    },
    Program {
        image: "C:\\Windows\\System32\\conhost.exe",
        version: "10.0.19041.4355 (WinBuild.160101.0800)",
        description: "Console Window Host",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "CONHOST.EXE",
        args: &["0xffffffff -ForceV1"],
        system: false,
    },
    Program {
        image: "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
        version: "1.7.00.8753",
        description: "Microsoft Teams",
        product: "Microsoft Teams",
        company: "Microsoft Corporation",
        original: "Teams.exe",
        args: &["--type=renderer --autoplay-policy=no-user-gesture-required --disable-background-timer-throttling \
                 --lang=en-US --app-path=\"C:\\Users\\alice\\AppData\\Local\\Microsoft\\Teams\\current\\resources\\app.asar\""],
        system: false,
    },
    Program {
        image: "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        version: "16.0.17531.20140",
        description: "Microsoft Outlook",
        product: "Microsoft Outlook",
        company: "Microsoft Corporation",
        original: "Outlook.exe",
        args: &["/recycle"],
        system: false,
    },
    Program {
        image: "C:\\Windows\\System32\\taskhostw.exe",
        version: "10.0.19041.4355 (WinBuild.160101.0800)",
        description: "Host Process for Windows Tasks",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "taskhostw.exe",
        args: &["{222A245B-E637-4AE9-A93F-A59CA119A75E}", "Install $(Arg0)"],
        system: false,
    },
    Program {
        image: "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        version: "10.0.19041.3636 (WinBuild.160101.0800)",
        description: "WMI Provider Host",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "Wmiprvse.exe",
        args: &["-secured -Embedding", "-Embedding"],
        system: true,
    },
    Program {
        image: "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24040.4-0\\MpCmdRun.exe",
        version: "4.18.24040.4 (WinBuild.160101.0800)",
        description: "Microsoft Malware Protection Command Line Utility",
        product: "Microsoft® Windows® Operating System",
        company: "Microsoft Corporation",
        original: "MpCmdRun.exe",
        args: &["-wdenable", "SignaturesUpdateService -ScheduleJob -UnmanagedUpdate"],
        system: true,
    },
    Program {
        image: "C:\\Program Files\\Git\\mingw64\\bin\\git.exe",
        version: "2.45.0.windows.1",
        description: "Git for Windows",
        product: "Git",
        company: "The Git Development Community",
        original: "git.exe",
        args: &["fetch --all --prune", "status --porcelain=v2 --branch", "log --oneline -n 20"],
        system: false,
    },
];

const DOMAINS: &[&str] = &[
    "www.google.com",
    "clients2.google.com",
    "login.microsoftonline.com",
    "outlook.office365.com",
    "teams.microsoft.com",
    "github.com",
    "api.github.com",
    "settings-win.data.microsoft.com",
    "wpad.corp.example.com",
    "fileserver01.corp.example.com",
    "dc01.corp.example.com",
    "update.googleapis.com",
    "cdn.jsdelivr.net",
    "fonts.gstatic.com",
];

const FILE_TARGETS: &[&str] = &[
    "C:\\Users\\alice\\AppData\\Local\\Temp\\chrome_BITS_4812_1827301283\\BIT7A1C.tmp",
    "C:\\Users\\alice\\Downloads\\Q2-forecast (1).xlsx",
    "C:\\Users\\alice\\AppData\\Local\\Microsoft\\Windows\\INetCache\\IE\\K3J9Z1Q2\\logo[1].png",
    "C:\\Windows\\Prefetch\\SVCHOST.EXE-7AC9FE64.pf",
    "C:\\Users\\alice\\AppData\\Roaming\\Microsoft\\Teams\\Cache\\f_00a3c1",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\CacheManager\\E2F2D7B1-0000-0000-0000-100000000000.bin",
    "C:\\Users\\alice\\source\\repos\\billing\\node_modules\\.cache\\babel-loader\\4f1a2c.json",
];

/// A running process the generated events refer to.
#[derive(Clone)]
struct WinProcess {
    guid: Guid,
    pid: u32,
    image: &'static str,
    command_line: String,
    user: &'static str,
}

struct EvtxGen {
    rng: Rng,
    live: Vec<WinProcess>,
    next_pid: u32,
    guid_counter: u32,
    logon_id: u64,
    logon_guid: Guid,
    user_sid: Sid,
}

impl EvtxGen {
    fn new() -> EvtxGen {
        let mut g = EvtxGen {
            rng: Rng::new(SEED),
            live: Vec::new(),
            next_pid: 4000,
            guid_counter: 0,
            logon_id: 0x3a_91c4,
            logon_guid: Guid::from_fields(0x8d9e_1f2a, 0x66b1, 0x0a3f, [0x41, 0x02, 0, 0, 0, 0, 0x10, 0x5c]),
            user_sid: sid(&format!("{DOMAIN_SID}-1104")),
        };
        let explorer = WinProcess {
            guid: g.process_guid(),
            pid: 6120,
            image: "C:\\Windows\\explorer.exe",
            command_line: "C:\\Windows\\Explorer.EXE".into(),
            user: "CORP\\alice",
        };
        g.live.push(explorer);
        g
    }

    /// Sysmon's process GUIDs: a machine part, the process start, a counter.
    fn process_guid(&mut self) -> Guid {
        self.guid_counter += 1;
        let start = 0x6643_0000 + self.guid_counter * 7;
        Guid::from_fields(
            0x8d9e_1f2a,
            (start >> 16) as u16,
            start as u16,
            [0x5c, (self.guid_counter >> 8) as u8, self.guid_counter as u8, 0, 0, 0, 0x10, 0x07],
        )
    }

    fn pid(&mut self) -> u32 {
        self.next_pid = (self.next_pid + 4 * (1 + self.rng.range(0, 40) as u32)) % 60_000 + 800;
        self.next_pid & !3
    }

    fn hashes(program: &Program) -> String {
        // Stable per image: hash its name into hex digests of the right lengths.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut hex = |n: usize| -> String {
            let mut s = String::with_capacity(n);
            while s.len() < n {
                for b in program.image.bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                s.push_str(&format!("{h:016X}"));
            }
            s.truncate(n);
            s
        };
        format!("SHA1={},MD5={},SHA256={},IMPHASH={}", hex(40), hex(32), hex(64), hex(32))
    }

    fn event(&mut self, t: i64, kind: EvtxKind) -> EvtxEvent {
        match kind {
            EvtxKind::ProcessCreate => self.process_create(t),
            EvtxKind::NetworkConnect => self.network_connect(t),
            EvtxKind::ProcessTerminate => self.process_terminate(t),
            EvtxKind::FileCreate => self.file_create(t),
            EvtxKind::DnsQuery => self.dns_query(t),
            EvtxKind::Logon => self.logon(t),
            EvtxKind::ProcessCreation4688 => self.process_creation_4688(t),
            EvtxKind::WfpConnection => self.wfp_connection(t),
            EvtxKind::ServiceInstall => self.service_install(t),
        }
    }

    fn sysmon(&mut self, t: i64, id: u16, version: u8, fields: Vec<(&str, DataValue)>) -> EvtxEvent {
        let mut e = EvtxEvent::sysmon(t, id, COMPUTER, fields);
        e.version = version;
        e.process_id = 3412;
        e.thread_id = 4100 + self.rng.range(0, 400) as u32 * 4;
        e
    }

    fn any_live(&mut self) -> WinProcess {
        let i = self.rng.range(0, self.live.len() as u64) as usize;
        self.live[i].clone()
    }

    fn process_create(&mut self, t: i64) -> EvtxEvent {
        let parent = self.any_live();
        let p = self.rng.pick(PROGRAMS);
        let args = *self.rng.pick(p.args);
        let command_line = format!("\"{}\" {args}", p.image);
        let user = if p.system { "NT AUTHORITY\\SYSTEM" } else { "CORP\\alice" };
        let child = WinProcess { guid: self.process_guid(), pid: self.pid(), image: p.image, command_line, user };
        let cwd = if p.system { "C:\\Windows\\system32\\".to_string() } else { "C:\\Users\\alice\\".to_string() };
        let fields = vec![
            ("RuleName", DataValue::from("-")),
            ("ProcessGuid", DataValue::Guid(child.guid)),
            ("ProcessId", DataValue::U32(child.pid)),
            ("Image", DataValue::from(p.image)),
            ("FileVersion", DataValue::from(p.version)),
            ("Description", DataValue::from(p.description)),
            ("Product", DataValue::from(p.product)),
            ("Company", DataValue::from(p.company)),
            ("OriginalFileName", DataValue::from(p.original)),
            ("CommandLine", DataValue::from(child.command_line.clone())),
            ("CurrentDirectory", DataValue::from(cwd)),
            ("User", DataValue::from(user)),
            ("LogonGuid", DataValue::Guid(self.logon_guid)),
            ("LogonId", DataValue::Hex64(if p.system { 0x3e7 } else { self.logon_id })),
            ("TerminalSessionId", DataValue::U32(u32::from(!p.system))),
            ("IntegrityLevel", DataValue::from(if p.system { "System" } else { "Medium" })),
            ("Hashes", DataValue::from(EvtxGen::hashes(p))),
            ("ParentProcessGuid", DataValue::Guid(parent.guid)),
            ("ParentProcessId", DataValue::U32(parent.pid)),
            ("ParentImage", DataValue::from(parent.image)),
            ("ParentCommandLine", DataValue::from(parent.command_line.clone())),
            ("ParentUser", DataValue::from(parent.user)),
        ];
        if self.live.len() < 300 {
            self.live.push(child);
        } else {
            let i = 1 + self.rng.range(0, self.live.len() as u64 - 1) as usize;
            self.live[i] = child;
        }
        self.sysmon(t, 1, 5, fields)
    }

    fn process_terminate(&mut self, t: i64) -> EvtxEvent {
        let p = if self.live.len() > 1 {
            let i = 1 + self.rng.range(0, self.live.len() as u64 - 1) as usize;
            self.live.swap_remove(i)
        } else {
            self.any_live()
        };
        let image = p.image;
        let fields = vec![
            ("RuleName", DataValue::from("-")),
            ("ProcessGuid", DataValue::Guid(p.guid)),
            ("ProcessId", DataValue::U32(p.pid)),
            ("Image", DataValue::from(image)),
            ("User", DataValue::from(p.user)),
        ];
        self.sysmon(t, 5, 3, fields)
    }

    fn network_connect(&mut self, t: i64) -> EvtxEvent {
        let p = self.any_live();
        let internal = self.rng.chance(0.3);
        let (dst, host, port, port_name) = if internal {
            (format!("10.1.0.{}", self.rng.range(2, 40)), "fileserver01.corp.example.com", 445u16, "microsoft-ds")
        } else {
            let a = self.rng.range(1, 224);
            let ip = format!("{a}.{}.{}.{}", self.rng.range(0, 256), self.rng.range(0, 256), self.rng.range(1, 255));
            (ip, *self.rng.pick(DOMAINS), 443, "https")
        };
        let fields = vec![
            ("RuleName", DataValue::from("-")),
            ("ProcessGuid", DataValue::Guid(p.guid)),
            ("ProcessId", DataValue::U32(p.pid)),
            ("Image", DataValue::from(p.image)),
            ("User", DataValue::from(p.user)),
            ("Protocol", DataValue::from("tcp")),
            ("Initiated", DataValue::Bool(true)),
            ("SourceIsIpv6", DataValue::Bool(false)),
            ("SourceIp", DataValue::from("10.1.4.142")),
            ("SourceHostname", DataValue::from(COMPUTER)),
            ("SourcePort", DataValue::U16(self.rng.range(49152, 65535) as u16)),
            ("SourcePortName", DataValue::from("-")),
            ("DestinationIsIpv6", DataValue::Bool(false)),
            ("DestinationIp", DataValue::from(dst)),
            ("DestinationHostname", DataValue::from(host)),
            ("DestinationPort", DataValue::U16(port)),
            ("DestinationPortName", DataValue::from(port_name)),
        ];
        self.sysmon(t, 3, 5, fields)
    }

    fn file_create(&mut self, t: i64) -> EvtxEvent {
        let p = self.any_live();
        let target = *self.rng.pick(FILE_TARGETS);
        let created = sysmon_time(t - self.rng.range(0, 3_000_000_000) as i64);
        let fields = vec![
            ("RuleName", DataValue::from("EXE")),
            ("ProcessGuid", DataValue::Guid(p.guid)),
            ("ProcessId", DataValue::U32(p.pid)),
            ("Image", DataValue::from(p.image)),
            ("TargetFilename", DataValue::from(target)),
            ("CreationUtcTime", DataValue::from(created)),
            ("User", DataValue::from(p.user)),
        ];
        self.sysmon(t, 11, 2, fields)
    }

    fn dns_query(&mut self, t: i64) -> EvtxEvent {
        let p = self.any_live();
        let name = *self.rng.pick(DOMAINS);
        let results = format!(
            "type:  5 {name}.edgekey.net;::ffff:{}.{}.{}.{};::ffff:{}.{}.{}.{};",
            self.rng.range(1, 224),
            self.rng.range(0, 256),
            self.rng.range(0, 256),
            self.rng.range(1, 255),
            self.rng.range(1, 224),
            self.rng.range(0, 256),
            self.rng.range(0, 256),
            self.rng.range(1, 255)
        );
        let fields = vec![
            ("RuleName", DataValue::from("-")),
            ("ProcessGuid", DataValue::Guid(p.guid)),
            ("ProcessId", DataValue::U32(p.pid)),
            ("QueryName", DataValue::from(name)),
            ("QueryStatus", DataValue::from("0")),
            ("QueryResults", DataValue::from(results)),
            ("Image", DataValue::from(p.image)),
            ("User", DataValue::from(p.user)),
        ];
        self.sysmon(t, 22, 5, fields)
    }

    fn security(&mut self, t: i64, id: u16, task: u16, version: u8, fields: Vec<(&str, DataValue)>) -> EvtxEvent {
        EvtxEvent {
            task,
            version,
            process_id: 764,
            thread_id: 800 + self.rng.range(0, 200) as u32 * 4,
            ..EvtxEvent::security(t, id, COMPUTER, fields)
        }
    }

    fn logon(&mut self, t: i64) -> EvtxEvent {
        let (logon_type, process, package, ip) = match self.rng.range(0, 10) {
            0..=5 => (3u32, "NtLmSsp ", "NTLM", format!("10.1.0.{}", self.rng.range(2, 40))),
            6..=7 => (5, "Advapi  ", "Negotiate", "-".to_string()),
            8 => (2, "User32 ", "Negotiate", "127.0.0.1".to_string()),
            _ => (10, "User32 ", "Negotiate", format!("10.1.9.{}", self.rng.range(2, 250))),
        };
        let system = logon_type == 5;
        let target_sid = if system { sid("S-1-5-18") } else { self.user_sid.clone() };
        self.logon_id += 1 + self.rng.range(0, 5000);
        let fields = vec![
            ("SubjectUserSid", DataValue::Sid(sid("S-1-5-18"))),
            ("SubjectUserName", DataValue::from("WKS-0142$")),
            ("SubjectDomainName", DataValue::from("CORP")),
            ("SubjectLogonId", DataValue::Hex64(0x3e7)),
            ("TargetUserSid", DataValue::Sid(target_sid)),
            ("TargetUserName", DataValue::from(if system { "SYSTEM" } else { "alice" })),
            ("TargetDomainName", DataValue::from(if system { "NT AUTHORITY" } else { "CORP" })),
            ("TargetLogonId", DataValue::Hex64(if system { 0x3e7 } else { self.logon_id })),
            ("LogonType", DataValue::U32(logon_type)),
            ("LogonProcessName", DataValue::from(process)),
            ("AuthenticationPackageName", DataValue::from(package)),
            ("WorkstationName", DataValue::from(if logon_type == 3 { "WKS-0388" } else { "-" })),
            ("LogonGuid", DataValue::Guid(self.logon_guid)),
            ("TransmittedServices", DataValue::from("-")),
            ("LmPackageName", DataValue::from(if package == "NTLM" { "NTLM V2" } else { "-" })),
            ("KeyLength", DataValue::U32(if package == "NTLM" { 128 } else { 0 })),
            ("ProcessId", DataValue::Hex64(if logon_type == 3 { 0 } else { 0x2fc })),
            ("ProcessName", DataValue::from(if logon_type == 3 { "-" } else { "C:\\Windows\\System32\\services.exe" })),
            ("IpAddress", DataValue::from(ip)),
            (
                "IpPort",
                DataValue::from(if logon_type == 3 { self.rng.range(49152, 65535).to_string() } else { "-".into() }),
            ),
            ("ImpersonationLevel", DataValue::from("%%1833")),
            ("RestrictedAdminMode", DataValue::from("-")),
            ("TargetOutboundUserName", DataValue::from("-")),
            ("TargetOutboundDomainName", DataValue::from("-")),
            ("VirtualAccount", DataValue::from("%%1843")),
            ("TargetLinkedLogonId", DataValue::Hex64(0)),
            ("ElevatedToken", DataValue::from(if system { "%%1842" } else { "%%1843" })),
        ];
        self.security(t, 4624, 12544, 2, fields)
    }

    fn process_creation_4688(&mut self, t: i64) -> EvtxEvent {
        let parent = self.any_live();
        let p = self.rng.pick(PROGRAMS);
        let args = *self.rng.pick(p.args);
        let fields = vec![
            ("SubjectUserSid", DataValue::Sid(self.user_sid.clone())),
            ("SubjectUserName", DataValue::from("alice")),
            ("SubjectDomainName", DataValue::from("CORP")),
            ("SubjectLogonId", DataValue::Hex64(self.logon_id)),
            ("NewProcessId", DataValue::Hex64(u64::from(self.pid()))),
            ("NewProcessName", DataValue::from(p.image)),
            ("TokenElevationType", DataValue::from("%%1938")),
            ("ProcessId", DataValue::Hex64(u64::from(parent.pid))),
            ("CommandLine", DataValue::from(format!("\"{}\" {args}", p.image))),
            ("TargetUserSid", DataValue::Sid(sid("S-1-0-0"))),
            ("TargetUserName", DataValue::from("-")),
            ("TargetDomainName", DataValue::from("-")),
            ("TargetLogonId", DataValue::Hex64(0)),
            ("ParentProcessName", DataValue::from(parent.image)),
            ("MandatoryLabel", DataValue::Sid(sid("S-1-16-8192"))),
        ];
        self.security(t, 4688, 13312, 2, fields)
    }

    fn wfp_connection(&mut self, t: i64) -> EvtxEvent {
        let p = self.any_live();
        let image = p.image.to_ascii_lowercase().replace("c:\\", "\\device\\harddiskvolume3\\");
        let dst = format!(
            "{}.{}.{}.{}",
            self.rng.range(1, 224),
            self.rng.range(0, 256),
            self.rng.range(0, 256),
            self.rng.range(1, 255)
        );
        let fields = vec![
            ("ProcessID", DataValue::U64(u64::from(p.pid))),
            ("Application", DataValue::from(image)),
            ("Direction", DataValue::from("%%14593")),
            ("SourceAddress", DataValue::from("10.1.4.142")),
            ("SourcePort", DataValue::from(self.rng.range(49152, 65535).to_string())),
            ("DestAddress", DataValue::from(dst)),
            ("DestPort", DataValue::from("443")),
            ("Protocol", DataValue::U32(6)),
            ("FilterRTID", DataValue::U64(70_212 + self.rng.range(0, 30))),
            ("LayerName", DataValue::from("%%14611")),
            ("LayerRTID", DataValue::U64(48)),
            ("RemoteUserID", DataValue::Sid(sid("S-1-0-0"))),
            ("RemoteMachineID", DataValue::Sid(sid("S-1-0-0"))),
        ];
        self.security(t, 5156, 12810, 1, fields)
    }

    fn service_install(&mut self, t: i64) -> EvtxEvent {
        let (name, path) = *self.rng.pick(&[
            (
                "Google Updater Service",
                "\"C:\\Program Files (x86)\\Google\\GoogleUpdater\\126.0.6432.0\\updater.exe\" \
                 --system --windows-service --service=update",
            ),
            (
                "Microsoft Edge Elevation Service",
                "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\124.0.2478.97\\elevation_service.exe\"",
            ),
            (
                "Intel(R) Graphics Command Center Service",
                "C:\\Windows\\System32\\DriverStore\\FileRepository\\iigd_dch.inf_amd64\\IntelCpHDCPSvc.exe",
            ),
        ]);
        let mut e = EvtxEvent::system(
            t,
            7045,
            COMPUTER,
            [
                ("ServiceName", DataValue::from(name)),
                ("ImagePath", DataValue::from(path)),
                ("ServiceType", DataValue::from("user mode service")),
                ("StartType", DataValue::from("auto start")),
                ("AccountName", DataValue::from("LocalSystem")),
            ],
        );
        e.process_id = 712;
        e.thread_id = 1900;
        e
    }
}

fn sid(text: &str) -> Sid {
    Sid::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

fn sysmon_time(t: i64) -> String {
    seam::synth::evtx::sysmon_utc_time(t)
}

/// Writes an EVTX file of about `target` bytes; returns a summary for the sidecar.
fn generate_evtx(path: &Path, target: u64) -> io::Result<String> {
    let total: f64 = EVTX_MIX.iter().map(|(_, w)| w).sum();
    let mut g = EvtxGen::new();
    // Measure the mix's bytes per record on a first batch, then size the file from it.
    let mut events: Vec<EvtxEvent> = Vec::new();
    let mut counts = [0u64; EVTX_MIX.len()];
    let mut t = LOG_START_NS;
    let mut add = |g: &mut EvtxGen, events: &mut Vec<EvtxEvent>, n: usize, gap: f64| {
        for _ in 0..n {
            let mut x = g.rng.unit() * total;
            let mut pick = 0;
            for (i, (_, w)) in EVTX_MIX.iter().enumerate() {
                if x < *w {
                    pick = i;
                    break;
                }
                x -= w;
            }
            counts[pick] += 1;
            t += (-gap * (1.0 - g.rng.unit()).ln()) as i64 + 1;
            events.push(g.event(t, EVTX_MIX[pick].0));
        }
    };
    let probe = 2000;
    add(&mut g, &mut events, probe, 1e9);
    let sample = write_evtx(&events).map_err(|e| io::Error::other(e.to_string()))?;
    let per_record = sample.len() as f64 / probe as f64;
    let wanted = (target as f64 / per_record) as usize;
    let gap = EVTX_SPAN_NS as f64 / wanted as f64;
    add(&mut g, &mut events, wanted.saturating_sub(probe), gap);
    let bytes = write_evtx(&events).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = path.with_extension("partial");
    fs::write(&tmp, &bytes)?;
    fs::rename(&tmp, path)?;
    let mix: Vec<String> =
        EVTX_MIX.iter().zip(counts).map(|((k, _), n)| format!("{} {n}", evtx_kind_label(*k))).collect();
    Ok(format!(
        "  records: {}\n  bytes: {} ({:.0} per record, {} chunks)\n  by event: {}\n",
        events.len(),
        bytes.len(),
        bytes.len() as f64 / events.len() as f64,
        (bytes.len() - 4096) / 65536,
        mix.join(", ")
    ))
}

fn evtx_kind_label(k: EvtxKind) -> &'static str {
    match k {
        EvtxKind::ProcessCreate => "Sysmon 1",
        EvtxKind::NetworkConnect => "Sysmon 3",
        EvtxKind::ProcessTerminate => "Sysmon 5",
        EvtxKind::FileCreate => "Sysmon 11",
        EvtxKind::DnsQuery => "Sysmon 22",
        EvtxKind::Logon => "Security 4624",
        EvtxKind::ProcessCreation4688 => "Security 4688",
        EvtxKind::WfpConnection => "Security 5156",
        EvtxKind::ServiceInstall => "System 7045",
    }
}
