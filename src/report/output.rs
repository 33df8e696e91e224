//! Where output goes: stdout, or a file written atomically (a temporary file in the same
//! directory renamed into place, so an interrupt never leaves half a report).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error("cannot build {what} output: {source}")]
    Frame { what: &'static str, source: polars::error::PolarsError },
    #[error("format {format} is not available for {what}")]
    Unsupported { format: &'static str, what: &'static str },
    #[error("refusing to write binary {format} to a terminal; use -o FILE")]
    BinaryToTerminal { format: &'static str },
}

impl ReportError {
    /// A closed pipe (`seam … | head`) is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ReportError::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
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

    /// Writes `bytes` to the destination (atomically for files).
    pub fn write_all(&self, bytes: &[u8]) -> Result<(), ReportError> {
        match self {
            Destination::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|_| out.flush())
                    .map_err(|source| ReportError::Write { path: "stdout".into(), source })
            }
            Destination::File(path) => write_atomic(path, bytes),
        }
    }
}

/// Writes a file by way of a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write { path: path.display().to_string(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.seam-tmp.{}", std::process::id()));
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        w.write_all(bytes)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}
