//! Where output goes: stdout, or a file written atomically (a temporary file in the same
//! directory renamed into place, so an interrupt never leaves half a report). Output is
//! streamed: rows are written as they are rendered, never collected into one buffer.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot write {path}")]
    Write { path: String, source: io::Error },
    #[error("cannot build {what} output")]
    Frame { what: &'static str, source: polars::error::PolarsError },
    #[error("format {format} is not available for {what}")]
    Unsupported { format: &'static str, what: &'static str },
    #[error("cannot read back the timeline's sorted runs")]
    Runs(#[from] crate::timeline::spill::RunError),
}

impl ReportError {
    /// A closed pipe (`seam … | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            ReportError::Write { source, .. } => source.kind() == io::ErrorKind::BrokenPipe,
            ReportError::Frame { source: polars::error::PolarsError::IO { error, .. }, .. } => {
                error.kind() == io::ErrorKind::BrokenPipe
            }
            // The Parquet writer reports a closed pipe as a broken file, with the I/O error's
            // words in its message.
            ReportError::Frame { source, .. } => source.to_string().contains("Broken pipe"),
            _ => false,
        }
    }
}

/// Output target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    pub fn label(&self) -> String {
        match self {
            Destination::Stdout => "stdout".into(),
            Destination::File(p) => p.display().to_string(),
        }
    }

    /// Opens the destination for streaming; [`Output::commit`] makes a file appear.
    pub fn open(&self) -> Result<Output, ReportError> {
        match self {
            Destination::Stdout => Ok(Output {
                terminal: io::stdout().is_terminal(),
                writer: BufWriter::with_capacity(1 << 16, Box::new(io::stdout())),
                label: "stdout".into(),
                rename: None,
                sync: None,
            }),
            // A device or pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written in place:
            // renaming a file over it would replace the device for every other program.
            Destination::File(path) if (path.exists() && !path.is_file()) || names_a_descriptor(path) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|source| ReportError::Write { path: path.display().to_string(), source })?;
                Ok(Output {
                    terminal: file.is_terminal(),
                    writer: BufWriter::with_capacity(1 << 16, Box::new(file)),
                    label: path.display().to_string(),
                    rename: None,
                    sync: None,
                })
            }
            Destination::File(path) => {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                // The process id and the time: two runs (two containers, both pid 1) writing
                // into one shared directory do not meet.
                let nanos =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
                let tmp = dir.join(format!(".{name}.seam-tmp.{}.{nanos:09}", std::process::id()));
                let error = |source| ReportError::Write { path: path.display().to_string(), source };
                // A new file, never one found there: a link planted under the temporary name
                // is removed (not followed), as is a file an earlier run was stopped before
                // removing.
                let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp);
                // Registered first, so that a signal arriving as it is created removes it too.
                pending::add(&tmp);
                let file = match create() {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        std::fs::remove_file(&tmp).map_err(error)?;
                        create()
                    }
                    other => other,
                }
                .map_err(|e| {
                    pending::remove(&tmp);
                    error(e)
                })?;
                let sync = file.try_clone().ok();
                Ok(Output {
                    terminal: false,
                    writer: BufWriter::with_capacity(1 << 16, Box::new(file)),
                    label: path.display().to_string(),
                    rename: Some((tmp, path.clone())),
                    sync,
                })
            }
        }
    }

    /// Writes `bytes` as the whole output.
    pub fn write_all(&self, bytes: &[u8]) -> Result<(), ReportError> {
        let mut out = self.open()?;
        out.writer.write_all(bytes).map_err(|e| out.error(e))?;
        out.commit()
    }

    /// Writes JSON text as the whole output, escaped for a terminal when it goes to one.
    pub fn write_json_all(&self, json: &[u8]) -> Result<(), ReportError> {
        let mut out = self.open()?;
        out.write_json(json)?;
        out.commit()
    }
}

/// Whether `path` is a link to an open descriptor (`/dev/stdout` → `/proc/self/fd/1`, a link to
/// `/dev/fd/N`): written in place, whatever the descriptor is open on. Renaming a file over it
/// would replace the link and lose the output.
fn names_a_descriptor(path: &Path) -> bool {
    let mut at = path.to_path_buf();
    for _ in 0..8 {
        let Ok(target) = std::fs::read_link(&at) else { return false };
        let target = match at.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
        if target.starts_with("/proc") || target.starts_with("/dev/fd") {
            return true;
        }
        at = target;
    }
    false
}

/// An open output: a buffered writer, and for files the rename that publishes it.
pub struct Output {
    pub writer: BufWriter<Box<dyn Write>>,
    /// Whether the output is a terminal: text formats that carry evidence strings raw (CSV)
    /// escape control characters there, as tables do.
    pub terminal: bool,
    label: String,
    rename: Option<(PathBuf, PathBuf)>,
    /// The file, to have its bytes on disk before it is renamed into place.
    sync: Option<File>,
}

impl Output {
    /// Wraps an I/O error with the destination's name.
    pub fn error(&self, source: io::Error) -> ReportError {
        ReportError::Write { path: self.label.clone(), source }
    }

    /// Writes JSON text; on a terminal, characters that could drive it become `\u` escapes
    /// (see [`crate::util::escape::json_for_terminal`]).
    pub fn write_json(&mut self, json: &[u8]) -> Result<(), ReportError> {
        let json = if self.terminal { crate::util::escape::json_for_terminal(json) } else { json.into() };
        self.writer.write_all(&json).map_err(|e| self.error(e))
    }

    /// Flushes and, for a file, moves it into place.
    pub fn commit(mut self) -> Result<(), ReportError> {
        self.writer.flush().map_err(|e| self.error(e))?;
        if let Some(file) = &self.sync {
            file.sync_all().map_err(|e| self.error(e))?;
        }
        if let Some((tmp, path)) = self.rename.take() {
            std::fs::rename(&tmp, &path).map_err(|e| self.error(e))?;
            pending::remove(&tmp);
        }
        Ok(())
    }
}

impl Drop for Output {
    /// An output dropped without [`Output::commit`] (an error, an interrupt unwinding) leaves
    /// no partial file behind.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(&tmp);
            pending::remove(&tmp);
        }
    }
}

/// Temporary files being written, so that a signal that stops seam (Ctrl-C, `kill`) removes
/// them too: unwinding does not run on a signal.
pub mod pending {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    pub fn add(path: &Path) {
        FILES.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_path_buf());
    }

    pub fn remove(path: &Path) {
        FILES.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != path);
    }

    /// Removes every temporary file still being written.
    pub fn remove_all() {
        for p in FILES.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }

    /// On SIGINT, SIGTERM or SIGHUP, removes the temporary files, then lets the signal stop
    /// seam as it would have (a shell loop sees seam killed by it, and stops too).
    pub fn remove_on_signal() {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                remove_all();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    }
}
