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
}

impl ReportError {
    /// A closed pipe (`seam … | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            ReportError::Write { source, .. } => source.kind() == io::ErrorKind::BrokenPipe,
            ReportError::Frame { source: polars::error::PolarsError::IO { error, .. }, .. } => {
                error.kind() == io::ErrorKind::BrokenPipe
            }
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
            }),
            // A device or pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written in place:
            // renaming a file over it would replace the device for every other program.
            Destination::File(path) if path.exists() && !path.is_file() => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|source| ReportError::Write { path: path.display().to_string(), source })?;
                Ok(Output {
                    terminal: file.is_terminal(),
                    writer: BufWriter::with_capacity(1 << 16, Box::new(file)),
                    label: path.display().to_string(),
                    rename: None,
                })
            }
            Destination::File(path) => {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                let tmp = dir.join(format!(".{name}.seam-tmp.{}", std::process::id()));
                let file = File::create(&tmp)
                    .map_err(|source| ReportError::Write { path: path.display().to_string(), source })?;
                Ok(Output {
                    terminal: false,
                    writer: BufWriter::with_capacity(1 << 16, Box::new(file)),
                    label: path.display().to_string(),
                    rename: Some((tmp, path.clone())),
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
}

/// An open output: a buffered writer, and for files the rename that publishes it.
pub struct Output {
    pub writer: BufWriter<Box<dyn Write>>,
    /// Whether the output is a terminal: text formats that carry evidence strings raw (CSV)
    /// escape control characters there, as tables do.
    pub terminal: bool,
    label: String,
    rename: Option<(PathBuf, PathBuf)>,
}

impl Output {
    /// Wraps an I/O error with the destination's name.
    pub fn error(&self, source: io::Error) -> ReportError {
        ReportError::Write { path: self.label.clone(), source }
    }

    /// Flushes and, for a file, moves it into place.
    pub fn commit(mut self) -> Result<(), ReportError> {
        self.writer.flush().map_err(|e| self.error(e))?;
        if let Some((tmp, path)) = self.rename.take() {
            std::fs::rename(&tmp, &path).map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

impl Drop for Output {
    /// An output dropped without [`Output::commit`] (an error, an interrupt unwinding) leaves
    /// no partial file behind.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
